"""E-mail notifications of business units: decided into an outbox, then sent over SMTP.

Each run (skp.jobs.notify_job, every ``SKP_NOTIFY_POLL`` in the scheduler's leader) does two
things:

1. **Decide.** For each active unit with subscribed addresses, in one transaction per unit and
   kind: count what the notice would say (skp.domain.notifications decides whether one is due),
   and write the rendered mail to the outbox (``notification_mail``, state ``pending``). The
   decision and its record are one commit, and the outbox's unique key (unit, kind, window)
   keeps a decision from being taken twice.
2. **Send.** Every pending mail, oldest first, over one SMTP connection. A mail is marked
   ``sent`` in its own transaction only after the server accepted it. When the server cannot be
   reached or answers with a temporary error, the attempt is counted and the run stops; the next
   run tries again. A mail all of whose addresses the server refuses for good (5xx) is marked
   ``refused``; one not sent by its ``stale_at`` (a reminder after its day) is marked ``stale``.

**The crash window.** If the process dies after the server accepted a mail and before the
``sent`` mark commits, the next run sends that mail again: delivery is at least once, and a
duplicate is possible only in that window (milliseconds). Every attempt of one mail carries the
same ``Message-ID`` (the outbox id), so mail servers and clients that deduplicate can.

Mails name the unit and count messages; they never hold content, names of debtors or amounts
(their text comes from skp.domain.notifications). Logs carry ids, kinds and counts only, never
addresses.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from skp.clock import Clock
from skp.config import Settings
from skp.domain.calendar import WorkingDayCalendar, end_of_day, local_date
from skp.domain.lifecycle import State
from skp.domain.notifications import (
    SETTLE,
    Kind,
    compose,
    expiring_today,
    new_messages_window,
    reminder_due_at,
    stale_at,
)
from skp.domain.roles import Module
from skp.errors import ConfigError
from skp.mail import MailTransport, message
from skp.store import counters
from skp.store.models import Message, Participant
from skp.store.notification import NotificationMail
from skp.store.organisation import NotificationAddress
from skp.store.session import transaction

log = logging.getLogger(__name__)

#: Mails read from the outbox at a time, and sent over one connection.
BATCH = 200
#: How far ahead the reminder looks for deadlines (the last working day before a deadline on a
#: weekend after a holiday lies a few days before it).
_REMINDER_HORIZON = dt.timedelta(days=14)


@dataclass(frozen=True)
class RunResult:
    """What one run did: mails decided, and how the sending went."""

    decided: int = 0
    sent: int = 0
    failed: int = 0
    refused: int = 0
    stale: int = 0


@dataclass(frozen=True)
class _Pending:
    id: str
    participant_id: str
    kind: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    stale_at: dt.datetime


def _addresses(rows: Iterable[Sequence[Any]]) -> dict[tuple[str, Kind], list[str]]:
    """The subscribed addresses by unit and kind, from rows of (unit, address, gets new
    messages, gets reminders)."""
    found: dict[tuple[str, Kind], list[str]] = defaultdict(list)
    for unit, address, new_messages, reminders in rows:
        if new_messages:
            found[unit, Kind.NEW_MESSAGES].append(address)
        if reminders:
            found[unit, Kind.REMINDER].append(address)
    return found


class Notifier:
    """Decides and sends the notifications; :meth:`run` is the scheduler job's body."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, clock: Clock,
                 transport: MailTransport) -> None:
        if settings.notify.sender is None:
            raise ConfigError("SKP_NOTIFY_FROM is not set")
        self._sessions = sessions
        self._settings = settings
        self._sender: str = settings.notify.sender
        self._clock = clock
        self._transport = transport
        self._calendar = WorkingDayCalendar(settings.extra_non_working_days)

    def run(self) -> RunResult:
        """Decide what is due now, then send every pending mail."""
        now = self._clock.now()
        decided = self.decide(now)
        result = self.deliver(now)
        self._forget(now)
        return RunResult(decided, result.sent, result.failed, result.refused, result.stale)

    # --- deciding -----------------------------------------------------------------------

    def decide(self, now: dt.datetime) -> int:
        """Write the notices due at ``now`` to the outbox; how many."""
        with transaction(self._sessions, read_only=True) as session:
            rows = session.execute(
                select(NotificationAddress.participant_id, NotificationAddress.email,
                       NotificationAddress.new_messages, NotificationAddress.reminders,
                       Participant.name)
                .join(Participant, Participant.id == NotificationAddress.participant_id)
                .where(Participant.active)
                .order_by(NotificationAddress.participant_id, NotificationAddress.email)).all()
            due = self._due(session, now)
        units = {unit: name for unit, *_, name in rows}
        addresses = _addresses(tuple(row)[:4] for row in rows)
        decided = 0
        for unit, kind in sorted(due):
            to = addresses.get((unit, kind))
            if not to or unit not in units:
                continue
            decide = self._new_messages if kind is Kind.NEW_MESSAGES else self._reminder
            try:  # decide again, and record it, in one writing transaction
                with transaction(self._sessions) as session:
                    decided += decide(session, now, unit, units[unit], to)
            except sa_exc.IntegrityError:  # another process decided the same notice first
                log.info("notification decided elsewhere", extra={"participant": unit,
                                                                   "kind": kind.value})
        return decided

    def _due(self, session: Session, now: dt.datetime) -> set[tuple[str, Kind]]:
        """Which units may have a notice due, found with one query per kind and without the
        write lock: most units have nothing due on most runs."""
        due: set[tuple[str, Kind]] = set()
        last = (select(NotificationMail.participant_id.label("unit"),
                       func.max(NotificationMail.created_at).label("at"),
                       func.max(NotificationMail.window_end).label("end"))
                .where(NotificationMail.kind == Kind.NEW_MESSAGES.value)
                .group_by(NotificationMail.participant_id).subquery())
        subscribed = select(NotificationAddress.participant_id)
        rows = session.execute(
            select(Message.recipient_id, last.c.at)
            .outerjoin(last, last.c.unit == Message.recipient_id)
            .where(Message.recipient_id.in_(subscribed.where(NotificationAddress.new_messages)),
                   Message.state == State.QUEUED, Message.received_at <= now - SETTLE,
                   or_(last.c.end.is_(None), Message.received_at > last.c.end))
            .group_by(Message.recipient_id, last.c.at))
        interval = self._settings.notify.interval
        due |= {(unit, Kind.NEW_MESSAGES) for unit, at in rows
                if new_messages_window(now, interval, at) is not None}
        today = local_date(now)
        if now < reminder_due_at(today):
            return due
        done = set(session.scalars(select(NotificationMail.participant_id).where(
            NotificationMail.kind == Kind.REMINDER.value,
            NotificationMail.window_end == end_of_day(today))))
        pending: dict[str, list[tuple[Module, str, dt.datetime, int]]] = defaultdict(list)
        for unit, module, type_code, deadline, n in session.execute(
                select(Message.recipient_id, Message.module, Message.type_code,
                       Message.deadline_at, func.count())
                .where(Message.recipient_id.in_(subscribed.where(NotificationAddress.reminders)),
                       Message.state.in_((State.QUEUED, State.FETCHED)),
                       Message.deadline_at > now, Message.deadline_at <= now + _REMINDER_HORIZON)
                .group_by(Message.recipient_id, Message.module, Message.type_code,
                          Message.deadline_at)):
            pending[unit].append((Module(module), type_code, deadline, n))
        due |= {(unit, Kind.REMINDER) for unit, rows_ in pending.items()
                if unit not in done and expiring_today(now, rows_, self._calendar)}
        return due

    def _new_messages(self, session: Session, now: dt.datetime, unit: str, name: str,
                      to: list[str]) -> int:
        """Decide and record the unit's new-message mail: 1 when one is due, else 0."""
        last = session.execute(
            select(NotificationMail.created_at, NotificationMail.window_end)
            .where(NotificationMail.participant_id == unit,
                   NotificationMail.kind == Kind.NEW_MESSAGES.value)
            .order_by(NotificationMail.created_at.desc()).limit(1)).first()
        end = new_messages_window(now, self._settings.notify.interval,
                                  last.created_at if last is not None else None)
        if end is None:
            return 0
        query = (select(Message.module, Message.type_code, func.count())
                 .where(Message.recipient_id == unit, Message.state == State.QUEUED,
                        Message.received_at <= end)
                 .group_by(Message.module, Message.type_code))
        if last is not None:
            query = query.where(Message.received_at > last.window_end)
        counts = {(module, type_code): n for module, type_code, n in session.execute(query)}
        if not counts:
            return 0
        mail = compose(Kind.NEW_MESSAGES, name, counts, self._mailbox_url(unit))
        self._record(session, now, unit, Kind.NEW_MESSAGES, end,
                     stale_at(Kind.NEW_MESSAGES, now), to, mail.subject, mail.body, counts)
        return 1

    def _reminder(self, session: Session, now: dt.datetime, unit: str, name: str,
                  to: list[str]) -> int:
        """Decide and record the unit's reminder of today: 1 when one is due, else 0."""
        today = local_date(now)
        window_end = end_of_day(today)
        if session.scalar(select(NotificationMail.id).where(
                NotificationMail.participant_id == unit,
                NotificationMail.kind == Kind.REMINDER.value,
                NotificationMail.window_end == window_end)) is not None:
            return 0
        rows = session.execute(
            select(Message.module, Message.type_code, Message.deadline_at, func.count())
            .where(Message.recipient_id == unit,
                   Message.state.in_((State.QUEUED, State.FETCHED)),
                   Message.deadline_at > now, Message.deadline_at <= now + _REMINDER_HORIZON)
            .group_by(Message.module, Message.type_code, Message.deadline_at)).all()
        counts = expiring_today(now, [(Module(m), t, d, n) for m, t, d, n in rows],
                                self._calendar)
        if not counts:
            return 0
        mail = compose(Kind.REMINDER, name, counts, self._mailbox_url(unit), day=today)
        self._record(session, now, unit, Kind.REMINDER, window_end,
                     stale_at(Kind.REMINDER, now, today), to, mail.subject, mail.body, counts)
        return 1

    def _record(self, session: Session, now: dt.datetime, unit: str, kind: Kind,
                window_end: dt.datetime, stale: dt.datetime, to: list[str], subject: str,
                body: str, counts: dict[tuple[Module, str], int]) -> None:
        mail_id = str(uuid.uuid4())
        session.add(NotificationMail(
            id=mail_id, participant_id=unit, kind=kind.value, window_end=window_end,
            created_at=now, stale_at=stale, recipients="\n".join(to), subject=subject,
            body=body, state="pending", attempts=0))
        session.flush()  # a second decision of the same window fails here, in this unit's turn
        log.info("notification decided", extra={"participant": unit, "kind": kind.value,
                                                "notification": mail_id,
                                                "messages": sum(counts.values()),
                                                "addresses": len(to)})

    def _mailbox_url(self, unit: str) -> str:
        return f"{self._settings.portal.public_url}/eenheid/{unit}/berichten"

    # --- sending ------------------------------------------------------------------------

    def deliver(self, now: dt.datetime) -> RunResult:
        """Send the pending mails, oldest first, :data:`BATCH` at a time, until none is left
        or an attempt fails (the rest wait for the next run)."""
        sent = failed = refused = stale = 0
        while True:
            batch = self._pending()
            result = self._send(batch, now)
            sent, failed = sent + result.sent, failed + result.failed
            refused, stale = refused + result.refused, stale + result.stale
            if result.failed or len(batch) < BATCH:
                return RunResult(0, sent, failed, refused, stale)

    def _pending(self) -> list[_Pending]:
        """The oldest pending mails, each to the addresses that were subscribed when it was
        decided and still are: an address unsubscribed since (or no longer getting that kind)
        gets nothing."""
        with transaction(self._sessions, read_only=True) as session:
            rows = session.scalars(
                select(NotificationMail).where(NotificationMail.state == "pending")
                .order_by(NotificationMail.created_at, NotificationMail.id).limit(BATCH)).all()
            current = _addresses(session.execute(
                select(NotificationAddress.participant_id, NotificationAddress.email,
                       NotificationAddress.new_messages, NotificationAddress.reminders)
                .where(NotificationAddress.participant_id.in_(
                    {r.participant_id for r in rows}))))
            return [_Pending(r.id, r.participant_id, r.kind, tuple(
                a for a in r.recipients.split("\n")
                if a in current.get((r.participant_id, Kind(r.kind)), ())),
                r.subject, r.body, r.stale_at) for r in rows]

    def _send(self, batch: list[_Pending], now: dt.datetime) -> RunResult:
        # Too late, or nobody subscribed any more: not sent.
        stale = [p for p in batch if p.stale_at <= now or not p.recipients]
        for mail in stale:
            self._finish(mail, "stale", now)
        pending = [p for p in batch if p not in stale]
        if not pending:
            return RunResult(stale=len(stale))
        sent = refused = 0
        current = pending[0]
        try:
            with self._transport.connect() as connection:
                for current in pending:
                    try:
                        connection.send_message(self._message(current, now),
                                                to_addrs=list(current.recipients))
                    except smtplib.SMTPRecipientsRefused as exc:
                        if not all(code >= 500 for code, _ in exc.recipients.values()):
                            raise
                        self._finish(current, "refused", now)
                        refused += 1
                        continue
                    self._finish(current, "sent", now)
                    sent += 1
        except (smtplib.SMTPException, OSError, ConfigError) as exc:
            self._failed(current, now, exc)
            return RunResult(sent=sent, failed=1, refused=refused, stale=len(stale))
        return RunResult(sent=sent, refused=refused, stale=len(stale))

    def _message(self, mail: _Pending, now: dt.datetime) -> EmailMessage:
        # Every subscribed address gets the mail without seeing the others (the envelope
        # names them, the header none).
        return message(self._sender, "undisclosed-recipients:;", mail.subject, mail.body, now,
                       mail.id)

    def _finish(self, mail: _Pending, state: str, now: dt.datetime) -> None:
        with transaction(self._sessions) as session:
            done = session.execute(
                update(NotificationMail)
                .where(NotificationMail.id == mail.id, NotificationMail.state == "pending")
                .values(state=state, done_at=now)
                .returning(NotificationMail.id)).first()
            if done is not None:
                counters.add_notification(session, mail.kind, state)
        log.info(f"notification {state}", extra={"participant": mail.participant_id,
                                                 "kind": mail.kind, "notification": mail.id,
                                                 "addresses": len(mail.recipients)})

    def _failed(self, mail: _Pending, now: dt.datetime, exc: Exception) -> None:
        with transaction(self._sessions) as session:
            session.execute(
                update(NotificationMail)
                .where(NotificationMail.id == mail.id, NotificationMail.state == "pending")
                .values(attempts=NotificationMail.attempts + 1, last_attempt_at=now))
            counters.add_notification(session, mail.kind, "failed")
        code = getattr(exc, "smtp_code", None)
        log.warning("notification not sent, retried next run: %s%s", type(exc).__name__,
                    f" {code}" if code is not None else "",
                    extra={"participant": mail.participant_id, "kind": mail.kind,
                           "notification": mail.id})

    def _forget(self, now: dt.datetime) -> None:
        """Delete finished outbox rows once the metadata retention has passed."""
        with transaction(self._sessions) as session:
            session.execute(delete(NotificationMail).where(
                NotificationMail.state != "pending",
                NotificationMail.done_at < now - self._settings.metadata_retention))
