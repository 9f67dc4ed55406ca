"""The mailbox: send, list, fetch, confirm, status, logbook and purge.

The only module that combines store, sealing and domain. What a call changes, it changes in one
transaction or one statement. The caller's participant id comes from its certificate (the SOAP
layer), never from a message. Logs carry metadata only: ids, module, type, counts.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Executable,
    Row,
    Select,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from skp import sealing
from skp.attachments import Document, Spool, base64_length, open_document
from skp.clock import Clock, SystemClock
from skp.config import Settings
from skp.domain import matching
from skp.domain.calendar import WorkingDayCalendar
from skp.domain.catalogue import MessageType, lookup
from skp.domain.fields import documents
from skp.domain.lifecycle import Event, State, transition
from skp.domain.retention import fetch_deadline, reply_deadline
from skp.domain.roles import Module
from skp.domain.routing import Original, check_reply, check_route
from skp.domain.validation import (
    Body,
    Header,
    map_documents,
    validate_body,
    validate_header,
)
from skp.errors import (
    AuthenticationError,
    InvalidState,
    KenmerkConflict,
    NotFound,
    SchemaInvalid,
    SkpError,
    TooLarge,
    Unavailable,
    UnknownRecipient,
)
from skp.metrics import MailboxMetrics, NullMetrics
from skp.participants import ParticipantInfo, by_id, with_modules
from skp.store import segments
from skp.store.models import CONTENT_COLUMNS, ClaimContext, Message, Participant
from skp.store.session import statements, transaction
from skp.store.types import canonical_id

log = logging.getLogger(__name__)
T = TypeVar("T")

PENDING = (State.QUEUED, State.FETCHED)
#: What a metadata read selects: every column but the sealed content (up to 4 MB a row).
_METADATA = tuple(c for c in Message.__table__.columns if c.key not in CONTENT_COLUMNS)
MAX_PAGE = 500
#: A listing counts the backlog up to here: counting a million rows on every call would cost
#: more than the rest of the call (docs/performance.md); the figure then means "at least".
BACKLOG_COUNT_LIMIT = 10_000


@dataclass(frozen=True)
class Receipt:
    """What the sender gets back: the hub id, when it was received, its fetch deadline."""

    message_id: str
    received_at: dt.datetime
    deadline: dt.datetime
    repeated: bool = False  # True when the Kenmerk was sent before: nothing new was stored


@dataclass(frozen=True)
class MessageInfo:
    """A message's metadata: everything the hub may show, never content."""

    id: str
    module: Module
    type_code: str
    sender_id: str
    recipient_id: str
    kenmerk: str
    conversation_id: str
    cross_reference_id: str | None
    version: str
    state: State
    size: int
    received_at: dt.datetime
    deadline: dt.datetime
    fetched_at: dt.datetime | None
    confirmed_at: dt.datetime | None
    expired_at: dt.datetime | None

    @classmethod
    def of(cls, m: Message | Row[Any]) -> MessageInfo:
        """From a message or a row of its metadata columns."""
        return cls(m.id, m.module, m.type_code, m.sender_id, m.recipient_id, m.kenmerk,
                   m.conversation_id, m.cross_reference_id, m.version, m.state, m.size,
                   m.received_at, m.deadline_at, m.fetched_at, m.confirmed_at, m.expired_at)


@dataclass(frozen=True)
class Delivery:
    """A fetched message: its metadata and its opened body, whose documents are
    :class:`~skp.attachments.Document` objects (verified, opened a piece at a time)."""

    info: MessageInfo
    body: Body


@dataclass(frozen=True)
class Page:
    """One page of a mailbox listing, oldest first, and the backlog's size (counted up to
    :data:`BACKLOG_COUNT_LIMIT`)."""

    items: list[MessageInfo]
    backlog: int
    next_after: str | None


@dataclass(frozen=True)
class LogQuery:
    """A metadata search over the caller's own traffic (Logboek)."""

    module: Module | None = None
    type_code: str | None = None
    direction: Literal["sent", "received"] | None = None
    counterpart_id: str | None = None
    conversation_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    limit: int = 100


