"""Sending: validate, route and seal a message, idempotent on the sender's Kenmerk; a
Saldoverzoek opens a claim context and its answer closes it (skp.domain.matching). Several
messages go all or none in one transaction (`send_many`, for the portal's CSV upload)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Row
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from skp import sealing
from skp.attachments import Spool, base64_length
from skp.domain import matching
from skp.domain.catalogue import MessageType, attaches, lookup
from skp.domain.lifecycle import State
from skp.domain.retention import fetch_deadline, reply_deadline
from skp.domain.roles import Module
from skp.domain.routing import Original, check_reach, check_reply, check_route
from skp.domain.validation import Body, Header, validate_body, validate_header
from skp.errors import (
    BatchRefused,
    KenmerkConflict,
    QuotaExceeded,
    SchemaInvalid,
    SkpError,
    TooLarge,
    Unavailable,
    UnknownRecipient,
)
from skp.mailbox import content, quotas, statements
from skp.mailbox.base import MailboxBase
from skp.mailbox.types import Outgoing, Receipt
from skp.participants import ParticipantInfo
from skp.store import segments
from skp.store.models import ClaimContext, Message
from skp.store.session import statements as connected
from skp.store.session import transaction
from skp.store.types import canonical_id

log = logging.getLogger("skp.mailbox")

#: The sender of a message and its recipient, if active (statements.among).
Parties = tuple[ParticipantInfo, ParticipantInfo | None]
#: The sender's messages by Kenmerk, as a batch has read and stored them (:func:`_used`).
Used = dict[str, Row[Any] | Message]


class Sending(MailboxBase):
    """The sending side of the mailbox."""

    def send(self, sender_id: str, module: Module, type_code: str, header: Header,
             body: Mapping[str, Any], spool: Spool | None = None) -> Receipt:
        """Validate, route and seal a message; idempotent on (sender, Kenmerk).

        Documents are given as bytes, or, by the SOAP layer, as documents of ``spool``: read,
        decoded and sealed while the request arrived. The message gets the spool's id and data
        key; its documents are stored in segments (skp.attachments).
        """
        mt = _type(module, type_code)
        header = validate_header(module, header)
        if spool is None:
            with Spool() as own:
                return self.send(sender_id, module, type_code, header, body, own)
        try:
            receipt = self._send(sender_id, mt, header, body, spool)
        except QuotaExceeded as exc:
            log.info("refused", extra={"service": module.value, "type": type_code,
                                       "sender": sender_id, "recipient": header.ontvanger,
                                       "code": exc.code})
            self._metrics.refused(quotas.kind(exc), module)
            raise
        except sa_exc.IntegrityError:
            # A concurrent send with the same Kenmerk won the race: answer as a repeat.
            with transaction(self._sessions, read_only=True) as session:
                repeat = _repeated(session, sender_id, mt, header)
            if repeat is None:
                raise
            return repeat
        log.info("sent", extra={"message_id": receipt.message_id, "service": module.value,
                                "type": type_code, "sender": sender_id,
                                "recipient": header.ontvanger, "repeated": receipt.repeated})
        if not receipt.repeated:
            self._metrics.sent(module, type_code)
        return receipt

    def _send(self, sender_id: str, mt: MessageType, header: Header,
              body: Mapping[str, Any], spool: Spool) -> Receipt:
        now = self._clock.now()
        parties = statements.among(self._participants.active([sender_id, header.ontvanger]),
                                   sender_id, header.ontvanger)
        if (header.cross_referentienummer is None and mt.code != matching.REQUEST
                and not attaches(mt)):
            return self._send_alone(parties, mt, header, body, spool, now)
        # A reply ends its original's claim context and a Saldoverzoek opens one, and a
        # message's documents are stored: together with the message, in one transaction.
        with transaction(self._sessions) as session:
            return self._store(session, parties, mt, header, body, spool, now)

    def _store(self, session: Session, parties: Parties, mt: MessageType, header: Header,
               body: Mapping[str, Any], spool: Spool, now: dt.datetime,
               used: Used | None = None) -> Receipt:
        """Check and store one message from ``parties``' sender to its recipient in the
        transaction of ``session``; the sender's used Kenmerken come from ``used`` when it is
        one message of a batch (:func:`_used`), and the message is added to them."""
        sender, recipient = parties
        if used is None:
            repeat = _repeated(session, sender.id, mt, header)
        else:
            earlier = used.get(header.kenmerk)
            repeat = None if earlier is None else _repeat(earlier, mt, header)
        if repeat is not None:
            return repeat
        original = (None if header.cross_referentienummer is None
                    else session.get(Message, header.cross_referentienummer))
        recipient, checked = _checked(mt, header, body, sender, recipient, spool, original)
        self._quotas.check(session, sender.id, recipient.id, mt.module, now)
        if original is not None:
            checked = self._close_claim_context(session, original, mt, checked)
        message = self._new_message(mt, header, sender, recipient, checked, spool, now)
        session.add(message)
        session.flush()  # the row must exist before its claim context and segments
        if used is not None:  # a later message of the batch with this Kenmerk repeats it
            used[header.kenmerk] = message
        segments.write(session, message.id, spool)
        if mt.code == matching.REQUEST:
            self._open_claim_context(session, message, checked)
        return Receipt(message.id, message.received_at, message.deadline_at)

    def send_many(self, sender_id: str, messages: Sequence[Outgoing], *,
                  dry_run: bool = False) -> list[Receipt]:
        """Send all ``messages`` or none, in one transaction, each as :meth:`send` would
        (idempotent on its Kenmerk; a Saldoverzoek antwoord expanded as there).

        Every message is checked, also after one failed: :class:`~skp.errors.BatchRefused`
        then lists each failure by its index, and nothing is stored. ``dry_run`` checks all
        and stores nothing either way. Any other error (a database failure, a crash) also
        leaves nothing stored. Documents are not part of a batch.
        """
        try:
            receipts, failures = self._batch(sender_id, messages, dry_run)
        except sa_exc.IntegrityError:
            # A concurrent send with one of the Kenmerken won the race: nothing of this batch
            # was stored; once more, that message is a repeat.
            receipts, failures = self._batch(sender_id, messages, dry_run)
        if failures:
            log.info("batch refused", extra={"sender": sender_id, "count": len(messages),
                                             "failed": len(failures)})
            raise BatchRefused(failures, len(messages))
        if dry_run:
            return receipts
        for outgoing, receipt in zip(messages, receipts, strict=True):
            log.info("sent", extra={"message_id": receipt.message_id,
                                    "service": outgoing.module.value,
                                    "type": outgoing.type_code, "sender": sender_id,
                                    "recipient": outgoing.header.ontvanger,
                                    "repeated": receipt.repeated, "batch": len(messages)})
            if not receipt.repeated:
                self._metrics.sent(outgoing.module, outgoing.type_code)
        return receipts

    def _batch(self, sender_id: str, messages: Sequence[Outgoing], dry_run: bool
               ) -> tuple[list[Receipt], list[tuple[int, SkpError]]]:
        """Check and store ``messages`` in one transaction, committed only when every one
        passed and not ``dry_run``: the receipts, and each failure by index."""
        now = self._clock.now()
        receipts: list[Receipt] = []
        failures: list[tuple[int, SkpError]] = []
        with contextlib.ExitStack() as spools:
            try:
                recipients = (canonical_id(m.header.ontvanger) for m in messages)  # as validated
                active = self._participants.active(
                    [sender_id, *(r for r in recipients if r is not None)])
                with transaction(self._sessions) as session:
                    used = _used(session, sender_id, messages)
                    for index, outgoing in enumerate(messages):
                        try:
                            mt = _type(outgoing.module, outgoing.type_code)
                            header = validate_header(outgoing.module, outgoing.header)
                            spool = spools.enter_context(Spool())
                            parties = statements.among(active, sender_id, header.ontvanger)
                            receipts.append(self._store(session, parties, mt, header,
                                                        outgoing.body, spool, now, used))
                        except SkpError as exc:
                            failures.append((index, exc))
                    if failures or dry_run:
                        raise _RollBack
            except _RollBack:
                pass
        return receipts, failures

    def _send_alone(self, parties: Parties, mt: MessageType, header: Header,
                    body: Mapping[str, Any], spool: Spool, now: dt.datetime) -> Receipt:
        """A message that touches no claim context: one INSERT, its own transaction on
        PostgreSQL.

        The Kenmerk is looked up only when the INSERT stores nothing or a check fails: a used
        Kenmerk is answered as a repeat even when the message would now fail a check or a
        quota, as on the transactional way, which looks it up first. The INSERT checks the
        quotas itself (skp.mailbox.quotas); only when it stores nothing and the Kenmerk is
        new is the refusal looked up.
        """
        sender, recipient = parties
        with connected(self._sessions, read_only=False) as connection:
            try:
                recipient, checked = _checked(mt, header, body, sender, recipient, spool)
                message = self._new_message(mt, header, sender, recipient, checked, spool, now)
            except SkpError:
                repeat = _repeated(connection, sender.id, mt, header)
                if repeat is None:
                    raise
                return repeat
            values = {**_row(message),
                      **self._quotas.bounds(sender.id, recipient.id, mt.module, now)}
            if connection.execute(self._quotas.insert(connection.dialect.name),
                                  values).first() is not None:
                return Receipt(message.id, message.received_at, message.deadline_at)
            repeat = _repeated(connection, sender.id, mt, header)
            if repeat is not None:  # the Kenmerk first: a repeat passes every quota
                return repeat
            refusal = self._quotas.refusal(connection, sender.id, recipient.id, mt.module, now)
        if refusal is None:  # pragma: no cover - the Kenmerk's message was purged, or a
            # quota's count fell, between the INSERT and the lookups
            raise Unavailable("the mailbox changed while this message was sent; nothing was "
                              "stored, retry with the same Kenmerk")
        raise refusal

    def _new_message(self, mt: MessageType, header: Header, sender: ParticipantInfo,
                     recipient: ParticipantInfo, checked: Body, spool: Spool,
                     now: dt.datetime) -> Message:
        """The message to store, received ``now``: its content sealed to its metadata
        (:func:`skp.mailbox.content.aad`) under the spool's data key. TooLarge when the content
        is over the limit: its size counts each document as the base64 text it was sent as."""
        payload = json.dumps(checked, ensure_ascii=False, separators=(",", ":")).encode()
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
        content.store(message, sealing.seal(payload, content.aad(message), self._keyring,
                                            data_key=spool.data_key))
        return message

    def _open_claim_context(self, session: Session, message: Message, checked: Body) -> None:
        claims = matching.claim_references(checked)
        if not claims:
            return
        sealed = sealing.seal(json.dumps(claims).encode(), content.context_aad(message.id),
                              self._keyring)
        session.add(ClaimContext(
            message_id=message.id, nonce=sealed.nonce, ciphertext=sealed.ciphertext,
            wrapped_key=sealed.wrapped_key, kek_id=sealed.kek_id,
            expires_at=reply_deadline(message.received_at, calendar=self._calendar,
                                      working_days=self._settings.reply_working_days)))

    def _close_claim_context(self, session: Session, original: Message, mt: MessageType,
                             checked: Body) -> Body:
        """Any reply to a Saldoverzoek ends its claim context; a non-matched answer expands."""
        context = session.get(ClaimContext, original.id, with_for_update=True)
        if context is None:
            return checked
        if mt.code == matching.REPLY:
            claims = json.loads(sealing.open_sealed(
                sealing.Sealed(context.nonce, context.ciphertext, context.wrapped_key,
                               context.kek_id),
                content.context_aad(original.id), self._keyring))
            checked = matching.expand_non_matched(checked, claims)
        session.delete(context)
        return checked


class _RollBack(Exception):
    """Ends a batch's transaction without a commit."""


