"""The one XML parse policy for input: UTF-8, no DTD, no entities, no network.

Every parser that touches bytes from outside goes through :func:`parse`; a document with a
DOCTYPE is refused before lxml sees it, so entity expansion (billion laughs, quadratic blow-up)
and external entities (XXE) cannot happen.
"""

from __future__ import annotations

from lxml import etree

from skp.errors import SchemaInvalid

_DOCTYPE = b"<!DOCTYPE"


def parser() -> etree.XMLParser:
    """A fresh lxml parser with every dangerous feature off."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_comments=True,
                           remove_pis=True, collect_ids=False)


def parse(data: bytes) -> etree._Element:
    """Parse ``data`` safely; :class:`SchemaInvalid` for a DTD or malformed XML."""
    if _DOCTYPE in data or _DOCTYPE.lower() in data:
        raise SchemaInvalid("a document type declaration (DTD) is not allowed")
    try:
        root = etree.fromstring(data, parser())
    except etree.XMLSyntaxError as exc:
        raise SchemaInvalid(f"the request is not well-formed XML (line {exc.lineno})") from exc
    info = root.getroottree().docinfo
    if info.doctype:  # type: ignore[union-attr]  # stale stubs
        raise SchemaInvalid("a document type declaration (DTD) is not allowed")
    if (info.encoding or "").upper() != "UTF-8":
        raise SchemaInvalid("send the request in UTF-8")
    return root
