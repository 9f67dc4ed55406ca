"""Scheduled jobs as plain functions; skp/scheduler.py wires them to APScheduler.

The purge deletes what the mailbox no longer may keep (skp.mailbox.purge) and the portal's
sessions that have ended (skp.portal.sessions); the acceptance job advances the running
acceptance runs (skp.acceptance.runner).

With several hub processes on PostgreSQL only one purge (one acceptance job) runs at a time:
the job takes a PostgreSQL advisory lock and skips its turn when another process holds it.
SQLite is the single-process embedded setup and needs no lock.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import text

from skp.hub import Hub
from skp.mailbox import PurgeResult
from skp.portal.sessions import end_stale

log = logging.getLogger(__name__)
T = TypeVar("T")

#: The advisory lock key of the purge ("skp-purge" in the hub's lock space).
PURGE_LOCK = 0x736B70_01
#: The advisory lock key of the acceptance runner: one leader drives the runs.
ACCEPTANCE_LOCK = 0x736B70_02


def purge_job(hub: Hub) -> PurgeResult | None:
    """Run one purge; None when another process is purging right now."""
    return _leading(hub, PURGE_LOCK, "purge", lambda: _purge(hub))


def acceptance_job(hub: Hub) -> int | None:
    """Advance the running acceptance runs once (skp.acceptance.runner); the number still
    running, None when another process leads them right now."""
    return _leading(hub, ACCEPTANCE_LOCK, "acceptance", hub.acceptance.runner.tick)


def _leading(hub: Hub, key: int, name: str, job: Callable[[], T]) -> T | None:
    """``job()`` while holding the advisory lock ``key`` on PostgreSQL; None when another
    process holds it. SQLite is a single process and needs no lock."""
    if hub.engine.dialect.name != "postgresql":
        return job()
    with hub.engine.connect() as conn:
        if not conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar():
            conn.rollback()
            log.info(f"{name} skipped: another process holds the lock",
                     extra={"pid": os.getpid()})
            return None
        try:
            return job()
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            conn.commit()


def _purge(hub: Hub) -> PurgeResult:
    log.info("purge started", extra={"pid": os.getpid()})
    result = hub.mailbox.purge()
    ended = end_stale(hub.sessions, hub.clock.now())  # the portal's
    log.info("purge finished", extra={"pid": os.getpid(), "expired": result.expired,
                                      "contexts": result.contexts,
                                      "metadata": result.metadata, "portal_sessions": ended})
    return result
