from __future__ import annotations

import base64
import os
import tracemalloc

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from skp.attachments import (
    SEGMENT_BYTES,
    Document,
    Spool,
    SpooledDocument,
    associated,
    base64_chunks,
    base64_length,
    is_stored,
    open_document,
    placeholder,
    stored,
)
from skp.errors import IntegrityError, SchemaInvalid
from skp.sealing import new_data_key

WHERE = "VerstuurSaldoverzoek/Bericht/Beschikking"
WRONG_TYPE = f"element {WHERE} has a value of the wrong type; see the WSDL"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def receive(pieces, message_id=None):
    """Spool one document given as pieces of base64 text; return it opened again."""
    with Spool(message_id) as spool:
        spool.begin(WHERE)
        for piece in pieces:
            spool.feed(piece)
        spool.end()
        document = spool.documents[-1]
        return open_document(stored(document), spool.data_key, spool.message_id,
                             list(spool.segments(document))).read()


def cut(text, points):
    points = sorted({min(p, len(text)) for p in points})
    return [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]


# --- decoding ----------------------------------------------------------------------------

@pytest.mark.parametrize("data", [b"", b"A", b"AB", b"ABC", b"Hello, documents!",
                                  bytes(range(256))])
def test_split_at_every_position(data):
    text = b64(data)
    for i in range(len(text) + 1):
        assert receive([text[:i], text[i:]]) == data
    assert receive(list(text)) == data  # one character at a time


@given(data=st.binary(max_size=3000),
       points=st.lists(st.integers(min_value=0, max_value=4200), max_size=12),
       spaces=st.lists(st.tuples(st.integers(min_value=0, max_value=4200),
                                 st.text(alphabet=" \t\r\n", min_size=1, max_size=3)),
                       max_size=12))
def test_random_pieces_with_whitespace(data, points, spaces):
    text = b64(data)
    for at, space in sorted(spaces, reverse=True):
        text = text[:at] + space + text[at:]
    assert receive(cut(text, points)) == data


@pytest.mark.parametrize("pieces", [
    ["QUJ"], ["QUJD=A=="], ["===="], ["QQ=A"], ["Q==="], ["QUI=QUJD"], ["QUI=", "QUJD"],
    ["QUI=", "QU"], ["QQ==QQ=="], ["QUJD!AAA"], ["QUJD", "QUJ\u00e9"], ["QU-_"], ["QUJD", "Q"],
    ["QUJD\fQUJD"],
])
def test_invalid_base64_is_refused_without_content(pieces):
    with Spool() as spool:
        spool.begin(WHERE)
        with pytest.raises(SchemaInvalid) as info:
            for piece in pieces:
                spool.feed(piece)
            spool.end()
        assert info.value.message == WRONG_TYPE
        assert spool.documents == []
        # The refused document is abandoned; the spool takes the next one.
        assert spool.begin("other") == "MA=="
        spool.feed("QUJD")
        spool.end()
        assert spool.documents[-1].length == 3


def test_empty_document_is_allowed_here():
    with Spool() as spool:
        spool.begin(WHERE)
        spool.feed(" \r\n\t")
        spool.end()
        document = spool.documents[-1]
        assert document.length == 0
        assert list(spool.segments(document)) == []
        opened = open_document(stored(document), spool.data_key, spool.message_id, [])
        assert opened.length == 0
        assert opened.read() == b""


def test_misuse_is_a_programming_error():
    with Spool() as spool:
        with pytest.raises(RuntimeError):
            spool.feed("QUJD")
        with pytest.raises(RuntimeError):
            spool.end()
        spool.begin(WHERE)
        with pytest.raises(RuntimeError):
            spool.begin(WHERE)


# --- placeholders, references ------------------------------------------------------------

def test_placeholders_round_trip():
    with Spool("m-1") as spool:
        assert spool.message_id == "m-1"
        texts = []
        for i in range(12):
            texts.append(spool.begin(f"doc{i}"))
            spool.feed(b64(bytes([i]) * (i + 1)))
            spool.end()
        assert texts[0] == "MA==" == placeholder(0)
        assert texts[10] == b64(b"10")
        documents = spool.documents
        assert [d.index for d in documents] == list(range(12))
        for i, text in enumerate(texts):
            assert spool.document(base64.b64decode(text)) == documents[i]
        for bad in [b"12", b"01", b"-1", b"+1", b"", b"x", b"\xff", "\u0661".encode()]:
            with pytest.raises(SchemaInvalid, match="does not refer to one received"):
                spool.document(bad)


