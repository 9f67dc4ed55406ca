"""The mailbox's SQL: the statements of the mailbox cycle, built once, and the small reads.

Building a statement and its cache key costs 0.1-0.2 ms, a tenth of such a request
(docs/performance.md), so the statements of the requests of the mailbox cycle are built once
here, with their values bound per call.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Executable,
    Row,
    Select,
    Update,
    and_,
    bindparam,
    delete,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from skp.domain.lifecycle import Event, State, transition
from skp.errors import AuthenticationError, NotFound
from skp.mailbox.types import MAX_PAGE, PENDING
from skp.participants import ParticipantInfo
from skp.store import segments
from skp.store.models import CONTENT_COLUMNS, Message
from skp.store.types import canonical_id, chunks

#: What a metadata read selects: every column but the sealed content (up to 4 MB a row).
METADATA = tuple(c for c in Message.__table__.columns if c.key not in CONTENT_COLUMNS)
#: A message still pending (:data:`~skp.mailbox.types.PENDING`), its states bound when the
#: statement is compiled. ``in_`` of plain values would be an expanding parameter, which
#: SQLAlchemy renders again on every execution (about 20 µs of a listing's 0.2 ms in a loop,
#: docs/performance.md, step 26); the SQL is the same.
IS_PENDING = Message.state.in_([literal(state, Message.state.type) for state in PENDING])


def _pending(typed: bool) -> ColumnElement[bool]:
    """The recipient's pending messages in a module, of one type if ``typed``."""
    pending = and_(Message.recipient_id == bindparam("me"), Message.module == bindparam("module"),
                   IS_PENDING, Message.deadline_at > bindparam("now"))
    return and_(pending, Message.type_code == bindparam("type_code")) if typed else pending


@functools.cache
def page(typed: bool, after: bool) -> Select[Any]:
    """A page of a listing, from the start or after the message at (after_at, after_id)."""
    query = select(*METADATA).where(_pending(typed))
    if after:
        query = query.where(or_(
            Message.received_at > bindparam("after_at"),
            and_(Message.received_at == bindparam("after_at"), Message.id > bindparam("after_id"))))
    return query.order_by(Message.received_at, Message.id).limit(bindparam("limit"))


@functools.cache
def backlog(typed: bool) -> Select[Any]:
    """The size of the listing's backlog, counted up to ``count_limit``."""
    return select(func.count()).select_from(
        select(Message.id).where(_pending(typed)).limit(bindparam("count_limit")).subquery())


def _held(state: State | None, many: bool) -> ColumnElement[bool]:
    """The message with id ``message`` (with ``many``: those with the ids ``messages``) in
    the mailbox of ``me``, in ``state`` (None: pending), within its deadline at ``now``."""
    ids = (Message.id.in_(bindparam("messages", expanding=True)) if many
           else Message.id == bindparam("message"))
    return and_(ids, Message.recipient_id == bindparam("me"),
                IS_PENDING if state is None else Message.state == state,
                Message.deadline_at > bindparam("now"))


def _fetch(many: bool) -> Update:
    """A first fetch: queued and within its deadline -> fetched."""
    return (update(Message).where(_held(State.QUEUED, many))
            .values(state=transition(State.QUEUED, Event.FETCH), fetched_at=bindparam("now"))
            .returning(*Message.__table__.columns))


def _confirm(many: bool) -> Update:
    """A confirm after a fetch and within its deadline: fetched -> confirmed, the content
    deleted. Past the deadline the long way refuses it (skp.domain.lifecycle.at)."""
    return (update(Message).where(_held(State.FETCHED, many))
            .values(state=transition(State.FETCHED, Event.CONFIRM),
                    confirmed_at=bindparam("now"), **dict.fromkeys(CONTENT_COLUMNS))
            .returning(*Message.__table__.columns))


def _dropping(confirm: Update) -> dict[str, Executable]:
    """By dialect, ``confirm`` with the documents deleted in the same transaction: on
    PostgreSQL, where each of `statements` is a transaction of its own, by the same statement;
    SQLite runs `statements` in one transaction, and the mailbox deletes them after it."""
    return {"postgresql": segments.dropping(confirm), "sqlite": confirm}


