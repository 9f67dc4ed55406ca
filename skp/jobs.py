"""Scheduled jobs as plain functions; skp/scheduler.py wires them to APScheduler.

The purge deletes what the mailbox no longer may keep (skp.mailbox.purge) and the portal's
sessions that have ended (skp.portal.sessions), then turns the key epochs (skp.keystore.epochs:
a new KEK when the epoch is over, old ones destroyed) and checkpoints SQLite's WAL, so that
what it deleted leaves the WAL at once. :func:`checkpoint_job` checkpoints between purges too.

With several hub processes on PostgreSQL only one purge runs at a time: the job takes a
PostgreSQL advisory lock and skips its turn when another process holds it. SQLite is the
single-process embedded setup and needs no lock.
"""

from __future__ import annotations

import logging
import os

from sqlalchemy import text

from skp.hub import Hub
from skp.keystore import KeyStore, epochs
from skp.mailbox import PurgeResult
from skp.portal.sessions import end_stale
from skp.store.db import checkpoint

log = logging.getLogger(__name__)

#: The advisory lock key of the purge ("skp-purge" in the hub's lock space).
PURGE_LOCK = 0x736B70_01


def purge_job(hub: Hub) -> PurgeResult | None:
    """Run one purge; None when another process is purging right now."""
    if hub.engine.dialect.name != "postgresql":
        return _purge(hub)
    with hub.engine.connect() as conn:
        if not conn.execute(text("SELECT pg_try_advisory_lock(:key)"),
                            {"key": PURGE_LOCK}).scalar():
            conn.rollback()
            log.info("purge skipped: another process holds the lock", extra={"pid": os.getpid()})
            return None
        try:
            return _purge(hub)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PURGE_LOCK})
            conn.commit()


def _purge(hub: Hub) -> PurgeResult:
    log.info("purge started", extra={"pid": os.getpid()})
    result = hub.mailbox.purge()
    ended = end_stale(hub.sessions, hub.clock.now())  # the portal's
    log.info("purge finished", extra={"pid": os.getpid(), "expired": result.expired,
                                      "contexts": result.contexts,
                                      "metadata": result.metadata, "portal_sessions": ended})
    if isinstance(hub.keyring, KeyStore):  # a bare KeyRing has no epochs to turn
        epochs.turn(hub.keyring, hub.sessions, hub.settings, hub.clock.now())
    checkpoint_job(hub)
    return result


def checkpoint_job(hub: Hub) -> bool | None:
    """Checkpoint SQLite's WAL into the database file and truncate it (skp.store.db)."""
    done = checkpoint(hub.engine)
    if done is False:
        log.warning("WAL checkpoint incomplete: a reader held it; the next one finishes it")
    return done