@dataclass(frozen=True)
class PurgeResult:
    expired: int = 0
    contexts: int = 0
    metadata: int = 0


class Mailbox:
    """The mailbox service over a database, a key ring and a clock.

    ``metrics`` hears of each message sent, first fetched, confirmed or expired once its
    transaction has committed; by default nobody listens.
    """

    def __init__(self, sessions: sessionmaker[Session], keyring: sealing.KeyRing,
                 settings: Settings, clock: Clock | None = None, *,
                 metrics: MailboxMetrics | None = None) -> None:
        self._sessions = sessions
        self._keyring = keyring
        self._settings = settings
        self._clock = clock or SystemClock()
        self._metrics: MailboxMetrics = metrics or NullMetrics()
        self._calendar = WorkingDayCalendar(settings.extra_non_working_days)

    # --- sending -------------------------------------------------------------------------

    def send(self, sender_id: str, module: Module, type_code: str, header: Header,
             body: Mapping[str, Any], spool: Spool | None = None) -> Receipt:
        """Validate, route and seal a message; idempotent on (sender, Kenmerk).

        Documents are given as bytes, or, by the SOAP layer, as documents of ``spool``: read,
        decoded and sealed while the request arrived. The message gets the spool's id and data
        key; its documents are stored in segments (skp.attachments).
        """
        try:
            mt = lookup(module, type_code)
        except KeyError:
            raise SchemaInvalid(f"module {module} has no message type {type_code}") from None
        header = validate_header(module, header)
        if spool is None:
            with Spool() as own:
                return self.send(sender_id, module, type_code, header, body, own)
        try:
            receipt = self._send(sender_id, mt, header, body, spool)
        except sa_exc.IntegrityError:
            # A concurrent send with the same Kenmerk won the race: answer as a repeat.
            with transaction(self._sessions, read_only=True) as session:
                repeat = self._repeated(session, sender_id, mt, header)
            if repeat is None:
                raise
            return repeat
        log.info("sent message=%s module=%s type=%s sender=%s recipient=%s repeated=%s",
                 receipt.message_id, module, type_code, sender_id, header.ontvanger,
                 receipt.repeated)
        if not receipt.repeated:
            self._metrics.sent(module, type_code)
        return receipt

    def _send(self, sender_id: str, mt: MessageType, header: Header,
              body: Mapping[str, Any], spool: Spool) -> Receipt:
        now = self._clock.now()
        if (header.cross_referentienummer is None and mt.code != matching.REQUEST
                and not _attaches(mt)):
            return self._send_alone(sender_id, mt, header, body, spool, now)
        # A reply ends its original's claim context and a Saldoverzoek opens one, and a
        # message's documents are stored: together with the message, in one transaction.
        with transaction(self._sessions) as session:
            sender, recipient = _parties(session, sender_id, header.ontvanger)
            repeat = self._repeated(session, sender_id, mt, header)
            if repeat is not None:
                return repeat
            original = self._original(session, header.cross_referentienummer)
            recipient, content = _checked(mt, header, body, sender, recipient, spool, original)
            if original is not None:
                content = self._close_claim_context(session, original, mt, content)
            message = self._new_message(mt, header, sender, recipient, content, spool, now)
            session.add(message)
            session.flush()  # the row must exist before its claim context and segments
            segments.write(session, message.id, spool)
            if mt.code == matching.REQUEST:
                self._open_claim_context(session, message, content)
            return Receipt(message.id, message.received_at, message.deadline_at)

    def _send_alone(self, sender_id: str, mt: MessageType, header: Header,
                    body: Mapping[str, Any], spool: Spool, now: dt.datetime) -> Receipt:
        """A message that touches no claim context: the participants query and one INSERT,
        each its own transaction on PostgreSQL.

        The Kenmerk is looked up only when the INSERT stores nothing or a check fails: a used
        Kenmerk is answered as a repeat even when the message would now fail a check, as on
        the transactional way, which looks it up first.
        """
        with statements(self._sessions, read_only=False) as connection:
            sender, recipient = _parties(connection, sender_id, header.ontvanger)
            try:
                recipient, content = _checked(mt, header, body, sender, recipient, spool)
                message = self._new_message(mt, header, sender, recipient, content, spool, now)
            except SkpError:
                repeat = self._repeated(connection, sender_id, mt, header)
                if repeat is None:
                    raise
                return repeat
            if connection.execute(_INSERT_NEW[connection.dialect.name],
                                  _row(message)).first() is not None:
                return Receipt(message.id, message.received_at, message.deadline_at)
            repeat = self._repeated(connection, sender_id, mt, header)
        if repeat is None:  # pragma: no cover - the message of the Kenmerk was purged since
            raise Unavailable("the Kenmerk's earlier message was deleted while this one was "
                              "sent; nothing was stored, retry")
        return repeat

    def _new_message(self, mt: MessageType, header: Header, sender: ParticipantInfo,
                     recipient: ParticipantInfo, content: Body, spool: Spool,
                     now: dt.datetime) -> Message:
        """The message to store, received ``now``: its content sealed to its metadata
        (:func:`_aad`) under the spool's data key. TooLarge when the content is over the limit:
        its size counts each document as the base64 text it was sent as."""
        payload = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()
        size = len(payload) + sum(base64_length(d.length) for d in spool.documents)
        if size > self._settings.max_message_bytes:
            raise TooLarge(f"the message is {size} bytes; the maximum is "
                           f"{self._settings.max_message_bytes}")
        message = Message(
            id=spool.message_id, module=mt.module, type_code=mt.code,
            sender_id=sender.id, recipient_id=recipient.id, kenmerk=header.kenmerk,
            conversation_id=header.conversatie_referentienummer,
            cross_reference_id=header.cross_referentienummer,
            version=header.versie or "", state=State.QUEUED, size=size,
            documents=len(spool.documents), received_at=now,
            deadline_at=fetch_deadline(now, calendar=self._calendar,
                                       working_days=self._settings.working_days,
                                       extension_days=recipient.extension_days),
        )
        _store_content(message, sealing.seal(payload, _aad(message), self._keyring,
                                             data_key=spool.data_key))
        return message

    def _repeated(self, db: Session | Connection, sender_id: str, mt: MessageType,
                  header: Header) -> Receipt | None:
        """The repeat's receipt when the sender used the Kenmerk before; None when it did not.
        KenmerkConflict when it did for another type or recipient."""
        existing = self._by_kenmerk(db, sender_id, header.kenmerk)
        return None if existing is None else _repeat(existing, mt, header)

    def _open_claim_context(self, session: Session, message: Message, content: Body) -> None:
        claims = matching.claim_references(content)
        if not claims:
            return
        sealed = sealing.seal(json.dumps(claims).encode(), _context_aad(message.id),
                              self._keyring)
        session.add(ClaimContext(
            message_id=message.id, nonce=sealed.nonce, ciphertext=sealed.ciphertext,
            wrapped_key=sealed.wrapped_key, kek_id=sealed.kek_id,
            expires_at=reply_deadline(message.received_at, calendar=self._calendar,
                                      working_days=self._settings.reply_working_days)))

    def _close_claim_context(self, session: Session, original: Message, mt: MessageType,
                             content: Body) -> Body:
        """Any reply to a Saldoverzoek ends its claim context; a non-matched answer expands."""
        context = session.get(ClaimContext, original.id, with_for_update=True)
        if context is None:
            return content
        if mt.code == matching.REPLY:
            claims = json.loads(sealing.open_sealed(
                sealing.Sealed(context.nonce, context.ciphertext, context.wrapped_key,
                               context.kek_id),
                _context_aad(original.id), self._keyring))
            content = matching.expand_non_matched(content, claims)
        session.delete(context)
        return content

    # --- receiving -----------------------------------------------------------------------

    def list_pending(self, recipient_id: str, module: Module, *, type_code: str | None = None,
             limit: int = 100, after: str | None = None) -> Page:
        """Metadata of the recipient's pending messages in ``module``, oldest first."""
        limit = max(1, min(limit, MAX_PAGE))
        params: dict[str, Any] = {"me": recipient_id, "module": module,
                                  "now": self._clock.now(), "type_code": type_code,
                                  "limit": limit + 1, "count_limit": BACKLOG_COUNT_LIMIT}
        typed = type_code is not None
        with statements(self._sessions) as connection:
            if after is not None:
                anchor = _metadata(connection, after)
                if anchor is None or anchor.recipient_id != recipient_id:
                    raise NotFound(f"no message {after} in your mailbox to continue after")
                params.update(after_at=anchor.received_at, after_id=anchor.id)
            rows = connection.execute(_page(typed, after is not None), params).all()
            if after is None and len(rows) <= limit:
                backlog = len(rows)  # the first page holds the whole backlog: nothing to count
            else:
                backlog = connection.scalar(_backlog(typed), params) or 0
        items = [MessageInfo.of(row) for row in rows[:limit]]
        return Page(items, backlog, items[-1].id if len(rows) > limit else None)

    def fetch(self, recipient_id: str, message_id: str) -> Delivery:
        """The message with its body; repeatable until confirmed or expired."""
        now = self._clock.now()
        # The first fetch is one statement. (Should the content then fail to open, the message
        # stays fetched: a fetch may be repeated.) A repeat or a refusal takes the long way.
        with statements(self._sessions, read_only=False) as connection:
            row = _advance(connection, _FETCH, recipient_id, message_id, now)
            stored = None if row is None else segments.read(connection, row)
        if row is not None and stored is not None:
            return self._fetched(self._open(row, stored), True)
        with transaction(self._sessions) as session:
            delivery, first = self._deliver(session,
                                            self._mine(session, recipient_id, message_id))
        return self._fetched(delivery, first)

    def fetch_next(self, recipient_id: str, module: Module,
                   type_code: str | None = None) -> Delivery | None:
        """Take the oldest message not yet fetched; concurrent consumers get different ones."""
        query = select(Message).where(
            Message.recipient_id == recipient_id, Message.module == module,
            Message.state == State.QUEUED, Message.deadline_at > self._clock.now())
        if type_code is not None:
            query = query.where(Message.type_code == type_code)
        query = query.order_by(Message.received_at, Message.id).limit(1)
        with transaction(self._sessions) as session:
            message = session.scalar(query.with_for_update(skip_locked=True))
            if message is None:
                return None
            delivery, first = self._deliver(session, message)
        return self._fetched(delivery, first)

    def _deliver(self, session: Session, message: Message) -> tuple[Delivery, bool]:
        """The delivery, and whether this is the message's first fetch."""
        now = self._clock.now()
        if message.state in PENDING and message.deadline_at <= now:
            raise InvalidState("the message passed its deadline and its content is deleted")
        first = message.fetched_at is None
        message.state = transition(message.state, Event.FETCH)
        message.fetched_at = message.fetched_at or now
        stored = segments.read(session, message)
        if stored is None:
            raise InvalidState("the message was confirmed meanwhile: its content is deleted")
        return self._open(message, stored), first

    def _open(self, message: Message | Row[Any], stored: Sequence[Sequence[bytes]]
              ) -> Delivery:
        """A fetched message with its body opened and its documents verified."""
        sealed = _content(message)
        key = sealing.unwrap_key(sealed, self._keyring)
        body = json.loads(sealing.open_with_key(key, sealed.nonce, sealed.ciphertext,
                                                _aad(message)))

        def opened(value: Any) -> Document:
            if isinstance(value, str):  # stored inline, before documents were stored apart
                return Document.inline(value)
            return open_document(value, key, message.id, stored[value["document"]])

        mt = lookup(message.module, message.type_code)
        if _attaches(mt):
            body = map_documents(mt.fields, body, opened)
        log.info("fetched message=%s recipient=%s", message.id, message.recipient_id)
        return Delivery(MessageInfo.of(message), body)

    def _fetched(self, delivery: Delivery, first: bool) -> Delivery:
        """Count a committed first fetch."""
        if first:
            self._metrics.fetched(delivery.info.module, delivery.info.type_code)
        return delivery

    def confirm(self, recipient_id: str, message_id: str) -> MessageInfo:
        """Confirm receipt; the content is deleted in the same transaction. Idempotent."""
        now = self._clock.now()
        # A confirm after a fetch is one statement; a repeat or a refusal takes the long way.
        with statements(self._sessions, read_only=False) as connection:
            dialect = connection.dialect.name
            row = _advance(connection, _CONFIRM[dialect], recipient_id, message_id, now)
            if row is not None and row.documents and dialect == "sqlite":  # the same transaction
                connection.execute(segments.DROP, {"messages": [row.id]})
        repeated = False
        if row is not None:
            info = MessageInfo.of(row)
        else:
            with transaction(self._sessions) as session:
                message = self._mine(session, recipient_id, message_id)
                repeated = message.state is State.CONFIRMED
                if not repeated:
                    message.state = transition(message.state, Event.CONFIRM)
                    message.confirmed_at = now
                    _store_content(message, None)
                    if message.documents:
                        session.execute(segments.DROP, {"messages": [message.id]})
                info = MessageInfo.of(message)
        if not repeated:
            log.info("confirmed message=%s recipient=%s", info.id, recipient_id)
            self._metrics.confirmed(info.module, info.type_code)
        return info

    # --- the sender's view and the logbook -------------------------------------------------

    def status(self, sender_id: str, *, message_id: str | None = None,
               kenmerk: str | None = None) -> MessageInfo:
        """The sender's view of one of its messages, by hub id or by its own Kenmerk."""
        with statements(self._sessions) as connection:
            if message_id is not None:
                message = _metadata(connection, message_id)
            elif kenmerk is not None:
                message = self._by_kenmerk(connection, sender_id, kenmerk)
            else:
                raise SchemaInvalid("give a berichtId or a Kenmerk")
        if message is None or message.sender_id != sender_id:
            raise NotFound(f"you sent no message {message_id or kenmerk}")
        return MessageInfo.of(message)

    def logbook(self, participant_id: str, query: LogQuery) -> list[MessageInfo]:
        """Metadata of the participant's own sent and received messages, newest first."""
        sent, received = Message.sender_id == participant_id, (
            Message.recipient_id == participant_id)
        mine = {"sent": sent, "received": received, None: or_(sent, received)}[query.direction]
        conditions = [mine]
        if query.counterpart_id is not None:
            conditions.append(or_(and_(sent, Message.recipient_id == query.counterpart_id),
                                  and_(received, Message.sender_id == query.counterpart_id)))
        for column, value in ((Message.module, query.module),
                              (Message.type_code, query.type_code),
                              (Message.conversation_id, query.conversation_id)):
            if value is not None:
                conditions.append(column == value)
        if query.since is not None:
            conditions.append(Message.received_at >= query.since)
        if query.until is not None:
            conditions.append(Message.received_at < query.until)
        statement = (select(*_METADATA).where(*conditions)
                     .order_by(Message.received_at.desc(), Message.id.desc())
                     .limit(max(1, min(query.limit, MAX_PAGE))))
        with statements(self._sessions) as connection:
            return [MessageInfo.of(row) for row in connection.execute(statement)]

    # --- retention -----------------------------------------------------------------------

    def purge(self, now: dt.datetime | None = None, *, batch_size: int | None = None,
              max_batches: int = 10_000) -> PurgeResult:
        """Delete what is due at ``now``, in bounded batches, each its own transaction.

        Content of unconfirmed messages past their deadline is deleted and the message marked
        expired; claim contexts past their reply period are deleted; metadata older than the
        retention period is deleted. Returns the counts.
        """
        now = now or self._clock.now()
        size = batch_size or self._settings.purge_batch_size
        expired = self._in_batches(size, max_batches, lambda s: self._expire_batch(s, now, size),
                                   committed=self._count_expired)
        contexts = self._in_batches(size, max_batches, lambda s: _delete_batch(
            s, ClaimContext.message_id, ClaimContext.expires_at <= now, size))
        horizon = now - self._settings.metadata_retention
        metadata = self._in_batches(size, max_batches, lambda s: _delete_batch(
            s, Message.id, and_(Message.received_at <= horizon,
                                Message.state.not_in(PENDING)), size))
        result = PurgeResult(expired, contexts, metadata)
        log.info("purge expired=%d contexts=%d metadata=%d", result.expired, result.contexts,
                 result.metadata)
        return result

    def _in_batches(self, size: int, max_batches: int, batch: Callable[[Session], Sequence[T]],
                    committed: Callable[[Sequence[T]], None] | None = None) -> int:
        """Run ``batch`` in transactions of its own until it does less than ``size`` rows;
        ``committed`` hears of each batch's rows once its transaction has committed."""
        total = 0
        for _ in range(max_batches):
            with transaction(self._sessions) as session:
                done = batch(session)
            if committed is not None:
                committed(done)
            total += len(done)
            if len(done) < size:
                break
        return total

    def _expire_batch(self, session: Session, now: dt.datetime,
                      size: int) -> Sequence[tuple[Module, str]]:
        """Expire up to ``size`` messages due at ``now``; their (module, type) pairs."""
        rows = session.execute(
            select(Message.id, Message.module, Message.type_code)
            .where(Message.state.in_(PENDING), Message.deadline_at <= now)
            # (state, deadline_at) is the index's order: read from it, not a sort of every
            # due row per batch (docs/performance.md, "Purge").
            .order_by(Message.state, Message.deadline_at).limit(size)
            .with_for_update(skip_locked=True)).all()
        if rows:
            ids = [row.id for row in rows]
            session.execute(
                update(Message).where(Message.id.in_(ids)).values(
                    state=State.EXPIRED, expired_at=now, nonce=None, ciphertext=None,
                    wrapped_key=None, kek_id=None),
                execution_options={"synchronize_session": False})
            session.execute(segments.DROP, {"messages": ids})
        return [(row.module, row.type_code) for row in rows]

    def _count_expired(self, kinds: Sequence[tuple[Module, str]]) -> None:
        for (module, type_code), count in Counter(kinds).items():
            self._metrics.expired(module, type_code, count)

    def rewrap_keys(self, batch_size: int = 500) -> int:
        """Re-wrap every data key not wrapped by the current KEK; ciphertexts stay as they are."""
        total = self._in_batches(batch_size, 1_000_000,
                                 lambda s: self._rewrap_batch(s, Message, batch_size))
        total += self._in_batches(batch_size, 1_000_000,
                                  lambda s: self._rewrap_batch(s, ClaimContext, batch_size))
        log.info("rewrapped data keys=%d kek=%s", total, self._keyring.current_id)
        return total

    def _rewrap_batch(self, session: Session, model: type[Message] | type[ClaimContext],
                      size: int) -> Sequence[Message | ClaimContext]:
        current = self._keyring.current_id
        rows: Sequence[Message | ClaimContext] = session.scalars(  # type: ignore[assignment]
            select(model).where(model.kek_id.is_not(None), model.kek_id != current)
            .limit(size).with_for_update(skip_locked=True)).all()
        for row in rows:
            if row.kek_id is not None and row.wrapped_key is not None:
                row.kek_id, row.wrapped_key = sealing.rewrap(row.wrapped_key, row.kek_id,
                                                             self._keyring)
        return rows

    # --- helpers -------------------------------------------------------------------------

    @staticmethod
    def _by_kenmerk(db: Session | Connection, sender_id: str, kenmerk: str) -> Row[Any] | None:
        return db.execute(select(*_METADATA).where(Message.sender_id == sender_id,
                                                   Message.kenmerk == kenmerk)).first()

    @staticmethod
    def _original(session: Session, message_id: str | None) -> Message | None:
        return None if message_id is None else session.get(Message, message_id)

    @staticmethod
    def _mine(session: Session, recipient_id: str, message_id: str) -> Message:
        message = _locked(session, message_id)
        if message is None or message.recipient_id != recipient_id:
            raise NotFound(f"no message {message_id} in your mailbox")
        return message


