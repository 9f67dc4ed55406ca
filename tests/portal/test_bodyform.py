"""The forms generated from the catalogue, without a server: every message type gets one,
what is typed becomes a body, and every problem the validation finds lands on a field."""

from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

from skp.domain.catalogue import CATALOGUE, lookup
from skp.domain.roles import Module, Role
from skp.domain.validation import problems
from skp.portal.bodyform import body_of, change_lines, explain, form_class, lists

ALL = [mt for types in CATALOGUE.values() for mt in types.values()]
ANTWOORD = lookup(Module.SCHULDREGELING, "SaldoverzoekAntwoord")


@pytest.fixture
def app():
    app = Flask(__name__)
    app.secret_key = b"x" * 32
    return app


def form(app, mt, data=(), new=False):
    with app.test_request_context(method="POST", data=MultiDict(data)):
        return form_class(mt, new)(meta={"csrf": False})


@pytest.mark.parametrize("mt", ALL, ids=lambda mt: f"{mt.module}-{mt.code}")
def test_every_type_gets_a_form_and_every_problem_of_a_blank_one_lands_on_a_field(app, mt):
    blank = form(app, mt)
    assert "AutomatischAangevuld" not in str(blank.data)  # the hub's own field is no input
    typed = body_of(blank, mt)
    found = problems(mt, typed.body, next(iter(mt.senders)))
    summary = explain(typed, found)
    assert summary or not any(f.required for f in mt.fields)
    assert "Dit is niet geldig." not in {message for _, _, message in summary}
    for path, _ in found:
        assert any(path.startswith(place) for place in typed.places), path


def test_what_is_typed_becomes_a_body(app):
    typed = body_of(form(app, ANTWOORD, {
        "Datum": "15-01-2026", "Matching": "NIET_GEMATCHT",
        "Vorderingen-0-FactuurnummerSE": "", "Vorderingen-1-FactuurnummerSE": "F-2",
        "Vorderingen-1-Openstaand": "1.234,56", "Contactpersoon-Naam": " ",
        "OngematchteSchulden-keuze": "Totaalvordering",
        "OngematchteSchulden-Totaalvordering-Referentie": "T",
        "OngematchteSchulden-Totaalvordering-Bedrag": "€ 10",
        "OngematchteSchulden-OpenstaandeSchulden-Schuld-0-Bedrag": "5"}), ANTWOORD)
    assert typed.body == {
        "Datum": "2026-01-15", "Matching": "NIET_GEMATCHT",
        "Vorderingen": [{"FactuurnummerSE": "F-2", "Openstaand": "1234.56"}],  # blank line gone
        "OngematchteSchulden": {"Totaalvordering": {"Referentie": "T", "Bedrag": "10"}}}
    assert problems(ANTWOORD, typed.body, Role.SE) == []


def test_what_is_no_number_date_or_choice_stays_as_typed_for_the_validation_to_name(app):
    typed = body_of(form(app, ANTWOORD, {"Datum": "31-02-2026", "Matching": "GEMATCHT",
                                         "Vorderingen-0-Openstaand": "1.2.3,4"}), ANTWOORD)
    assert typed.body["Datum"] == "31-02-2026"
    assert typed.body["Vorderingen"] == [{"Openstaand": "1.2.3,4"}]
    answer = lookup(Module.BETALINGSREGELING, "BetalingsvoorstelAntwoord")
    assert body_of(form(app, answer, {"Akkoord": "misschien"}), answer).body["Akkoord"] == (
        "misschien")
    proposal = lookup(Module.BETALINGSREGELING, "Betalingsvoorstel")
    typed = body_of(form(app, proposal, {"AantalTermijnen": "1²"}), proposal)
    assert typed.body["AantalTermijnen"] == "1²"
    summary = explain(typed, problems(proposal, typed.body, next(iter(proposal.senders))))
    assert ("AantalTermijnen", "Aantal termijnen", "Vul een heel getal in.") in summary


def test_a_problem_of_a_line_is_put_on_that_line_even_after_a_blank_one(app):
    filled = form(app, ANTWOORD, {"Vorderingen-0-FactuurnummerSE": "",
                                  "Vorderingen-1-FactuurnummerSE": "F-2",
                                  "Vorderingen-1-Openstaand": "1,999"})
    typed = body_of(filled, ANTWOORD)
    summary = explain(typed, problems(ANTWOORD, typed.body, Role.SE))
    assert ("Vorderingen-1-Openstaand", "Vorderingen, regel 2: Openstaand",
            "Vul een bedrag in met hoogstens 2 decimalen, bijvoorbeeld 1.234,56.") in summary
    assert filled.Vorderingen.entries[1].form.Openstaand.errors
    assert not filled.Vorderingen.entries[0].form.Openstaand.errors


def test_lines_are_added_and_removed(app):
    filled = form(app, ANTWOORD)
    assert [f.name for f in lists(filled)] == [
        "Vorderingen", "OngematchteSchulden-OpenstaandeSchulden-Schuld"]
    assert change_lines(filled, "bij:Vorderingen")
    assert [e.name for e in filled.Vorderingen.entries] == ["Vorderingen-0", "Vorderingen-1"]
    assert change_lines(filled, "weg:Vorderingen-0")
    assert [e.name for e in filled.Vorderingen.entries] == ["Vorderingen-1"]
    assert change_lines(filled, "weg:Vorderingen-1")  # the last line: an empty one instead
    assert len(filled.Vorderingen.entries) == 1
    assert not change_lines(filled, "bij:Nergens")
    assert not change_lines(filled, "weg:Vorderingen-7")
