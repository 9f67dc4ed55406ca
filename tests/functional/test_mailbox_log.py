"""The mailbox's events are log records with their metadata as fields, never in the message
text, and never with content."""

from __future__ import annotations

import io
import json
import logging

from skp import logs
from skp.domain.roles import Module
from tests.helpers import send

CANARY = "Kanarie Zwaluwstaart"


def test_mailbox_events_carry_their_fields(mailbox, people, keyring):
    stream = io.StringIO()
    handler = logs.configure("production", stream=stream)
    try:
        receipt = send(mailbox, people.shv, people.se, Module.SCHULDREGELING, "Kennisgeving",
                       text=CANARY)
        mailbox.fetch(people.se.id, receipt.message_id)
        mailbox.confirm(people.se.id, receipt.message_id)
    finally:
        logging.getLogger().removeHandler(handler)
    assert CANARY not in stream.getvalue()
    records = {r["message"]: r for r in map(json.loads, stream.getvalue().splitlines())
               if r["logger"] == "skp.mailbox"}
    assert set(records) == {"sent", "fetched", "confirmed"}
    assert {k: records["sent"][k] for k in ("message_id", "service", "type", "sender",
                                            "recipient", "repeated")} == {
        "message_id": receipt.message_id, "service": "schuldregeling", "type": "Kennisgeving",
        "sender": people.shv.id, "recipient": people.se.id, "repeated": False}
    for event in ("fetched", "confirmed"):
        assert records[event]["message_id"] == receipt.message_id
        assert records[event]["recipient"] == people.se.id
