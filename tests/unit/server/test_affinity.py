"""One CPU for each serving process (skp.server.affinity): which CPU a slot gets, and that
pinning takes every thread of the process, those it had already too."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from skp.server import affinity


def test_each_slot_takes_the_next_cpu_and_wraps_around():
    assert [affinity.cpu_for(slot, {5, 2, 7}) for slot in range(5)] == [2, 5, 7, 2, 5]
    assert affinity.cpu_for(0, [3]) == 3
    assert affinity.cpu_for(4, []) is None


def test_pin_takes_the_threads_already_running_and_those_started_after():
    cpus = affinity.allowed()
    if len(cpus) < 2:
        pytest.skip("one CPU: pinned and not pinned cannot be told apart")
    # In a process of its own: pinning this one would put the rest of the tests on one CPU.
    program = textwrap.dedent(f"""
        import os, threading
        from skp.server import affinity
        before = threading.Event(); done = threading.Event(); seen = {{}}
        def wait():
            before.set(); done.wait(); seen["before"] = os.sched_getaffinity(0)
        early = threading.Thread(target=wait); early.start(); before.wait()
        affinity.pin({cpus[-1]})
        late = threading.Thread(target=lambda: seen.update(after=os.sched_getaffinity(0)))
        late.start(); late.join(); done.set(); early.join()
        print(sorted(os.sched_getaffinity(0)), sorted(seen["before"]), sorted(seen["after"]))
    """)
    shown = subprocess.run([sys.executable, "-c", program],  # noqa: S603  # our own program
                           capture_output=True, text=True, check=True,
                           timeout=60).stdout.split("] ")
    assert [part.strip().strip("[]") for part in shown] == [str(cpus[-1])] * 3


def test_a_cpu_refused_leaves_the_process_on_every_cpu_and_says_so(monkeypatch, caplog):
    before = os.sched_getaffinity(0)
    monkeypatch.setattr(affinity, "allowed", lambda: [100_000])  # no such CPU here
    with caplog.at_level(logging.WARNING, "skp.server"):
        assert affinity.take(0) is None
    assert os.sched_getaffinity(0) == before
    (record,) = caplog.records
    assert record.getMessage() == "not kept on one CPU; serving on all it may use"
    assert record.cpu == 100_000


def test_take_keeps_the_process_on_its_slots_cpu_or_without_one_on_the_cpu_it_is_on(
        monkeypatch, tmp_path):
    pinned: list[int] = []
    monkeypatch.setattr(affinity, "allowed", lambda: [1, 3])
    monkeypatch.setattr(affinity, "pin", pinned.append)
    assert [affinity.take(slot) for slot in range(3)] == [1, 3, 1] == pinned
    stat = tmp_path / "stat"
    monkeypatch.setattr(affinity, "_STAT", stat)
    stat.write_text(STAT.replace(" 39 ", " 3 "))
    assert affinity.take(None) == 3
    stat.write_text(STAT.replace(" 39 ", " 2 "))  # not one it may use (any more)
    assert affinity.take(None) == 1


def test_here_is_the_slot_of_the_cpu_the_process_is_on(monkeypatch, tmp_path):
    monkeypatch.setattr(affinity, "allowed", lambda: [1, 3, 6])
    stat = tmp_path / "stat"
    monkeypatch.setattr(affinity, "_STAT", stat)
    stat.write_text(STAT.replace(" 39 ", " 6 "))
    assert affinity.here() == 2
    assert [affinity.cpu_for(affinity.here() + slot, [1, 3, 6]) for slot in range(3)] == [6, 1, 3]
    stat.write_text(STAT.replace(" 39 ", " 2 "))
    assert affinity.here() == 0
    stat.unlink()
    assert affinity.here() == 0


#: A /proc/<pid>/stat line whose process name has spaces and parentheses; field 39 is "39".
STAT = ("4242 (skp (serve) x) S " + " ".join(str(field) for field in range(4, 39)) + " 39 "
        + " ".join(str(field) for field in range(40, 53)) + "\n")


def test_the_cpu_a_process_runs_on_is_read_from_its_stat_line():
    assert affinity.running_on(STAT) == 39
    assert affinity.running_on(Path("/proc/self/stat").read_text()) in affinity.allowed()
