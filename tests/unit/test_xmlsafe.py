"""The XML parse policy: no DTD, no entities, no network; documents streamed to a sink."""

from __future__ import annotations

import base64
import codecs
import gc
import itertools
import tracemalloc
import weakref
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from skp.errors import SchemaInvalid, TooLarge
from skp.xmlsafe import parser, read

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<lolz>&lol3;</lolz>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><foo>&xxe;</foo>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE foo SYSTEM "http://127.0.0.1:9/evil.dtd"><foo/>"""
DTDS = [LAUGHS, XXE, EXTERNAL_DTD, LAUGHS.replace(b"DOCTYPE", b"doctype")]
DTD_IDS = ["billion-laughs", "xxe", "external-dtd", "lowercase"]
MALFORMED = [b"", b"<a>", b"not xml", b"<a></b>"]

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS = "urn:skp:test"
DOCUMENTS = frozenset({"Beschikking", "Bijlage"})
LIMIT = 64 * 1024


def envelope(body: str, header: str = "", prolog: str = "") -> bytes:
    return (f'{prolog}<soap:Envelope xmlns:soap="{SOAP}" xmlns:xsi="http://www.w3.org/2001/'
            f'XMLSchema-instance"><soap:Header>{header}</soap:Header><soap:Body>{body}'
            "</soap:Body></soap:Envelope>").encode()


def saldo(text: str, extra: str = "") -> str:
    return (f'<VerstuurSaldoverzoek xmlns="{NS}"><Bericht><Kenmerk>k-1</Kenmerk>'
            f"<Beschikking>{text}</Beschikking>{extra}</Bericht></VerstuurSaldoverzoek>")


class Trickle:
    """A WSGI input that hands out at most the next of ``sizes`` bytes per read."""

    def __init__(self, data: bytes, sizes: list[int] | None = None) -> None:
        self.data, self.at = data, 0
        self.sizes = itertools.cycle(sizes or [1 << 30])

    def read(self, n: int) -> bytes:
        chunk = self.data[self.at:self.at + min(n, next(self.sizes))]
        self.at += len(chunk)
        return chunk

    @property
    def drained(self) -> bool:
        return self.at == len(self.data)


class Sink:
    """Records what a DocumentSink is given; the tree gets "[document N]"."""

    def __init__(self) -> None:
        self.wheres: list[str] = []
        self.texts: list[list[str]] = []
        self.ended = 0

    def begin(self, where: str) -> str:
        self.wheres.append(where)
        self.texts.append([])
        return f"[document {len(self.wheres)}]"

    def feed(self, text: str) -> None:
        assert len(self.texts) > self.ended, "feed() outside begin() ... end()"
        self.texts[-1].append(text)

    def end(self) -> None:
        self.ended += 1

    @property
    def joined(self) -> list[str]:
        return ["".join(pieces) for pieces in self.texts]


def stream_in(data: bytes, sizes: list[int] | None = None, sink: Sink | None = None,
              limit: int = LIMIT, declared: str | None = None) -> etree._Element:
    return read(Trickle(data, sizes), declared_length=declared, limit=limit,
                documents=DOCUMENTS, sink=sink or Sink())


# -- read(): the body as it arrives --------------------------------------------------------

PLAIN = envelope(
    f'<ns1:Ping xmlns:ns1="{NS}" ns1:at="1" plain="&amp;&#38;#38;&lt;"><!-- c --><?pi x?>'
    '<ns1:Tekst xsi:type="xs:string" xmlns:xs="http://www.w3.org/2001/XMLSchema">'
    "h&#233;llo <![CDATA[<raw>]]>\n\u20ac</ns1:Tekst>\n  </ns1:Ping>",
    header=f'<Auth xmlns="{NS}"><Beschikking>in the Header</Beschikking></Auth>',
    prolog='<?xml version="1.0" encoding="UTF-8"?>\n<!-- vooraf -->')


@pytest.mark.parametrize("sizes", [None, [1], [7, 3, 64]], ids=["whole", "bytes", "mixed"])
def test_read_builds_the_tree_lxml_builds(sizes):
    """Namespaces, prefixes and xsi:type values as lxml keeps them, so spyne and the XSD
    validation see the same tree; no documents here (one is outside the Body)."""
    sink = Sink()
    root = stream_in(PLAIN, sizes, sink)
    expected = etree.fromstring(PLAIN, parser())
    assert etree.tostring(root) == etree.tostring(expected)
    assert etree.tostring(root, method="c14n") == etree.tostring(expected, method="c14n")
    assert [e.nsmap for e in root.iter()] == [e.nsmap for e in expected.iter()]
    assert sink.wheres == []


BASE64 = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n",
                 max_size=3000)


@given(text=BASE64, sizes=st.lists(st.integers(1, 97), min_size=1, max_size=20))
def test_document_text_goes_to_the_sink_for_every_chunking(text, sizes):
    sink = Sink()
    data = envelope(saldo(text, "<Bijlage>QUJD</Bijlage>"))
    root = stream_in(data, sizes, sink)
    assert sink.joined == [text, "QUJD"]
    assert sink.ended == 2
    assert sink.wheres == ["VerstuurSaldoverzoek/Bericht/Beschikking",
                           "VerstuurSaldoverzoek/Bericht/Bijlage"]
    bericht = root.find(f"{{{SOAP}}}Body/{{{NS}}}VerstuurSaldoverzoek/{{{NS}}}Bericht")
    assert [(e.tag, e.text) for e in bericht] == [
        (f"{{{NS}}}Kenmerk", "k-1"), (f"{{{NS}}}Beschikking", "[document 1]"),
        (f"{{{NS}}}Bijlage", "[document 2]")]


def test_character_references_in_a_document_reach_the_sink_decoded():
    sink = Sink()
    stream_in(envelope(saldo("QU&#10;JD&#x0D;")), [5], sink)
    assert sink.joined == ["QU\nJD\r"]


def test_documents_outside_the_body_or_directly_below_the_operation_are_not_diverted():
    sink = Sink()
    root = stream_in(envelope(f'<Beschikking xmlns="{NS}">op</Beschikking>',
                              header=f'<A xmlns="{NS}"><Beschikking>kop</Beschikking></A>'),
                     [11], sink)
    assert sink.wheres == []
    assert [e.text for e in root.iter(f"{{{NS}}}Beschikking")] == ["kop", "op"]


def test_a_document_one_level_below_the_operation_is_diverted():
    sink = Sink()
    root = stream_in(envelope(f'<Op xmlns="{NS}"><Bijlage>QUJD</Bijlage></Op>'), None, sink)
    assert (sink.wheres, sink.joined) == (["Op/Bijlage"], ["QUJD"])
    assert root.findtext(f".//{{{NS}}}Bijlage") == "[document 1]"


def test_a_child_element_inside_a_document_stays_in_the_tree_for_the_xsd_to_refuse():
    sink = Sink()
    root = stream_in(envelope(saldo("QU<Beschikking>binnen</Beschikking><x>kept</x>JD")),
                     [3], sink)
    assert (sink.wheres, sink.joined, sink.ended) == (
        ["VerstuurSaldoverzoek/Bericht/Beschikking"], ["QUJD"], 1)
    document = root.find(f".//{{{NS}}}Bericht/{{{NS}}}Beschikking")
    assert document.text == "[document 1]"
    assert [(e.tag, e.text, e.tail) for e in document] == [
        (f"{{{NS}}}Beschikking", "binnen", None), (f"{{{NS}}}x", "kept", None)]


def test_the_parser_a_thread_keeps_holds_nothing_of_the_last_request():
    sink = Sink()
    stream_in(envelope(saldo(base64.b64encode(b"one").decode())), sink=sink)
    assert sink.joined == ["b25l"]
    gone = weakref.ref(sink)
    del sink
    gc.collect()
    assert gone() is None


def test_after_an_error_the_next_request_of_the_thread_parses_as_the_first():
    for document in MALFORMED:
        with pytest.raises(SchemaInvalid):
            stream_in(document)
        sink = Sink()
        root = stream_in(envelope(saldo("dHdv")), [5], sink)
        assert sink.joined == ["dHdv"]
        assert etree.tostring(root) == etree.tostring(etree.fromstring(
            envelope(saldo("[document 1]"))))


def test_threads_parse_at_once_each_with_a_parser_of_its_own():
    def one(i: int) -> list[str]:
        sink = Sink()
        text = base64.b64encode(str(i).encode() * 5000).decode()
        stream_in(envelope(saldo(text)), [1000], sink)
        return sink.joined

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one, range(16)))
    assert results == [[base64.b64encode(str(i).encode() * 5000).decode()]
                       for i in range(16)]


def test_a_declared_length_over_the_limit_is_refused_unread_and_drained():
    data = envelope(saldo("Q" * 2000))
    stream = Trickle(data + b"x" * 10 * len(data), [1000])
    with pytest.raises(TooLarge, match=f"the request is {len(data)} bytes; the maximum is 1000$"):
        read(stream, declared_length=str(len(data)), limit=1000, documents=DOCUMENTS,
             sink=Sink())
    assert stream.at == len(data)  # the declared body, no more
    with pytest.raises(TooLarge, match="the request is 999999 bytes"):
        read(stream, declared_length="999999", limit=1000, documents=DOCUMENTS, sink=Sink())
    assert stream.at == len(data) + 4 * 1000  # and no more than four times the limit


def test_a_body_over_the_limit_is_refused_and_drained_within_a_bound():
    sink = Sink()
    data = envelope(saldo("Q" * 2 * LIMIT))
    stream = Trickle(data, [1000])
    with pytest.raises(TooLarge, match=f"larger than the maximum of {LIMIT} bytes$"):
        read(stream, declared_length=None, limit=LIMIT, documents=DOCUMENTS, sink=sink)
    assert stream.drained
    assert 0 < len("".join(sink.joined)) <= LIMIT  # nothing past the limit reached the sink
    endless = Trickle(b"<a>" + b"Q" * 10 * LIMIT)
    with pytest.raises(TooLarge):
        read(endless, declared_length="", limit=LIMIT, documents=DOCUMENTS, sink=Sink())
    assert endless.at == LIMIT + 1 + 4 * LIMIT


def test_a_body_of_exactly_the_limit_is_read():
    data = envelope(saldo("QUJD"))
    assert stream_in(data, [3], limit=len(data)).tag == f"{{{SOAP}}}Envelope"


@pytest.mark.parametrize("document", DTDS, ids=DTD_IDS)
@pytest.mark.parametrize("size", [1, 4, 64 * 1024])
def test_dtds_are_refused_by_read(document, size):
    with pytest.raises(SchemaInvalid, match="DTD"):
        stream_in(document, [size])


@pytest.mark.parametrize("cut", range(1, len(b"<!DOCTYPE")))
def test_a_doctype_split_across_chunks_is_refused(cut):
    data = b'<?xml version="1.0"?>\n' + b"<!DOCTYPE a []><a/>"
    stream = Trickle(data + b" " * 50, [data.index(b"<!DOC") + cut, 1 << 20])
    with pytest.raises(SchemaInvalid, match="DTD"):
        read(stream, declared_length=None, limit=LIMIT, documents=DOCUMENTS, sink=Sink())
    assert stream.drained


def test_a_doctype_even_in_a_comment_is_refused():
    with pytest.raises(SchemaInvalid, match="DTD"):
        stream_in(b"<a><!-- <!DOCTYPE --></a>")


def _with_dtd(encoding: str) -> str:
    return (f'<?xml version="1.0" encoding="{encoding}"?><!DOCTYPE a [<!ENTITY e "EXPANDED">]>'
            "<a>&e;</a>")


def _utf7(text: str) -> bytes:
    return text.replace("<!", "+ADwAIQ-").encode("ascii")


@pytest.mark.parametrize("data", [
    _with_dtd("UTF-16").encode("utf-16"), _with_dtd("UTF-16").encode("utf-16-le"),
    _utf7(_with_dtd("UTF-7"))], ids=["utf16", "utf16-no-bom", "utf7"])
def test_a_dtd_hidden_from_the_byte_scan_is_refused_as_a_dtd(data):
    assert b"<!DOCTYPE" not in data
    with pytest.raises(SchemaInvalid, match="DTD"):
        stream_in(data, [5])


OK = envelope(saldo("QUJD")).decode()
DECLARED = '<?xml version="1.0" encoding="{}"?>'


@pytest.mark.parametrize("data", [
    (DECLARED.format("UTF-16") + OK).encode("utf-16"),
    (DECLARED.format("UTF-16") + OK).encode("utf-16-le"),
    (DECLARED.format("UTF-16") + OK).encode("utf-16-be"),
    (DECLARED.format("ISO-8859-1") + OK).encode("latin-1"),
    (DECLARED.format("US-ASCII") + OK).encode("ascii"),
    (DECLARED.format("utf8") + OK).encode(),
    _utf7(DECLARED.format("UTF-7") + OK),
    codecs.BOM_UTF16_LE + OK.encode("utf-16-le"),
], ids=["utf16", "utf16le", "utf16be", "latin1", "ascii", "utf8-misspelt", "utf7",
        "utf16-bom-only"])
def test_other_encodings_than_utf8_are_refused_before_any_document(data):
    """Any declared encoding but UTF-8, and UTF-16 with a BOM and no declaration."""
    sink = Sink()
    with pytest.raises(SchemaInvalid, match="send the request in UTF-8"):
        stream_in(data, [2], sink)
    assert sink.wheres == []


@pytest.mark.parametrize("data", [
    OK.encode("utf-16-le"), b"\xff\xfe<\x00a\x00", b"\x4c\x6f\xa7\x94",
    (DECLARED.format("UTF-32") + OK).encode("utf-32"),
    OK.encode().replace(b"QUJD", b"QU\xff\xfeJD")], ids=[
    "utf16-no-declaration", "utf16-truncated", "ebcdic", "utf32", "invalid-utf8"])
def test_undeclared_foreign_bytes_are_refused(data):
    sink = Sink()
    with pytest.raises(SchemaInvalid):
        stream_in(data, [3], sink)
    assert "".join(sink.joined) in ("", "QU")


@pytest.mark.parametrize("data", [
    codecs.BOM_UTF8 + OK.encode(), (DECLARED.format("utf-8") + OK).encode(),
    ("<?xml version='1.0' encoding='UTF-8' standalone='yes'?>" + OK).encode(),
    ('<?xml version="1.0"?>' + OK).encode()], ids=["bom", "lower", "single-quotes", "none"])
def test_utf8_documents_are_read(data):
    sink = Sink()
    stream_in(data, [1], sink)
    assert sink.joined == ["QUJD"]


@pytest.mark.parametrize("document", MALFORMED)
def test_malformed_xml_is_refused_by_read(document):
    with pytest.raises(SchemaInvalid, match="not well-formed"):
        stream_in(document, [2])


def test_an_empty_body_is_refused_as_parse_refuses_it():
    with pytest.raises(SchemaInvalid) as raised:
        stream_in(b"")
    assert raised.value.message == "the request is not well-formed XML (line 1)"


@pytest.mark.parametrize("cut", [1, 5, 40, 150, 180, -1])
def test_truncated_xml_is_refused(cut):
    with pytest.raises(SchemaInvalid, match="not well-formed"):
        stream_in(OK.encode()[:cut], [7])


def test_the_line_of_malformed_xml_is_named():
    with pytest.raises(SchemaInvalid, match=r"\(line 3\)$"):
        stream_in(b"<a>\n\n</b>" + b" " * 100, [4])


def test_deep_nesting_is_refused_at_libxml2s_depth_limit():
    stream_in(b"<a>" * 256 + b"</a>" * 256)
    with pytest.raises(SchemaInvalid, match="not well-formed"):
        stream_in(b"<a>" * 100_000 + b"</a>" * 100_000, limit=1 << 20)


def test_entities_other_than_the_five_are_refused():
    with pytest.raises(SchemaInvalid, match="not well-formed"):
        stream_in(envelope(saldo("&e;")))


class Refusing(Sink):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def feed(self, text: str) -> None:
        raise self.error


def test_a_sink_refusal_is_raised_after_the_rest_of_the_body_is_read():
    data = envelope(saldo("not base64!" * 500))
    stream = Trickle(data, [100])
    error = SchemaInvalid("element Beschikking is not base64")
    with pytest.raises(SchemaInvalid) as raised:
        read(stream, declared_length=str(len(data)), limit=LIMIT, documents=DOCUMENTS,
             sink=Refusing(error))
    assert raised.value is error
    assert stream.drained


def test_other_sink_errors_propagate_as_they_are():
    error = OSError("disk full")
    with pytest.raises(OSError) as raised:
        stream_in(envelope(saldo("QUJD")), [100], Refusing(error))
    assert raised.value is error


class Generated:
    """A body with a ``size``-byte base64 document, made as it is read: no copy in memory."""

    def __init__(self, size: int) -> None:
        head, tail = envelope(saldo("|")).split(b"|")
        piece = base64.b64encode(bytes(range(256)) * 192)  # 64 KiB of base64
        self.parts = iter([head, *[piece] * (size // len(piece)), tail])
        self.left = b""

    def read(self, n: int) -> bytes:
        while len(self.left) < n and (part := next(self.parts, None)) is not None:
            self.left += part
        chunk, self.left = self.left[:n], self.left[n:]
        return chunk


class Dropping(Sink):
    """Counts the text and keeps none of it, as a sink that encrypts to disk would."""

    fed = 0

    def feed(self, text: str) -> None:
        self.fed += len(text)


def test_a_4_mb_document_passes_in_well_under_1_mb_of_python_memory():
    sink, size = Dropping(), 4 * 1024 * 1024
    tracemalloc.start()
    try:
        root = read(Generated(size), declared_length=None, limit=2 * size,
                    documents=DOCUMENTS, sink=sink)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sink.fed == size
    assert root.findtext(f".//{{{NS}}}Beschikking") == "[document 1]"
    assert peak < 512 * 1024, f"peak {peak} bytes"