def _used(session: Session, sender_id: str, messages: Sequence[Outgoing]) -> Used:
    """The messages in which the sender used a Kenmerk of ``messages``, read once for the
    whole batch in its transaction (per message it would be a query more); the batch adds
    each message it stores."""
    return dict(statements.by_kenmerken(
        session, sender_id, [m.header.kenmerk for m in messages if m.header.kenmerk]))


def _type(module: Module, type_code: str) -> MessageType:
    try:
        return lookup(module, type_code)
    except KeyError:
        raise SchemaInvalid(f"module {module} has no message type {type_code}") from None


def _repeated(db: Session | Connection, sender_id: str, mt: MessageType,
              header: Header) -> Receipt | None:
    """The repeat's receipt when the sender used the Kenmerk before; None when it did not.
    KenmerkConflict when it did for another type or recipient."""
    existing = statements.by_kenmerk(db, sender_id, header.kenmerk)
    return None if existing is None else _repeat(existing, mt, header)


def _repeat(existing: Row[Any] | Message, mt: MessageType, header: Header) -> Receipt:
    if (existing.module, existing.type_code, existing.recipient_id) != (
            mt.module, mt.code, header.ontvanger):
        raise KenmerkConflict(f"Kenmerk {header.kenmerk} was used for message {existing.id} of "
                              "another type or recipient; use a new Kenmerk",
                              message_id=existing.id)
    return Receipt(existing.id, existing.received_at, existing.deadline_at, repeated=True)


def _checked(mt: MessageType, header: Header, body: Mapping[str, Any],
             sender: ParticipantInfo, recipient: ParticipantInfo | None, spool: Spool,
             original: Message | None = None) -> tuple[ParticipantInfo, Body]:
    """The recipient and the validated content, once the recipient is active, the two may
    reach each other (skp.domain.routing.check_reach), and the route, the reply to
    ``original`` and the body are valid; its documents are references to the documents of
    ``spool``."""
    if recipient is None:
        raise UnknownRecipient(f"no active participant {header.ontvanger}")
    check_reach(sender.party, recipient.party)
    check_route(mt, sender.party, recipient.party)
    check_reply(mt, sender_id=sender.id, recipient_id=recipient.id,
                conversation_id=header.conversatie_referentienummer,
                cross_reference=header.cross_referentienummer,
                original=None if original is None else Original(
                    original.id, original.module, original.type_code, original.sender_id,
                    original.recipient_id, original.conversation_id))
    return recipient, validate_body(mt, body, sender.role, document=spool.reference)


def _row(message: Message) -> dict[str, Any]:
    """The column values of a message not yet stored."""
    return {column.key: getattr(message, column.key) for column in Message.__table__.columns}
