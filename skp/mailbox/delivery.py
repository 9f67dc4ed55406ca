"""Delivery: the recipient lists its mailbox, fetches (repeatably) and confirms, which deletes
the content in the same transaction; one message at a time (SOAP, the portal's message pages)
or many (the portal's CSV download: a few statements for each thousand)."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from skp import sealing
from skp.attachments import Document, open_document
from skp.domain.catalogue import attaches, lookup
from skp.domain.lifecycle import Event, State, at, transition
from skp.domain.roles import Module
from skp.domain.validation import map_documents
from skp.errors import InvalidState, NotFound
from skp.mailbox import content, statements
from skp.mailbox.base import MailboxBase
from skp.mailbox.types import MAX_PAGE, Confirmation, Delivery, MessageInfo, Page
from skp.store import segments
from skp.store.models import Message
from skp.store.session import statements as connected
from skp.store.session import transaction
from skp.store.types import canonical_id, chunks

log = logging.getLogger("skp.mailbox")

#: A listing counts the backlog up to here: counting a million rows on every call would cost
#: more than the rest of the call (docs/performance.md); the figure then means "at least".
BACKLOG_COUNT_LIMIT = 10_000


class Delivering(MailboxBase):
    """The receiving side of the mailbox."""

    def list_pending(self, recipient_id: str, module: Module, *, type_code: str | None = None,
                     limit: int = 100, after: str | None = None) -> Page:
        """Metadata of the recipient's pending messages in ``module``, oldest first."""
        limit = max(1, min(limit, MAX_PAGE))
        params: dict[str, Any] = {"me": recipient_id, "module": module,
                                  "now": self._clock.now(), "type_code": type_code,
                                  "limit": limit + 1, "count_limit": BACKLOG_COUNT_LIMIT}
        typed = type_code is not None
        with connected(self._sessions) as connection:
            if after is not None:
                anchor = statements.metadata(connection, after)
                if anchor is None or anchor.recipient_id != recipient_id:
                    raise NotFound(f"no message {after} in your mailbox to continue after")
                params.update(after_at=anchor.received_at, after_id=anchor.id)
            rows = connection.execute(statements.page(typed, after is not None), params).all()
            if after is None and len(rows) <= limit:
                backlog = len(rows)  # the first page holds the whole backlog: nothing to count
            else:
                backlog = connection.scalar(statements.backlog(typed), params) or 0
        items = [MessageInfo.of(row) for row in rows[:limit]]
        return Page(items, backlog, items[-1].id if len(rows) > limit else None)

    def fetch(self, recipient_id: str, message_id: str) -> Delivery:
        """The message with its body; repeatable until confirmed or expired."""
        now = self._clock.now()
        # The first fetch is one statement. (Should the content then fail to open, the message
        # stays fetched: a fetch may be repeated.) A repeat or a refusal takes the long way.
        with connected(self._sessions, read_only=False) as connection:
            row = statements.advance(connection, statements.FETCH, recipient_id, message_id,
                                     now)
            stored = None if row is None else segments.read(connection, row)
        if row is not None and stored is not None:
            return self._fetched(self._open(row, stored), True)
        with transaction(self._sessions) as session:
            delivery, first = self._deliver(
                session, statements.mine(session, recipient_id, message_id))
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

    def fetch_many(self, recipient_id: str, message_ids: Sequence[str]) -> list[Delivery]:
        """Those of ``message_ids`` that the recipient can fetch, each fetched as by
        :meth:`fetch`, in the order given, but with its documents left out (None; they are
        not read): for the CSV download, whose files have none. The others (confirmed,
        expired, not the recipient's, no message) are left out. A transaction for each
        thousand."""
        now = self._clock.now()
        keys = list(dict.fromkeys(k for k in map(canonical_id, message_ids) if k is not None))
        found: dict[str, Row[Any]] = {}
        first: set[str] = set()
        for chunk in chunks(keys):
            params = {"messages": chunk, "me": recipient_id, "now": now}
            with transaction(self._sessions) as session:
                rows = {r.id: r for r in session.execute(statements.PENDING_MANY, params)}
                queued = [i for i, r in rows.items() if r.state is State.QUEUED]
                if queued:  # locked by the read: still queued
                    rows.update((r.id, r) for r in session.execute(
                        statements.FETCH_MANY, {**params, "messages": queued}))
            found.update(rows)
            first.update(queued)
        return [self._fetched(self._open(found[k], None), k in first) for k in keys
                if k in found]

    def _deliver(self, session: Session, message: Message) -> tuple[Delivery, bool]:
        """The delivery, and whether this is the message's first fetch."""
        now = self._clock.now()
        first = message.fetched_at is None
        message.state = transition(at(message.state, message.deadline_at, now), Event.FETCH)
        message.fetched_at = message.fetched_at or now
        stored = segments.read(session, message)
        if stored is None:
            raise InvalidState("the message was confirmed meanwhile: its content is deleted")
        return self._open(message, stored), first

    def _open(self, message: Message | Row[Any], stored: Sequence[Sequence[bytes]] | None
              ) -> Delivery:
        """A fetched message with its body opened and its documents verified; without
        ``stored`` (the documents' segments) its documents are left out (None)."""
        sealed = content.sealed_of(message)
        key = sealing.unwrap_key(sealed, self._keyring)
        body = json.loads(sealing.open_with_key(key, sealed.nonce, sealed.ciphertext,
                                                content.aad(message)))

        def opened(value: Any) -> Document | None:
            if stored is None:
                return None
            if isinstance(value, str):  # stored inline, before documents were stored apart
                return Document.inline(value)
            return open_document(value, key, message.id, stored[value["document"]])

        mt = lookup(message.module, message.type_code)
        if attaches(mt):
            body = map_documents(mt.fields, body, opened)
        log.info("fetched", extra={"message_id": message.id, "recipient": message.recipient_id})
        return Delivery(MessageInfo.of(message), body)

    def _fetched(self, delivery: Delivery, first: bool) -> Delivery:
        """Count a committed first fetch."""
        if first:
            self._metrics.fetched(delivery.info.module, delivery.info.type_code)
        return delivery

    def confirm(self, recipient_id: str, message_id: str) -> Confirmation:
        """Confirm receipt; the content is deleted in the same transaction. Idempotent: a
        repeat changes nothing and says so (``repeated``)."""
        now = self._clock.now()
        # A confirm after a fetch is one statement; a repeat or a refusal takes the long way.
        with connected(self._sessions, read_only=False) as connection:
            dialect = connection.dialect.name
            row = statements.advance(connection, statements.CONFIRM[dialect], recipient_id,
                                     message_id, now)
            if row is not None and row.documents and dialect == "sqlite":  # the same transaction
                connection.execute(segments.DROP, {"messages": [row.id]})
        repeated = False
        if row is not None:
            info = Confirmation.of(row)
        else:
            with transaction(self._sessions) as session:
                message = statements.mine(session, recipient_id, message_id)
                repeated = message.state is State.CONFIRMED
                if not repeated:
                    message.state = transition(at(message.state, message.deadline_at, now),
                                               Event.CONFIRM)
                    message.confirmed_at = now
                    content.store(message, None)
                    if message.documents:
                        session.execute(segments.DROP, {"messages": [message.id]})
                info = Confirmation.of(message)
        if not repeated:
            self._confirmed(info, recipient_id)
        return dataclasses.replace(info, repeated=repeated)

    def confirm_many(self, recipient_id: str, message_ids: Sequence[str]) -> int:
        """Confirm those of ``message_ids`` that the recipient fetched, each as by
        :meth:`confirm`, its content deleted; how many were confirmed now. The others (not
        fetched, confirmed before, expired, not the recipient's, no message) stay as they
        are. A transaction for each thousand."""
        now = self._clock.now()
        keys = [k for k in map(canonical_id, message_ids) if k is not None]
        confirmed = 0
        for chunk in chunks(keys):
            params = {"messages": chunk, "me": recipient_id, "now": now}
            with connected(self._sessions, read_only=False) as connection:
                dialect = connection.dialect.name
                rows = connection.execute(statements.CONFIRM_MANY[dialect], params).all()
                dropped = [row.id for row in rows if row.documents]
                if dropped and dialect == "sqlite":  # the same transaction
                    connection.execute(segments.DROP, {"messages": dropped})
            for row in rows:
                self._confirmed(Confirmation.of(row), recipient_id)
            confirmed += len(rows)
        return confirmed

    def _confirmed(self, info: Confirmation, recipient_id: str) -> None:
        """Log and count a committed confirm."""
        log.info("confirmed", extra={"message_id": info.id, "recipient": recipient_id})
        self._metrics.confirmed(info.module, info.type_code)
