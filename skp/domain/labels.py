"""How the portal names a message's fields and shows their values, in Dutch.

A label is derived from the catalogue's field name (``KlantnummerSHV`` -> "Klantnummer SHV",
``DatumAanmelding`` -> "Datum aanmelding"); :data:`FIELD_LABELS` overrides it where the derived
words read badly. Codes become words the same way (``NIET_GEMATCHT`` -> "Niet gematcht"), with
:data:`CODE_LABELS` for the exceptions. Values are shown in the notations of
:mod:`skp.domain.dutch` ("€ 1.234,56", "15-01-2026"). Pure: no I/O.
"""

from __future__ import annotations

import re
from typing import Any

from skp.domain.dutch import day, euro, percentage, yes_no
from skp.domain.fields import Field, Kind

#: Fields whose derived label would read badly.
FIELD_LABELS: dict[str, str] = {
    "Bsn": "BSN",
    "KlantnummerSEVolgensSHV": "Klantnummer schuldeiser volgens schuldhulpverlener",
    "KlantnummerSE": "Klantnummer schuldeiser",
    "KlantnummerSHV": "Klantnummer schuldhulpverlener",
    "FactuurnummerSEVolgensSHV": "Factuurnummer volgens schuldhulpverlener",
    "FactuurnummerSE": "Factuurnummer schuldeiser",
    "Vorderingen": "Vorderingen",
    "OngematchteSchulden": "Ongematchte schulden",
    "OpenstaandeSchulden": "Openstaande schulden",
    "OrigineleVordering": "Oorspronkelijke vordering",
    "AutomatischAangevuld": "Aangevuld door het Schuldenknooppunt",
    "Email": "E-mailadres",
    "ContactEmail": "E-mailadres contactpersoon",
    "Telefoon": "Telefoonnummer",
    "Adreskeuze": "Adres",
    "Locatieomschrijving": "Locatieomschrijving (woonboot, woonwagen)",
    "TypeSchuldregeling": "Soort schuldregeling",
    "TypeRegeling": "Soort regeling",
    "Aanbodpercentage": "Aanbod (percentage)",
    "Afkooppercentage": "Afkoop (percentage)",
    "LooptijdMaanden": "Looptijd (maanden)",
    "Geslacht": "Geslacht",
}

#: Codes whose derived label would read badly.
CODE_LABELS: dict[str, str] = {
    "M": "Man", "V": "Vrouw", "X": "Anders", "O": "Onbekend",
    "SB": "Schuldbemiddeling", "SK": "Saneringskrediet", "SA": "Schuldbemiddeling met "
    "saneringskrediet", "BR": "Betalingsregeling", "HF": "Herfinanciering",
    "PL": "Persoonlijke lening", "SL": "Saneringslening",
    "WSNP": "WSNP", "SHV": "SHV",
}

_WORD = re.compile(r"[A-Z]{2,}(?=[A-Z][a-z]|$)|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def label(name: str) -> str:
    """The Dutch label of a field named ``name`` in the catalogue."""
    if name in FIELD_LABELS:
        return FIELD_LABELS[name]
    words = _WORD.findall(name)
    if not words:
        return name
    rest = [w if w.isupper() else w.lower() for w in words[1:]]
    return " ".join([words[0], *rest])


def code_label(value: str) -> str:
    """The Dutch words of a code (``NIET_GEMATCHT`` -> "Niet gematcht")."""
    if value in CODE_LABELS:
        return CODE_LABELS[value]
    words = value.replace("_", " ").lower()
    return words[:1].upper() + words[1:]


def shown(f: Field, value: Any) -> str:
    """A validated body's value of field ``f`` as the portal shows it."""
    match f.kind:
        case Kind.CODE:
            return code_label(str(value))
        case Kind.DATE:
            return day(str(value))
        case Kind.AMOUNT:
            return euro(str(value))
        case Kind.PERCENTAGE:
            return percentage(str(value))
        case Kind.BOOLEAN:
            return yes_no(bool(value))
    return str(value)
