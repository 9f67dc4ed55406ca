"""One CPU for each serving process (``SKP_PIN_CPUS``).

The threads of one Python process take turns holding the interpreter lock. When they run on
different cores, every turn that passes from one thread to another wakes a thread on the other
core, which then works on caches the first core filled: under load a single ``skp serve`` on
two cores spent about 40 % of its CPU time on that (docs/performance.md, step 28). A process
kept on one CPU hands the lock over where it already is. So each process that serves runs on
one CPU of those it may use: ``skp serve`` alone on the one the system had it on when it
started serving, and worker *k* of a supervisor on the *k*-th CPU on from the one the
supervisor was on when it started (around again when there are more workers than CPUs), so
that the processes of several hubs on one machine most often keep to different CPUs. The
supervisor, which only starts workers and runs the scheduled jobs, is not pinned; neither are
PostgreSQL and whatever else runs on the machine, so they use what the serving processes
leave.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Collection
from pathlib import Path

from skp.cpus import allowed

_TASKS = Path("/proc/self/task")
_STAT = Path("/proc/self/stat")

log = logging.getLogger("skp.server")


def take(slot: int | None) -> int | None:
    """Keep this process on the CPU of ``slot``, or with None on the one it is on: that CPU,
    or None where there is none to tell or the system refuses (then it runs on every CPU it
    may use, and says so in the log)."""
    cpu = cpu_for(here() if slot is None else slot, allowed())
    if cpu is None:
        return None
    try:
        pin(cpu)
    except OSError as exc:
        log.warning("not kept on one CPU; serving on all it may use",
                    extra={"cpu": cpu, "error": exc.strerror or type(exc).__name__})
        return None
    return cpu


def here() -> int:
    """The slot of the CPU this process is on (0 where there is none to tell). A supervisor
    numbers its workers' slots on from there, so that the workers of several hubs on one
    machine most often keep to different CPUs."""
    cpus = allowed()
    now = running_on(_STAT.read_text()) if _STAT.exists() else -1
    return cpus.index(now) if now in cpus else 0


def cpu_for(slot: int, cpus: Collection[int]) -> int | None:
    """The CPU of the serving process in ``slot`` (0, 1, …) out of ``cpus``; None without any."""
    ordered = sorted(cpus)
    return ordered[slot % len(ordered)] if ordered else None


def running_on(stat: str) -> int:
    """The CPU a process last ran on, from its ``/proc/<pid>/stat`` line (field 39; the name
    in parentheses, field 2, may hold spaces and parentheses of its own)."""
    return int(stat.rsplit(")", 1)[1].split()[36])


def pin(cpu: int) -> None:
    """Keep the calling process on ``cpu`` from now on: every thread it has (Linux sets the
    CPUs of one thread at a time) and so every thread they start. OSError when the system
    refuses, e.g. a CPU the process may not use."""
    threads = [int(task.name) for task in _TASKS.iterdir()] if _TASKS.is_dir() else [0]
    for thread in threads:
        with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
            os.sched_setaffinity(thread, {cpu})