def test_a_flood_of_documents_is_refused_at_the_first_too_many():
    with Spool(max_documents=2) as spool:
        for _ in range(2):
            spool.begin(WHERE)
            spool.feed("QUJD")
            spool.end()
        with pytest.raises(SchemaInvalid, match="more documents than a message of this service"):
            spool.begin(WHERE)
        assert len(spool.documents) == 2


def test_add_and_reference():
    with Spool() as spool:
        ref = spool.reference(b"PDF", "Bericht/Beschikking")
        assert is_stored(ref)
        assert ref["document"] == 0
        assert ref["bytes"] == 3
        document = spool.add(bytearray(b"more"))
        assert spool.reference(document, "Bericht/Bijlage") == stored(document)
        assert spool.reference(bytearray(b"x"), "w")["document"] == 2

        with pytest.raises(SchemaInvalid) as info:
            spool.reference(b"", "Bericht/Beschikking")
        assert info.value.message == "field Bericht/Beschikking must not be empty"
        spool.begin(WHERE)
        spool.end()
        empty = spool.documents[-1]
        with pytest.raises(SchemaInvalid, match="must not be empty"):
            spool.reference(empty, "Bericht/Beschikking")
        text = spool.reference(b64(b"PDF"), "Bericht/Beschikking")  # base64 text, as sent
        assert text["bytes"] == 3 and text["document"] == len(spool.documents) - 1
        with pytest.raises(SchemaInvalid, match="Beschikking has a value of the wrong type"):
            spool.reference("QUJ", "Bericht/Beschikking")
        with pytest.raises(SchemaInvalid, match="must be a document"):
            spool.reference(5, "Bericht/Beschikking")
        with Spool() as other:
            foreign = other.add(b"PDF")
        with pytest.raises(ValueError, match="not received into this spool"):
            spool.reference(foreign, "Bericht/Beschikking")
        with pytest.raises(ValueError, match="not received into this spool"):
            spool.segments(foreign)


def test_is_stored():
    ref = {"document": 0, "bytes": 3, "nonce": "AAAA", "tag": "AAAA"}
    assert is_stored(ref)
    assert not is_stored(b64(b"PDF"))
    assert not is_stored({**ref, "document": True})
    assert not is_stored({**ref, "bytes": "3"})
    assert not is_stored({**ref, "nonce": b"AAAA"})
    assert not is_stored({**ref, "extra": 1})
    assert not is_stored({k: v for k, v in ref.items() if k != "tag"})


# --- ciphertext, segments, opening -------------------------------------------------------

def test_segments_concatenate_to_the_ciphertext():
    data = os.urandom(2 * SEGMENT_BYTES + 1234)
    with Spool() as spool:
        first = spool.add(b"first")
        document = spool.add(data, WHERE)
        segments = list(spool.segments(document))
        assert [len(s) for s in segments] == [SEGMENT_BYTES, SEGMENT_BYTES, 1234]
        assert document.offset == 5
        ciphertext = b"".join(segments)
        assert data not in ciphertext
        expected = AESGCM(spool.data_key).encrypt(document.nonce, data,
                                                  associated(spool.message_id, 1))
        assert ciphertext + document.tag == expected
        # Reading back in between does not disturb the writing of the next document.
        reading = spool.segments(first)
        spool.begin(WHERE)
        assert next(reading) == b"".join(spool.segments(first))
        spool.feed(b64(b"third"))
        spool.end()
        third = spool.documents[-1]
        opened = open_document(stored(third), spool.data_key, spool.message_id,
                               list(spool.segments(third)))
        assert opened.read() == b"third"


def test_one_megabyte_document_in_7k_pieces():
    data = os.urandom(1024 * 1024)
    text = b64(data)
    pieces = [text[i:i + 7 * 1024] for i in range(0, len(text), 7 * 1024)]
    with Spool() as spool:
        spool.begin(WHERE)
        for piece in pieces:
            spool.feed(piece)
        spool.end()
        document = spool.documents[-1]
        ref = stored(document)
        segments = list(spool.segments(document))
        opened = open_document(ref, spool.data_key, spool.message_id, segments)
        assert opened.length == len(data)
        chunks = list(opened.chunks())
        assert [len(c) for c in chunks] == [len(s) for s in segments]
        assert b"".join(chunks) == data
        assert opened.read() == data  # decrypts anew


