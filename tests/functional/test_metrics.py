"""/metrics through the hub's WSGI application: counters, backlog, latency, faults, no content."""

from __future__ import annotations

import datetime as dt
import logging
import time
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert

from skp.cli import cli
from skp.clock import FrozenClock
from skp.domain.roles import Module
from skp.identities import Now
from skp.keystore.file import create_keyring_file
from skp.metrics import Metrics
from skp.store.db import make_engine, make_sessions
from skp.store.models import IdentityLease
from tests.helpers import PING, send, wait_until
from tests.helpers import wsgi_call as call

MODULE = Module.SCHULDREGELING
TYPE = "Kennisgeving"  # SHV fase 2 -> SE
#: Text sent in bodies and headers that must never show up in the metrics.
CANARY = "Kanarie Zwaluwstaart Pimpelmees"


@pytest.fixture
def shv_cert(app, ca, people):
    pem = ca.issue_cert("shv.skp.test").cert_chain_pems[0].bytes()
    app.hub.participants.add_certificate(people.shv.id, pem)
    return quote(pem.decode())


def scrape(app):
    """The /metrics text and its samples as {(name, labels...): value}."""
    code, headers, body = call(app, PATH_INFO="/metrics", REQUEST_METHOD="GET", body=b"")
    assert code == "200 OK"
    assert headers["Content-Type"].startswith("text/plain")
    text = body.decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, *sorted(s.labels.items()))] = s.value
    return text, samples


def value(samples, name, **labels):
    return samples.get((name, *sorted(labels.items())))


def messages(samples, kind, module=MODULE, type_code=TYPE):
    return value(samples, f"skp_messages_{kind}_total", module=module, type=type_code)


def test_metrics_needs_no_registered_participant(app):
    code, headers, body = call(app, PATH_INFO="/metrics", REQUEST_METHOD="GET", body=b"")
    assert code == "200 OK"
    assert b"skp_messages_sent_total" in body
    assert headers["X-Request-Id"]


def test_every_series_starts_at_zero(app):
    _, samples = scrape(app)
    for kind in ("sent", "fetched", "confirmed", "expired"):
        assert messages(samples, kind) == 0
        assert messages(samples, kind, Module.WAARBORGFONDS, "Melding") is None  # no such type


def test_counters_follow_send_fetch_and_confirm(app, people):
    mailbox = app.hub.mailbox
    receipt = send(mailbox, people.shv, people.se, MODULE, TYPE, kenmerk="K-1")
    repeat = send(mailbox, people.shv, people.se, MODULE, TYPE, kenmerk="K-1")
    assert repeat.repeated
    _, samples = scrape(app)
    assert (messages(samples, "sent"), messages(samples, "fetched")) == (1, 0)

    mailbox.fetch(people.se.id, receipt.message_id)
    mailbox.fetch(people.se.id, receipt.message_id)  # a re-fetch is not counted again
    mailbox.confirm(people.se.id, receipt.message_id)
    mailbox.confirm(people.se.id, receipt.message_id)  # an idempotent repeat neither
    second = send(mailbox, people.shv, people.se, MODULE, TYPE)
    assert mailbox.fetch_next(people.se.id, MODULE).info.id == second.message_id
    _, samples = scrape(app)
    assert [messages(samples, k) for k in ("sent", "fetched", "confirmed", "expired")] == [
        2, 2, 1, 0]


def test_purge_counts_expired_messages_per_type(app, people, clock):
    mailbox = app.hub.mailbox
    for _ in range(3):
        send(mailbox, people.shv, people.se, MODULE, TYPE)
    send(mailbox, people.shv, people.se, MODULE, "Saldoverzoek")
    confirmed = send(mailbox, people.shv, people.se, MODULE, TYPE)
    mailbox.fetch(people.se.id, confirmed.message_id)
    mailbox.confirm(people.se.id, confirmed.message_id)

    later = clock.now() + dt.timedelta(days=30)
    assert mailbox.purge(later, batch_size=2).expired == 4
    assert mailbox.purge(later).expired == 0
    _, samples = scrape(app)
    assert messages(samples, "expired") == 3
    assert messages(samples, "expired", type_code="Saldoverzoek") == 1


