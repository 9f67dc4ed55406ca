"""Counters kept in the database, so that every hub process reports the same figures whichever
process did the counting: the purge's expired messages (``skp purge`` from cron included) and
how the e-mail notifications ended (skp.notifications)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from skp.domain.roles import Module
from skp.store.models import ExpiredCount
from skp.store.notification import NotificationCount

_UPSERT: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def add_expired(session: Session, counts: Mapping[tuple[Module, str], int]) -> None:
    """Add ``counts`` per (module, type) to the expired counter, in the session's transaction."""
    if not counts:
        return
    insert = _UPSERT[session.get_bind().dialect.name](ExpiredCount)
    statement = insert.on_conflict_do_update(
        index_elements=[ExpiredCount.module, ExpiredCount.type_code],
        set_={"count": ExpiredCount.count + insert.excluded["count"]})
    session.execute(statement, [{"module": module, "type_code": type_code, "count": count}
                                for (module, type_code), count in counts.items()])


def expired(session: Session) -> dict[tuple[Module, str], int]:
    """The expired counter per (module, type): only the pairs that ever expired a message."""
    rows = session.execute(select(ExpiredCount.module, ExpiredCount.type_code,
                                  ExpiredCount.count))
    return {(module, type_code): count for module, type_code, count in rows}


def add_notification(session: Session, kind: str, outcome: str, count: int = 1) -> None:
    """Count ``count`` notifications of ``kind`` that ended in ``outcome`` (sent, failed,
    refused, stale), in the session's transaction."""
    insert = _UPSERT[session.get_bind().dialect.name](NotificationCount)
    session.execute(insert.values(kind=kind, outcome=outcome, count=count).on_conflict_do_update(
        index_elements=[NotificationCount.kind, NotificationCount.outcome],
        set_={"count": NotificationCount.count + insert.excluded["count"]}))
