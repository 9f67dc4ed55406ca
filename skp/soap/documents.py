"""The interface documents integrators download: a WSDL and an XSD per module.

``skp wsdl export`` writes them to ``wsdl/``; the server serves the same bytes, and a test
fails when the two differ.
"""

from __future__ import annotations

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
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


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
    return etree.tostring(schema, xml_declaration=True, encoding="utf-8", pretty_print=True)


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
