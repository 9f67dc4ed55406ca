"""The portal's Dutch labels, derived from the catalogue's names, and its values shown."""

from __future__ import annotations

import pytest

from skp.domain.catalogue import CATALOGUE
from skp.domain.fields import Field, Kind
from skp.domain.labels import (
    FIELD_LABELS,
    code_label,
    label,
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


def test_values_are_shown_by_their_kind():
    assert shown(Field("B", Kind.AMOUNT), "5.00") == "€ 5,00"
    assert shown(Field("D", Kind.DATE), "2026-01-15") == "15-01-2026"
    assert shown(Field("P", Kind.PERCENTAGE), "12.50") == "12,5 %"
    assert shown(Field("F", Kind.BOOLEAN), True) == "Ja"
    assert shown(Field("C", Kind.CODE), "OVERGEDRAGEN") == "Overgedragen"
    assert shown(Field("T", Kind.TEXT), "F-1") == "F-1"
