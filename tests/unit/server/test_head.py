"""The request head's rules (skp.server.head), on raw bytes."""

from __future__ import annotations

import pytest

from skp.server import head

CERT = frozenset({"X_SSL_CLIENT_CERT"})
GOOD = (b"POST /schuldregeling HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n"
        b'SOAPAction: "Ping"\r\nContent-Length: 12\r\n\r\n')


def refused(data: bytes) -> str | None:
    found = head.refusal(data, single=CERT)
    return found.status.split()[0] if found else None


def test_a_plain_head_passes():
    assert refused(GOOD) is None
    assert refused(b"\r\n" + GOOD) is None  # one empty line before it is allowed
    assert refused(GOOD.replace(b"Content-Length: 12", b"Transfer-Encoding: chunked")) is None


@pytest.mark.parametrize(("change", "to"), [
    (b"Content-Length: 12", b"Content-Length: 12\r\nTransfer-Encoding: chunked"),
    (b"Content-Length: 12", b"Content-Length: 12\r\nContent-Length: 13"),
    (b"Content-Length: 12", b"Content-Length: 12\r\nContent-Length: 12"),
    (b"Content-Length: 12", b"Content-Length : 12"),
    (b"Content-Length: 12", b"Content-Length: +12"),
    (b"Content-Length: 12", b"Content-Length: 0x4d"),
    (b"Content-Length: 12", b"Content-Length: 1_2"),
    (b"Content-Length: 12", b"Content_Length: 12"),
    (b"Content-Length: 12", b"Transfer-Encoding: gzip, chunked"),
    (b"Content-Length: 12", b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked"),
    (b"Host: localhost", b"Host: localhost\r\nHost: evil.example"),
    (b"Host: localhost", b"Host: localhost\r\nX-SSL-Client-Cert: a\r\nX_SSL_Client_Cert: b"),
    (b"Host: localhost", b"Host: localhost\r\nx-ssl-client-cert: a\r\nX-SSL-Client-Cert: b"),
    (b"Host: localhost", b"Host: localhost\r\nX_SSL_Client_Cert: b"),
    (b"Host: localhost", b"Host: localhost\r\nX-Other: a\r\nX_Other: b"),
    (b"Host: localhost", b"Host: localhost\r\n folded"),
    (b"Host: localhost", b"Host: local\nhost"),
    (b"Host: localhost", b"Host: local\x00host"),
    (b"Host: localhost", b"Ho st: localhost"),
    (b"HTTP/1.1\r\n", b"HTTP/1.1 \r\n"),
    (b"HTTP/1.1\r\n", b"HTTP/2.0\r\n"),
    (b"/schuldregeling", b"/schuld\x1bregeling"),
    (b"POST", b"post"),
])
def test_ambiguous_or_malformed_heads_are_refused(change, to):
    assert refused(GOOD.replace(change, to, 1)) == "400"


def test_chunked_is_only_for_http11():
    data = GOOD.replace(b"HTTP/1.1", b"HTTP/1.0").replace(b"Content-Length: 12",
                                                          b"Transfer-Encoding: chunked")
    assert refused(data) == "400"


def test_the_limits():
    fields = b"".join(b"X-F%d: v\r\n" % i for i in range(head.MAX_FIELDS))
    assert refused(GOOD.replace(b"\r\n\r\n", b"\r\n" + fields + b"\r\n")) == "431"
    assert refused(GOOD.replace(b"/schuldregeling", b"/" + b"a" * head.MAX_REQUEST_LINE)) == "414"
    assert head.too_long(b"GET /" + b"a" * head.MAX_REQUEST_LINE).status.startswith("414")
    assert head.too_long(b"GET / HTTP/1.1\r\nX: " + b"a" * head.MAX_HEAD).status.startswith("431")
    assert head.too_long(b"GET / HTTP/1.1\r\nX: " + b"a" * 1000) is None


def test_a_refusal_quotes_nothing_of_the_request():
    for data in (GOOD.replace(b"Host: localhost", b"Host: localhost\r\nX-Canary: a\r\nX_Canary: b"),
                 GOOD.replace(b"12", b"12canary"), GOOD.replace(b"localhost", b"local\x01canary")):
        assert "canary" not in head.refusal(data).message.lower()


def test_the_end_is_found_wherever_the_search_starts():
    for start in range(len(GOOD) + 1):
        assert head.end(GOOD, start) == len(GOOD)
    assert head.end(GOOD[:-1]) == -1
