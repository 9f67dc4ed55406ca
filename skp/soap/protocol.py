"""The SOAP 1.1 input protocol of every module's service: the envelope's rules, the
operation it names, and schema faults that say where, never what.

The server has parsed the request already (``environ["skp.envelope"]``: skp.xmlsafe.read);
this checks it as SOAP 1.1 and WS-I Basic Profile 1.1 want it, and lets spyne validate the
operation against the module's schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lxml import etree
from spyne.protocol.soap import Soap11
from spyne.protocol.xml import XmlDocument

from skp.domain.roles import Module
from skp.errors import MustUnderstand, SchemaInvalid, SkpError, UnknownOperation
from skp.soap.faults import SOAP_ENV as SOAP11_ENV
from skp.soap.faults import SkpFault
from skp.soap.types import namespace

#: lxml schema-error kinds, described without the offending value.
_REASONS = (
    ("MAXLENGTH", "is too long"), ("MINLENGTH", "is too short"),
    ("PATTERN", "does not have the required format"),
    ("ENUMERATION", "is not one of the allowed values"),
    ("MININCLUSIVE", "is below the minimum"), ("MAXINCLUSIVE", "is above the maximum"),
    ("FRACTIONDIGITS", "has too many decimals"), ("TOTALDIGITS", "has too many digits"),
    ("ELEMENT_CONTENT", "has a missing or unexpected child element"),
    ("DATATYPE", "has a value of the wrong type"),
)


class QuietSoap11(Soap11):  # type: ignore[misc]  # spyne has no type information
    """spyne's SOAP 1.1 without the debug line it formats each time it looks up a type's
    attributes, some thirty times a request, whether or not debug is logged."""

    def get_cls_attrs(self, cls: Any) -> Any:
        found = self._attrcache.get(cls)
        return super().get_cls_attrs(cls) if found is None else found


@dataclass(frozen=True)
class _Reading:
    """A member of a complex type as spyne's ``complex_from_element`` reads it."""

    key: str
    cls: Any
    handler: Any  # spyne's deserialisation handler of the member's type
    many: bool
    read_only: bool
    complex: bool  # read by :meth:`HubSoap11.from_element` again


class HubSoap11(QuietSoap11):
    """SOAP 1.1 input with skp's XML parse policy and value-free schema errors.

    The operation's element is valid against the schema before it is read into objects, so
    the complex types of skp's requests are read directly: for each child element, its member
    by local name, through spyne's own handler of the member's type; what spyne reads itself
    is the rest (an element with attributes: ``xsi:nil``, ``xsi:type``). spyne would look up
    each element's type attributes, check it for both attributes and count its members for a
    validation the schema has done.
    """

    def __init__(self) -> None:
        super().__init__(validator="lxml")
        self.validate_document = self._validate
        self._readers: dict[Any, dict[str, _Reading] | None] = {}

    def from_element(self, ctx: Any, cls: Any, element: etree._Element) -> Any:
        members = None if element.attrib else self._reader(cls)
        if members is None:
            return super().from_element(ctx, cls, element)
        inst = cls.get_deserialization_instance(ctx)
        for child in element:
            tag = child.tag
            if not isinstance(tag, str):
                if isinstance(child, etree._Comment):
                    continue
                return super().from_element(ctx, cls, element)
            if child.attrib:  # spyne reads what the attributes say
                return super().from_element(ctx, cls, element)
            member = members.get(tag.rpartition("}")[2])
            if member is None:
                continue  # as spyne: a member it does not know (the schema has none)
            value = self.from_element(ctx, member.cls, child) if member.complex else (
                member.handler(ctx, member.cls, child))
            if member.many:
                items = getattr(inst, member.key, None)
                if items is None:
                    items = []
                items.append(value)
                value = items
            if not member.read_only:
                setattr(inst, member.key, value)
        return inst

    def _reader(self, cls: Any) -> dict[str, _Reading] | None:
        """How to read ``cls`` directly, by member's local name, made once; None when spyne
        reads it."""
        try:
            return self._readers[cls]
        except KeyError:
            pass
        handler = getattr(self.deserialization_handlers[cls], "__func__", None)
        members = None
        if (handler is XmlDocument.complex_from_element and not cls._type_info_alt
                and cls.Attributes._xml_tag_body_as is None
                and self.validator is not self.SOFT_VALIDATION):
            members = {}
            for key, member in cls.get_flat_type_info(cls).items():
                attrs = self.get_cls_attrs(member)
                read = self.deserialization_handlers[member]
                members[key] = _Reading(
                    key, member, read, attrs.max_occurs > 1, bool(attrs.read_only),
                    getattr(read, "__func__", None) is XmlDocument.complex_from_element)
        self._readers[cls] = members
        return members


    def create_in_document(self, ctx: Any, charset: str | None = None) -> None:
        if ctx.transport.get_request_method() != "POST":
            raise SkpFault(SchemaInvalid("send a SOAP request with POST"))
        root = ctx.transport.req_env["skp.envelope"]
        try:
            operation = _operation(root)
        except SkpError as exc:
            raise SkpFault(exc) from exc
        if operation.tag not in self.app.interface.service_method_map:
            raise SkpFault(UnknownOperation(_unknown(self.app.tns, operation)))
        ctx.in_document = (root, {})

    def decompose_incoming_envelope(self, ctx: Any, message: Any = Soap11.REQUEST) -> None:
        """The header blocks and the operation, from the envelope :meth:`create_in_document`
        checked (spyne would look them up again with two XPath queries)."""
        root, _ = ctx.in_document
        ctx.in_document = root
        ctx.in_header_doc = list(root[0]) if len(root) == 2 else None
        ctx.in_body_doc = root[-1][0]
        ctx.method_request_string = ctx.in_body_doc.tag
        self.validate_body(ctx, message)

    def _validate(self, payload: Any) -> None:
        schema = self.validation_schema
        if not schema.validate(payload):
            raise SkpFault(SchemaInvalid(_describe(schema.error_log.last_error, payload)))


