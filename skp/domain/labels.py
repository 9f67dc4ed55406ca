"""How the portal names a message's fields and shows their values, in Dutch.

A label is derived from the catalogue's field name (``KlantnummerSHV`` -> "Klantnummer SHV",
``DatumAanmelding`` -> "Datum aanmelding"); :data:`FIELD_LABELS` overrides it where the derived
words read badly. Codes become words the same way (``NIET_GEMATCHT`` -> "Niet gematcht"), with
:data:`CODE_LABELS` for the exceptions. Amounts are shown and read in Dutch notation
("€ 1.234,56"). Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

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
_THOUSANDS = re.compile(r"[0-9]{1,3}(\.[0-9]{3})+")


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


def euro(amount: str | Decimal) -> str:
    """An amount in Dutch notation: "€ 1.234,56"."""
    number = Decimal(str(amount)).quantize(Decimal("0.01"))
    return "€ " + f"{number:,.2f}".translate(str.maketrans(",.", ".,"))


def percentage(value: str | Decimal) -> str:
    """A percentage in Dutch notation: "12,5 %"."""
    number = Decimal(str(value)).normalize()
    text = f"{number:f}".replace(".", ",")
    return f"{text} %"


def day(value: str | dt.date) -> str:
    """A date as Dutch people write it: 15-01-2026."""
    date = value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
    return f"{date:%d-%m-%Y}"


def yes_no(value: bool) -> str:
    return "Ja" if value else "Nee"


def decimal_text(typed: str) -> str:
    """What a person typed as an amount or percentage ("1.234,56", "€ 12,5", "1234.56"), as
    the decimal text the catalogue's validation reads ("1234.56"); text that is no number comes
    back as typed, so that the validation names it."""
    text = typed.replace("€", "").replace(" ", "").replace("\u00a0", "")
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    elif _THOUSANDS.fullmatch(text):
        text = text.replace(".", "")
    try:
        Decimal(text)
    except InvalidOperation:
        return typed
    return text


_DUTCH_DATE = re.compile(r"([0-9]{1,2})-([0-9]{1,2})-([0-9]{4})")


def date_text(typed: str) -> str:
    """What a person typed as a date ("15-01-2026", or "2026-01-15" from a date field) as the
    ISO date the validation reads; anything else comes back as typed."""
    text = typed.strip()
    found = _DUTCH_DATE.fullmatch(text)
    if found:
        return f"{found[3]}-{int(found[2]):02d}-{int(found[1]):02d}"
    return text


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
