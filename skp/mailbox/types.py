"""What the mailbox answers: receipts, metadata, deliveries, pages, logbook queries."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal, Self

from sqlalchemy import Row

from skp.domain import lifecycle
from skp.domain.lifecycle import State
from skp.domain.roles import Module
from skp.domain.validation import Body, Header
from skp.store.models import Message

#: The states of a message whose content the hub still holds for its recipient.
PENDING = (State.QUEUED, State.FETCHED)
#: The most items a listing or a logbook search returns at once.
MAX_PAGE = 500


@dataclass(frozen=True)
class Receipt:
    """What the sender gets back: the hub id, when it was received, its fetch deadline."""

    message_id: str
    received_at: dt.datetime
    deadline: dt.datetime
    repeated: bool = False  # True when the Kenmerk was sent before: nothing new was stored


@dataclass(frozen=True)
class Outgoing:
    """One message of a batch to send (Mailbox.send_many): no documents."""

    module: Module
    type_code: str
    header: Header
    body: Body


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
    documents: int  # attached: their number is metadata (message.documents), never content

    @classmethod
    def of(cls, m: Message | Row[Any]) -> Self:
        """From a message or a row of its metadata columns."""
        return cls(m.id, m.module, m.type_code, m.sender_id, m.recipient_id, m.kenmerk,
                   m.conversation_id, m.cross_reference_id, m.version, m.state, m.size,
                   m.received_at, m.deadline_at, m.fetched_at, m.confirmed_at, m.expired_at,
                   m.documents)

    def at(self, now: dt.datetime) -> Self:
        """As it stands at ``now``: expired from its deadline on, before the purge has come by
        too (skp.domain.lifecycle.at)."""
        state = lifecycle.at(self.state, self.deadline, now)
        return self if state is self.state else dataclasses.replace(self, state=state)


@dataclass(frozen=True)
class Confirmation(MessageInfo):
    """A confirmed message's metadata, and whether it had been confirmed before (``repeated``:
    this call changed nothing), as a send's :class:`Receipt` says of a repeated Kenmerk."""

    repeated: bool = False


@dataclass(frozen=True)
class Delivery:
    """A fetched message: its metadata and its opened body, whose documents are
    :class:`~skp.attachments.Document` objects (verified, opened a piece at a time)."""

    info: MessageInfo
    body: Body


@dataclass(frozen=True)
class Page:
    """One page of a mailbox listing, oldest first, and the backlog's size (counted up to
    :data:`skp.mailbox.delivery.BACKLOG_COUNT_LIMIT`)."""

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
class MessageFilter:
    """An operator's metadata search over all messages (`skp messages list`)."""

    participant_id: str | None = None  # as sender or as recipient
    type_code: str | None = None
    state: State | None = None
    since: dt.datetime | None = None  # received at or after
    until: dt.datetime | None = None  # received before
    limit: int = 100


@dataclass(frozen=True)
class Backlog:
    """A recipient's messages still waiting to be confirmed, and when the oldest arrived."""

    recipient_id: str
    name: str
    pending: int
    oldest: dt.datetime


@dataclass(frozen=True)
class PurgeResult:
    """What a purge deleted: expired messages' content, claim contexts, old metadata."""

    expired: int = 0
    contexts: int = 0
    metadata: int = 0