def test_backlog_and_oldest_age_per_recipient(app, people, clock):
    mailbox = app.hub.mailbox
    oldest = send(mailbox, people.shv, people.se, MODULE, TYPE)
    clock.advance(dt.timedelta(hours=1))
    send(mailbox, people.shv, people.se, MODULE, TYPE)
    send(mailbox, people.shv, people.se2, MODULE, TYPE)
    done = send(mailbox, people.shv, people.se2, MODULE, TYPE)
    mailbox.fetch(people.se.id, oldest.message_id)  # fetched is still pending
    mailbox.fetch(people.se2.id, done.message_id)
    mailbox.confirm(people.se2.id, done.message_id)  # confirmed is not
    clock.advance(dt.timedelta(minutes=30))

    _, samples = scrape(app)
    assert value(samples, "skp_backlog_messages", recipient=people.se.id) == 2
    assert value(samples, "skp_backlog_messages", recipient=people.se2.id) == 1
    assert value(samples, "skp_backlog_messages", recipient=people.shv.id) is None
    assert value(samples, "skp_backlog_oldest_age_seconds", recipient=people.se.id) == 5400
    assert value(samples, "skp_backlog_oldest_age_seconds", recipient=people.se2.id) == 1800


def test_request_duration_by_operation_and_faults_by_code(app, shv_cert):
    call(app, HTTP_X_SSL_CLIENT_CERT=shv_cert)
    call(app, remote="10.0.0.6")  # not the trusted proxy: no certificate, a fault
    # spyne dispatches on the body, so this is a Ping; its label comes from the header.
    call(app, HTTP_X_SSL_CLIENT_CERT=shv_cert, HTTP_SOAPACTION='"Verzonnen"')
    call(app, PATH_INFO="/schuldregeling", QUERY_STRING="wsdl", REQUEST_METHOD="GET",
         body=b"", HTTP_X_SSL_CLIENT_CERT=shv_cert)
    call(app, PATH_INFO="/healthz", REQUEST_METHOD="GET", body=b"")

    text, samples = scrape(app)
    count = "skp_request_duration_seconds_count"
    assert value(samples, count, operation="Ping") == 2
    assert value(samples, count, operation="other") == 1
    assert value(samples, count, operation="wsdl") == 1
    assert value(samples, count, operation="healthz") == 1
    assert value(samples, "skp_faults_total", code="Client.Authentication") == 1
    assert sum(v for k, v in samples.items() if k[0] == "skp_faults_total") == 1
    assert "Verzonnen" not in text
    # The scrape itself is measured once it has been answered.
    _, samples = scrape(app)
    assert value(samples, count, operation="metrics") == 1


def test_no_content_reaches_the_metrics(app, people, shv_cert):
    mailbox = app.hub.mailbox
    receipt = send(mailbox, people.shv, people.se, MODULE, TYPE, text=CANARY)
    mailbox.fetch(people.se.id, receipt.message_id)
    ping = PING.replace(b"hoi", CANARY.encode())
    call(app, body=ping, HTTP_X_SSL_CLIENT_CERT=shv_cert)
    call(app, body=ping, remote="10.0.0.6", HTTP_SOAPACTION=f'"{CANARY}"')
    call(app, body=ping.replace(b"</Ping>", b""), HTTP_X_SSL_CLIENT_CERT=shv_cert)  # bad XML

    text, samples = scrape(app)
    assert value(samples, "skp_faults_total", code="Client.SchemaInvalid") == 1
    for word in CANARY.split():
        assert word not in text


def test_every_soap_operation_has_its_own_label(app):
    for wsgi in app.soap.values():
        for key in wsgi.app.interface.service_method_map:
            assert key.rsplit("}", 1)[-1] in app.hub.metrics.operations


def test_hubs_in_one_process_keep_their_own_metrics(sessions, clock):
    first, second = Metrics(sessions, clock), Metrics(sessions, clock)
    first.sent(MODULE, TYPE)
    first.observe_request("Ping", 0.1, "Client.Authentication")
    second.observe_request("Ping", -1.0, f"{CANARY}")
    one, two = first.render()[0].decode(), second.render()[0].decode()
    assert f'skp_messages_sent_total{{module="schuldregeling",type="{TYPE}"}} 1.0' in one
    assert f'skp_messages_sent_total{{module="schuldregeling",type="{TYPE}"}} 0.0' in two
    assert 'skp_faults_total{code="other"} 1.0' in two
    assert CANARY not in two