@functools.cache
def _attaches(mt: MessageType) -> bool:
    """Whether messages of type ``mt`` may carry documents (stored with them, in segments)."""
    return any(documents(mt.fields))


def _parties(db: Session | Connection, sender_id: str,
             recipient_id: str) -> tuple[ParticipantInfo, ParticipantInfo | None]:
    """The sender and, when active, the recipient: one query. AuthenticationError when the
    sender is not active."""
    active = by_id(db.execute(_PARTIES, {"ids": [sender_id, recipient_id]}))
    sender = active.get(sender_id)
    if sender is None:
        raise AuthenticationError("the sender is not an active participant")
    return sender, active.get(recipient_id)


def _checked(mt: MessageType, header: Header, body: Mapping[str, Any],
             sender: ParticipantInfo, recipient: ParticipantInfo | None, spool: Spool,
             original: Message | None = None) -> tuple[ParticipantInfo, Body]:
    """The recipient and the validated content, once the recipient is active and the route,
    the reply to ``original`` and the body are valid; its documents are references to the
    documents of ``spool``."""
    if recipient is None:
        raise UnknownRecipient(f"no active participant {header.ontvanger}")
    check_route(mt, sender.party, recipient.party)
    check_reply(mt, sender_id=sender.id, recipient_id=recipient.id,
                conversation_id=header.conversatie_referentienummer,
                cross_reference=header.cross_referentienummer,
                original=None if original is None else _original_of(original))
    return recipient, validate_body(mt, body, sender.role, document=spool.reference)


