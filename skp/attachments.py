"""The documents attached to a message, sealed as they arrive and opened a piece at a time.

A document (base64 in the SOAP XML, up to a few MB) is never held whole. On receipt a
:class:`Spool` decodes each piece of base64 text as the XML parser hands it over, encrypts it
at once with a :class:`~skp.sealing.SealingStream` under the message's data key, and writes
the ciphertext to a temporary file; the XML tree keeps only a short placeholder. The store
saves the ciphertext in segments of :data:`SEGMENT_BYTES` and puts :func:`stored` (index,
length, nonce, tag) into the message's sealed body. On fetch, :func:`open_document` verifies
the tag over every segment before it decrypts anything, and :func:`base64_chunks` encodes the
plaintext pieces for the answer. Each document's associated data names its message and index,
so a document moved to another message or place fails to open. Errors never carry content.
"""

from __future__ import annotations

import base64
import binascii
import functools
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, NoReturn

from skp import sealing
from skp.errors import IntegrityError, SchemaInvalid

#: Ciphertext bytes per stored segment.
SEGMENT_BYTES = 256 * 1024
#: Ciphertext kept in memory before the spool moves to a temporary file.
SPOOL_MEMORY_BYTES = 64 * 1024

_ENCODE_BYTES = 48 * 1024  # plaintext per piece of base64 output
_XML_WHITESPACE = str.maketrans("", "", " \t\r\n")
_REFERENCE_KEYS = {"document", "bytes", "nonce", "tag"}


@dataclass(frozen=True)
class SpooledDocument:
    """A document received into a :class:`Spool`: its ciphertext is at ``offset``."""

    index: int
    length: int
    nonce: bytes
    tag: bytes
    offset: int


def associated(message_id: str, index: int) -> bytes:
    """The associated data that binds a document to its message and index."""
    return sealing.associated_data({"message": message_id, "document": index})


def placeholder(index: int) -> str:
    """The base64 text put into the XML tree instead of document ``index``."""
    return base64.b64encode(str(index).encode("ascii")).decode("ascii")


@dataclass
class _Receiving:
    """The state of the document being received: small, whatever the document's size."""

    where: str
    index: int
    offset: int
    stream: sealing.SealingStream
    rest: str = ""  # base64 characters short of a whole group of four
    length: int = 0
    padded: bool = False  # a group with "=" was decoded: nothing may follow


class Spool:
    """The documents of one message being received; only ciphertext reaches the disk."""

    def __init__(self, message_id: str | None = None, *,
                 max_documents: int | None = None) -> None:
        """``max_documents``: refuse the request at the next document past it (a message has
        few; each costs a cipher and a record, so a flood of them is turned away early)."""
        self.message_id = str(uuid.uuid4()) if message_id is None else message_id
        self._max_documents = max_documents
        # Closed by close(), which the context manager calls.
        self._file = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)  # noqa: SIM115
        self._size = 0
        self._documents: list[SpooledDocument] = []
        self._current: _Receiving | None = None

    @functools.cached_property
    def data_key(self) -> bytes:
        """The message's data key: its documents are sealed with it (made when first asked
        for: a request without documents, a Ping, needs none)."""
        return sealing.new_data_key()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Drop the spooled ciphertext."""
        self._file.close()

    @property
    def documents(self) -> list[SpooledDocument]:
        """The documents received so far, in index order."""
        return list(self._documents)

    def begin(self, where: str) -> str:
        """Start the next document, at element path ``where``; return its placeholder text."""
        if self._current is not None:
            raise RuntimeError("the previous document was not ended")
        index = len(self._documents)
        if self._max_documents is not None and index >= self._max_documents:
            raise SchemaInvalid(f"element {where}: the request holds more documents than a "
                                "message of this service can; see the WSDL")
        stream = sealing.SealingStream(self.data_key, associated(self.message_id, index))
        self._current = _Receiving(where, index, offset=self._size, stream=stream)
        return placeholder(index)

    def feed(self, text: str) -> None:
        """Take a piece of the document's base64 text; XML whitespace is ignored."""
        doc = self._receiving()
        text = doc.rest + text.translate(_XML_WHITESPACE)
        whole = len(text) - len(text) % 4
        doc.rest = text[whole:]
        if not whole:
            return
        if doc.padded:
            self._refuse(doc)
        try:
            data = binascii.a2b_base64(text[:whole], strict_mode=True)
        except ValueError as exc:  # binascii.Error, or a character outside ASCII
            self._refuse(doc, exc)
        doc.padded = text[whole - 1] == "="
        self._write(doc, data)

    def end(self) -> None:
        """Finish the document; SchemaInvalid if its base64 text ends with a partial group."""
        doc = self._receiving()
        if doc.rest:
            self._refuse(doc)
        self._current = None
        self._documents.append(SpooledDocument(
            index=doc.index, length=doc.length, nonce=doc.stream.nonce, tag=doc.stream.finish(),
            offset=doc.offset))

    def add(self, data: bytes, where: str = "document") -> SpooledDocument:
        """Receive a whole document given as bytes."""
        self.begin(where)
        doc = self._receiving()
        view = memoryview(data)
        for start in range(0, len(view), SEGMENT_BYTES):
            self._write(doc, view[start:start + SEGMENT_BYTES])
        self.end()
        return self._documents[-1]

    def document(self, placeholder: bytes) -> SpooledDocument:
        """The document whose decoded placeholder is ``placeholder``; SchemaInvalid if none."""
        text = placeholder.decode("ascii", errors="replace")
        if text.isdigit() and text.isascii() and str(int(text)) == text:
            index = int(text)
            if index < len(self._documents):
                return self._documents[index]
        raise SchemaInvalid("a document does not refer to one received with the message")

    def segments(self, document: SpooledDocument) -> Iterator[bytes]:
        """The document's ciphertext, :data:`SEGMENT_BYTES` at a time."""
        self._own(document)
        return self._read(document.offset, document.length)

    def _read(self, offset: int, length: int) -> Iterator[bytes]:
        for start in range(0, length, SEGMENT_BYTES):
            self._file.seek(offset + start)
            yield self._file.read(min(SEGMENT_BYTES, length - start))

    def reference(self, value: Any, where: str) -> dict[str, Any]:
        """The stored reference of ``value``: a document of this spool, or bytes or base64
        text to add."""
        if isinstance(value, bytes | bytearray):
            value = self.add(bytes(value), where)
        elif isinstance(value, str):
            self.begin(where)
            self.feed(value)
            self.end()
            value = self._documents[-1]
        if not isinstance(value, SpooledDocument):
            raise SchemaInvalid(f"field {where} must be a document")
        self._own(value)
        if not value.length:
            raise SchemaInvalid(f"field {where} must not be empty")
        return stored(value)

    def _receiving(self) -> _Receiving:
        if self._current is None:
            raise RuntimeError("no document was begun")
        return self._current

    def _write(self, doc: _Receiving, data: bytes | memoryview) -> None:
        ciphertext = doc.stream.update(data)
        self._file.seek(self._size)  # segments() may have moved the position
        self._file.write(ciphertext)
        self._size += len(ciphertext)
        doc.length += len(ciphertext)

    def _refuse(self, doc: _Receiving, cause: Exception | None = None) -> NoReturn:
        self._current = None  # the document is abandoned; its ciphertext is never referred to
        error = SchemaInvalid(f"element {doc.where} has a value of the wrong type; see the WSDL")
        raise error from cause

    def _own(self, document: SpooledDocument) -> None:
        index = document.index
        if not (0 <= index < len(self._documents) and self._documents[index] == document):
            raise ValueError("the document was not received into this spool")


