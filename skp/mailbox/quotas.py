"""The quotas of a send, counted in the database: a sender's send rate and a recipient's
mailbox limit (the rules: skp.domain.quotas).

Both are counts over indexes the mailbox has anyway, so every hub process on the database
counts the same messages and a send needs no row of its own to update: the messages a sender
had accepted since the window began, on ``(sender_id, received_at)``, and the recipient's
pending messages in the module, on ``(recipient_id, module, state, received_at)``; each count
stops at its limit, so it costs at most that many index entries. For a message that touches
no claim context the counts are the ``WHERE`` of its ``INSERT … SELECT``: no statement more
than without quotas (docs/operations.md, "Quotas").

Concurrent sends do not see each other's uncommitted rows: on PostgreSQL, sends that run at
the same moment may together pass a limit by up to their number less one; on SQLite, whose
writers take turns, never. A refusal stores nothing, so no message is lost to a quota.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Executable,
    ScalarSelect,
    bindparam,
    func,
    null,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from skp.config import Settings
from skp.domain.quotas import MailboxLimit, SendRate
from skp.domain.roles import Module
from skp.errors import MailboxFull, QuotaExceeded, RateLimited
from skp.mailbox.statements import INSERT_NEW, IS_PENDING
from skp.metrics import QuotaKind
from skp.store.models import Message

_COLUMNS = tuple(Message.__table__.columns)
_INSERTS: dict[str, Callable[[type[Message]], postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert, "sqlite": sqlite.insert}


# The counts select ``received_at``, a column of both indexes, not the id: SQLite then reads
# the index alone, not every counted row (bench/quotas.py, a send at the limits: 4.2 ms of
# CPU instead of 8.7).


def _sent() -> ScalarSelect[int]:
    """How many messages the sender had accepted since the window began, up to the limit."""
    return select(func.count()).select_from(
        select(Message.received_at).where(
            Message.sender_id == bindparam("of_sender"),
            Message.received_at > bindparam("since", type_=Message.received_at.type))
        .limit(bindparam("rate")).subquery()).scalar_subquery()


def _pending() -> ScalarSelect[int]:
    """How many pending messages the recipient has in the module, up to the limit."""
    return select(func.count()).select_from(
        select(Message.received_at).where(
            Message.recipient_id == bindparam("of_recipient"),
            Message.module == bindparam("in_module"), IS_PENDING)
        .limit(bindparam("cap")).subquery()).scalar_subquery()


def _oldest_counted() -> ScalarSelect[dt.datetime]:
    """The earliest of the sender's ``rate`` latest messages in the window; none when the
    sender has fewer."""
    return (select(Message.received_at)
            .where(Message.sender_id == bindparam("of_sender"),
                   Message.received_at > bindparam("since", type_=Message.received_at.type))
            .order_by(Message.received_at.desc())
            .offset(bindparam("skip")).limit(1).scalar_subquery())


@functools.cache
def _insert(dialect: str, rate: bool, mailbox: bool) -> Executable:
    """:data:`~skp.mailbox.statements.INSERT_NEW` as ``INSERT … SELECT … WHERE`` the quotas
    that are on have room: it stores nothing, and returns no row, when they have none."""
    within: list[ColumnElement[bool]] = []
    if rate:
        within.append(_sent() < bindparam("rate"))
    if mailbox:
        within.append(_pending() < bindparam("cap"))
    if not within:
        return INSERT_NEW[dialect]
    values = select(*(bindparam(c.key, type_=c.type) for c in _COLUMNS)).where(*within)
    return (_INSERTS[dialect](Message).from_select([c.key for c in _COLUMNS], values)
            .on_conflict_do_nothing(index_elements=["sender_id", "kenmerk"])
            .returning(Message.id))


def kind(refusal: QuotaExceeded) -> QuotaKind:
    """The metrics label of a refusal."""
    return "rate" if isinstance(refusal, RateLimited) else "mailbox"


class Quotas:
    """The send rate and the mailbox limit of ``settings``, checked in the database."""

    def __init__(self, settings: Settings) -> None:
        self.rate = SendRate(settings.send_rate, settings.send_window)
        self.mailbox = MailboxLimit(settings.mailbox_limit)

    def insert(self, dialect: str) -> Executable:
        """The ``INSERT`` of a new message within the quotas (its values and :meth:`bounds`
        bound per call); without a quota on, a plain ``INSERT … ON CONFLICT DO NOTHING``."""
        return _insert(dialect, self.rate.on, self.mailbox.on)

    def bounds(self, sender_id: str, recipient_id: str, module: Module,
               now: dt.datetime) -> dict[str, Any]:
        """What the counts of a message from ``sender_id`` to ``recipient_id`` in ``module``
        at ``now`` bind (in :meth:`insert`, besides the message's columns)."""
        return {"of_sender": sender_id, "of_recipient": recipient_id, "in_module": module,
                "since": self.rate.since(now), "rate": self.rate.limit,
                "skip": max(self.rate.limit - 1, 0), "cap": self.mailbox.limit}

    def refusal(self, db: Session | Connection, sender_id: str, recipient_id: str,
                module: Module, now: dt.datetime) -> QuotaExceeded | None:
        """What refuses a new message from ``sender_id`` to ``recipient_id`` in ``module`` at
        ``now``, the send rate first; None when no quota does. One query."""
        if not (self.rate.on or self.mailbox.on):
            return None
        oldest, pending = db.execute(
            select(_oldest_counted() if self.rate.on else null(),
                   _pending() if self.mailbox.on else null()),
            self.bounds(sender_id, recipient_id, module, now)).one()
        if oldest is not None:
            window = int(self.rate.window.total_seconds())
            wait = self.rate.retry_after(now, oldest)
            return RateLimited(
                f"you had {self.rate.limit} messages accepted in the last {window} seconds, "
                f"the most allowed; nothing was stored: send it again with the same Kenmerk "
                f"in {wait} seconds", retry_after=wait)
        if pending is not None and self.mailbox.full(pending):
            return MailboxFull(
                f"the mailbox of recipient {recipient_id} in module {module} holds "
                f"{self.mailbox.limit} pending messages, the most allowed; nothing was "
                "stored: ask the recipient to fetch and confirm its messages, and send it "
                "again with the same Kenmerk later")
        return None

    def check(self, db: Session | Connection, sender_id: str, recipient_id: str,
              module: Module, now: dt.datetime) -> None:
        """Raise what :meth:`refusal` finds (for a send in a transaction of its own)."""
        refusal = self.refusal(db, sender_id, recipient_id, module, now)
        if refusal is not None:
            raise refusal
