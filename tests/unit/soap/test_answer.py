"""An answer's documents written in as it is sent: the same bytes as written whole, with
the length announced in advance."""

from __future__ import annotations

import base64
import os

from skp.attachments import Document
from skp.soap.answer import Answer


def document(data: bytes, piece: int = 1000) -> Document:
    return Document(len(data), lambda: iter(
        [data[i:i + piece] for i in range(0, len(data), piece)]))


def test_documents_are_written_in_at_their_placeholders():
    first, second = os.urandom(70_001), os.urandom(5)
    answer = Answer()
    assert not answer
    a = base64.b64encode(answer.placeholder(document(first)))
    b = base64.b64encode(answer.placeholder(document(second, piece=2)))
    assert answer
    serialised = b"<x><A>" + a + b"</A><B>" + b + b"</B></x>"
    sent = b"".join(answer.pieces(serialised))
    expected = (b"<x><A>" + base64.b64encode(first) + b"</A><B>" + base64.b64encode(second)
                + b"</B></x>")
    assert sent == expected
    assert answer.length(serialised) == len(expected)
    assert max(len(piece) for piece in answer.pieces(serialised)) < 70_000  # never whole


def test_placeholders_differ_per_document():
    answer = Answer()
    assert len({answer.placeholder(document(b"x")) for _ in range(100)}) == 100
