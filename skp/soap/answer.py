"""A SOAP answer whose documents are written into it as it is sent, a piece at a time.

spyne serialises the answer with a short random placeholder where each document goes; the
answer then goes out as the text before it, the document's base64 (opened, encoded and sent a
segment at a time: skp.attachments), the text after it. So a fetched document is never held
whole, neither as plaintext nor as base64, and ``Content-Length`` is known in advance.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator

from skp.attachments import Document, base64_chunks, base64_length

#: Random bytes of a placeholder: 24 characters of base64 without padding.
_PLACEHOLDER_BYTES = 18


class Answer:
    """The documents of one answer, by the base64 text of their placeholders."""

    def __init__(self) -> None:
        self._documents: list[tuple[bytes, Document]] = []

    def __bool__(self) -> bool:
        return bool(self._documents)

    def placeholder(self, document: Document) -> bytes:
        """The bytes to hand spyne in place of ``document``."""
        raw = secrets.token_bytes(_PLACEHOLDER_BYTES)
        self._documents.append((base64.b64encode(raw), document))
        return raw

    def length(self, serialised: bytes) -> int:
        """The length of the answer sent for spyne's ``serialised`` answer."""
        return len(serialised) + sum(base64_length(document.length) - len(text)
                                     for text, document in self._documents)

    def pieces(self, serialised: bytes) -> Iterator[bytes]:
        """The answer sent for spyne's ``serialised`` answer, a piece at a time."""
        position = 0
        for text, document in self._documents:
            found = serialised.index(text, position)
            yield serialised[position:found]
            yield from base64_chunks(document.chunks())
            position = found + len(text)
        yield serialised[position:]