def _row(message: Message) -> dict[str, Any]:
    """The column values of a message not yet stored."""
    return {column.key: getattr(message, column.key) for column in Message.__table__.columns}


# The statements of the requests of the mailbox cycle, built once: building a statement and its
# cache key costs 0.1-0.2 ms, a tenth of such a request (docs/performance.md). Their values are
# bound per call.

#: The sender and the recipient, if active, with their modules (:func:`_parties`).
_PARTIES = with_modules().where(
    Participant.id.in_(bindparam("ids", expanding=True)), Participant.active)


def _pending(typed: bool) -> ColumnElement[bool]:
    """The recipient's pending messages in a module, of one type if ``typed``."""
    pending = and_(Message.recipient_id == bindparam("me"), Message.module == bindparam("module"),
                   Message.state.in_(PENDING), Message.deadline_at > bindparam("now"))
    return and_(pending, Message.type_code == bindparam("type_code")) if typed else pending


@functools.cache
def _page(typed: bool, after: bool) -> Select[Any]:
    """A page of a listing, from the start or after the message at (after_at, after_id)."""
    query = select(*_METADATA).where(_pending(typed))
    if after:
        query = query.where(or_(
            Message.received_at > bindparam("after_at"),
            and_(Message.received_at == bindparam("after_at"), Message.id > bindparam("after_id"))))
    return query.order_by(Message.received_at, Message.id).limit(bindparam("limit"))


