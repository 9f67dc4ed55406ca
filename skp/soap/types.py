"""spyne types of one module, generated from the catalogue.

Each message type's body becomes a complex type named after the type (``Kennisgeving``);
groups become complex types named after the group, reused where the same group occurs again
and qualified by their owner where a different group has the same name. An enumeration is
one simple type named after its field, qualified the same way; other restricted values get a
simple type per field (``Adres_PostcodeType``). The envelope types (header, receipt, metadata,
listing, the fault ``Fout``) are the same in every module. No type takes the name of an
operation, which spyne gives the operation's wrapper types.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

from spyne import (
    Array,
    Boolean,
    ByteArray,
    ComplexModel,
    Date,
    DateTime,
    Decimal,
    Fault,
    Integer32,
    Integer64,
    Unicode,
)

from skp.domain.catalogue import MessageType, message_types
from skp.domain.fields import Field, Kind
from skp.domain.roles import MODULE_INFO, Module, Role
from skp.mailbox import MAX_PAGE
from skp.mailbox.delivery import BACKLOG_COUNT_LIMIT
from skp.soap.faults import FAULT_ELEMENT, FAULT_FIELDS

UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_MAX_AMOUNT = 100_000_000_000


def _shape(f: Field) -> Field:
    """A group's structure without its occurrence: the key for reusing its type."""
    return replace(f, required=True, repeated=False)


def namespace(module: Module) -> str:
    """The target namespace of a module's WSDL, e.g. ``urn:skp:schuldregeling:2.0``."""
    return f"urn:skp:{module.value}:{MODULE_INFO[module].version}"


# A restricted simple type is customized in one call, facets and occurrence together: each
# further customize() makes spyne emit another, unused copy of the type (``..._ParentType``).

def required(cls: Any, **facets: Any) -> Any:
    return cls.customize(**facets, min_occurs=1, nillable=False)


def optional(cls: Any, **facets: Any) -> Any:
    return cls.customize(**facets, min_occurs=0, nillable=False)


def many(cls: Any, **facets: Any) -> Any:
    return cls.customize(**facets, min_occurs=0, max_occurs="unbounded", nillable=False)


#: The operations every module's service has besides its ``Verstuur<Berichttype>``.
MAILBOX_OPERATIONS = ("Berichtenlijst", "HaalBerichtOp", "BevestigOntvangst", "Status",
                      "Logboek", "Ping", "Acceptatiestatus")
#: The address book's operations, in every module's service too.
ADDRESSBOOK_OPERATIONS = ("ZoekDeelnemers", "Deelnemer")


