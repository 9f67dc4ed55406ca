"""Leak check: after traffic of every message type carrying a canary over the real server,
and refusals carrying it too, the canary is in no table, log line, fault text or metric."""

from __future__ import annotations

import logging

import zeep
from sqlalchemy import text

from skp.domain.catalogue import CATALOGUE, lookup
from skp.domain.examples import example_body
from skp.store.models import Base
from tests.e2e.conftest import header, session_for, zeep_body

CANARY = "KANARIE-Jansen-6f1d"
#: Which cast member plays a role (first match wins), as in tests/helpers.py.
PLAYERS = (("SHV_FASE2", "shv"), ("SE", "se"), ("BEWINDVOERDER", "bewind"), ("WSK", "wsk"),
           ("SHV_FASE1", "shv1"), ("SHV_OVERIG", "shv1"))


def player(roles, people, uses_bsn=None):
    key = next(key for role, key in PLAYERS if role in roles)
    if key == "se" and uses_bsn:
        key = "se_bsn"
    return key, getattr(people, key)


def test_canary_goes_nowhere(connect, pki, people, hub, server, caplog):
    caplog.set_level(logging.DEBUG)
    sent = 0
    for module, types in CATALOGUE.items():
        originals = {}
        for mt in types.values():
            sender_key, _ = player(mt.senders, people)
            _, recipient = player(mt.recipients, people, mt.recipient_uses_bsn)
            service = connect(pki.people[sender_key], module)
            body = zeep_body(mt, example_body(mt, full=True, text=CANARY,
                                              sender_role=getattr(people, sender_key).role))
            cross, conversation = None, None
            if mt.is_reply:
                original = originals.get(sorted(mt.answers)[0])
                if original is None:
                    continue
                cross, conversation = original
            receipt = getattr(service, f"Verstuur{mt.code}")(
                Header=header(recipient, conversation=conversation, cross=cross), Bericht=body)
            receipt_metadata = service.Status(BerichtId=receipt.BerichtId)
            originals[mt.code] = (receipt.BerichtId,
                                  receipt_metadata.ConversatieReferentienummer)
            sent += 1
            # The same body with a canary where the schema refuses it: the fault must not echo.
            try:
                getattr(service, f"Verstuur{mt.code}")(
                    Header={**header(recipient), "Kenmerk": CANARY * 4}, Bericht=body)
            except zeep.exceptions.Fault as fault:
                assert CANARY not in str(fault.message)
                assert CANARY not in zeep.helpers.etree.tostring(fault.detail).decode()
            else:
                raise AssertionError("a 84-character Kenmerk was accepted")
    assert sent >= 30
    bad = lookup(next(iter(CATALOGUE)), "Kennisgeving")
    service = connect(pki.people["shv"], bad.module)
    try:
        service.VerstuurKennisgeving(Header=header(people.se), Bericht={
            **zeep_body(bad, example_body(bad)), "KlantnummerSHV": CANARY * 10})
    except zeep.exceptions.Fault as fault:
        assert "KlantnummerSHV" in fault.message and CANARY not in fault.message

    needles = (CANARY.encode(), CANARY.encode().hex().encode())
    with hub.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(text(f"SELECT * FROM {table.name}")):
                for value in row:
                    raw = bytes(value) if isinstance(value, bytes | memoryview) else str(
                        value).encode()
                    assert not any(needle in raw for needle in needles), table.name
    metrics = session_for(pki.people["shv"], pki.ca_file).get(f"{server}/metrics", timeout=10)
    assert metrics.status_code == 200 and b"skp_messages_sent_total" in metrics.content
    assert CANARY.encode() not in metrics.content
    # The hub's own log records (the test's zeep client logs what it sends: not the hub's).
    hub_records = [r for r in caplog.records if not r.name.startswith(("zeep", "urllib3"))]
    assert any(r.name == "skp.request" for r in hub_records)
    for record in hub_records:
        assert CANARY not in record.getMessage()
        assert CANARY not in str(vars(record))
