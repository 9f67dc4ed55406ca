"""Field definitions of message bodies, and the groups several message types share.

A body is a tree of named fields. The SOAP layer turns each definition into an XSD type; the
mailbox validates bodies against the same definitions (:mod:`skp.domain.validation`), so the
two can never disagree.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, replace


class Kind(enum.StrEnum):
    """The value type of a field."""

    TEXT = "text"
    CODE = "code"  # one of ``choices``
    DATE = "date"
    AMOUNT = "amount"  # euro amount, at most 2 decimals
    PERCENTAGE = "percentage"  # 0..100, at most 2 decimals
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DOCUMENT = "document"  # an attached document (PDF), base64 in transit
    GROUP = "group"  # nested fields, all that are required must be present
    CHOICE = "choice"  # nested fields, exactly one present


@dataclass(frozen=True)
class Field:
    """One field of a body. ``hub_only`` fields are added by the hub and refused from senders."""

    name: str
    kind: Kind
    required: bool = True
    repeated: bool = False
    children: tuple[Field, ...] = ()
    choices: tuple[str, ...] = ()
    max_length: int | None = None
    pattern: str | None = None
    hub_only: bool = False


def documents(fields: tuple[Field, ...]) -> Iterator[Field]:
    """The document fields among ``fields`` and their children, at any depth."""
    for f in fields:
        if f.kind is Kind.DOCUMENT:
            yield f
        yield from documents(f.children)


def text(name: str, *, required: bool = True, max_length: int = 200,
         pattern: str | None = None, repeated: bool = False) -> Field:
    return Field(name, Kind.TEXT, required, repeated, max_length=max_length, pattern=pattern)


def code(name: str, *choices: str, required: bool = True) -> Field:
    return Field(name, Kind.CODE, required, choices=choices)


def date(name: str, *, required: bool = True) -> Field:
    return Field(name, Kind.DATE, required)


def amount(name: str, *, required: bool = True, hub_only: bool = False) -> Field:
    return Field(name, Kind.AMOUNT, required, hub_only=hub_only)


def percentage(name: str, *, required: bool = True) -> Field:
    return Field(name, Kind.PERCENTAGE, required)


def integer(name: str, *, required: bool = True) -> Field:
    return Field(name, Kind.INTEGER, required)


def flag(name: str, *, required: bool = True, hub_only: bool = False) -> Field:
    return Field(name, Kind.BOOLEAN, required, hub_only=hub_only)


def document(name: str, *, required: bool = False) -> Field:
    return Field(name, Kind.DOCUMENT, required)


def group(name: str, *children: Field, required: bool = True, repeated: bool = False) -> Field:
    return Field(name, Kind.GROUP, required, repeated, children=children)


def choice(name: str, *children: Field, required: bool = True) -> Field:
    """Exactly one of ``children``; each alone is optional."""
    options = tuple(replace(child, required=False) for child in children)
    return Field(name, Kind.CHOICE, required, children=options)


# --- shared groups ------------------------------------------------------------------------

BSN = r"[0-9]{9}"
POSTCODE = r"[1-9][0-9]{3} ?[A-Z]{2}"


def contactpersoon(*, required: bool = True) -> Field:
    return group("Contactpersoon", text("Naam"), text("Telefoon", required=False, max_length=20),
                 text("Email", required=False, max_length=254), required=required)


def persoon(name: str, *, required: bool = True, with_bsn: bool = False) -> Field:
    bsn = (text("Bsn", pattern=BSN, max_length=9),) if with_bsn else ()
    return group(
        name,
        *bsn,
        code("Geslacht", "M", "V", "X", "O", required=False),
        text("Voorletters", required=False, max_length=20),
        text("Voornamen", required=False),
        text("Tussenvoegsel", required=False, max_length=20),
        text("Achternaam"),
        date("Geboortedatum"),
        required=required,
    )


def adres(name: str = "Adres", *, required: bool = True) -> Field:
    return group(
        name,
        text("Straat", required=False),
        text("Huisnummer", max_length=10),
        text("Huisletter", required=False, max_length=2),
        text("Toevoeging", required=False, max_length=10),
        text("Postcode", pattern=POSTCODE, max_length=7),
        text("Woonplaats"),
        text("Locatieomschrijving", required=False),  # houseboat or caravan
        required=required,
    )


def claims_requested() -> Field:
    """The claims an SHV lists in a Saldoverzoek, by the creditor's invoice number."""
    return group("Vorderingen", text("FactuurnummerSEVolgensSHV", max_length=50),
                 required=False, repeated=True)


def claim_lines() -> Field:
    """Claim lines of a Saldoverzoek antwoord; zero-amount lines are added by the hub."""
    return group(
        "Vorderingen",
        text("FactuurnummerSEVolgensSHV", required=False, max_length=50),
        text("FactuurnummerSE", required=False, max_length=50),
        code("Schuldtype", "OPENSTAAND", "OVERGEDRAGEN", "ONBEKEND", required=False),
        date("Ontstaansdatum", required=False),
        amount("OrigineleVordering", required=False),
        amount("Openstaand"),
        flag("AutomatischAangevuld", required=False, hub_only=True),
        required=False,
        repeated=True,
    )


def unmatched_claims() -> Field:
    """Group 'Ongematchte schulden': exactly one of one total or a list of loose claims."""
    return choice(
        "OngematchteSchulden",
        group("Totaalvordering", text("Referentie", max_length=50), amount("Bedrag")),
        group("OpenstaandeSchulden",
              group("Schuld", text("FactuurnummerSE", max_length=50),
                    date("Ontstaansdatum", required=False), amount("Bedrag"), repeated=True)),
        required=False,
    )
