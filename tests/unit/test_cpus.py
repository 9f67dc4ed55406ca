"""The CPUs a process may use (skp.cpus): its affinity, and a CPU limit read from its cgroups,
parsed from files of both cgroup versions and taken from a real cgroup with a quota."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from skp import cpus
from tests.helpers import require


def test_the_cpus_allowed_are_this_processes_own():
    assert cpus.allowed() == sorted(os.sched_getaffinity(0))


@pytest.mark.parametrize(("text", "limit"), [
    ("max 100000\n", None),
    ("150000 100000\n", 1.5),
    ("400000 100000", 4.0),
    ("0 100000", None),
    ("", None),
    ("max", None),
    ("1 2 3", None),
    ("x 100000", None),
])
def test_cgroup_v2_cpu_max(text, limit):
    assert cpus.cpu_max(text) == limit


@pytest.mark.parametrize(("quota", "period", "limit"), [
    ("-1\n", "100000\n", None),
    ("50000\n", "100000\n", 0.5),
    ("200000", "100000", 2.0),
    ("100000", "0", None),
    ("", "100000", None),
])
def test_cgroup_v1_cfs_quota_and_period(quota, period, limit):
    assert cpus.cfs(quota, period) == limit


def test_the_groups_walked_are_the_processes_own_and_those_above_it(tmp_path):
    groups = ("12:cpu,cpuacct:/docker/abc\n11:memory:/docker/abc\n1:name=systemd:/x\n"
              "0::/system.slice/skp.service\n")
    root = tmp_path
    v1 = root / "cpu,cpuacct"
    assert list(cpus.directories(groups, root)) == [
        v1 / "docker/abc", v1 / "docker", v1,
        root / "system.slice/skp.service", root / "system.slice", root,
        root / "unified/system.slice/skp.service", root / "unified/system.slice",
        root / "unified"]
    assert list(cpus.directories("0::/\n", root)) == [root, root / "unified"]


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """A cgroup file system under tmp_path, and this process's cgroup file naming its groups."""
    own = tmp_path / "cgroup"
    monkeypatch.setattr(cpus, "_PROC_CGROUP", own)
    monkeypatch.setattr(cpus, "_CGROUPS", tmp_path / "fs")
    return own, tmp_path / "fs"


def test_the_smallest_limit_of_the_groups_counts(tree):
    own, root = tree
    own.write_text("0::/kubepods/pod1/c1\n")
    for path, text in [("kubepods", "max 100000"), ("kubepods/pod1", "250000 100000"),
                       ("kubepods/pod1/c1", "max 100000")]:
        (root / path).mkdir(parents=True)
        (root / path / "cpu.max").write_text(text + "\n")
    assert cpus.limit() == 2.5
    (root / "kubepods/cpu.max").write_text("50000 100000\n")
    assert cpus.limit() == 0.5


def test_a_container_of_cgroup_v1_finds_its_limit_at_the_root_of_its_hierarchy(tree):
    own, root = tree
    own.write_text("4:cpu,cpuacct:/docker/0123abcd\n0::/\n")  # a group named from outside
    (root / "cpu,cpuacct").mkdir(parents=True)
    (root / "cpu,cpuacct/cpu.cfs_quota_us").write_text("150000\n")
    (root / "cpu,cpuacct/cpu.cfs_period_us").write_text("100000\n")
    assert cpus.limit() == 1.5


def test_without_a_limit_or_a_cgroup_file_there_is_no_limit(tree):
    own, root = tree
    assert cpus.limit() is None  # no /proc/self/cgroup
    own.write_text("0::/a\n")
    (root / "a").mkdir(parents=True)
    (root / "a/cpu.max").write_text("max 100000\n")
    assert cpus.limit() is None


@pytest.mark.parametrize(("allowed", "limit", "count"), [
    (16, None, 16), (16, 1.5, 2), (16, 0.2, 1), (2, 8.0, 2), (4, 4.0, 4), (0, None, None),
])
def test_the_count_is_the_cpus_allowed_or_fewer_under_a_limit(monkeypatch, allowed, limit,
                                                              count):
    monkeypatch.setattr(cpus, "allowed", lambda: list(range(allowed)))
    monkeypatch.setattr(cpus, "limit", lambda: limit)
    assert cpus.count() == (count or os.cpu_count() or 1)


# --- a real cgroup ------------------------------------------------------------------------


@contextlib.contextmanager
def quota_group(quota_us: int, period_us: int) -> Iterator[Path]:
    """A new cgroup with a CPU quota, made in this machine's cgroup file system (v1's cpu
    hierarchy or v2's root), removed again at the end."""
    v1, v2 = Path("/sys/fs/cgroup/cpu"), Path("/sys/fs/cgroup")
    if (v1 / "cpu.cfs_quota_us").exists():
        base = v1
    elif "cpu" in _read(v2 / "cgroup.subtree_control").split():
        base = v2
    else:
        base = None
    writable = base is not None and os.access(base, os.W_OK)
    require(writable, "a cgroup file system with the cpu controller that tests may add to")
    assert base is not None
    group = base / f"skp-test-{uuid.uuid4().hex[:8]}"
    group.mkdir()
    try:
        if base == v1:
            (group / "cpu.cfs_period_us").write_text(f"{period_us}\n")
            (group / "cpu.cfs_quota_us").write_text(f"{quota_us}\n")
        else:
            (group / "cpu.max").write_text(f"{quota_us} {period_us}\n")
        yield group
    finally:
        group.rmdir()


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def counted_in(group: Path) -> list[str]:
    """What a new process started in ``group`` finds: its limit, its count of CPUs and the
    worker processes `skp serve` would start on PostgreSQL."""
    program = ("from skp import cpus; from skp.config import Settings; "
               "print(cpus.limit(), cpus.count(), Settings.from_env({'SKP_DATABASE_URL': "
               "'postgresql+psycopg://h/db'}).processes)")
    return subprocess.run(  # noqa: S603  # our own program, started in the group
        ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$1" -c "$2"',
         str(group), sys.executable, program],
        capture_output=True, text=True, check=True, timeout=60).stdout.split()


def test_a_process_in_a_cgroup_with_a_quota_counts_the_cpus_it_may_keep_busy():
    with quota_group(150_000, 100_000) as group:
        expected = str(min(2, len(cpus.allowed())))
        assert counted_in(group) == ["1.5", expected, expected]
    with quota_group(50_000, 100_000) as group:
        assert counted_in(group) == ["0.5", "1", "1"]