_HEADER, _BODY = f"{{{SOAP11_ENV}}}Header", f"{{{SOAP11_ENV}}}Body"
_MUST_UNDERSTAND, _ACTOR = f"{{{SOAP11_ENV}}}mustUnderstand", f"{{{SOAP11_ENV}}}actor"
#: The actor every SOAP node is (SOAP 1.1 section 4.2.2), as is a block without an actor.
_NEXT = "http://schemas.xmlsoap.org/soap/actor/next"


def _operation(root: etree._Element) -> etree._Element:
    """The operation element of a SOAP 1.1 envelope: an optional Header, then one Body and
    nothing after it (WS-I BP 1.1 R1011), the Body holding exactly one element. The hub
    understands no header block, so one that must be understood is a MustUnderstand fault."""
    tags = [child.tag for child in root] if root.tag == f"{{{SOAP11_ENV}}}Envelope" else []
    if tags not in ([_BODY], [_HEADER, _BODY]) or len(root[-1]) != 1:
        raise SchemaInvalid("send a SOAP 1.1 Envelope with an optional Header and then one Body "
                            "holding exactly one operation")
    for block in root[0] if tags[0] == _HEADER else ():
        if (block.get(_MUST_UNDERSTAND, "").strip() in ("1", "true")
                and block.get(_ACTOR, _NEXT).strip() == _NEXT):
            raise MustUnderstand("the hub understands no SOAP header block: leave out the "
                                 "ones marked mustUnderstand")
    operation: etree._Element = root[-1][0]
    return operation


_MODULES = {namespace(module): module for module in Module}


def _unknown(tns: str, element: etree._Element) -> str:
    """What to do about an operation element the service does not have (never its name: the
    caller wrote it)."""
    service, other = _MODULES[tns], _MODULES.get(etree.QName(element).namespace or "")
    if other is not None and other != service:
        return (f"the operation is one of the {other} service; send it to /{other}, not to "
                f"/{service}")
    return f"the {service} service has no such operation; see its WSDL"


def _describe(entry: Any, payload: etree._Element) -> str:
    path = "/".join(_local_names(payload, str(entry.path)))
    reason = next((text for key, text in _REASONS if key in entry.type_name),
                  "does not match the XML schema")
    return f"element {path or 'Body'} {reason}; see the WSDL"


#: A step of libxml2's path of a node: ``prefix:name[n]``, ``name[n]`` or, for an element in a
#: default namespace, which a path cannot name, ``*[n]``; ``[n]`` counts the siblings alike.
_STEP = re.compile(r"(?:(?P<prefix>[^:\[]+):)?(?P<name>[^\[]+)(?:\[(?P<index>[0-9]+)\])?")


def _local_names(payload: etree._Element, path: str) -> list[str]:
    """The local names of the elements on libxml2's ``path`` (from ``payload``, the operation
    element), whatever prefixes the client chose: each step is followed in the tree."""
    names: list[str] = []
    node: etree._Element | None = None
    for step in filter(None, path.split("/")):
        found = _STEP.fullmatch(step)
        if found is None:  # an attribute or text step: the element is named already
            break
        prefix, name, index = found["prefix"], found["name"], int(found["index"] or 1)
        alike = [payload] if node is None else [
            child for child in node if isinstance(child.tag, str) and (
                name == "*" or (etree.QName(child).localname == name
                                and child.prefix == prefix))]
        if index > len(alike):
            break
        node = alike[index - 1]
        names.append(etree.QName(node).localname)
    return names