@functools.cache
def _backlog(typed: bool) -> Select[Any]:
    """The size of the listing's backlog, counted up to :data:`BACKLOG_COUNT_LIMIT`."""
    return select(func.count()).select_from(
        select(Message.id).where(_pending(typed)).limit(bindparam("count_limit")).subquery())


def _held(state: State) -> ColumnElement[bool]:
    """The message with id ``message`` in the mailbox of ``me``, in ``state``."""
    return and_(Message.id == bindparam("message"), Message.recipient_id == bindparam("me"),
                Message.state == state)


#: A first fetch: queued and within its deadline -> fetched (:func:`_advance`).
_FETCH = (update(Message)
          .where(_held(State.QUEUED), Message.deadline_at > bindparam("now"))
          .values(state=transition(State.QUEUED, Event.FETCH), fetched_at=bindparam("now"))
          .returning(*Message.__table__.columns))
#: A confirm after a fetch: fetched -> confirmed, the content deleted (:func:`_advance`).
_CONFIRMED = (update(Message)
              .where(_held(State.FETCHED))
              .values(state=transition(State.FETCHED, Event.CONFIRM),
                      confirmed_at=bindparam("now"), **dict.fromkeys(CONTENT_COLUMNS))
              .returning(*Message.__table__.columns))
#: By dialect, :data:`_CONFIRMED` with the documents deleted in the same transaction: on
#: PostgreSQL, where each of `statements` is a transaction of its own, by the same statement;
#: SQLite runs `statements` in one transaction, and the mailbox deletes them after it.
_CONFIRM: dict[str, Executable] = {"postgresql": segments.dropping(_CONFIRMED),
                                   "sqlite": _CONFIRMED}