class ModuleTypes:
    """The generated spyne classes of one module."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.ns = namespace(module)
        self._groups: dict[Field, Any] = {}
        # spyne names each operation's wrapper types after it: no other type may take them.
        operations = [*MAILBOX_OPERATIONS, *ADDRESSBOOK_OPERATIONS,
                      *(f"Verstuur{mt.code}" for mt in message_types(module))]
        self._names = {FAULT_ELEMENT, *operations, *(f"{op}Response" for op in operations)}
        self._enums: dict[tuple[str, tuple[str, ...]], str] = {}  # (field, values) -> type
        # The envelope's enumerations first: their names are the same in every module.
        state = self._enum("Berichtstatus", ("queued", "fetched", "confirmed", "expired"), "")
        direction = self._enum("Richting", ("Verzonden", "Ontvangen"), "")
        self.bodies: dict[str, Any] = {mt.code: self._body(mt) for mt in message_types(module)}
        uuid = {"pattern": UUID_PATTERN}
        self.header = self._complex("BerichtHeader", [
            ("Kenmerk", required(Unicode, min_len=1, max_len=64)),
            ("Ontvanger", required(Unicode, **uuid)),
            ("ConversatieReferentienummer", required(Unicode, **uuid)),
            ("CrossReferentienummer", optional(Unicode, **uuid)),
            ("Versie", optional(Unicode, max_len=10)),
        ])
        self.receipt = self._complex("Ontvangstbewijs", [
            ("BerichtId", required(Unicode)),
            ("OntvangenOp", required(DateTime)),
            ("UiterlijkOphalenOp", required(DateTime)),
            ("Herhaald", required(Boolean)),
        ])
        metadata = [
            ("BerichtId", required(Unicode)),
            ("Berichttype", required(Unicode)),
            ("Afzender", required(Unicode)),
            ("Ontvanger", required(Unicode)),
            ("Kenmerk", required(Unicode)),
            ("ConversatieReferentienummer", required(Unicode)),
            ("CrossReferentienummer", optional(Unicode)),
            ("Versie", required(Unicode)),
            ("Status", required(Unicode, **state)),
            ("Grootte", required(Integer64, ge=0)),  # bytes: a long, as sizes are
            ("OntvangenOp", required(DateTime)),
            ("UiterlijkOphalenOp", required(DateTime)),
            ("OpgehaaldOp", optional(DateTime)),
            ("BevestigdOp", optional(DateTime)),
            ("VerlopenOp", optional(DateTime)),
        ]
        self.metadata = self._complex("BerichtMetadata", metadata)
        #: BevestigOntvangst's answer: the metadata, and whether it was confirmed before.
        self.confirmation = self._complex("BevestigOntvangstAntwoord", [
            *metadata, ("Herhaald", required(Boolean))])
        self.listing = self._complex("BerichtenlijstAntwoord", [
            ("Bericht", many(self.metadata)),
            ("Achterstand", required(Integer32, ge=0, le=BACKLOG_COUNT_LIMIT)),
            ("Volgende", optional(Unicode)),
        ])
        self.fetched = self._complex("OpgehaaldBericht", [
            ("Metadata", required(self.metadata)),
            *((code, optional(body)) for code, body in self.bodies.items()),
        ])
        self.log_filter = self._complex("LogboekFilter", [
            ("Richting", optional(Unicode, **direction)),
            ("Berichttype", optional(Unicode, max_len=64)),
            ("Tegenpartij", optional(Unicode, **uuid)),
            ("ConversatieReferentienummer", optional(Unicode, **uuid)),
            ("Vanaf", optional(DateTime)),
            ("Tot", optional(DateTime)),
            ("Maximum", optional(Integer32, ge=1, le=MAX_PAGE)),
        ])
        self.log = self._complex("LogboekAntwoord", [("Bericht", many(self.metadata))])
        #: The detail of every fault, declared by every operation (skp.soap.faults.SoapFault).
        self.fault = type(FAULT_ELEMENT, (Fault,), {
            "__namespace__": self.ns, "__type_name__": FAULT_ELEMENT,
            "_type_info": [(name, (optional if name == "BerichtId" else required)(Unicode))
                           for name in FAULT_FIELDS]})
        self.ping = self._complex("PingAntwoord", [
            ("Tekst", optional(Unicode)),
            ("DeelnemerId", required(Unicode)),
            ("Naam", required(Unicode)),
            ("Rol", required(Unicode)),
            ("Module", many(Unicode)),
            ("Tijd", required(DateTime)),
        ])
        #: Acceptatiestatus: the caller's lifecycle and its latest acceptance run.
        outcome = self._enum("Uitkomst", ("pending", "waiting", "passed", "failed"), "")
        self.acceptance_start = self._complex("AcceptatieStart", [
            ("Module", required(Unicode)),
            ("Berichttype", required(Unicode)),
            ("Ontvanger", required(Unicode)),
        ])
        self.acceptance_step = self._complex("AcceptatieStap", [
            ("Routine", required(Unicode)),
            ("Stap", required(Unicode)),
            ("Verwachting", required(Unicode)),
            ("Uitkomst", required(Unicode, **outcome)),
            ("UiterlijkOp", optional(DateTime)),
            ("ResterendeSeconden", optional(Integer32, ge=0)),
            ("Bevinding", many(Unicode)),
            ("Starten", many(self.acceptance_start)),
        ])
        self.acceptance_routine = self._complex("AcceptatieRoutine", [
            ("Naam", required(Unicode)),
            ("Uitkomst", required(Unicode, **outcome)),
        ])
        self.acceptance = self._complex("AcceptatieOverzicht", [
            ("Deelnemerstatus", required(Unicode, **self._enum("Deelnemerstatus", (
                "registered", "in_acceptance", "accepted", "active", "deactivated"), ""))),
            ("RunId", optional(Unicode)),
            ("Uitkomst", optional(Unicode, **self._enum(
                "Uitkomst", ("running", "passed", "failed"), "AcceptatieOverzicht"))),
            ("GestartOp", optional(DateTime)),
            ("BeeindigdOp", optional(DateTime)),
            ("Verwacht", optional(Unicode)),
            ("Routine", many(self.acceptance_routine)),
            ("Stap", many(self.acceptance_step)),
        ])
        #: The facets of the enumerations of roles and modules (address book).
        self.roles = self._enum("Rol", tuple(r.value for r in Role), "")
        self.modules = self._enum("Module", tuple(m.value for m in Module), "")
        self.receivable = self._complex("Berichttypen", [("Berichttype", many(Unicode))])
        #: An address-book entry: the public fields of a participant (skp.domain.addressbook).
        self.entry = self._complex("Adresboekvermelding", [
            ("DeelnemerId", required(Unicode)),
            ("Naam", required(Unicode)),
            ("KvkNummer", optional(Unicode)),
            ("Vestigingsnummer", optional(Unicode)),
            ("Rol", required(Unicode, **self.roles)),
            ("Module", many(Unicode, **self.modules)),
            ("GebruiktBsn", required(Boolean)),
            ("Berichttypen", required(self.receivable)),
        ])
        self.entries = self._complex("Deelnemers", [
            ("Deelnemer", many(self.entry)),
            ("Volgende", optional(Unicode)),
        ])

    def group(self, f: Field) -> Any:
        """The complex class generated for group or choice ``f``."""
        return self._groups[_shape(f)]

    def _body(self, mt: MessageType) -> Any:
        return self._complex(mt.code, [(f.name, self._field(f, mt.code)) for f in mt.fields])

    def _field(self, f: Field, owner: str) -> Any:
        base, facets = ((self._nested(f, owner), {}) if f.kind in (Kind.GROUP, Kind.CHOICE)
                        else self._simple(f, owner))
        return (many if f.repeated else required if f.required else optional)(base, **facets)

    def _nested(self, f: Field, owner: str) -> Any:
        shape = _shape(f)
        if shape not in self._groups:
            name = f.name if f.name not in self._names else f"{owner}{f.name}"
            members = [(c.name, self._field(c, name)) for c in f.children]
            self._groups[shape] = self._complex(name, members)
        return self._groups[shape]

    def _simple(self, f: Field, owner: str) -> tuple[Any, dict[str, Any]]:
        """The spyne class of a simple field and the facets that restrict it."""
        match f.kind:
            case Kind.TEXT:
                return Unicode, {"min_len": 1, "max_len": f.max_length, "pattern": f.pattern}
            case Kind.CODE:
                return Unicode, self._enum(f.name, f.choices, owner)
            case Kind.DATE:
                return Date, {}
            case Kind.AMOUNT:
                return Decimal, {"fraction_digits": 2, "ge": 0, "le": _MAX_AMOUNT}
            case Kind.PERCENTAGE:
                return Decimal, {"fraction_digits": 2, "ge": 0, "le": 100}
            case Kind.INTEGER:
                return Integer32, {"ge": 0, "le": 999_999_999}
            case Kind.BOOLEAN:
                return Boolean, {}
            case Kind.DOCUMENT:
                return ByteArray, {}
        raise AssertionError(f.kind)  # pragma: no cover

    def _enum(self, name: str, values: tuple[str, ...], owner: str) -> dict[str, Any]:
        """The facets of an enumeration: one named simple type per list of values, named after
        its field, qualified by the field's owner where another list has that name already
        (so that code generators make one enum class of it, not one per use)."""
        key = (name, values)
        if key not in self._enums:
            type_name = name if name not in self._names else f"{owner}{name}"
            if type_name in self._names:
                raise ValueError(f"type name {type_name} used twice in module {self.module}")
            self._names.add(type_name)
            self._enums[key] = type_name
        return {"values": list(values), "type_name": self._enums[key],
                "__namespace__": self.ns}

    def _complex(self, name: str, members: list[tuple[str, Any]]) -> Any:
        if name in self._names:
            raise ValueError(f"type name {name} used twice in module {self.module}")
        self._names.add(name)
        return type(name, (ComplexModel,), {"__namespace__": self.ns, "_type_info": members,
                                            "__init__": _made})


def _made(self: Any, *args: Any, **values: Any) -> None:
    """The constructor of skp's complex types: what spyne's makes of a type whose members have
    no default and are neither read-only nor arrays (every member None, then the ``values`` of
    members; others ignored), without looking up every member's attributes on every call.
    Another type (a customised copy: spyne warns when one is made) or a positional argument
    is spyne's to make."""
    cls: Any = type(self)
    blank = _blank(cls)
    if args or blank is None:
        ComplexModel.__init__(self, *args, **values)
        return
    state = self.__dict__
    state.update(blank)
    for key, value in values.items():
        if key in blank:
            state[key] = value


@functools.cache
def _blank(cls: Any) -> dict[str, None] | None:
    """Every member of ``cls`` None; None when :func:`_made` leaves ``cls`` to spyne."""
    members = cls.get_flat_type_info(cls)
    if cls.__orig__ is not None or cls.Attributes._xml_tag_body_as is not None or any(
            m.Attributes.default is not None or m.Attributes.default_factory is not None
            or m.Attributes.read_only or issubclass(m, Array)
            or isinstance(getattr(cls, key, None), property) for key, m in members.items()):
        return None
    return dict.fromkeys(members)