def stored(document: SpooledDocument) -> dict[str, Any]:
    """The reference to a document that goes into the message's sealed JSON body."""
    return {"document": document.index, "bytes": document.length,
            "nonce": base64.b64encode(document.nonce).decode("ascii"),
            "tag": base64.b64encode(document.tag).decode("ascii")}


def is_stored(value: Any) -> bool:
    """Whether ``value`` has the shape of a :func:`stored` reference."""
    return (isinstance(value, Mapping) and set(value) == _REFERENCE_KEYS
            and all(type(value[k]) is int for k in ("document", "bytes"))
            and all(isinstance(value[k], str) for k in ("nonce", "tag")))


class Document:
    """An opened document: verified, decrypted a piece at a time on each call of chunks()."""

    def __init__(self, length: int, chunks: Callable[[], Iterator[bytes]]) -> None:
        self.length = length
        self._chunks = chunks

    def chunks(self) -> Iterator[bytes]:
        """The plaintext in pieces; each call decrypts anew."""
        return self._chunks()

    def read(self) -> bytes:
        """The whole plaintext; for small documents and tests."""
        return b"".join(self.chunks())

    @classmethod
    def inline(cls, base64_text: str) -> Document:
        """A document stored as base64 text in the body (the earlier format)."""
        step = SEGMENT_BYTES // 3 * 4

        def chunks() -> Iterator[bytes]:
            for start in range(0, len(base64_text), step):
                yield binascii.a2b_base64(base64_text[start:start + step], strict_mode=True)

        # "=" may only end the text; slices are otherwise checked one by one.
        if base64_text.find("=", 0, max(len(base64_text) - 4, 0)) != -1:
            raise IntegrityError("a stored document is not valid base64")
        try:
            length = sum(len(chunk) for chunk in chunks())
        except ValueError as exc:
            raise IntegrityError("a stored document is not valid base64") from exc
        return cls(length, chunks)


def open_document(reference: Mapping[str, Any], data_key: bytes, message_id: str,
                  segments: Sequence[bytes]) -> Document:
    """Verify a stored document's segments and return it; IntegrityError if they don't verify."""
    if not is_stored(reference):
        raise IntegrityError("a stored document reference is malformed")
    try:
        nonce = base64.b64decode(reference["nonce"], validate=True)
        tag = base64.b64decode(reference["tag"], validate=True)
    except ValueError as exc:
        raise IntegrityError("a stored document reference is malformed") from exc
    if sum(len(segment) for segment in segments) != reference["bytes"]:
        raise IntegrityError("a stored document does not have its recorded length")
    opened = sealing.OpenedStream(data_key, nonce, tag,
                                  associated(message_id, reference["document"]), segments)
    return Document(reference["bytes"], opened.__iter__)


def base64_length(n: int) -> int:
    """The length of the base64 text of ``n`` bytes."""
    return 4 * ((n + 2) // 3)


def base64_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Standard base64 of the concatenated ``chunks``, without newlines, a piece at a time."""
    rest = b""  # up to two bytes carried to the next piece, to encode whole groups of three
    for chunk in chunks:
        view = memoryview(chunk)
        # Small pieces: b2a_base64 briefly takes twice its output's size.
        for start in range(0, len(view), _ENCODE_BYTES):
            piece = rest + view[start:start + _ENCODE_BYTES]
            whole = len(piece) - len(piece) % 3
            rest = piece[whole:]
            if whole:
                yield binascii.b2a_base64(memoryview(piece)[:whole], newline=False)
    if rest:
        yield binascii.b2a_base64(rest, newline=False)
