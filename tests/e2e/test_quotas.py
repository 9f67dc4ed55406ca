"""Quotas over the wire (mutual TLS, zeep): a flooding sender gets ``Client.RateLimited``
while others are served, and a full mailbox refuses new messages but loses none."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from pathlib import Path

import pytest
import zeep
from lxml import etree
from prometheus_client.parser import text_string_to_metric_families

from skp.client import Client, Identity, SkpFault, for_zeep
from skp.config import Settings
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import Module
from skp.hub import Hub
from skp.sealing import MemoryKeyRing
from skp.soap.types import namespace
from skp.store.db import make_engine, migrate
from tests.e2e.conftest import session_for

SR = Module.SCHULDREGELING
#: The rate is below the mailbox limit, so a flood to empty mailboxes meets only the rate.
RATE, LIMIT = 6, 8
BODY = example_body(lookup(SR, "Kennisgeving"))
WSDL = Path(__file__).parents[2] / "wsdl" / f"{SR.value}.wsdl"


@pytest.fixture(scope="module")
def hub(pki, clock, tmp_path_factory):
    """The module's hub, with small quotas."""
    directory = tmp_path_factory.mktemp("hub")
    settings = Settings(tls_cert=pki.server_cert, tls_key=pki.server_key,
                        tls_client_ca=pki.ca_file, server_threads=8, send_rate=RATE,
                        send_window=dt.timedelta(seconds=60), mailbox_limit=LIMIT,
                        # the flood and the pinger all connect from 127.0.0.1
                        max_connections_per_address=64)
    engine = make_engine(f"sqlite:///{directory / 'skp.sqlite3'}")
    migrate(engine)
    hub = Hub.build(settings, engine=engine, keyring=MemoryKeyRing.generate(), clock=clock)
    yield hub
    engine.dispose()


def client(server, pki, key):
    person = pki.people[key]
    return Client(server, SR, Identity(person.cert, person.key, pki.ca_file),
                  wsdl=WSDL, timeout=30)


def kennisgeving(sender, recipient, kenmerk=None):
    return sender.send("Kennisgeving", BODY, recipient=recipient.id,
                       kenmerk=kenmerk or f"Q-{uuid.uuid4().hex[:12]}",
                       conversation=str(uuid.uuid4()))


def refusal(call, *args, **kwargs):
    with pytest.raises(SkpFault) as refused:
        call(*args, **kwargs)
    assert refused.value.request_id
    return refused.value


def scrape(server, pki):
    """The quota refusals and the faults counted by /metrics, over mutual TLS."""
    answer = session_for(pki.people["se"], pki.ca_file).get(f"{server}/metrics", timeout=10)
    assert answer.status_code == 200
    counts = {}
    for family in text_string_to_metric_families(answer.text):
        for s in family.samples:
            if s.name == "skp_quota_refusals_total" and s.labels["module"] == SR.value:
                counts[s.labels["kind"]] = s.value
            elif s.name == "skp_faults_total":
                counts[s.labels["code"]] = s.value
    return counts


def test_a_flooding_sender_is_rate_limited_while_others_are_served(server, pki, people):
    before = scrape(server, pki)
    accepted, refused, errors = [], [], []

    def flood(n):
        shv = client(server, pki, "shv")
        for i in range(20):
            try:
                kennisgeving(shv, (people.se, people.se2)[i % 2])
                accepted.append(n)
            except SkpFault as fault:
                refused.append(fault.code)
            except Exception as exc:  # anything else fails the test
                errors.append(exc)

    threads = [threading.Thread(target=flood, args=(n,)) for n in range(4)]
    pings = []

    def ping():  # on a keep-alive connection, from the flood's start to its end
        se = client(server, pki, "se")
        while True:
            pings.append(se.ping("hoi")["DeelnemerId"])  # the client's timeout bounds it
            if not any(t.is_alive() for t in threads):
                return

    for thread in threads:
        thread.start()
    pinger = threading.Thread(target=ping)
    pinger.start()
    for thread in threads:
        thread.join(timeout=120)
    pinger.join(timeout=60)
    assert not errors, errors
    assert len(accepted) == RATE  # SQLite's writers take turns: exact
    assert refused == ["Client.RateLimited"] * (4 * 20 - RATE)
    assert pings and set(pings) == {people.se.id}
    # Another sender is not held up by it.
    assert kennisgeving(client(server, pki, "kredietbank"), people.se)["BerichtId"]

    fault = refusal(kennisgeving, client(server, pki, "shv"), people.se)
    assert fault.code == "Client.RateLimited"
    assert "in 60 seconds" in fault.message and "same Kenmerk" in fault.message
    after = scrape(server, pki)
    refusals = 4 * 20 - RATE + 1
    assert after["rate"] - before["rate"] == refusals
    assert after["Client.RateLimited"] - before.get("Client.RateLimited", 0) == refusals


