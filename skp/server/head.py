"""The request head as it arrives, judged on its raw bytes before cheroot parses it.

The front door (skp.server.frontdoor) collects a request's head (request line and header
fields, up to the empty line) and asks :func:`end` whether it is complete and :func:`refusal`
whether to refuse it. What passes is a head that cheroot and the hub read the same way
(RFC 9112): CRLF line ends only, no folded lines, header names that are tokens (so no space
before the colon), at most one framing (a decimal Content-Length or ``Transfer-Encoding:
chunked``), and no two header names that the WSGI environ would merge into one key
(``X-SSL-Client-Cert`` and ``X_SSL_Client_Cert`` both become ``HTTP_X_SSL_CLIENT_CERT``). A
refusal says what is wrong without quoting any of it. Pure: bytes in, a verdict out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: The longest request line, the longest head and the most header fields a request may have.
MAX_REQUEST_LINE = 8 * 1024
MAX_HEAD = 64 * 1024
MAX_FIELDS = 64

_CRLF = b"\r\n"
_END = b"\r\n\r\n"
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_METHOD = re.compile(rb"[A-Z]+")
_TARGET = re.compile(rb"[\x21-\x7e]+")  # no space, no control byte, ASCII only
_VERSION = re.compile(rb"HTTP/1\.[01]")
_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")  # no control byte but tab
_DIGITS = re.compile(rb"[0-9]{1,18}")
#: Fields a request may carry once, by their WSGI key; the certificate header is added.
_SINGLE = frozenset({"CONTENT_LENGTH", "TRANSFER_ENCODING", "CONTENT_TYPE", "HOST", "SOAPACTION"})


@dataclass(frozen=True)
class Refusal:
    """Why a head is refused: the HTTP status and a message that quotes nothing of it."""

    status: str
    message: str


def wsgi_key(name: str) -> str:
    """The key a header named ``name`` gets in the WSGI environ, without ``HTTP_``."""
    return name.upper().replace("-", "_")


def end(buffer: bytes | bytearray, start: int = 0) -> int:
    """Where the head in ``buffer`` ends (the index after its empty line), or -1 while it is
    incomplete; the search starts at ``start`` (the length of the buffer when it was last
    asked, so a head that trickles in is not searched again and again)."""
    found = buffer.find(_END, max(0, start - len(_END)), MAX_HEAD + 2 + len(_END))
    return found + len(_END) if found >= 0 else -1


def too_long(buffer: bytes | bytearray) -> Refusal | None:
    """The refusal for an incomplete head that can no longer fit its limits."""
    line = buffer.removeprefix(_CRLF)
    if len(line.partition(_CRLF)[0]) > MAX_REQUEST_LINE:
        return Refusal("414 URI Too Long", f"the request line is longer than "
                       f"{MAX_REQUEST_LINE} bytes")
    if len(line) > MAX_HEAD:
        return Refusal("431 Request Header Fields Too Large",
                       f"the request head is larger than {MAX_HEAD} bytes")
    return None


def refusal(head: bytes, *, single: frozenset[str] = frozenset()) -> Refusal | None:
    """Why the complete ``head`` (ending in an empty line) is refused, or None. ``single``
    adds the WSGI keys of header fields that may appear only once (the certificate header)."""
    lines = head.removeprefix(_CRLF)[:-len(_END)].split(_CRLF)
    if any(b"\r" in line or b"\n" in line for line in lines):
        return Refusal("400 Bad Request", "end every line of the request head with CRLF")
    too_large = too_long(head[:-len(_END)])
    if too_large is not None:
        return too_large
    method, _, rest = lines[0].partition(b" ")
    target, _, version = rest.partition(b" ")
    if not (_METHOD.fullmatch(method) and _TARGET.fullmatch(target)
            and _VERSION.fullmatch(version)):
        return Refusal("400 Bad Request", "the request line is not METHOD TARGET HTTP/1.1")
    if len(lines) - 1 > MAX_FIELDS:
        return Refusal("431 Request Header Fields Too Large",
                       f"the request has more than {MAX_FIELDS} header fields")
    return _fields(lines[1:], _SINGLE | single, version == b"HTTP/1.1")


def _fields(lines: list[bytes], single: frozenset[str], http11: bool) -> Refusal | None:
    seen: dict[str, str] = {}
    framing: dict[str, bytes] = {}
    for line in lines:
        name_bytes, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name_bytes):
            return Refusal("400 Bad Request", "a header field name is not a token followed by "
                           "a colon (no space before the colon, no folded lines)")
        if not _VALUE.fullmatch(value):
            return Refusal("400 Bad Request", "a header field value holds a control character")
        name = name_bytes.decode("ascii")
        key = wsgi_key(name)
        first = seen.get(key)
        if first is not None and first.lower() != name.lower():
            return Refusal("400 Bad Request", "two header fields have one name but for '-' and "
                           "'_'")
        if key in single and (first is not None or "_" in name):
            return Refusal("400 Bad Request", f"the header {name} appears twice or with '_'")
        seen[key] = first or name
        if key in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
            framing[key] = value.strip(b" \t")
    return _framing(framing, http11)


def _framing(framing: dict[str, bytes], http11: bool) -> Refusal | None:
    length, coding = framing.get("CONTENT_LENGTH"), framing.get("TRANSFER_ENCODING")
    if length is not None and coding is not None:
        return Refusal("400 Bad Request", "send Content-Length or Transfer-Encoding, not both")
    if length is not None and not _DIGITS.fullmatch(length):
        return Refusal("400 Bad Request", "Content-Length is not a decimal number")
    if coding is not None and (not http11 or coding.lower() != b"chunked"):
        return Refusal("400 Bad Request", "the only transfer coding is chunked, in HTTP/1.1")
    return None


#: The marker of an answer the hub drops on purpose (acceptance's lost receipt): the listener
#: closes the connection without writing the answer. It never leaves the process.
DROP_ANSWER = "X-Skp-Drop-Answer"
