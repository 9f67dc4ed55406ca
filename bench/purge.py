"""The purge of a large backlog: timed in a fresh process, bounded in time, and its batch
query as skp runs it and as it was before.

``purge`` runs ``Mailbox.purge(now)`` at one second past the last deadline in a process of
its own (multiprocessing spawn), so that its peak RSS (VmHWM) is the purge's alone, and stops
it after ``--purge-seconds``; then it counts what was expired.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import statistics
import time
from pathlib import Path
from typing import Any

from harness import ms, out
from sqlalchemy import text

from skp.clock import FrozenClock
from skp.config import Settings
from skp.mailbox import Mailbox
from skp.sealing import MemoryKeyRing
from skp.store.db import make_engine, make_sessions

MB = 1_000_000


def purge(url: str, args: argparse.Namespace, *, label: str = "[purge]") -> None:
    """mailbox.purge at a moment past every deadline, in a fresh process, bounded in time."""
    engine = make_engine(url)
    with engine.connect() as conn:
        due = conn.execute(text("SELECT count(*), max(deadline_at) FROM message "
                                "WHERE state IN ('queued', 'fetched')")).one()
    now = due[1] + dt.timedelta(seconds=1)
    batch_queries(engine, now)
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=purge_child, args=(url, now, sender), daemon=True)
    began = time.perf_counter()
    child.start()
    peak = 0
    while child.is_alive() and time.perf_counter() - began < args.purge_seconds:
        peak = max(peak, _hwm(child.pid) or 0)
        child.join(timeout=0.5)
    elapsed = time.perf_counter() - began
    if child.is_alive():
        peak = max(peak, _hwm(child.pid) or 0)
        child.terminate()
        child.join(timeout=30)
        with engine.connect() as conn:
            done = conn.execute(text(
                "SELECT count(*) FROM message WHERE state = 'expired'")).scalar() or 0
        rate = done / elapsed
        out(f"{label} NOT finished in {elapsed:.0f} s (--purge-seconds): {done:,} of "
            f"{due[0]:,} expired, {rate:.0f}/s, at that rate all in about "
            f"{due[0] / rate if rate else float('inf'):.0f} s; peak RSS {peak / MB:.0f} MB")
    else:
        result = receiver.recv()
        out(f"{label} {result['expired']:,} of {due[0]:,} due messages expired in "
            f"{result['seconds']:.1f} s (batches of {result['batch']}); the purge process's "
            f"peak RSS {result['hwm'] / MB:.0f} MB (VmRSS {result['rss_before'] / MB:.0f} MB "
            "before the purge)")
    engine.dispose()


def purge_child(url: str, now: dt.datetime, results: Any) -> None:
    """In a fresh process: one mailbox.purge at ``now``; its time and peak RSS."""
    settings = Settings(database_url=url)
    engine = make_engine(url)
    mailbox = Mailbox(make_sessions(engine), MemoryKeyRing.generate(), settings,
                      FrozenClock(now))
    rss_before = _memory(os.getpid())["VmRSS"]
    began = time.perf_counter()
    result = mailbox.purge(now)
    seconds = time.perf_counter() - began
    results.send({"expired": result.expired, "seconds": seconds, "rss_before": rss_before,
                  "hwm": _memory(os.getpid())["VmHWM"], "batch": settings.purge_batch_size})
    engine.dispose()


#: The SELECT of one expire batch as skp.mailbox.purge builds it, and as it was.
BATCH = ("SELECT id, module, type_code FROM message WHERE state IN ('queued', 'fetched') "
         "AND deadline_at <= :now {order} LIMIT 500 FOR UPDATE SKIP LOCKED")
ORDERS = {"skp's (ORDER BY state, deadline_at)": "ORDER BY state, deadline_at",
          "the earlier ORDER BY deadline_at": "ORDER BY deadline_at"}


def batch_queries(engine: Any, now: dt.datetime) -> None:
    """How long one expire batch's SELECT takes with everything due, as skp has it and as it was
    (each run three times in a transaction that is rolled back; the median counts)."""
    found = []
    for label, order in ORDERS.items():
        query = text(BATCH.format(order=order))
        with engine.connect() as conn:
            plan = conn.execute(text("EXPLAIN " + query.text), {"now": now}).scalars().all()
            times = []
            for _ in range(3):
                began = time.perf_counter()
                rows = len(conn.execute(query, {"now": now}).all())
                times.append(time.perf_counter() - began)
                conn.rollback()
        seconds = statistics.median(times)
        scan = next((p.strip().lstrip("-> ").split("  ")[0] for p in plan
                     if "Scan" in p), "?")
        found.append(f"{label}: {ms(seconds)} for {rows} rows ({scan})")
    out("[purge]   one batch's SELECT with all due: " + "; ".join(found))


def _memory(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    return {line.split(":")[0]: int(line.split()[1]) * 1024 for line in status.splitlines()
            if line.startswith(("VmRSS", "VmHWM"))}


def _hwm(pid: int | None) -> int | None:
    try:
        return _memory(pid or 0).get("VmHWM")
    except OSError:
        return None