def test_a_scrape_answers_while_the_database_is_down(tmp_path, caplog):
    engine = make_engine(f"sqlite:///{tmp_path}/missing/skp.sqlite3")
    try:
        clock = FrozenClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        body, _ = Metrics(make_sessions(engine), clock).render()
    finally:
        engine.dispose()
    assert b"skp_messages_sent_total" in body
    assert b"skp_backlog_messages{" not in body
    assert "backlog query failed: Unavailable" in caplog.text


def test_metrics_answer_only_the_configured_networks(app):
    code, _, body = call(app, PATH_INFO="/metrics", REQUEST_METHOD="GET", body=b"",
                         remote="10.0.0.99")
    assert code.startswith("403")
    assert b"skp_" not in body


def test_certificate_expiry_per_participant(app, ca, people, clock):
    hub = app.hub
    first, second = (ca.issue_cert(f"se{n}.skp.test").cert_chain_pems[0].bytes()
                     for n in (1, 2))
    hub.participants.add_certificate(people.se.id, first)
    revoked = hub.participants.add_certificate(people.se2.id, second)
    hub.participants.revoke_certificate(revoked.fingerprint)
    hub.participants.add_certificate(people.wsk.id,
                                     ca.issue_cert("wsk.skp.test").cert_chain_pems[0].bytes())
    hub.participants.deactivate(people.wsk.id)
    _, samples = scrape(app)
    expiry = {key[1][1]: seconds for key, seconds in samples.items()
              if key[0] == "skp_certificate_expiry_seconds"}
    until = hub.participants.certificates(people.se.id)[0].not_after
    assert expiry == {people.se.id: (until - clock.now()).total_seconds()}


def test_a_purge_run_from_cron_counts_in_the_hubs_metrics(app, people, tmp_path, caplog):
    due = [send(app.hub.mailbox, people.shv, people.se, MODULE, TYPE).message_id
           for _ in range(2)]
    create_keyring_file(tmp_path / "kek.json")
    env = {"SKP_DATABASE_URL": app.hub.engine.url.render_as_string(hide_password=False),
           "SKP_KEK_FILE": str(tmp_path / "kek.json")}
    caplog.set_level(logging.INFO, logger="skp.mailbox")
    # Another run on the same PostgreSQL database may hold the purge lock for a moment.
    deadline = time.monotonic() + 60
    while True:
        result = CliRunner().invoke(cli, ["purge"], env=env)  # its own clock: now is past
        assert result.exit_code == 0, result.output           # MONDAY's deadlines
        if "another process is purging" not in result.output or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert "expired 2 messages" in result.output
    _, samples = scrape(app)
    assert messages(samples, "expired") == 2
    logged = [r for r in caplog.records if r.getMessage() == "expired"]
    assert sorted(r.message_id for r in logged) == sorted(due)
    assert {(r.service, r.type, r.recipient) for r in logged} == {
        (MODULE.value, TYPE, people.se.id)}


def test_live_keks_and_the_age_of_the_oldest(app, keyring, clock):
    first = keyring.current_id
    keyring.create(clock.now() - dt.timedelta(hours=2))
    _, samples = scrape(app)
    assert value(samples, "skp_kek_epochs") == 2
    assert value(samples, "skp_kek_oldest_age_seconds") == 7200
    keyring.destroy(first)
    clock.advance(dt.timedelta(minutes=1))
    _, samples = scrape(app)
    assert value(samples, "skp_kek_epochs") == 1
    assert value(samples, "skp_kek_oldest_age_seconds") == 7260


def test_the_server_processes_that_keep_identities_and_those_behind(app):
    identities = app.hub.participants.identities
    _, samples = scrape(app)
    assert value(samples, "skp_identity_leases") == 0
    identities.start()
    try:
        wait_until(identities.current, 5, "a lease")
        _, samples = scrape(app)
        assert value(samples, "skp_identity_leases") == 1
        assert value(samples, "skp_identity_leases_behind") == 0
        with app.hub.engine.begin() as conn:  # another process's lease, behind the register
            conn.execute(insert(IdentityLease).values(
                process="behind", version=-1, renewed_at=Now()))
        _, samples = scrape(app)
        assert value(samples, "skp_identity_leases") == 2
        assert value(samples, "skp_identity_leases_behind") == 1
    finally:
        identities.stop()
