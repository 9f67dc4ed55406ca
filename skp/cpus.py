"""The CPUs this process may use: those the system lets it run on (its affinity: docker's
``cpuset``, ``taskset``, systemd's ``CPUAffinity=``), and no more than a CPU limit lets it
keep busy (docker's ``--cpus``, a Kubernetes container's CPU limit, systemd's ``CPUQuota=``).

A limit is a quota of CPU time per period in the process's cgroup or one above it: cgroup v2's
``cpu.max`` ("150000 100000" is one and a half CPUs, "max 100000" none) or v1's
``cpu.cfs_quota_us`` and ``cpu.cfs_period_us`` (a quota of -1 is none). The smallest counts.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

_PROC_CGROUP = Path("/proc/self/cgroup")
_CGROUPS = Path("/sys/fs/cgroup")


def allowed() -> list[int]:
    """The CPUs this process may run on, in order; empty where the system cannot say."""
    if not hasattr(os, "sched_getaffinity"):
        return []
    return sorted(os.sched_getaffinity(0))


def count() -> int:
    """How many CPUs this process can keep busy: those it may run on, or under a CPU limit
    the limit rounded up, if that is fewer; at least 1."""
    cpus = len(allowed()) or os.cpu_count() or 1
    quota = limit()
    return cpus if quota is None else max(1, min(cpus, math.ceil(quota)))


def limit() -> float | None:
    """This process's CPU limit in CPUs (1.5: one and a half), None without one or where the
    system does not tell."""
    try:
        groups = _PROC_CGROUP.read_text(encoding="ascii")
    except OSError:
        return None
    quotas = (quota(each) for each in directories(groups, _CGROUPS))
    return min((each for each in quotas if each is not None), default=None)


def directories(groups: str, root: Path) -> Iterator[Path]:
    """The directories that may hold a CPU limit of a process whose ``/proc/<pid>/cgroup``
    is ``groups``, with cgroup file systems under ``root``: its cgroup v2 group and its v1
    ``cpu`` controller's group, each with the groups above it. In a container that sees only
    its own part of a hierarchy, a group named from outside does not exist in it, and the
    walk up reaches the container's own at the root."""
    for line in groups.splitlines():
        hierarchy, controllers, path = line.split(":", 2)
        if hierarchy == "0" and not controllers:  # v2, alone or beside v1 ("unified")
            bases = [root, root / "unified"]
        elif "cpu" in controllers.split(","):  # v1: mounted as "cpu" or "cpu,cpuacct"
            bases = [root / controllers]
        else:
            continue
        for base in bases:
            group = base / path.lstrip("/")
            while True:
                yield group
                if group == base:
                    break
                group = group.parent


def quota(group: Path) -> float | None:
    """The CPU limit set in the cgroup directory ``group``, in CPUs; None without one."""
    try:
        return cpu_max((group / "cpu.max").read_text(encoding="ascii"))
    except OSError:
        pass
    try:
        return cfs((group / "cpu.cfs_quota_us").read_text(encoding="ascii"),
                   (group / "cpu.cfs_period_us").read_text(encoding="ascii"))
    except OSError:
        return None


def cpu_max(text: str) -> float | None:
    """The limit of a cgroup v2 ``cpu.max`` ("QUOTA PERIOD", QUOTA "max" for none)."""
    fields = text.split()
    if len(fields) != 2 or fields[0] == "max":
        return None
    return _ratio(fields[0], fields[1])


def cfs(quota_us: str, period_us: str) -> float | None:
    """The limit of cgroup v1's ``cpu.cfs_quota_us`` (-1 for none) and ``cpu.cfs_period_us``."""
    return _ratio(quota_us.strip(), period_us.strip())


def _ratio(quota_us: str, period_us: str) -> float | None:
    try:
        share, period = int(quota_us), int(period_us)
    except ValueError:
        return None
    return share / period if share > 0 and period > 0 else None
