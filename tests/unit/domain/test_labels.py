"""The portal's Dutch labels and notations, derived from the catalogue's names."""

from __future__ import annotations

from decimal import Decimal

import pytest

from skp.domain.catalogue import CATALOGUE
from skp.domain.fields import Field, Kind
from skp.domain.labels import (
    FIELD_LABELS,
    code_label,
    date_text,
    day,
    decimal_text,
    euro,
    label,
    percentage,
    shown,
)


@pytest.mark.parametrize(("name", "expected"), [
    ("DatumAanmelding", "Datum aanmelding"), ("Achternaam", "Achternaam"),
    ("TotaalPreferenteSchuld", "Totaal preferente schuld"), ("KredietKenmerk", "Krediet kenmerk"),
    ("Bsn", "BSN"), ("KlantnummerSHV", "Klantnummer schuldhulpverlener"),
    ("AantalConcurrenteSchuldeisers", "Aantal concurrente schuldeisers"),
])
def test_a_label_is_derived_from_the_name_unless_overridden(name, expected):
    assert label(name) == expected


def _names(fields):
    for f in fields:
        yield f.name
        yield from _names(f.children)


def test_every_field_of_the_catalogue_has_a_label_of_words():
    names = {n for types in CATALOGUE.values() for mt in types.values() for n in _names(mt.fields)}
    for name in names:
        text = label(name)
        assert text and text[0].isupper() and "_" not in text, name
        assert text == FIELD_LABELS.get(name, text)
    assert set(FIELD_LABELS) <= names  # no override for a field that does not exist


def test_an_acronym_stays_upper_case_inside_a_label():
    assert label("PostcodeGebiedSE") == "Postcode gebied SE"


@pytest.mark.parametrize(("code", "expected"), [
    ("NIET_GEMATCHT", "Niet gematcht"), ("GEMATCHT", "Gematcht"), ("V", "Vrouw"),
    ("KLANT_ONBEKEND", "Klant onbekend"),
])
def test_a_code_reads_as_words(code, expected):
    assert code_label(code) == expected


@pytest.mark.parametrize(("amount", "expected"), [
    ("1234.56", "€ 1.234,56"), ("0.00", "€ 0,00"), ("1000000", "€ 1.000.000,00"),
    (Decimal("12.5"), "€ 12,50"),
])
def test_amounts_are_shown_in_euro_notation(amount, expected):
    assert euro(amount) == expected


@pytest.mark.parametrize(("typed", "expected"), [
    ("1.234,56", "1234.56"), ("€ 12,5", "12.5"), ("1234.56", "1234.56"), ("1.234", "1234"),
    ("12,345", "12.345"), ("veel", "veel"), ("1 000,00", "1000.00"),
])
def test_a_typed_amount_is_read_in_dutch_notation(typed, expected):
    assert decimal_text(typed) == expected


@pytest.mark.parametrize(("typed", "expected"), [
    ("15-01-2026", "2026-01-15"), ("5-1-2026", "2026-01-05"), ("2026-01-15", "2026-01-15"),
    ("gisteren", "gisteren"),
])
def test_a_typed_date_is_read_as_dutch_or_iso(typed, expected):
    assert date_text(typed) == expected


def test_values_are_shown_by_their_kind():
    assert shown(Field("B", Kind.AMOUNT), "5.00") == "€ 5,00"
    assert shown(Field("D", Kind.DATE), "2026-01-15") == day("2026-01-15") == "15-01-2026"
    assert shown(Field("P", Kind.PERCENTAGE), "12.50") == percentage("12.5") == "12,5 %"
    assert shown(Field("F", Kind.BOOLEAN), True) == "Ja"
    assert shown(Field("C", Kind.CODE), "OVERGEDRAGEN") == "Overgedragen"
    assert shown(Field("T", Kind.TEXT), "F-1") == "F-1"
