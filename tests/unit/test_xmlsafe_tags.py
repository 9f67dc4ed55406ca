"""The tag pre-scan (skp.xmlsafe.TagScan): tags over a bound are refused before libxml2."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skp.errors import SchemaInvalid
from skp.xmlsafe import MAX_ATTRIBUTES, MAX_TAG_BYTES, TagScan
from tests.unit.test_xmlsafe import NS, PLAIN, Trickle, envelope, stream_in

CHUNKINGS = [None, [1], [2], [3], [7, 3, 64], [65536]]
CHUNK_IDS = ["whole", "bytes", "pairs", "threes", "mixed", "64k"]


def attributes(count: int, value: str = "1") -> str:
    return " ".join(f'a{i}="{value}"' for i in range(count))


def scan(data: bytes, sizes: list[int] | None = None) -> None:
    tags, stream = TagScan(), Trickle(data, sizes)
    while chunk := stream.read(1 << 30):
        tags.feed(chunk)


@pytest.mark.parametrize("sizes", CHUNKINGS, ids=CHUNK_IDS)
def test_a_tag_with_the_most_attributes_passes_and_one_more_is_refused(sizes):
    scan(envelope(f'<Ping xmlns:p="{NS}" {attributes(MAX_ATTRIBUTES - 1)}/>'), sizes)
    with pytest.raises(SchemaInvalid, match="attributes"):
        scan(envelope(f'<Ping xmlns:p="{NS}" {attributes(MAX_ATTRIBUTES)}/>'), sizes)


@pytest.mark.parametrize("sizes", CHUNKINGS, ids=CHUNK_IDS)
def test_a_long_tag_is_refused_whatever_its_quotes_hold(sizes):
    scan(f'<a b="{"x" * (MAX_TAG_BYTES - 10)}"/>'.encode(), sizes)
    for value in ("x" * MAX_TAG_BYTES, ">" * MAX_TAG_BYTES, "'=" * MAX_TAG_BYTES):
        with pytest.raises(SchemaInvalid, match="longer"):
            scan(f'<a b="{value}"/>'.encode(), sizes)
    with pytest.raises(SchemaInvalid, match="longer"):
        scan(b"<a " + b"b" * MAX_TAG_BYTES, sizes)  # a tag that never ends


@pytest.mark.parametrize("sizes", CHUNKINGS, ids=CHUNK_IDS)
def test_quoted_markup_neither_ends_a_tag_nor_counts(sizes):
    """A ">" inside a value does not end the count (else a bomb could hide behind one), and
    an "=" inside a value is no attribute."""
    hiding = " ".join(f'a{i}=">"' for i in range(MAX_ATTRIBUTES + 1))
    with pytest.raises(SchemaInvalid):
        scan(f"<Ping {hiding}/>".encode(), sizes)
    scan(f"<Ping a='{'=' * 1000}' b=\"{'=' * 1000}\"/>".encode(), sizes)


@pytest.mark.parametrize("sizes", CHUNKINGS, ids=CHUNK_IDS)
def test_text_comments_and_cdata_count_for_nothing(sizes):
    long = "a=b " * MAX_TAG_BYTES
    scan(f"<a>{long}</a><!-- {long} --><b><![CDATA[<c {long} ]]></b>".encode(), sizes)
    scan(PLAIN, sizes)


@given(st.lists(st.integers(1, 200), min_size=1, max_size=30))
def test_an_attribute_bomb_is_refused_for_every_chunking(sizes):
    with pytest.raises(SchemaInvalid):
        scan(envelope(f'<Ping xmlns="{NS}" {attributes(10_000)}/>'), sizes)


def test_read_refuses_the_bomb_before_the_parser_sees_it():
    """100 000 attributes, which libxml2 would take as well-formed (after seconds: its
    duplicate check is quadratic): the refusal is the scan's."""
    bomb = envelope(f'<Ping xmlns="{NS}" {attributes(100_000)}><Tekst>x</Tekst></Ping>')
    with pytest.raises(SchemaInvalid, match="attributes"):
        stream_in(bomb, limit=len(bomb))
