"""The SOAP 1.1 output protocol of every module's service: spyne's, with the answers' plain
types written straight into the tree.

spyne writes each element of an answer through a chain of generator coroutines (several an
element, built for answers streamed while they are made) and looks up the element's type
attributes again each time: a fetched message of some forty elements cost more to write than
its database statement and its opening together (docs/performance.md). For what skp's answers
are made of, complex types of named members and simple values (text, numbers, dates, times,
booleans), this writes the same elements straight into lxml's tree, from a plan made once per
type out of the attributes spyne itself reads. Whatever else an answer holds (a document's
bytes, an enumeration, an array, a fault, an empty required element) spyne writes, as before.
tests/functional/test_soap_output.py compares both ways, byte for byte, for the answer of
every operation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lxml import etree
from spyne.const.xml import DEFAULT_NS
from spyne.model.complex import ComplexModelBase
from spyne.protocol.xml import XmlDocument

from skp.soap.protocol import QuietSoap11

_SIMPLE, _COMPLEX, _SPYNE = "simple", "complex", "spyne"


@dataclass(frozen=True)
class _Member:
    """A member of a complex type as spyne's ``_get_members_etree`` writes it."""

    key: str
    cls: Any
    ns: str | None
    name: str
    tag: str
    many: bool  # max_occurs > 1: one element per item
    required: bool  # min_occurs > 0: written (as nil, or its default) when None
    kind: str


@dataclass(frozen=True)
class _Plan:
    """A complex type as spyne's ``complex_to_parent`` writes it: its element's own name and
    namespace, if it has them, and its members, those of the type it extends first."""

    name: str | None
    ns: str | None
    type_name: str
    members: tuple[_Member, ...]


def _tag(ns: str | None, name: str) -> str:
    return name if ns is None else f"{{{ns}}}{name}"


def _one(value: Any) -> bool:
    """Whether spyne would write ``value`` as it is (not a list, tuple or dict of values it
    turns into an instance first: ``get_serialization_instance``)."""
    return not isinstance(value, (list, tuple, dict))


class HubOutSoap11(QuietSoap11):
    """spyne's SOAP 1.1 output, with plain complex types written directly."""

    def __init__(self) -> None:
        super().__init__()
        self._plans: dict[Any, _Plan | None] = {}

    def to_parent(self, ctx: Any, cls: Any, inst: Any, parent: Any, ns: Any, *args: Any,
                  **kwargs: Any) -> Any:
        # spyne's own calls name the element; the answer's wrapper (serialize) does not.
        plan = None if args or kwargs or inst is None or not _one(inst) or not isinstance(
            parent, etree._Element) else self._plan(cls)
        if plan is None:
            return super().to_parent(ctx, cls, inst, parent, ns, *args, **kwargs)
        self._complex(ctx, plan, inst, parent, ns, None)
        return None

    def _complex(self, ctx: Any, plan: _Plan, inst: Any, parent: etree._Element,
                 ns: str | None, name: str | None) -> None:
        element = etree.SubElement(parent, _tag(plan.ns or ns, plan.name or name
                                                or plan.type_name))
        for member in plan.members:
            value = getattr(inst, member.key, None)
            if value is None:
                if member.required:
                    self._spyne(ctx, member, None, element)
            elif member.many:
                for item in value:
                    self._member(ctx, member, item, element)
            else:
                self._member(ctx, member, value, element)

    def _member(self, ctx: Any, member: _Member, value: Any, parent: etree._Element) -> None:
        if value is None:
            self._spyne(ctx, member, value, parent)
        elif member.kind is _SIMPLE:
            etree.SubElement(parent, member.tag).text = self.to_unicode(member.cls, value)
        elif member.kind is _COMPLEX and _one(value) and (
                plan := self._plan(member.cls)) is not None:
            self._complex(ctx, plan, value, parent, member.ns, member.name)
        else:
            self._spyne(ctx, member, value, parent)

    def _spyne(self, ctx: Any, member: _Member, value: Any, parent: etree._Element) -> None:
        pending = super().to_parent(ctx, member.cls, value, parent, member.ns, member.name)
        if pending is not None:  # a streamed value: skp answers with none
            raise TypeError(f"{member.key} is streamed; answers are written whole")

    def _plan(self, cls: Any) -> _Plan | None:
        """The plan of ``cls``, made once; None when spyne writes it (not a plain complex
        type)."""
        try:
            return self._plans[cls]
        except KeyError:
            pass
        plan = self._make_plan(cls)
        self._plans[cls] = plan
        return plan

    def _make_plan(self, cls: Any) -> _Plan | None:
        attrs = self.get_cls_attrs(cls)
        if (self.polymorphic or self._kind(cls) is not _COMPLEX
                or getattr(cls.get_serialization_instance, "__func__", None)
                is not ComplexModelBase.get_serialization_instance.__func__):
            return None
        chain = []
        extended = cls
        while extended is not None:
            chain.append(extended)
            extended = getattr(extended, "__extends__", None)
        members = []
        for owner in reversed(chain):  # spyne writes the extended type's members first
            for key, member in owner._type_info.items():
                member_attrs = self.get_cls_attrs(member)
                if member_attrs.exc:
                    continue
                ns = member.Attributes.sub_ns
                ns = owner.get_namespace() if ns is None else ns
                name = member.Attributes.sub_name or key
                members.append(_Member(
                    key, member, ns, name, _tag(ns, name), member.Attributes.max_occurs > 1,
                    member.Attributes.min_occurs > 0, self._kind(member)))
        sub_ns = attrs.sub_ns
        return _Plan(attrs.sub_name, None if sub_ns in (None, DEFAULT_NS) else sub_ns,
                     cls.get_type_name(), tuple(members))

    def _kind(self, cls: Any) -> str:
        attrs = self.get_cls_attrs(cls)
        if attrs.prot is not None or attrs.exc:
            return _SPYNE
        handler = getattr(self.serialization_handlers[cls], "__func__", None)
        if handler is XmlDocument.modelbase_to_parent:
            return _SIMPLE
        if handler is XmlDocument.complex_to_parent:
            return _COMPLEX
        return _SPYNE

