"""The one XML parse policy for input: UTF-8, no DTD, no entities, no network.

Every parser that touches bytes from outside goes through this module. :func:`read` parses a
request body as it arrives from the socket and hands the text of document elements (base64 in
e.g. ``<Beschikking>``) to a :class:`DocumentSink` piece by piece, so a request holds a chunk
of it at a time, never the whole document.

A DOCTYPE is refused when the bytes show one, and again when libxml2 reports one (an encoding
such as UTF-16 hides it from the byte scan) before it reads the internal subset, so entity
expansion (billion laughs, quadratic blow-up) and external entities (XXE) cannot happen.
"""

from __future__ import annotations

import codecs
import re
import threading
from typing import Any, Protocol

from lxml import etree

from skp.errors import SchemaInvalid, TooLarge

_DOCTYPE = b"<!DOCTYPE"
_EDGE = len(_DOCTYPE) - 1  # the bytes of a chunk kept to find a DOCTYPE split across two
_NO_DTD = "a document type declaration (DTD) is not allowed"
_UTF8_ONLY = "send the request in UTF-8"
_CHUNK = 64 * 1024
_DRAIN_FACTOR = 4  # past an error, read up to this many times the limit so the client hears it
_HEAD = 1024  # bytes enough to see a BOM and the XML declaration
_MAX_DEPTH = 256  # libxml2's limit without huge_tree; a target parser must enforce it itself
_ENVELOPE = "{http://schemas.xmlsoap.org/soap/envelope/}Envelope"
_BODY = "{http://schemas.xmlsoap.org/soap/envelope/}Body"
_ENCODING = re.compile(rb"""\sencoding\s*=\s*["']([^"']*)""")
#: Starts of documents that are not UTF-8 (XML 1.0 appendix F): UTF-16/32 byte order marks and
#: EBCDIC "<?xm"; UTF-16 and UCS-4 without a BOM have a NUL among the first four bytes.
_FOREIGN = (codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE, b"\x4c\x6f\xa7\x94")


class DocumentSink(Protocol):
    """Takes the text of document elements as :func:`read` parses it. A :class:`SchemaInvalid`
    it raises (say, for bad base64) refuses the request; any other error propagates as is."""

    def begin(self, where: str) -> str:
        """A document element starts at ``where`` ("Operation/Bericht/Beschikking"); returns
        the text the tree gets in place of the element's text."""

    def feed(self, text: str) -> None:
        """The next piece of the element's text."""

    def end(self) -> None:
        """The element has ended."""


class _Nowhere:
    """The sink of a parser between requests: it takes no document."""

    def begin(self, where: str) -> str:
        raise RuntimeError("no document is expected")

    def feed(self, text: str) -> None:
        raise RuntimeError("no document is expected")

    def end(self) -> None:
        raise RuntimeError("no document is expected")


_NOWHERE = _Nowhere()


