"""The hub's WSGI application called directly: proxy mode, unexpected errors, logging."""

from __future__ import annotations

import io
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
import trustme
from sqlalchemy import event

from skp.domain.admission import Standing
from skp.domain.roles import ROLE_MODULES, Role
from tests.helpers import PING, wait_until
from tests.helpers import wsgi_call as call

SECRET = "secret content Jansen 123456782"
LISTING = PING.replace(b"<Ping", b"<Berichtenlijst").replace(
    b"</Ping>", b"</Berichtenlijst>").replace(b"<Tekst>hoi</Tekst>", b"")


@pytest.fixture
def shv(app, ca):
    info = app.hub.participants.add(standing=Standing.ACTIVE, name="SHV", role=Role.SHV_FASE2,
                                    modules=ROLE_MODULES[Role.SHV_FASE2])
    pem = ca.issue_cert("shv.skp.test").cert_chain_pems[0].bytes()
    app.hub.participants.add_certificate(info.id, pem)
    return info, pem.decode()


def test_trusted_proxy_passes_the_certificate_in_a_header(app, shv):
    info, pem = shv
    code, headers, body = call(app, HTTP_X_SSL_CLIENT_CERT=quote(pem))
    assert code.startswith("200")
    assert info.id.encode() in body
    assert headers["X-Request-Id"]


def test_the_header_counts_only_from_a_trusted_proxy(app, shv):
    _, pem = shv
    code, _, body = call(app, remote="10.0.0.6", HTTP_X_SSL_CLIENT_CERT=quote(pem))
    assert code.startswith("500")
    assert b"Client.Authentication" in body


def test_a_proxied_certificate_must_come_from_the_client_ca(app, shv):
    foreign = trustme.CA().issue_cert("shv.skp.test").cert_chain_pems[0].bytes().decode()
    _, _, body = call(app, HTTP_X_SSL_CLIENT_CERT=quote(foreign))
    assert b"Client.Authentication" in body
    assert b"not issued by a trusted CA" in body
    _, _, body = call(app, HTTP_X_SSL_CLIENT_CERT="garbage")
    assert b"Client.Authentication" in body


def test_an_unexpected_error_says_only_the_request_id(app, shv, monkeypatch, caplog):
    _, pem = shv

    def explode(*args, **kwargs):
        raise RuntimeError(SECRET)

    monkeypatch.setattr(app.hub.mailbox, "list_pending", explode)
    caplog.set_level(logging.INFO)
    code, headers, body = call(app, body=LISTING, HTTP_X_SSL_CLIENT_CERT=quote(pem),
                               HTTP_SOAPACTION='"Berichtenlijst"')
    assert code.startswith("500")
    assert b"Server.Error" in body
    assert headers["X-Request-Id"].encode() in body
    assert b"Jansen" not in body
    assert "Jansen" not in caplog.text
    assert "RuntimeError" in caplog.text  # the operator learns where, not what


def test_every_request_is_logged_with_its_outcome(app, shv, caplog):
    info, pem = shv
    caplog.set_level(logging.INFO, logger="skp.request")
    call(app, HTTP_X_SSL_CLIENT_CERT=quote(pem))
    call(app, remote="10.0.0.6")
    records = [r for r in caplog.records if r.name == "skp.request"]
    assert [(r.participant, r.outcome, r.status) for r in records] == [
        (info.id, "ok", 200), (None, "Client.Authentication", 500)]
    assert all(r.duration_ms >= 0 and len(r.request_id) == 32 for r in records)


def test_health_reports_the_database(app):
    code, _, body = call(app, PATH_INFO="/healthz", REQUEST_METHOD="GET", body=b"")
    assert (code, body) == ("200 OK", b"ok")


def test_at_most_the_active_requests_are_worked_on_at_once(app, shv, monkeypatch):
    _, pem = shv
    identify = app.hub.participants.identify
    inside, most, lock = [0], [0], threading.Lock()

    def counting(fingerprint):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.05)  # time for the other requests to come in, if they may
        try:
            return identify(fingerprint)
        finally:
            with lock:
                inside[0] -= 1

    monkeypatch.setattr(app.hub.participants, "identify", counting)
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: call(app, HTTP_X_SSL_CLIENT_CERT=quote(pem))[0],
                              range(8)))
    assert all(code.startswith("200") for code in codes)
    assert most[0] == app.settings.active_requests == 4


def test_a_request_checks_out_one_database_connection(app, shv):
    _, pem = shv
    checkouts = []

    def checkout(*_):
        checkouts.append(1)

    event.listen(app.hub.engine, "checkout", checkout)
    try:
        code, _, _ = call(app, body=LISTING, HTTP_X_SSL_CLIENT_CERT=quote(pem),
                          HTTP_SOAPACTION='"Berichtenlijst"')
    finally:
        event.remove(app.hub.engine, "checkout", checkout)
    assert code.startswith("200")
    assert checkouts == [1]  # the identity lookup and the listing


def test_a_ping_of_a_caller_whose_identity_is_kept_needs_no_database_connection(app, shv):
    _, pem = shv
    checkouts, mine = [], threading.get_ident()

    def checkout(*_):  # of this thread: the watch runs on its own
        if threading.get_ident() == mine:
            checkouts.append(1)

    identities = app.hub.participants.identities
    identities.start()
    try:
        wait_until(identities.current, 5, "a lease")
        assert call(app, HTTP_X_SSL_CLIENT_CERT=quote(pem))[0].startswith("200")  # kept now
        event.listen(app.hub.engine, "checkout", checkout)
        try:
            code, _, _ = call(app, HTTP_X_SSL_CLIENT_CERT=quote(pem))
        finally:
            event.remove(app.hub.engine, "checkout", checkout)
    finally:
        identities.stop()
    assert code.startswith("200")
    assert checkouts == []


#: A Ping padded past the size that is parsed before its caller is known (skp.server).
LARGE_PING = PING.replace(b"<Tekst>", b" " * (100 * 1024) + b"<Tekst>")


@pytest.fixture
def parsed(monkeypatch):
    """The bodies the hub parsed."""
    from skp import xmlsafe
    seen = []
    read = xmlsafe.read

    def spy(stream, **kwargs):
        seen.append(kwargs["declared_length"])
        return read(stream, **kwargs)

    monkeypatch.setattr(xmlsafe, "read", spy)
    return seen


def test_a_large_body_is_parsed_only_for_a_known_caller(app, shv, ca, parsed):
    stranger = ca.issue_cert("stranger.skp.test").cert_chain_pems[0].bytes().decode()
    stream = io.BytesIO(LARGE_PING)
    code, _, body = call(app, body=LARGE_PING, HTTP_X_SSL_CLIENT_CERT=quote(stranger),
                         **{"wsgi.input": stream})
    assert code.startswith("500")
    assert b"Client.Authentication" in body
    assert parsed == []
    assert stream.read() == b""  # read to the end, so the client hears the fault

    code, _, body = call(app, body=LARGE_PING, HTTP_X_SSL_CLIENT_CERT=quote(shv[1]))
    assert code.startswith("200"), body
    assert parsed == [str(len(LARGE_PING))]


def test_a_small_body_is_parsed_before_its_caller_is_known_and_refused_after(app, ca, parsed):
    stranger = ca.issue_cert("stranger.skp.test").cert_chain_pems[0].bytes().decode()
    _, _, body = call(app, body=b"<not xml", HTTP_X_SSL_CLIENT_CERT=quote(stranger))
    assert b"Client.Authentication" in body  # not the XML fault: no access comes first
    assert parsed == ["8"]
