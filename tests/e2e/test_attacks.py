"""Hostile XML over the wire: every document of the corpus gets a client fault or a refusal.

Each document is posted raw, over mutual TLS as a registered participant, to the running hub.
Most carry their payload in ``Ping/Tekst``, which Ping echoes: an entity the hub expanded or a
file it read would come back in the answer, so "no canary in the response" is a real check.
Entities and DTDs that point at the network point at a listener on 127.0.0.1 that must never
see a connection. Nothing leaves this machine.

The answer is a SOAP 1.1 fault (HTTP 500 with a ``Client.*`` code, an oversize request
too), never a ``Server.*`` fault and never a 200. The hub speaks UTF-8 only, and only
SOAP 1.1 envelopes whose Body holds exactly one operation.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from skp.domain.roles import Module
from skp.soap.types import namespace
from tests.e2e.conftest import session_for

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
NS = namespace(Module.SCHULDREGELING)

#: What must never come back: /etc/passwd, the secret file, entity expansions, big values.
FILE_CANARY = "XXE-CANARY-8f31c2"
LEAKS = (b"root:", FILE_CANARY.encode(), b"lollol", b"EXPANDED", b"QQQQQQQQQQQQQQQQ")

MB = 1024 * 1024
DTD, MALFORMED = "DTD", "not well-formed"


@dataclass(frozen=True)
class Attack:
    """One hostile request, the fault code it must get (a prefix such as ``Client.``) and
    what the fault string must say: which defence refused it."""

    data: bytes
    code: str = "Client.SchemaInvalid"
    says: str = ""
    status: int = 500
    method: str = "POST"
    chunked: bool = False


def envelope(body: str, *, prolog: str = "", soap: str = SOAP11) -> str:
    return (f'{prolog}<soap:Envelope xmlns:soap="{soap}"><soap:Body>{body}</soap:Body>'
            "</soap:Envelope>")


def ping(text: str) -> str:
    return f'<Ping xmlns="{NS}"><Tekst>{text}</Tekst></Ping>'


def saldoverzoek(bericht: str) -> str:
    return f'<VerstuurSaldoverzoek xmlns="{NS}"><Bericht>{bericht}</Bericht></VerstuurSaldoverzoek>'


def with_dtd(subset: str, text: str, *, encoding: str = "UTF-8") -> str:
    return envelope(ping(text), prolog=f'<?xml version="1.0" encoding="{encoding}"?>'
                                       f"<!DOCTYPE soap:Envelope [{subset}]>")


def laughs() -> str:
    """Ten levels of ten references each: 10**9 copies of "lol" if anything expanded it."""
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return "".join(levels)


def utf7(text: str) -> bytes:
    """UTF-7 with every markup character base64-encoded, as a byte scan for "<!DOCTYPE" misses."""
    head, rest = text.split("?>", 1)
    encoded = "".join(f"+{_b64_utf16(c)}-" if c in "<!>[]&;%\"" else c for c in rest)
    return f"{head.replace('UTF-8', 'UTF-7')}?>{encoded}".encode("ascii")


def _b64_utf16(char: str) -> str:
    return base64.b64encode(char.encode("utf-16-be")).decode("ascii").rstrip("=")


def corpus(limit: int, listener: str, secret: Path) -> dict[str, Attack]:
    """Every hostile request by name; ``limit`` is the hub's maximum request size."""
    ok = envelope(ping("hallo"))
    oversize = envelope(ping("Q" * (limit + 1))).encode()
    return {
        # External entities: a local file, the discard port, and a listener that counts.
        "xxe-passwd": Attack(
            with_dtd('<!ENTITY xxe SYSTEM "file:///etc/passwd">', "&xxe;").encode(), says=DTD),
        # /etc/passwd exceeds Tekst's 200 characters; this file would fit and be echoed.
        "xxe-secret-file": Attack(
            with_dtd(f'<!ENTITY xxe SYSTEM "{secret.as_uri()}">', "&xxe;").encode(), says=DTD),
        "xxe-network-discard": Attack(
            with_dtd('<!ENTITY xxe SYSTEM "http://127.0.0.1:9/">', "&xxe;").encode(), says=DTD),
        "xxe-network-listener": Attack(
            with_dtd(f'<!ENTITY xxe SYSTEM "{listener}/e">', "&xxe;").encode(), says=DTD),
        "xxe-parameter-entity": Attack(with_dtd(
            f'<!ENTITY % remote SYSTEM "{listener}/p.dtd"> %remote;', "&xxe;").encode(),
            says=DTD),
        "external-dtd": Attack(envelope(
            ping("hallo"), prolog=f'<!DOCTYPE soap:Envelope SYSTEM "{listener}/e.dtd">',
        ).encode(), says=DTD),
        "xinclude": Attack(envelope(ping(
            '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" parse="text" '
            f'href="{secret.as_uri()}"/>')).encode()),
        # Entity expansion: exponential and quadratic.
        "billion-laughs": Attack(with_dtd(laughs(), "&lol9;").encode(), says=DTD),
        "quadratic-blowup": Attack(
            with_dtd(f'<!ENTITY a "{"Q" * 50_000}">', "&a;" * 50_000).encode(), says=DTD),
        "internal-entity": Attack(
            with_dtd('<!ENTITY e "EXPANDED">', "&e;").encode(), says=DTD),
        # Without a DTD the blow-up is only a big value, within the request limit.
        "big-text": Attack(envelope(ping("Q" * (5 * MB))).encode(), says="too long"),
        "big-attribute": Attack(envelope(
            f'<Ping xmlns="{NS}" a="{"Q" * (5 * MB)}"/>').encode()),
        # Documents, which the hub decodes and seals as it reads them.
        "document-not-base64": Attack(envelope(saldoverzoek(
            f"<Beschikking>{'!' * (3 * MB)}</Beschikking>")).encode(), says="wrong type"),
        "document-flood": Attack(envelope(saldoverzoek(
            "<Beschikking>QUJD</Beschikking>" * 100_000)).encode(), says="more documents"),
        # A DTD the byte scan for "<!DOCTYPE" cannot see: the parsed tree must be checked.
        "dtd-in-utf16": Attack(with_dtd('<!ENTITY e "EXPANDED">', "&e;", encoding="UTF-16")
                               .encode("utf-16"), says=DTD),
        "dtd-in-utf7": Attack(utf7(with_dtd('<!ENTITY e "EXPANDED">', "&e;")), says=DTD),
        "deep-nesting": Attack(envelope("<a>" * 100_000 + "</a>" * 100_000).encode(),
                               says=MALFORMED),
        "oversize": Attack(oversize, code="Client.TooLarge", says="maximum"),
        "oversize-chunked": Attack(oversize, code="Client.TooLarge", says="maximum",
                                   chunked=True),
        # Valid XML that is not this service's SOAP.
        "wrong-namespace": Attack(envelope('<Ping xmlns="urn:other"/>').encode(),
                                  code="Client.UnknownOperation"),
        "missing-element": Attack(envelope(f'<HaalBerichtOp xmlns="{NS}"/>').encode()),
        "wrong-type": Attack(envelope(
            f'<Berichtenlijst xmlns="{NS}"><Maximum>veel</Maximum></Berichtenlijst>').encode()),
        "unknown-element": Attack(envelope(
            f'<Ping xmlns="{NS}"><Onbekend>x</Onbekend></Ping>').encode()),
        "soap12-envelope": Attack(envelope(ping("hallo"), soap=SOAP12).encode(),
                                  code="Client."),
        "not-an-envelope": Attack(ping("hallo").encode(), code="Client."),
        "envelope-without-body": Attack(
            f'<soap:Envelope xmlns:soap="{SOAP11}"/>'.encode(), code="Client."),
        "empty-body-element": Attack(envelope("").encode(), code="Client."),
        # Not UTF-8, which is what the hub speaks (docs/integrators.md).
        "utf16-bom": Attack(
            ('<?xml version="1.0" encoding="UTF-16"?>' + ok).encode("utf-16"), code="Client."),
        "utf16-no-bom": Attack(
            ('<?xml version="1.0" encoding="UTF-16"?>' + ok).encode("utf-16-le"),
            code="Client."),
        "utf16-no-declaration": Attack(ok.encode("utf-16-le")),
        "utf16-truncated": Attack(b"\xff\xfe<\x00a\x00"),
        "latin1-declared": Attack(b'<?xml version="1.0" encoding="ISO-8859-1"?>'
                                  + envelope(ping("caf\xe9")).encode("latin-1"),
                                  code="Client."),
        "invalid-utf8": Attack(envelope(ping("caf")).encode().replace(b"caf", b"caf\xff\xfe")),
        # Broken or missing documents and the wrong method.
        "truncated": Attack(ok.encode()[: len(ok) // 2]),
        "truncated-start-tag": Attack(b"<soap:Envelope"),
        "empty": Attack(b""),
        "get-with-body": Attack(ok.encode(), method="GET", says="POST"),
    }


NAMES = list(corpus(1, "http://127.0.0.1:1", Path("/x")))


@pytest.fixture(scope="module")
def listener() -> Iterator[socket.socket]:
    """A TCP port on 127.0.0.1 that nothing may connect to: a parser fetching a URL would."""
    sock = socket.create_server(("127.0.0.1", 0), backlog=16)
    sock.setblocking(False)
    yield sock
    sock.close()


def assert_untouched(listener: socket.socket) -> None:
    try:
        connection, _ = listener.accept()
    except BlockingIOError:
        return  # the backlog is empty: no one connected
    connection.close()
    pytest.fail("the hub opened a connection to a URL in a document")


@pytest.fixture(scope="module")
def attacks(hub, listener, tmp_path_factory) -> dict[str, Attack]:
    secret = tmp_path_factory.mktemp("xxe") / "secret.txt"
    secret.write_text(FILE_CANARY)
    port = listener.getsockname()[1]
    return corpus(hub.settings.max_request_bytes, f"http://127.0.0.1:{port}", secret)


def send(session, server: str, attack: Attack):
    data: bytes | Iterator[bytes] = attack.data
    if attack.chunked:  # no Content-Length: the hub must stop reading at its limit itself
        data = (attack.data[i:i + MB] for i in range(0, len(attack.data), MB))
    return session.request(attack.method, f"{server}/schuldregeling", data=data, timeout=30,
                           headers={"Content-Type": "text/xml; charset=utf-8",
                                    "SOAPAction": '"Ping"'})


def test_the_smuggled_dtds_hide_from_a_byte_scan(attacks):
    """So their faults prove that the parsed document is checked for a DTD as well."""
    for name in ("dtd-in-utf16", "dtd-in-utf7"):
        assert b"<!DOCTYPE" not in attacks[name].data
        assert b"DOCTYPE" in attacks[name].data.replace(b"\0", b"")


@pytest.mark.parametrize("name", NAMES)
def test_hostile_request_gets_a_client_fault(name, attacks, server, pki, people, listener):
    attack = attacks[name]
    response = send(session_for(pki.people["shv"], pki.ca_file), server, attack)
    assert response.status_code == attack.status
    assert response.headers["Content-Type"].startswith("text/xml")
    fault = etree.fromstring(response.content).find(f"{{{SOAP11}}}Body/{{{SOAP11}}}Fault")
    code = fault.findtext("faultcode").removeprefix("soap:")
    assert code.startswith(attack.code)
    assert code.startswith("Client.")
    assert attack.says in fault.findtext("faultstring")
    fout = f"{{{NS}}}Fout"
    assert fault.findtext(f"detail/{fout}/{{{NS}}}RequestId") == response.headers["X-Request-Id"]
    for leak in LEAKS:
        assert leak not in response.content
    assert_untouched(listener)


def _status() -> dict[str, int]:
    """This process's resident and peak resident memory in kB."""
    text = Path("/proc/self/status").read_text()
    return {key: int(re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)[1])
            for key in ("VmRSS", "VmHWM")}


def _trim() -> None:
    """Give the C allocator's free memory back to the system (glibc), so RSS counts what is
    in use: each of the server's threads otherwise keeps tens of MB freed by big requests."""
    libc = ctypes.util.find_library("c")
    if libc is not None and hasattr(ctypes.CDLL(libc), "malloc_trim"):
        ctypes.CDLL(libc).malloc_trim(0)


#: Growth allowed over the whole corpus. The largest request the hub accepts is
#: max_request_bytes (8 MB); handling one holds a few copies (raw bytes, the lxml tree, spyne's
#: objects), some tens of MB, freed afterwards. An expansion would need gigabytes: 10**9
#: "lol"s, or 50 000 x 50 000 characters. A leak would grow with the rounds.
BOUND_KB = 200 * 1024
ROUNDS = 2


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux /proc")
def test_the_server_stays_bounded_and_answers(attacks, server, pki, people, listener,
                                             connect):
    _trim()
    before = _status()
    try:  # reset the peak to now (Linux >= 4.0), so VmHWM is this corpus's peak
        Path("/proc/self/clear_refs").write_text("5")
        peak_reset = True
    except OSError:
        peak_reset = False
    for _ in range(ROUNDS):
        for name, attack in attacks.items():
            response = send(session_for(pki.people["shv"], pki.ca_file), server, attack)
            assert response.status_code == attack.status, name
    peak = _status()["VmHWM"]
    _trim()
    after = _status()["VmRSS"]
    figures = f"RSS {before['VmRSS']} -> {after} kB, peak {peak} kB"
    assert after - before["VmRSS"] < BOUND_KB, figures
    assert not peak_reset or peak - before["VmRSS"] < BOUND_KB, figures
    assert_untouched(listener)
    service = connect(pki.people["shv"], Module.SCHULDREGELING)
    assert service.Ping(Tekst="nog daar").DeelnemerId == people.shv.id
