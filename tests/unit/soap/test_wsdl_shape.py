"""What SOAP stacks generate code from, in the published WSDLs: a typed fault on every
operation (WS-I BP 1.1 R2205, R2721, R2754), and the served fault detail valid against it."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from skp.domain.roles import Module
from skp.soap.faults import SoapFault
from skp.soap.types import namespace

SNAPSHOTS = Path(__file__).parents[3] / "wsdl"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP_BINDING = "http://schemas.xmlsoap.org/wsdl/soap/"
XS = "http://www.w3.org/2001/XMLSchema"
N = {"w": WSDL, "s": SOAP_BINDING, "xs": XS}


def wsdl(module: Module) -> etree._Element:
    return etree.parse(SNAPSHOTS / f"{module}.wsdl").getroot()


@pytest.mark.parametrize("module", list(Module))
def test_every_operation_declares_the_fault_element(module):
    root = wsdl(module)
    (message,) = root.xpath("w:message[@name='Fout']", namespaces=N)
    (part,) = message.xpath("w:part", namespaces=N)
    assert part.get("element") == "tns:Fout" and part.get("type") is None  # R2205
    assert root.nsmap["tns"] == namespace(module)
    assert root.xpath("w:types/xs:schema/xs:element[@name='Fout']/@type", namespaces=N) == [
        "tns:Fout"]
    operations = root.xpath("w:portType/w:operation", namespaces=N)
    assert operations
    for operation in operations:
        assert [(f.get("name"), f.get("message")) for f in operation.xpath(
            "w:fault", namespaces=N)] == [("Fout", "tns:Fout")], operation.get("name")
    bound = root.xpath("w:binding/w:operation", namespaces=N)
    assert len(bound) == len(operations)
    for operation in bound:
        (fault,) = operation.xpath("w:fault", namespaces=N)
        (soap,) = fault.xpath("s:fault", namespaces=N)
        assert (fault.get("name"), soap.get("name"), soap.get("use")) == (
            "Fout", "Fout", "literal")  # R2721, R2754


@pytest.mark.parametrize("message_id", [None, "0f3c9a0e-1d2b-4c5a-8e7f-9a0b1c2d3e4f"])
@pytest.mark.parametrize("module", list(Module))
def test_the_served_fault_detail_is_valid_against_the_schema(module, message_id):
    schema = etree.XMLSchema(etree.parse(SNAPSHOTS / f"{module}.xsd"))
    envelope = SoapFault("Client.NotFound", "no such message", "0" * 32, message_id,
                         namespace(module)).envelope()
    (fout,) = etree.fromstring(envelope).find(".//detail")
    assert fout.tag == f"{{{namespace(module)}}}Fout"
    assert schema.validate(etree.ElementTree(fout)), schema.error_log


def restriction(schema: etree._Element, owner: str, field: str) -> tuple[str, dict[str, str]]:
    """(base, {facet: value}) of the simple type of element ``field`` of type ``owner``."""
    (type_name,) = schema.xpath(f"xs:complexType[@name='{owner}']//xs:element[@name='{field}']"
                                "/@type", namespaces=N)
    (found,) = schema.xpath(f"xs:simpleType[@name='{type_name.partition(':')[2]}']"
                            "/xs:restriction", namespaces=N)
    return found.get("base"), {etree.QName(f).localname: f.get("value") for f in found}


BOUNDS = {"xs:int": (-2**31, 2**31 - 1), "xs:long": (-2**63, 2**63 - 1)}


@pytest.mark.parametrize("module", list(Module))
def test_counters_and_limits_are_ints_and_longs_with_their_bounds(module):
    schema = etree.parse(SNAPSHOTS / f"{module}.xsd").getroot()
    assert not schema.xpath(".//*[@base='xs:integer' or @type='xs:integer']", namespaces=N)
    assert restriction(schema, "Berichtenlijst", "Maximum") == (
        "xs:int", {"minInclusive": "1", "maxInclusive": "500"})
    assert restriction(schema, "LogboekFilter", "Maximum") == (
        "xs:int", {"minInclusive": "1", "maxInclusive": "500"})
    assert restriction(schema, "BerichtenlijstAntwoord", "Achterstand") == (
        "xs:int", {"minInclusive": "0", "maxInclusive": "10000"})
    assert restriction(schema, "BerichtMetadata", "Grootte") == (
        "xs:long", {"minInclusive": "0"})
    for found in schema.xpath(".//xs:restriction[@base='xs:int' or @base='xs:long']",
                              namespaces=N):
        low, high = BOUNDS[found.get("base")]
        for facet in found:
            assert low <= int(facet.get("value")) <= high


@pytest.mark.parametrize("module", list(Module))
def test_one_named_type_per_enumeration_and_no_unused_type(module):
    schema = etree.parse(SNAPSHOTS / f"{module}.xsd").getroot()
    simple = schema.xpath("xs:simpleType", namespaces=N)
    referenced = {value.partition(":")[2] for value in schema.xpath(
        ".//@type | .//@base", namespaces=N) if value.startswith("tns:")}
    assert {t.get("name") for t in simple} <= referenced  # no copy nothing uses
    enums = {t.get("name"): tuple(t.xpath("xs:restriction/xs:enumeration/@value",
                                          namespaces=N)) for t in simple}
    enums = {name: values for name, values in enums.items() if values}
    assert enums["Berichtstatus"] == ("queued", "fetched", "confirmed", "expired")
    # One type per field name and list of values, named after the field (and its owner,
    # where another list has the name), wherever the field occurs.
    uses = {(e.get("name"), enums[e.get("type")[4:]]): e.get("type")[4:]
            for e in schema.iter(f"{{{XS}}}element") if e.get("type", "")[4:] in enums}
    assert len(set(uses.values())) == len(uses) == len(enums)
    assert all(name == field or (name.endswith(field) and "_" not in name)
               for (field, _), name in uses.items() if field != "Status")


@pytest.mark.parametrize("suffix", [".wsdl", ".xsd"])
@pytest.mark.parametrize("module", list(Module))
def test_every_namespace_declared_is_used(module, suffix):
    root = etree.parse(SNAPSHOTS / f"{module}{suffix}").getroot()
    used = {etree.QName(e).namespace for e in root.iter()} | {
        root.nsmap[value.partition(":")[0]] for e in root.iter() for value in e.attrib.values()
        if ":" in value and value.partition(":")[0] in root.nsmap}
    assert set(root.nsmap.values()) <= used
    assert all(e.nsmap == root.nsmap for e in root.iter())  # declared once, at the root


@pytest.mark.parametrize("module", list(Module))
def test_every_operation_element_is_its_own_complex_type(module):
    root = wsdl(module)
    (schema,) = root.xpath("w:types/xs:schema", namespaces=N)
    names = schema.xpath("xs:simpleType/@name | xs:complexType/@name", namespaces=N)
    assert len(names) == len(set(names))
    complex_types = set(schema.xpath("xs:complexType/@name", namespaces=N))
    for operation in root.xpath("w:portType/w:operation/@name", namespaces=N):
        assert {operation, f"{operation}Response"} <= complex_types


@pytest.mark.parametrize("module", list(Module))
def test_the_binding_keeps_the_basic_profile_for_document_literal(module):
    """WS-I BP 1.1: R2701/R2702 (SOAP over HTTP), R2705 (one style), R2706 (literal), R2716
    (no namespace on a document-literal soap:body), R2718 (the binding has the portType's
    operations), R2201/R2204 (one part per message, by element)."""
    root = wsdl(module)
    (binding,) = root.xpath("w:binding/s:binding", namespaces=N)
    assert (binding.get("style"), binding.get("transport")) == (
        "document", "http://schemas.xmlsoap.org/soap/http")
    assert set(root.xpath("w:binding/w:operation/@name", namespaces=N)) == set(
        root.xpath("w:portType/w:operation/@name", namespaces=N))
    assert set(root.xpath("w:binding/w:operation/s:operation/@style", namespaces=N)) == {
        "document"}
    for body in root.xpath("w:binding/w:operation/*/s:body | w:binding/w:operation/*/s:fault",
                           namespaces=N):
        assert body.get("use") == "literal"
        assert body.get("namespace") is None and body.get("encodingStyle") is None
    for message in root.xpath("w:message", namespaces=N):
        (part,) = message.xpath("w:part", namespaces=N)
        assert part.get("element", "").startswith("tns:") and part.get("type") is None