@pytest.fixture
def two_documents():
    with Spool("m-1") as spool:
        first, second = spool.add(b"first document"), spool.add(b"second document")
        yield spool, first, second


def test_document_moved_fails_to_open(two_documents):
    spool, first, second = two_documents
    segments = list(spool.segments(first))
    ref = stored(first)
    assert open_document(ref, spool.data_key, "m-1", segments).read() == b"first document"
    with pytest.raises(IntegrityError):
        open_document(ref, spool.data_key, "m-2", segments)
    with pytest.raises(IntegrityError):  # same length, other index
        open_document({**ref, "document": 1}, spool.data_key, "m-1", segments)
    with pytest.raises(IntegrityError):
        open_document(ref, new_data_key(), "m-1", segments)
    with pytest.raises(IntegrityError):
        open_document(stored(second), spool.data_key, "m-1", list(spool.segments(first)))
    with pytest.raises(IntegrityError):
        open_document({**ref, "tag": stored(second)["tag"]}, spool.data_key, "m-1", segments)


@pytest.mark.parametrize("change", [
    {"nonce": "not base64!"}, {"tag": "QQ="}, {"bytes": 3}, {"document": "0"}, {"extra": 1},
])
def test_malformed_reference_fails_to_open(two_documents, change):
    spool, first, _ = two_documents
    with pytest.raises(IntegrityError):
        open_document({**stored(first), **change}, spool.data_key, "m-1",
                      list(spool.segments(first)))


def test_spooled_document_is_plain_data():
    document = SpooledDocument(index=0, length=3, nonce=b"n" * 12, tag=b"t" * 16, offset=0)
    assert stored(document) == {"document": 0, "bytes": 3, "nonce": b64(b"n" * 12),
                                "tag": b64(b"t" * 16)}


def test_close_drops_the_spool():
    spool = Spool()
    spool.add(b"PDF")
    spool.close()
    with pytest.raises(ValueError):
        spool.add(b"PDF")


# --- earlier format, base64 output -------------------------------------------------------

@pytest.mark.parametrize("data", [b"", b"A", b"AB", b"ABC", os.urandom(SEGMENT_BYTES + 5)])
def test_inline_document(data):
    document = Document.inline(b64(data))
    assert document.length == len(data)
    assert document.read() == data
    assert b"".join(document.chunks()) == data


@pytest.mark.parametrize("text", ["QUJ", "QQ==QQ==", "QUJD\n", "====", "QUJ\u00e9"])
def test_inline_document_that_is_not_base64(text):
    with pytest.raises(IntegrityError):
        Document.inline(text)


def test_base64_length():
    for n in range(50):
        assert base64_length(n) == len(base64.b64encode(bytes(n)))


@given(data=st.binary(max_size=2000),
       points=st.lists(st.integers(min_value=0, max_value=2000), max_size=10))
def test_base64_chunks(data, points):
    chunks = cut(data, points)
    encoded = list(base64_chunks(iter(chunks)))
    assert b"".join(encoded) == base64.b64encode(data)
    assert all(len(piece) % 4 == 0 for piece in encoded)


@pytest.mark.parametrize("points", [[], [1], [49_151, 49_153], [2, 100_000, 200_001]])
def test_base64_chunks_of_large_chunks(points):
    data = os.urandom(300_001)
    assert b"".join(base64_chunks(cut(data, points))) == base64.b64encode(data)


# --- memory ------------------------------------------------------------------------------

def test_memory_stays_far_below_the_document_size():
    size = 4 * 1024 * 1024
    text = b64(os.urandom(size))  # made before tracing starts: the parser's input
    with Spool() as spool:
        tracemalloc.start()
        try:
            spool.begin(WHERE)
            for i in range(0, len(text), 7001):
                spool.feed(text[i:i + 7001])
            spool.end()
            document = spool.documents[-1]
            _, receiving_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert document.length == size
        assert receiving_peak < 1024 * 1024

        segments = list(spool.segments(document))
        tracemalloc.start()
        try:
            opened = open_document(stored(document), spool.data_key, spool.message_id, segments)
            encoded = sum(len(piece) for piece in base64_chunks(opened.chunks()))
            _, fetching_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert encoded == len(text)
        assert fetching_peak < 3 * SEGMENT_BYTES