def test_a_repeat_over_the_rate_gets_its_receipt(server, pki, people):
    shv = client(server, pki, "shv")
    first = kennisgeving(shv, people.se, kenmerk="Q-REPEAT")
    for n in range(RATE - 1):
        kennisgeving(shv, (people.se, people.se2)[n % 2])
    assert refusal(kennisgeving, shv, people.se2).code == "Client.RateLimited"
    assert kennisgeving(shv, people.se, kenmerk="Q-REPEAT")["BerichtId"] == first["BerichtId"]


def test_the_refusal_is_an_http_500_soap_fault(server, pki, people):
    shv = client(server, pki, "shv")
    for n in range(RATE):
        kennisgeving(shv, (people.se, people.se2)[n % 2])
    renderer = zeep.Client(str(WSDL))  # the request zeep would send, posted raw
    envelope = renderer.create_message(
        renderer.service, "VerstuurKennisgeving",
        Header={"Kenmerk": "Q-RAW", "Ontvanger": people.se.id,
                "ConversatieReferentienummer": str(uuid.uuid4())},
        Bericht=for_zeep(lookup(SR, "Kennisgeving"), BODY))
    answer = session_for(pki.people["shv"], pki.ca_file).post(
        f"{server}/{SR.value}", data=etree.tostring(envelope),
        headers={"Content-Type": "text/xml; charset=utf-8",
                 "SOAPAction": '"VerstuurKennisgeving"'}, timeout=10)
    assert answer.status_code == 500
    fault = etree.fromstring(answer.content).find(
        ".//{http://schemas.xmlsoap.org/soap/envelope/}Fault")
    assert fault.findtext("faultcode").endswith("Client.RateLimited")
    ns = namespace(SR)  # the detail is the WSDL's fault element, Fout
    assert fault.findtext(f"detail/{{{ns}}}Fout/{{{ns}}}RequestId") == answer.headers[
        "X-Request-Id"]
    # When to send again, for an HTTP layer that reads no SOAP: the seconds the message names.
    wait = answer.headers["Retry-After"]
    assert wait.isdigit() and 1 <= int(wait) <= 60
    assert f"in {wait} seconds" in fault.findtext("faultstring")
    # Only that refusal says so: the Ping of the same sender does not.
    ping = renderer.create_message(renderer.service, "Ping")
    answered = session_for(pki.people["shv"], pki.ca_file).post(
        f"{server}/{SR.value}", data=etree.tostring(ping),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"Ping"'},
        timeout=10)
    assert answered.status_code == 200
    assert "Retry-After" not in answered.headers


def test_a_full_mailbox_refuses_new_messages_and_loses_none(server, pki, people, clock):
    shv, se = client(server, pki, "shv"), client(server, pki, "se")
    held = []
    while len(held) < LIMIT:
        if len(held) % RATE == 0:
            clock.advance(dt.timedelta(seconds=61))  # a fresh send window each time
        held.append(kennisgeving(shv, people.se, kenmerk=f"Q-FULL-{len(held)}")["BerichtId"])
    clock.advance(dt.timedelta(seconds=61))

    fault = refusal(kennisgeving, shv, people.se)
    assert fault.code == "Client.MailboxFull"
    assert "fetch" in fault.message
    assert refusal(kennisgeving, client(server, pki, "kredietbank"), people.se).code == (
        "Client.MailboxFull")
    # A repeat still gets its receipt; another mailbox still takes messages.
    assert kennisgeving(shv, people.se, kenmerk="Q-FULL-0")["BerichtId"] == held[0]
    kennisgeving(shv, people.se2)

    pending = se.list_pending()
    assert pending["Achterstand"] == LIMIT
    assert {m["BerichtId"] for m in pending["Bericht"]} == set(held)
    for message_id in held:
        metadata, body = se.fetch(message_id)
        assert metadata["BerichtId"] == message_id
        assert body["Klant"]["Achternaam"] == BODY["Klant"]["Achternaam"]
    assert refusal(kennisgeving, shv, people.se).code == "Client.MailboxFull"  # fetched: held

    assert se.confirm(held[0])["Status"] == "confirmed"
    new = kennisgeving(shv, people.se)["BerichtId"]  # a place is free again
    assert refusal(kennisgeving, shv, people.se).code == "Client.MailboxFull"
    for message_id in held[1:]:
        assert se.confirm(message_id)["Status"] == "confirmed"
    assert [m["BerichtId"] for m in se.list_pending()["Bericht"]] == [new]