#: By dialect: store a message unless its sender used its Kenmerk before; it returns a row only
#: when it stored one. No Kenmerk SELECT first, and no IntegrityError for a concurrent repeat.
_INSERT_NEW = {
    name: insert(Message).on_conflict_do_nothing(index_elements=["sender_id", "kenmerk"])
    .returning(Message.id)
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}


def _original_of(m: Message) -> Original:
    return Original(m.id, m.module, m.type_code, m.sender_id, m.recipient_id, m.conversation_id)


def _repeat(existing: Row[Any], mt: MessageType, header: Header) -> Receipt:
    if (existing.module, existing.type_code, existing.recipient_id) != (
            mt.module, mt.code, header.ontvanger):
        raise KenmerkConflict(f"Kenmerk {header.kenmerk} was used for message {existing.id} of "
                              "another type or recipient; use a new Kenmerk",
                              message_id=existing.id)
    return Receipt(existing.id, existing.received_at, existing.deadline_at, repeated=True)


def _aad(m: Message | Row[Any]) -> bytes:
    """The immutable metadata a message's ciphertext is bound to."""
    return sealing.associated_data({
        "id": m.id, "module": m.module.value, "type": m.type_code, "sender": m.sender_id,
        "recipient": m.recipient_id, "kenmerk": m.kenmerk, "conversation": m.conversation_id,
        "cross_reference": m.cross_reference_id, "version": m.version,
        "received_at": m.received_at.astimezone(dt.UTC).isoformat(), "size": m.size,
    })


