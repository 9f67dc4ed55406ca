"""What the quotas cost a send: ``Mailbox.send`` in this process, without and with them.

Usage: ``.venv/bin/python bench/quotas.py [--sends 300] [--only sqlite,postgresql]``.

Per database, the same Kennisgeving from one SHV to one creditor is sent ``--sends`` times
(a fresh Kenmerk each, a frozen clock moved on between sends; every message is fetched and
confirmed untimed after its send, so the backlog stays what the case sets up):

- ``off``: no quota (``SKP_SEND_RATE=0``, ``SKP_MAILBOX_LIMIT=0``): the plain ``INSERT``;
- ``on, quiet``: the defaults (600 per 60 s, 10 000 per mailbox), the sender's window and the
  mailbox empty: the ``INSERT … SELECT … WHERE`` with its two counts, each counting nothing;
- ``on, at the limits``: the defaults, the sender with 599 messages in its window and the
  recipient with 9 999 pending: each count reads as many index entries as it may;
- ``in-process bucket``: what the other design, a token bucket per sender in each process,
  adds to ``off``: one bucket update, timed alone (``timeit``), under a lock.

It prints the median and p90 wall time and the median CPU time per send. PostgreSQL is the
tests' (``SKP_TEST_POSTGRES_URL``), in a schema of this run's own, dropped afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import statistics
import tempfile
import threading
import time
import timeit
import uuid
from collections.abc import Iterator

from harness import out, postgres_schema, quantile, stop_on_sigterm

from skp.clock import FrozenClock
from skp.config import Settings
from skp.domain.admission import Standing
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import ROLE_MODULES, Module, Role
from skp.domain.validation import Header
from skp.mailbox import Mailbox
from skp.participants import Participants
from skp.sealing import MemoryKeyRing
from skp.store.db import make_engine, make_sessions, migrate

SR = Module.SCHULDREGELING
START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
BODY = example_body(lookup(SR, "Kennisgeving"))


class Bucket:
    """The in-process alternative: a token bucket per sender (rate per second, burst)."""

    def __init__(self, rate: float, burst: float) -> None:
        self._rate, self._burst = rate, burst
        self._state: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, sender: str, now: float) -> bool:
        with self._lock:
            tokens, then = self._state.get(sender, (self._burst, now))
            tokens = min(self._burst, tokens + (now - then) * self._rate)
            if tokens < 1:
                self._state[sender] = (tokens, now)
                return False
            self._state[sender] = (tokens - 1, now)
            return True


def header(recipient: str) -> Header:
    return Header(kenmerk=f"B-{uuid.uuid4().hex[:16]}", ontvanger=recipient,
                  conversatie_referentienummer=str(uuid.uuid4()))


def timed_sends(mailbox: Mailbox, clock: FrozenClock, shv: str, se: str, count: int,
                step: dt.timedelta) -> tuple[list[float], list[float]]:
    """``count`` sends, each fetched and confirmed untimed; wall and CPU seconds of each."""
    wall, cpu = [], []
    for _ in range(count):
        clock.advance(step)
        h = header(se)
        w0, c0 = time.perf_counter(), time.process_time()
        receipt = mailbox.send(shv, SR, "Kennisgeving", h, BODY)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
        mailbox.fetch(se, receipt.message_id)
        mailbox.confirm(se, receipt.message_id)
    return wall, cpu


def report(database: str, case: str, wall: list[float], cpu: list[float]) -> None:
    out(f"[{database}] {case:<20} send p50 {statistics.median(wall) * 1000:.2f} ms, "
        f"p90 {quantile(wall, 90) * 1000:.2f} ms, CPU p50 "
        f"{statistics.median(cpu) * 1000:.2f} ms ({len(wall)} sends)")


def run(database: str, url: str, sends: int) -> None:
    engine = make_engine(url)
    migrate(engine)
    sessions = make_sessions(engine)
    clock = FrozenClock(START)
    keyring = MemoryKeyRing.generate()
    people = Participants(sessions, clock)
    shv, other, se, se2 = (
        people.add(standing=Standing.ACTIVE, name=name, role=role, modules=ROLE_MODULES[role]).id
        for name, role in (("SHV", Role.SHV_FASE2), ("SHV 2", Role.SHV_FASE2),
                           ("SE", Role.SE), ("SE 2", Role.SE)))
    off = Mailbox(sessions, keyring, Settings(send_rate=0, mailbox_limit=0), clock)
    on = Mailbox(sessions, keyring, Settings(), clock)
    for mailbox in (off, on):  # warm up: connections, statement caches
        timed_sends(mailbox, clock, shv, se, 20, dt.timedelta(minutes=2))
    # Take turns, so that the machine's drift hits both alike.
    figures: dict[str, tuple[list[float], list[float]]] = {"off": ([], []), "on, quiet": ([], [])}
    for _ in range(3):
        for case, mailbox in (("off", off), ("on, quiet", on)):
            wall, cpu = timed_sends(mailbox, clock, shv, se, sends // 3, dt.timedelta(minutes=2))
            figures[case][0].extend(wall)
            figures[case][1].extend(cpu)
    for case, (wall, cpu) in figures.items():
        report(database, case, wall, cpu)

    # At the limits: 9 999 pending for se (from another sender), 599 of the SHV's in its window.
    clock.advance(dt.timedelta(hours=1))
    for _ in range(9_999):
        off.send(other, SR, "Kennisgeving", header(se), BODY)
    clock.advance(dt.timedelta(hours=1))
    step = dt.timedelta(seconds=0.1)  # 600 a minute: the oldest leaves as a new one comes
    for _ in range(599):
        clock.advance(step)
        off.send(shv, SR, "Kennisgeving", header(se2), BODY)
    wall, cpu = timed_sends(on, clock, shv, se, sends, step)
    report(database, "on, at the limits", wall, cpu)
    pending = on.list_pending(se, SR).backlog
    out(f"[{database}]   (afterwards {pending} pending for the recipient)")
    engine.dispose()


def bucket_cost() -> None:
    bucket = Bucket(10.0, 600.0)
    clock = iter(range(10**9))
    loops = 200_000
    seconds = min(timeit.repeat(lambda: bucket.take("sender", next(clock) * 0.01),
                                number=loops, repeat=5))
    out(f"[in-process bucket]  one take: {seconds / loops * 1e6:.2f} µs (timeit, best of 5)")


@contextlib.contextmanager
def database(name: str) -> Iterator[str]:
    if name == "sqlite":
        with tempfile.TemporaryDirectory(prefix="skp-bench-quotas-") as tmp:
            yield f"sqlite:///{tmp}/skp.sqlite3"
    else:
        with postgres_schema("skp_bench_quotas") as url:
            yield url


def main() -> None:
    stop_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=300, help="timed sends per case")
    parser.add_argument("--smoke", action="store_true", help="10 sends per case")
    parser.add_argument("--only", default="sqlite,postgresql",
                        help="comma-separated: sqlite, postgresql")
    args = parser.parse_args()
    if args.smoke:
        args.sends = 10
    for name in args.only.split(","):
        with database(name) as url:
            run(name, url, max(args.sends, 3))
    bucket_cost()


if __name__ == "__main__":
    main()
