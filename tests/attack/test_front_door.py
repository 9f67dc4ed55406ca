"""The front door under attack: every probe of tests/attack/probes.py against each target.

Each probe runs while a legitimate participant Pings once a second from 127.0.0.1 on a fresh
connection and on a kept-alive one. The target held when every legitimate Ping was answered,
their p99 stayed under 2 s, the server's resident memory grew by less than 200 MB (the hub's;
behind nginx, that of nginx's workers too), and its logs (the hub's; behind nginx, nginx's error
and access logs too) show none of the bytes the attackers sent (their canary), no raw control
character, no stack trace and no ``Server.Error``. The figures of every probe are printed as a
table at the end of the run (conftest.py); docs/server.md holds the last one.
"""

from __future__ import annotations

import time

import pytest

from tests.attack.clients import Pinger
from tests.attack.conftest import ROWS
from tests.attack.hub import reset_peak, status
from tests.attack.probes import CANARY, PROBES, Probe

P99_S = 2.0
RSS_GROWTH_KB = 200 * 1024
#: The least time the legitimate client Pings for, however fast the probe.
PINGING_S = 4.0


@pytest.mark.parametrize("probe", PROBES, ids=[p.name for p in PROBES])
def test_the_front_door_holds(probe: Probe, target):
    offsets = [log.stat().st_size for log in target.logs]
    servers = {"hub": [target.pid], "nginx": target.edge_workers()}
    before = {name: sum(status(pid)["VmRSS"] for pid in pids) for name, pids in servers.items()}
    for pid in target.pid, *servers["nginx"]:
        reset_peak(pid)
    failure = None
    started = time.monotonic()
    with Pinger(target) as pinger:
        try:
            result = probe.run(target)
        except Exception as exc:  # recorded in the table, raised below
            result, failure = f"FAILED: {type(exc).__name__} {str(exc)[:100]}", exc
        time.sleep(max(0.0, PINGING_S - (time.monotonic() - started)))
    growth = {name: sum(max(status(pid).values()) for pid in pids) - before[name]
              for name, pids in servers.items()}
    logged = b""
    for log, offset in zip(target.logs, offsets, strict=True):
        with log.open("rb") as file:
            file.seek(offset)
            logged += file.read()
    dirty = [what for what, found in (
        ("request bytes", CANARY in logged), ("raw control bytes", b"\x1b" in logged),
        ("a stack trace", b"Traceback" in logged or b'  File "' in logged),
        ("Server.Error", b"Server.Error" in logged),
    ) if found]
    answered = len(pinger.latencies)
    memory = ", ".join(f"{name} {round(growth[name] / 1024):+d} MB (of {before[name] / 1024:.0f})"
                       for name, pids in servers.items() if pids)
    ROWS.append((
        f"{probe.name}: {probe.what}", target.name, result,
        f"{answered}/{answered + len(pinger.failures)} answered"
        + (f", {pinger.reconnects} kept-alive reconnects" if pinger.reconnects else ""),
        f"{pinger.p99:.2f} s / {max(pinger.latencies, default=0):.2f} s", memory,
        "clean" if not dirty else "shows " + ", ".join(dirty)))
    if failure is not None:
        raise failure
    assert not pinger.failures, pinger.failures
    assert answered >= 4, "the legitimate client hardly ran"
    assert pinger.p99 < P99_S
    assert max(growth.values()) < RSS_GROWTH_KB, growth
    assert not dirty, dirty
