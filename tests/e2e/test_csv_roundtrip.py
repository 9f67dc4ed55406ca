"""A CSV round trip of every message type a participant may send: the empty template is
filled in, uploaded through the portal's CSV service, and the recipient's SOAP client fetches
it over mutual TLS with a body equal to what was filled in (plus the hub's zero-amount lines
of a non-matched Saldoverzoek antwoord)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from skp.client import Client, Identity
from skp.csvexchange import CsvExchange
from skp.domain import csvlayout, matching
from skp.domain.catalogue import CATALOGUE, MessageType, lookup
from skp.domain.examples import example_body
from skp.domain.fields import Kind
from skp.domain.validation import Header, validate_body
from tests.e2e.conftest import CAST

SENDABLE = [mt for types in CATALOGUE.values() for mt in types.values()
            if csvlayout.sendable(mt)]


def person(mt: MessageType, roles, *, uses_bsn: bool | None = None) -> str:
    """The first of the cast with one of ``roles`` (and, when asked, that BSN use)."""
    return next(key for key, (_, role, bsn) in CAST.items()
                if role in roles and (uses_bsn is None or bsn == uses_bsn)
                and role not in dict(mt.required_by_role))


def without_documents(mt: MessageType, body: dict) -> dict:
    return {k: v for k, v in body.items() if mt.field(k).kind is not Kind.DOCUMENT}


def plain(value):
    """A body as zeep or the validator gives it, in one form: no empty optionals, ISO dates,
    amounts with two decimals."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if v is not None and v != []}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.01")))
    return value


@pytest.mark.parametrize("mt", SENDABLE, ids=lambda mt: f"{mt.module.value}-{mt.code}")
def test_template_filled_uploaded_and_fetched_over_soap(mt, hub, server, people, pki):
    sender_key = person(mt, mt.senders)
    sender = getattr(people, sender_key)
    recipient_key = person(mt, mt.recipients, uses_bsn=mt.recipient_uses_bsn)
    recipient = getattr(people, recipient_key)
    conversation = str(uuid.uuid4())

    def prior(code: str, source, target) -> tuple[str, dict]:
        """Send ``code`` from ``source`` to ``target``, with the messages it answers first."""
        before = lookup(mt.module, code)
        cross = None
        if before.is_reply and not before.reply_optional:
            answered = next(c for c in sorted(before.answers)
                            if source.role in lookup(mt.module, c).recipients)
            cross, _ = prior(answered, target, source)
        body = example_body(before, sender_role=source.role)
        receipt = hub.mailbox.send(source.id, mt.module, code,
                                   Header(f"P-{uuid.uuid4().hex[:12]}", target.id,
                                          conversation, cross), body)
        return receipt.message_id, body

    row = {"Module": mt.module.value, "Berichttype": mt.code}
    original_body: dict = {}
    if mt.is_reply and not mt.reply_optional:
        answered = next(c for c in sorted(mt.answers)
                        if recipient.role in lookup(mt.module, c).senders)
        row["CrossReferentienummer"], original_body = prior(answered, recipient, sender)
    else:
        row["Ontvanger"] = recipient.id

    filled = validate_body(mt, without_documents(
        mt, example_body(mt, full=True, sender_role=sender.role)), sender.role)
    template = csvlayout.read(csvlayout.write(csvlayout.template_columns(mt), []))[0]
    cells = csvlayout.flatten(mt, filled)
    assert set(cells) <= set(template)  # the template has a column for every field filled
    data = csvlayout.write(template, [{**row, **cells}])

    result = CsvExchange(hub.sessions, hub.mailbox, hub.clock).upload(
        sender, [(f"{mt.code}.csv", data)])
    assert result.problems == []
    (receipt,) = result.receipts

    client = Client(server, mt.module, Identity(pki.people[recipient_key].cert,
                                                pki.people[recipient_key].key, pki.ca_file),
                    wsdl=Path("wsdl") / f"{mt.module.value}.wsdl")
    metadata, body = client.fetch(receipt.message_id)
    assert metadata["Afzender"] == sender.id and metadata["Berichttype"] == mt.code
    expected = filled
    if mt.code == matching.REPLY:
        expected = matching.expand_non_matched(
            filled, matching.claim_references(plain(original_body)))
    assert plain(body) == plain(expected)
