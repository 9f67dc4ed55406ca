"""The Dutch explanations of the mailbox's refusals: each validator message names its field,
the routing errors their column, and nothing is lost for an error without a translation."""

from __future__ import annotations

import pytest

from skp.domain.catalogue import lookup
from skp.domain.explain import explain
from skp.domain.roles import Module, Role
from skp.domain.validation import Header, validate_body, validate_header
from skp.errors import InvalidReply, KenmerkConflict, SchemaInvalid, Unavailable, UnknownRecipient

ANTWOORD = lookup(Module.SCHULDREGELING, "SaldoverzoekAntwoord")
TOTAAL = {"Totaalvordering": {"Referentie": "T", "Bedrag": "1.00"}}


def refusal(body) -> SchemaInvalid:
    with pytest.raises(SchemaInvalid) as refused:
        validate_body(ANTWOORD, body, Role.SE)
    return refused.value


@pytest.mark.parametrize(("body", "where", "text"), [
    ({"Matching": "GEMATCHT"}, "Datum", "is verplicht"),
    ({"Datum": "2026-01-15", "Matching": "JA"}, "Matching", "moet een van deze codes zijn: "
                                                            "GEMATCHT, NIET_GEMATCHT"),
    ({"Datum": "2026-01-15", "Matching": "GEMATCHT", "Vorderingen": [{"Openstaand": "1.234"}]},
     "Vorderingen[0]/Openstaand", "mag hoogstens 2 decimalen hebben"),
    ({"Datum": "2026-01-15", "Matching": "GEMATCHT", "KlantnummerSE": "x" * 51},
     "KlantnummerSE", "is langer dan 50 tekens"),
    ({"Datum": "2026-01-15", "Matching": "NIET_GEMATCHT"}, "OngematchteSchulden",
     "een niet-gematcht antwoord (Matching NIET_GEMATCHT) vraagt een Totaalvordering of "
     "OpenstaandeSchulden"),
    ({"Datum": "2026-01-15", "Matching": "GEMATCHT", "OngematchteSchulden": TOTAAL},
     "OngematchteSchulden", None),
    ({"Datum": "2026-01-15", "Matching": "NIET_GEMATCHT", "OngematchteSchulden": {
        **TOTAAL, "OpenstaandeSchulden": {"Schuld": [{"FactuurnummerSE": "F",
                                                      "Bedrag": "1"}]}}},
     "OngematchteSchulden", "vraagt precies één van: Totaalvordering of OpenstaandeSchulden"),
    ({"Datum": "2026-01-15", "Matching": "GEMATCHT",
      "Vorderingen": [{"Openstaand": "1", "AutomatischAangevuld": True}]},
     "Vorderingen[0]/AutomatischAangevuld", "wordt door het Schuldenknooppunt ingevuld"),
])
def test_the_validators_messages_name_their_field_in_dutch(body, where, text):
    explained = explain(refusal(body))
    assert explained.where == where
    if text is not None:
        assert explained.text.startswith(text)


def test_routing_errors_name_their_column():
    with pytest.raises(SchemaInvalid) as refused:
        validate_header(Module.SCHULDREGELING, Header("met spatie", "x", "y"))
    assert explain(refused.value).where == "Kenmerk"
    with pytest.raises(SchemaInvalid) as refused:
        validate_header(Module.SCHULDREGELING, Header("K", "geen-uuid", "y"))
    assert explain(refused.value).where == "Ontvanger"
    assert explain(UnknownRecipient("no active participant x")).where == "Ontvanger"
    assert explain(InvalidReply("…")).where == "CrossReferentienummer"
    assert explain(KenmerkConflict("…")).where == "Kenmerk"


def test_an_error_without_a_translation_keeps_its_code():
    explained = explain(Unavailable("the hub's database is unavailable"))
    assert explained.where is None and "Server.Unavailable" in explained.text
