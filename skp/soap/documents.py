"""The interface documents integrators download: a WSDL and an XSD per module.

``skp wsdl export`` writes them to ``wsdl/``; the server serves the same bytes, and a test
fails when the two differ.
"""

from __future__ import annotations

import copy
from pathlib import Path

from lxml import etree
from spyne import Application
from spyne.interface.wsdl import Wsdl11

from skp.domain.roles import Module
from skp.soap.service import build_application

XS = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"


def wsdl_document(app: Application, address: str) -> bytes:
    """The WSDL of a module's Application with ``address`` as its service address."""
    app.transport = "http://schemas.xmlsoap.org/soap/http"
    document = Wsdl11(app.interface)
    document.build_interface_document(address)
    root = etree.fromstring(document.get_interface_document(), _parser())
    _canonical_order(root)
    _drop_unused_namespaces(root)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


#: The attributes whose values are QNames (``tns:Fout``, ``xs:string``): a prefix used only
#: there is in use too.
_QNAME_ATTRIBUTES = ("type", "base", "element", "message", "binding", "ref", "itemType")


def _drop_unused_namespaces(root: etree._Element) -> None:
    """Remove the namespace declarations nothing in ``root`` uses (spyne declares a dozen)."""
    used = {value.partition(":")[0] for element in root.iter()
            for value in (element.get(name) for name in _QNAME_ATTRIBUTES)
            if value and ":" in value}
    etree.cleanup_namespaces(root, keep_ns_prefixes=sorted(used))


_KIND_ORDER = {"import": 0, "simpleType": 1, "complexType": 2, "element": 3, "message": 4}


def _canonical_order(root: etree._Element) -> None:
    """Sort schema definitions and WSDL messages by kind and name.

    spyne emits them in set order, which changes between runs; their order carries no
    meaning, and a stable order keeps the published snapshots byte-for-byte reproducible.
    """
    for parent in [*root.iter(f"{{{XS}}}schema"), root]:
        movable = [c for c in parent if etree.QName(c).localname in _KIND_ORDER]
        if not movable:
            continue
        anchor = parent.index(movable[0])
        for child in movable:
            parent.remove(child)
        movable.sort(key=lambda c: (_KIND_ORDER[etree.QName(c).localname],
                                    c.get("name") or c.get("namespace") or ""))
        for offset, child in enumerate(movable):
            parent.insert(anchor + offset, child)


def _parser() -> etree.XMLParser:
    # Our own generated document, but the same safe settings as for input anyway.
    return etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)


def schema_document(wsdl: bytes) -> bytes:
    """The XML schema embedded in a WSDL, as a document of its own."""
    root = etree.fromstring(wsdl, _parser())
    schema = root.find(f"{{{WSDL}}}types/{{{XS}}}schema")
    if schema is None:  # pragma: no cover - spyne always embeds one
        raise ValueError("the WSDL has no embedded schema")
    # A root of its own, with every namespace in scope in the WSDL: its QName values use them.
    document = etree.Element(schema.tag, dict(schema.attrib),
                             nsmap={p: uri for p, uri in schema.nsmap.items() if p})
    document.extend(copy.deepcopy(child) for child in schema)
    _drop_unused_namespaces(document)
    return etree.tostring(document, xml_declaration=True, encoding="utf-8", pretty_print=True)


def export(directory: Path, public_url: str) -> list[Path]:
    """Write ``<module>.wsdl`` and ``<module>.xsd`` for every module; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for module in Module:
        wsdl = wsdl_document(build_application(module), f"{public_url}/{module}")
        for suffix, data in ((".wsdl", wsdl), (".xsd", schema_document(wsdl))):
            path = directory / f"{module}{suffix}"
            path.write_bytes(data)
            written.append(path)
    return written
