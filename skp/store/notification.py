"""Typed models of the e-mail notifications: the outbox and its counters.

A notification is decided and written to the outbox in one transaction (skp.notifications),
then sent; it is marked ``sent`` only once the mail server has accepted it. The outbox holds
the rendered mail: a unit name, counts and a link, never message content.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from skp.store.models import Base

#: The states of an outbox row; ``pending`` is the only one the sender picks up.
STATES = ("pending", "sent", "refused", "stale")
KINDS = ("new", "reminder")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class NotificationMail(Base):
    """One notification mail of a business unit, to all its subscribed addresses."""

    __tablename__ = "notification_mail"
    __table_args__ = (
        UniqueConstraint("participant_id", "kind", "window_end"),
        CheckConstraint(_in("kind", KINDS), name="kind"),
        CheckConstraint(_in("state", STATES), name="state"),
        CheckConstraint("(state = 'pending') = (done_at IS NULL)", name="done"),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index(None, "state", "created_at"),
        Index(None, "participant_id", "kind", "created_at"),
        {"comment": "Outbox of e-mail notifications (unit name, counts and link; no content)"},
    )

    id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True,
                                    comment="Id; also the mail's Message-ID")
    participant_id: Mapped[str] = mapped_column(
        ForeignKey("participant.id", ondelete="CASCADE"), comment="The business unit")
    kind: Mapped[str] = mapped_column(String(16), comment="new (messages) or reminder")
    window_end: Mapped[dt.datetime] = mapped_column(
        comment="new: messages received up to here are counted; reminder: end of its day")
    created_at: Mapped[dt.datetime] = mapped_column(comment="When it was decided")
    stale_at: Mapped[dt.datetime] = mapped_column(comment="Not sent any more from then on")
    recipients: Mapped[str] = mapped_column(Text, comment="Subscribed addresses, one a line")
    subject: Mapped[str] = mapped_column(String(300), comment="Subject")
    body: Mapped[str] = mapped_column(Text, comment="Plain-text body")
    state: Mapped[str] = mapped_column(String(16), comment="pending, sent, refused or stale")
    attempts: Mapped[int] = mapped_column(default=0, comment="Failed attempts to send it")
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(comment="Latest failed attempt")
    done_at: Mapped[dt.datetime | None] = mapped_column(
        comment="When it was sent, refused or given up")


class NotificationCount(Base):
    """How many notifications ended how, per kind, over the hub's life: the counters of
    /metrics, the same in every process."""

    __tablename__ = "notification_count"
    __table_args__ = (
        CheckConstraint("count >= 0", name="count"),
        {"comment": "E-mail notifications sent, failed, refused or stale, since the start"},
    )

    kind: Mapped[str] = mapped_column(String(16), primary_key=True, comment="new or reminder")
    outcome: Mapped[str] = mapped_column(String(16), primary_key=True,
                                         comment="sent, failed (an attempt), refused or stale")
    count: Mapped[int] = mapped_column(BigInteger, comment="How many so far")


@dataclass(frozen=True)
class Outbox:
    """The outbox in counts: the mails waiting, the oldest one's decision time, their failed
    attempts, and how many mails ended how per (kind, outcome) over the hub's life."""

    pending: int
    oldest: dt.datetime | None
    attempts: int
    outcomes: dict[tuple[str, str], int]


def outbox(session: Session) -> Outbox:
    """The outbox as it is now (/metrics and ``skp notify status``)."""
    pending, oldest, attempts = session.execute(
        select(func.count(), func.min(NotificationMail.created_at),
               func.coalesce(func.sum(NotificationMail.attempts), 0))
        .where(NotificationMail.state == "pending")).one()
    outcomes = {(kind, outcome): count for kind, outcome, count in session.execute(
        select(NotificationCount.kind, NotificationCount.outcome, NotificationCount.count))}
    return Outbox(pending, oldest, attempts, outcomes)