def _context_aad(message_id: str) -> bytes:
    return sealing.associated_data({"claim_context_of": message_id})


def _store_content(m: Message, sealed: sealing.Sealed | None) -> None:
    if sealed is None:
        m.nonce = m.ciphertext = m.wrapped_key = m.kek_id = None
    else:
        m.nonce, m.ciphertext = sealed.nonce, sealed.ciphertext
        m.wrapped_key, m.kek_id = sealed.wrapped_key, sealed.kek_id


def _content(m: Message | Row[Any]) -> sealing.Sealed:
    if m.nonce is None or m.ciphertext is None or m.wrapped_key is None or m.kek_id is None:
        raise NotFound(f"message {m.id} holds no content")  # pragma: no cover - DB check
    return sealing.Sealed(m.nonce, m.ciphertext, m.wrapped_key, m.kek_id)


def _delete_batch(session: Session, key: Any, condition: Any, size: int) -> Sequence[Any]:
    ids = session.scalars(select(key).where(condition).limit(size)).all()
    if ids:
        session.execute(delete(key.class_).where(key.in_(ids)),
                        execution_options={"synchronize_session": False})
    return ids


def _locked(session: Session, message_id: str) -> Message | None:
    """The message with hub id ``message_id``, locked for update; None also when the id is not
    a UUID."""
    key = canonical_id(message_id)
    return None if key is None else session.get(Message, key, with_for_update=True)


def _metadata(connection: Connection, message_id: str) -> Row[Any] | None:
    """The metadata of the message with hub id ``message_id``; None as :func:`_locked`."""
    key = canonical_id(message_id)
    return None if key is None else connection.execute(
        select(*_METADATA).where(Message.id == key)).first()


def _advance(connection: Connection, statement: Executable, recipient_id: str, message_id: str,
             now: dt.datetime) -> Row[Any] | None:
    """Run :data:`_FETCH` or :data:`_CONFIRM` on the recipient's message; its row, or None
    when it is not the recipient's or not in the state the statement moves it from."""
    key = canonical_id(message_id)
    if key is None:
        return None
    return connection.execute(statement, {"message": key, "me": recipient_id, "now": now}).first()

