"""Matching: claim references of a Saldoverzoek and the zero-amount expansion of its answer."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.matching import ZERO, check_antwoord, claim_references, expand_non_matched
from skp.domain.roles import Module, Role
from skp.domain.validation import validate_body
from skp.errors import SchemaInvalid

MODULES_WITH_ANTWOORD = [Module.SCHULDREGELING, Module.SCHULDINVENTARISATIE,
                         Module.BETALINGSREGELING]
CLAIMS = ["F-1", "F-2", "F-3"]
TOTAAL = {"Totaalvordering": {"Referentie": "TOT-1", "Bedrag": "950.00"}}


def antwoord(matching="NIET_GEMATCHT", *, lines=None, unmatched=None):
    """A validated-looking Saldoverzoek antwoord."""
    body = {"Datum": "2026-01-15", "Matching": matching}
    if lines is not None:
        body["Vorderingen"] = lines
    if unmatched is not None:
        body["OngematchteSchulden"] = unmatched
    return body


def own_line(ref, openstaand="125.50"):
    return {"FactuurnummerSEVolgensSHV": ref, "FactuurnummerSE": f"SE-{ref}",
            "Openstaand": openstaand}


def zero_line(ref):
    return {"FactuurnummerSEVolgensSHV": ref, "Openstaand": ZERO, "AutomatischAangevuld": True}


# --- claim references -------------------------------------------------------------------------


def test_claim_references_keep_the_request_order():
    body = {"Vorderingen": [{"FactuurnummerSEVolgensSHV": ref} for ref in ("B", "A", "C")]}
    assert claim_references(body) == ["B", "A", "C"]


def test_claim_references_of_a_request_without_claims():
    assert claim_references({"KlantnummerSHV": "K-1"}) == []


@pytest.mark.parametrize("module", MODULES_WITH_ANTWOORD)
def test_claim_references_of_a_validated_saldoverzoek(module):
    mt = lookup(module, "Saldoverzoek")
    body = example_body(mt, sender_role=Role.SHV_FASE2)
    body["Vorderingen"] = [{"FactuurnummerSEVolgensSHV": ref} for ref in CLAIMS]
    assert claim_references(validate_body(mt, body, Role.SHV_FASE2)) == CLAIMS


# --- check_antwoord ---------------------------------------------------------------------------


@pytest.mark.parametrize("body", [
    antwoord("GEMATCHT", lines=[own_line("F-1")]),
    antwoord("GEMATCHT"),
    antwoord(unmatched=TOTAAL),
    antwoord(lines=[own_line("F-1")], unmatched=TOTAAL),
])
def test_check_antwoord_accepts(body):
    check_antwoord(body)


def test_matched_answer_with_unmatched_claims_is_refused():
    with pytest.raises(SchemaInvalid, match=r"a matched answer .* has no OngematchteSchulden"):
        check_antwoord(antwoord("GEMATCHT", unmatched=TOTAAL))


def test_non_matched_answer_without_unmatched_claims_is_refused():
    with pytest.raises(SchemaInvalid, match="needs OngematchteSchulden"):
        check_antwoord(antwoord(lines=[own_line("F-1")]))


@pytest.mark.parametrize("module", MODULES_WITH_ANTWOORD)
def test_validate_body_checks_the_matching(module):
    mt = lookup(module, "SaldoverzoekAntwoord")
    matched_with_unmatched = example_body(mt, full=True) | {"Matching": "GEMATCHT"}
    non_matched_without = example_body(mt) | {"Matching": "NIET_GEMATCHT"}
    for body in (matched_with_unmatched, non_matched_without):
        with pytest.raises(SchemaInvalid, match="OngematchteSchulden"):
            validate_body(mt, body, Role.SE)


# --- expand_non_matched -----------------------------------------------------------------------


def test_total_claim_gets_a_zero_line_per_requested_claim_in_order():
    reply = antwoord(unmatched=TOTAAL)
    expanded = expand_non_matched(reply, CLAIMS)
    assert expanded["Vorderingen"] == [zero_line(ref) for ref in CLAIMS]
    assert expanded["OngematchteSchulden"] == TOTAAL
    assert expanded["Matching"] == "NIET_GEMATCHT"


def test_creditors_own_lines_come_first_and_are_kept():
    lines = [own_line("X-9"), own_line("X-8", "10.00")]
    expanded = expand_non_matched(antwoord(lines=lines, unmatched=TOTAAL), CLAIMS)
    assert expanded["Vorderingen"] == [*lines, *(zero_line(ref) for ref in CLAIMS)]
    assert expanded["OngematchteSchulden"] == TOTAAL


def test_a_claim_the_creditor_answered_is_not_duplicated():
    answered = own_line("F-2", "40.00")
    expanded = expand_non_matched(antwoord(lines=[answered], unmatched=TOTAAL), CLAIMS)
    assert expanded["Vorderingen"] == [answered, zero_line("F-1"), zero_line("F-3")]


def test_a_claim_listed_twice_gets_one_line():
    expanded = expand_non_matched(antwoord(unmatched=TOTAAL), ["F-1", "F-2", "F-1"])
    assert expanded["Vorderingen"] == [zero_line("F-1"), zero_line("F-2")]


def test_nothing_requested_and_nothing_answered_adds_no_lines():
    reply = antwoord(unmatched=TOTAAL)
    assert expand_non_matched(reply, []) == reply
    assert "Vorderingen" not in expand_non_matched(reply, [])


def test_expansion_does_not_modify_its_input():
    reply = antwoord(lines=[own_line("F-2")], unmatched=TOTAAL)
    before = copy.deepcopy(reply)
    expanded = expand_non_matched(reply, CLAIMS)
    assert reply == before
    assert expanded is not reply
    assert expanded["Vorderingen"] is not reply["Vorderingen"]


@pytest.mark.parametrize("lines", [None, [own_line("F-1")]])
def test_matched_answer_is_left_unchanged(lines):
    reply = antwoord("GEMATCHT", lines=lines)
    before = copy.deepcopy(reply)
    assert expand_non_matched(reply, CLAIMS) == before
    assert reply == before


def test_expanding_a_validated_example_answer():
    mt = lookup(Module.SCHULDINVENTARISATIE, "SaldoverzoekAntwoord")
    reply = validate_body(mt, example_body(mt, full=True), Role.SE)
    expanded = expand_non_matched(reply, CLAIMS)
    assert expanded["Vorderingen"] == [*reply["Vorderingen"], *map(zero_line, CLAIMS)]


refs = st.lists(st.text(min_size=1, max_size=50), unique=True, max_size=40)


@given(refs, st.data())
def test_expanded_reply_holds_exactly_one_line_per_claim(claims, data):
    answered = data.draw(st.lists(st.sampled_from(claims), unique=True) if claims
                         else st.just([]))
    own = [own_line(ref) for ref in answered]
    reply = antwoord(lines=own or None, unmatched=TOTAAL)

    lines = expand_non_matched(reply, claims).get("Vorderingen", [])

    assert sorted(line["FactuurnummerSEVolgensSHV"] for line in lines) == sorted(claims)
    assert lines[: len(own)] == own
    added = [line["FactuurnummerSEVolgensSHV"] for line in lines[len(own):]]
    assert added == [ref for ref in claims if ref not in answered]
    assert all(line == zero_line(line["FactuurnummerSEVolgensSHV"]) for line in lines[len(own):])
