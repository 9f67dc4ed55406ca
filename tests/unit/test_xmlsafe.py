"""The XML parse policy: no DTD, no entities, no network."""

from __future__ import annotations

import pytest

from skp.errors import SchemaInvalid
from skp.xmlsafe import parse

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<lolz>&lol3;</lolz>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><foo>&xxe;</foo>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE foo SYSTEM "http://127.0.0.1:9/evil.dtd"><foo/>"""


@pytest.mark.parametrize("document", [LAUGHS, XXE, EXTERNAL_DTD, LAUGHS.replace(
    b"DOCTYPE", b"doctype")], ids=["billion-laughs", "xxe", "external-dtd", "lowercase"])
def test_documents_with_a_dtd_are_refused(document):
    with pytest.raises(SchemaInvalid, match="DTD"):
        parse(document)


@pytest.mark.parametrize("document", [b"", b"<a>", b"not xml", b"<a></b>"])
def test_malformed_xml_is_schema_invalid(document):
    with pytest.raises(SchemaInvalid, match="not well-formed"):
        parse(document)


def test_plain_documents_parse_without_comments_or_processing_instructions():
    root = parse(b"<a><!-- opmerking --><?pi x?><b>1</b></a>")
    assert [child.tag for child in root] == ["b"]