def parser(*, target: Any = None, encoding: str | None = None) -> etree.XMLParser:
    """A fresh lxml parser with every dangerous feature off, for ``target`` if given
    (lxml's parser target interface) and decoding as ``encoding`` whatever the input says."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_comments=True,
                           remove_pis=True, collect_ids=False, target=target, encoding=encoding)


def read(stream: Any, *, declared_length: str | None, limit: int, documents: frozenset[str],
         sink: DocumentSink) -> etree._Element:
    """Parse the request body in ``stream`` (``.read(n)``, a WSGI input) as it arrives.

    The text of an element below the SOAP Body (Envelope/Body/operation/...) whose local name
    is in ``documents`` goes to ``sink``; the tree gets the placeholder ``sink.begin`` returns.
    :class:`TooLarge` past ``limit`` bytes; :class:`SchemaInvalid` for a DTD, malformed XML,
    nesting deeper than libxml2 allows, a tag over the bounds of :class:`TagScan` or another
    encoding than UTF-8. After either the rest of
    the body is read and dropped (up to four times the limit), so the client, still sending,
    receives the fault instead of a reset connection.
    """
    declared = declared_length or ""
    if declared.isdigit() and int(declared) > limit:
        _discard(stream, min(int(declared), _DRAIN_FACTOR * limit))
        raise TooLarge(f"the request is {declared} bytes; the maximum is {limit}")
    try:
        return _read(stream, limit, documents, sink)
    except SchemaInvalid:
        drain(stream, limit)
        raise


def _read(stream: Any, limit: int, documents: frozenset[str],
          sink: DocumentSink) -> etree._Element:
    xml, head, tail, size, tags = None, b"", b"", 0, TagScan()
    try:
        while chunk := stream.read(min(_CHUNK, limit + 1 - size)):
            size += len(chunk)
            if size > limit:
                drain(stream, limit)
                raise TooLarge(f"the request is larger than the maximum of {limit} bytes")
            edge = tail + chunk[:_EDGE]  # a DOCTYPE split across two chunks
            if any(_DOCTYPE in part or _DOCTYPE.lower() in part for part in (edge, chunk)):
                raise SchemaInvalid(_NO_DTD)
            tail = (chunk if len(chunk) >= _EDGE else edge)[-_EDGE:]
            tags.feed(chunk)  # before libxml2 sees it
            if xml is None:
                head += chunk
                if len(head) < _HEAD and b"?>" not in head:
                    continue
                xml, chunk = _parser(head, documents, sink), head
            xml.feed(chunk)
        if xml is None:  # a short or empty body: the parser judges it
            xml = _parser(head, documents, sink)
            xml.feed(head)
        root: etree._Element = xml.close()  # the tree: lxml returns what the target's close does
    except etree.XMLSyntaxError as exc:
        _per_thread.kept = None
        raise SchemaInvalid(f"the request is not well-formed XML (line {exc.lineno})") from exc
    except BaseException:
        _per_thread.kept = None  # a parser that met an error is never used again
        raise
    if isinstance(xml.target, _Target):
        xml.target.release()
    return root


#: Each thread's parser for UTF-8 bodies, kept from one request to the next with its target,
#: which each request resets: lxml inspects a target's methods whenever a parser is made, as
#: much again as parsing a Ping. One that met an error is dropped.
_per_thread = threading.local()


def _parser(head: bytes, documents: frozenset[str], sink: DocumentSink) -> etree.XMLParser:
    """The parser for a body that starts with ``head``. UTF-8 is forced, so libxml2 cannot be
    talked into another decoder; a document in another encoding is decoded as it declares only
    to tell a DTD in it (refused as such) from a plain refusal at its root element."""
    if not _utf8(head):
        return parser(target=_Foreign())
    kept: etree.XMLParser | None = getattr(_per_thread, "kept", None)
    if kept is None:
        kept = _per_thread.kept = parser(target=_Target(), encoding="UTF-8")
    kept.target.reset(documents, sink)
    return kept


def _utf8(head: bytes) -> bool:
    """Whether a body that starts with ``head`` is UTF-8: by its BOM and XML declaration."""
    head = head.removeprefix(codecs.BOM_UTF8)
    if head.startswith(b"<?xml"):
        found = _ENCODING.search(head.partition(b"?>")[0])
        return found is None or found[1].upper() == b"UTF-8"
    return not head.startswith(_FOREIGN) and b"\0" not in head[:4]


class _Foreign:
    """The target for a document in another encoding: it builds nothing."""

    def start(self, tag: str, attrib: dict[str, str], nsmap: dict[str, str]) -> None:
        raise SchemaInvalid(_UTF8_ONLY)

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise SchemaInvalid(_NO_DTD)

    def close(self) -> None:
        """Nothing was built."""


class _Target:
    """An lxml parser target that builds the tree with a TreeBuilder and diverts the direct
    text of document elements to the sink. Comments and PIs have no method, so they drop.
    An element's namespace declarations are taken from ``start_ns``, which lxml calls before
    its ``start``: the ``nsmap`` argument of ``start`` is empty since lxml 6.2."""

    def __init__(self) -> None:
        self.release()

    def reset(self, documents: frozenset[str], sink: DocumentSink) -> None:
        """Begin a document: its elements go to a new tree, those of ``documents`` to ``sink``."""
        builder = etree.TreeBuilder()
        self._start: Any = builder.start  # lxml's start takes the nsmap; its stubs do not
        self._data, self._end, self._close = builder.data, builder.end, builder.close
        self._documents, self._sink = documents, sink
        self._path: list[str] = []  # the open elements' tags
        self._open = -1  # the depth of the open document element, if any
        self._declared: dict[str | None, str] = {}  # those of the element about to start

    def release(self) -> None:
        """Hold nothing of the last document."""
        self.reset(frozenset(), _NOWHERE)

    def start_ns(self, prefix: str, uri: str) -> None:
        # the default namespace: lxml's targets get "", its builder wants None
        self._declared[prefix or None] = uri

    def start(self, tag: str, attrib: dict[str, str], _nsmap: object = None) -> None:
        nsmap = self._declared
        if nsmap:
            self._declared = {}
        path = self._path
        path.append(tag)
        depth = len(path)
        if depth > _MAX_DEPTH:
            raise SchemaInvalid(f"the request is not well-formed XML (nested deeper than "
                                f"{_MAX_DEPTH} elements)")
        if attrib:  # without entity resolution libxml2 hands a target each "&" as "&#38;"
            attrib = {name: value.replace("&#38;", "&") for name, value in attrib.items()}
        try:
            self._start(tag, attrib, nsmap)
        except ValueError as exc:  # a namespace URI lxml refuses (" urn:x "), untold
            raise SchemaInvalid("the request is not well-formed XML (a namespace URI that "
                                "is not a URI)") from exc
        if (depth > 3 and self._open < 0 and path[1] == _BODY and path[0] == _ENVELOPE
                and tag.rpartition("}")[2] in self._documents):
            self._open = depth
            self._data(self._sink.begin("/".join(t.rpartition("}")[2] for t in path[2:])))

    def data(self, text: str) -> None:
        if len(self._path) == self._open:
            self._sink.feed(text)
        else:
            self._data(text)

    def end(self, tag: str) -> None:
        if len(self._path) == self._open:
            self._open = -1
            self._sink.end()
        self._path.pop()
        self._end(tag)

    doctype = _Foreign.doctype

    def close(self) -> etree._Element | None:
        try:
            return self._close()
        except etree.XMLSyntaxError:  # lxml closes the target after a parse error too:
            return None  # let that error through, not the builder's "missing end tags"


def drain(stream: Any, limit: int) -> None:
    """Read and drop the rest of a request body, up to four times ``limit``: a client still
    sending then receives the answer instead of a reset connection."""
    _discard(stream, _DRAIN_FACTOR * limit)


def _discard(stream: Any, budget: int) -> None:
    """Read and drop up to ``budget`` bytes, one chunk at a time."""
    while budget > 0:
        chunk = stream.read(min(_CHUNK, budget))
        if not chunk:
            return
        budget -= len(chunk)


#: The longest tag and the most attributes (and namespace declarations) a tag may have.
#: libxml2 checks a start tag's attributes for duplicates pairwise, holding the GIL: 100 000
#: attributes took seconds to minutes. A SOAP request's tags have a handful.
MAX_TAG_BYTES = 16 * 1024
MAX_ATTRIBUTES = 64
_TAG_STOP = re.compile(rb"[>\"']")
#: A run of text and plain tags of at most 16 attributes and 128-byte pieces (so far within both
#: bounds): the common case, matched in one C-level call. Possessive, so it never backtracks.
_PLAIN_RUN = re.compile(rb"""(?:[^<]*+<[A-Za-z/?][^<>"'=]{0,128}+"""
                        rb"""(?:=[ \t\r\n]{0,8}+(?:"[^"<]{0,128}+"|'[^'<]{0,128}+')"""
                        rb"""[^<>"'=]{0,128}+){0,16}+>)*+""")
_SECTIONS = ((b"!--", b"-->"), (b"![CDATA[", b"]]>"))
_LEAD = max(len(lead) for lead, _ in _SECTIONS)
_TEXT, _TAG, _QUOTE, _SECTION = range(4)


class TagScan:
    """Refuses a tag past :data:`MAX_TAG_BYTES` or :data:`MAX_ATTRIBUTES`, on the raw bytes
    of a body as they arrive, before the parser sees them.

    Not an XML parser, and it decides nothing else: a bounded state machine over bytes. Outside
    markup it looks for ``<`` only (XML allows no other ``<`` in text or attribute values); in a
    tag it counts the bytes up to its ``>`` and the ``=`` signs outside quoted values (each
    attribute and namespace declaration has one); in a quoted value it looks for the closing
    quote only. A comment (``<!--`` … ``-->``) or CDATA section (``<![CDATA[`` … ``]]>``) is
    skipped whole, so its text counts for nothing. Its state between chunks is a few integers
    and at most 8 bytes. Runs of plain tags, well within both bounds, are passed over by one
    regular expression (linear: possessive); every other tag is followed byte class by byte
    class. Malformed input it does not refuse is left to the parser.
    """

    def __init__(self) -> None:
        self._state, self._length, self._equals = _TEXT, 0, 0
        self._lead = b""  # a tag's first bytes, to tell a comment or CDATA section
        self._quote = b""
        self._end, self._carry = b"", b""  # a section's terminator, the bytes before a chunk

    def feed(self, chunk: bytes) -> None:
        """Scan the next ``chunk``; :class:`SchemaInvalid` for a tag over a bound."""
        pos, size = 0, len(chunk)
        while pos < size:
            if self._state == _TEXT:
                pos = chunk.find(b"<", _PLAIN_RUN.match(chunk, pos).end())  # type: ignore[union-attr]
                if pos < 0:
                    return
                pos += 1
                self._state, self._length, self._equals, self._lead = _TAG, 1, 0, b""
            elif self._state == _TAG:
                pos = self._tag(chunk, pos)
            elif self._state == _QUOTE:
                found = chunk.find(self._quote, pos)
                stop = size if found < 0 else found + 1
                self._grow(stop - pos, 0)
                pos = stop
                if found >= 0:
                    self._state = _TAG
            else:
                pos = self._section(chunk, pos)

    def _tag(self, chunk: bytes, pos: int) -> int:
        while pos < len(chunk) and len(self._lead) < _LEAD and any(
                lead.startswith(self._lead) for lead, _ in _SECTIONS):
            byte = chunk[pos:pos + 1]
            if byte in (b">", b'"', b"'"):
                break  # the scan below takes it
            self._lead += byte
            self._grow(1, 0)
            pos += 1
            for lead, end in _SECTIONS:
                if self._lead == lead:
                    self._state, self._end, self._carry = _SECTION, end, b""
                    return pos
        found = _TAG_STOP.search(chunk, pos)
        stop = len(chunk) if found is None else found.start()
        self._grow(stop - pos, chunk.count(b"=", pos, stop))
        if found is None:
            return stop
        self._grow(1, 0)
        if chunk[stop] == ord(">"):
            self._state = _TEXT
        else:
            self._state, self._quote = _QUOTE, chunk[stop:stop + 1]
        return stop + 1

    def _section(self, chunk: bytes, pos: int) -> int:
        data = self._carry + chunk[pos:]
        found = data.find(self._end)
        if found < 0:
            self._carry = data[-(len(self._end) - 1):]
            return len(chunk)
        self._state = _TEXT
        return pos + found + len(self._end) - len(self._carry)

    def _grow(self, length: int, equals: int) -> None:
        self._length += length
        self._equals += equals
        if self._length > MAX_TAG_BYTES or self._equals > MAX_ATTRIBUTES:
            raise SchemaInvalid(f"a tag is longer than {MAX_TAG_BYTES} bytes or has more than "
                                f"{MAX_ATTRIBUTES} attributes")