#: The first fetch of one message (:func:`advance`), and of those of ``messages``.
FETCH, FETCH_MANY = _fetch(False), _fetch(True)
#: The confirm of one message after its fetch (:func:`advance`), and of those of ``messages``.
CONFIRM, CONFIRM_MANY = _dropping(_confirm(False)), _dropping(_confirm(True))
#: Of ``messages``, those pending in the mailbox of ``me`` within their deadline, every
#: column, locked: what a fetch of many takes.
PENDING_MANY = select(*Message.__table__.columns).where(_held(None, True)).with_for_update()
#: By dialect: store a message unless its sender used its Kenmerk before; it returns a row only
#: when it stored one. No Kenmerk SELECT first, and no IntegrityError for a concurrent repeat.
INSERT_NEW = {
    name: insert(Message).on_conflict_do_nothing(index_elements=["sender_id", "kenmerk"])
    .returning(Message.id)
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}


def newest_first(conditions: Sequence[ColumnElement[bool]], since: dt.datetime | None,
                 until: dt.datetime | None, limit: int) -> Select[Any]:
    """The metadata of the messages that meet ``conditions`` and were received from ``since``
    until before ``until``, newest first, at most ``limit`` (1 to MAX_PAGE)."""
    if since is not None:
        conditions = [*conditions, Message.received_at >= since]
    if until is not None:
        conditions = [*conditions, Message.received_at < until]
    return (select(*METADATA).where(*conditions)
            .order_by(Message.received_at.desc(), Message.id.desc())
            .limit(max(1, min(limit, MAX_PAGE))))


def among(active: Mapping[str, ParticipantInfo], sender_id: str,
          recipient_id: str) -> tuple[ParticipantInfo, ParticipantInfo | None]:
    """The sender and, when active, the recipient, of the ``active`` participants
    (skp.participants.Participants.active). AuthenticationError when the sender is not
    active."""
    sender = active.get(sender_id)
    if sender is None:
        raise AuthenticationError("the sender is not an active participant")
    return sender, active.get(recipient_id)


def by_kenmerk(db: Session | Connection, sender_id: str, kenmerk: str) -> Row[Any] | None:
    """The metadata of the sender's message with that Kenmerk, if any."""
    return db.execute(select(*METADATA).where(Message.sender_id == sender_id,
                                              Message.kenmerk == kenmerk)).first()


def by_kenmerken(db: Session | Connection, sender_id: str,
                 kenmerken: Sequence[str]) -> dict[str, Row[Any]]:
    """The metadata of the sender's messages with any of ``kenmerken``, by Kenmerk."""
    return {row.kenmerk: row for chunk in chunks(kenmerken) for row in db.execute(
        select(*METADATA).where(Message.sender_id == sender_id, Message.kenmerk.in_(chunk)))}


def metadata(connection: Connection, message_id: str) -> Row[Any] | None:
    """The metadata of the message with hub id ``message_id``; None also when the id is not
    a UUID."""
    key = canonical_id(message_id)
    return None if key is None else connection.execute(
        select(*METADATA).where(Message.id == key)).first()


def mine(session: Session, recipient_id: str, message_id: str) -> Message:
    """The recipient's message with hub id ``message_id``, locked for update; NotFound when
    there is none (or the id is not a UUID)."""
    key = canonical_id(message_id)
    message = None if key is None else session.get(Message, key, with_for_update=True)
    if message is None or message.recipient_id != recipient_id:
        raise NotFound(f"no message {message_id} in your mailbox")
    return message


def advance(connection: Connection, statement: Executable, recipient_id: str, message_id: str,
            now: dt.datetime) -> Row[Any] | None:
    """Run :data:`FETCH` or :data:`CONFIRM` on the recipient's message; its row, or None
    when it is not the recipient's or not in the state the statement moves it from."""
    key = canonical_id(message_id)
    if key is None:
        return None
    return connection.execute(statement, {"message": key, "me": recipient_id, "now": now}).first()


def delete_batch(session: Session, key: Any, condition: Any, size: int) -> Sequence[Any]:
    """Delete up to ``size`` rows whose ``key`` column meets ``condition``; their keys."""
    ids = session.scalars(select(key).where(condition).limit(size)).all()
    if ids:
        session.execute(delete(key.class_).where(key.in_(ids)),
                        execution_options={"synchronize_session": False})
    return ids
