"""The Dutch explanations of the mailbox's refusals: each validator message names its field,
the routing errors their column, and nothing is lost for an error without a translation."""

from __future__ import annotations

import pytest

from skp.domain.catalogue import lookup
from skp.domain.explain import BY_CODE, RULES, Explanation, explain, refusal, sentence
from skp.domain.fields import BSN, POSTCODE, Field, Kind
from skp.domain.roles import Module, Role
from skp.domain.validation import Header, validate_body, validate_header
from skp.errors import (
    AuthenticationError,
    InvalidReply,
    KenmerkConflict,
    MailboxFull,
    ModuleNotEnabled,
    NotAllowed,
    RateLimited,
    SchemaInvalid,
    SkpError,
    Unavailable,
    UnknownRecipient,
)

ANTWOORD = lookup(Module.SCHULDREGELING, "SaldoverzoekAntwoord")
TOTAAL = {"Totaalvordering": {"Referentie": "T", "Bedrag": "1.00"}}


def refused_body(body) -> SchemaInvalid:
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
    explained = explain(refused_body(body))
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


def test_an_error_without_a_translation_keeps_its_code_and_never_its_message():
    explained = explain(Unavailable("the hub's database is unavailable"))
    assert explained.where is None and "Server.Unavailable" in explained.text
    assert "database" not in explained.text
    # A message may repeat what the sender wrote, here an element's name holding a BSN.
    unknown = refused_body({"Datum": "2026-01-15", "Matching": "GEMATCHT", "B123456782": "x"})
    assert "123456782" in unknown.message
    assert explain(unknown) == Explanation(None, "het bericht is geweigerd "
                                                 "(Client.SchemaInvalid)")

    class Novel(SkpError):
        code = "Client.Novel"

    assert "123456782" not in explain(Novel("Kenmerk 123456782 was used")).text


def test_a_date_the_validator_refuses_is_explained():
    with pytest.raises(SchemaInvalid) as refused:
        validate_body(ANTWOORD, {"Datum": "15-01-2026", "Matching": "GEMATCHT"}, Role.SE)
    assert explain(refused.value) == Explanation("Datum", "moet een datum zijn")


def test_every_rule_has_a_column_phrase_and_a_sentence():
    for rule in (*RULES, *BY_CODE.values()):
        assert rule.column and rule.column[0].islower()
        assert rule.sentence is None or (rule.sentence[0].isupper()
                                         and rule.sentence.endswith("."))


def test_a_refusal_of_a_whole_message_reads_as_one_sentence_of_the_same_table():
    assert refusal(KenmerkConflict("…")) == BY_CODE["Client.KenmerkConflict"].sentence
    assert refusal(ModuleNotEnabled("…")) == refusal(NotAllowed("…")) is not None
    assert refusal(RateLimited("…", retry_after=1)) == refusal(MailboxFull("…")) is not None
    assert refusal(UnknownRecipient("…")) == "De ontvanger neemt geen berichten meer aan."
    assert refusal(AuthenticationError("…")) is None
    assert refusal(Unavailable("…")) is None


@pytest.mark.parametrize(("field", "message", "expected"), [
    (Field("X", Kind.TEXT), "field X is required", "Vul dit veld in."),
    (Field("X", Kind.CODE), "field X is required", "Maak een keuze."),
    (Field("X", Kind.DOCUMENT), "field X is required", "Voeg dit document toe."),
    (Field("X", Kind.GROUP, repeated=True), "field X is required",
     "Vul ten minste één regel in."),
    (Field("X", Kind.TEXT, max_length=50), "field X is longer than 50 characters",
     "Gebruik hoogstens 50 tekens."),
    (Field("X", Kind.TEXT, pattern=BSN), "field X does not have the required format",
     "Vul een BSN van 9 cijfers in."),
    (Field("X", Kind.TEXT, pattern=POSTCODE), "field X does not have the required format",
     "Vul een postcode in zoals 1234 AB."),
    (Field("X", Kind.AMOUNT), "field X must be a decimal number",
     "Vul een bedrag in met hoogstens 2 decimalen, bijvoorbeeld 1.234,56."),
    (Field("X", Kind.PERCENTAGE), "field X must be between 0 and 100",
     "Vul een percentage van 0 tot 100 in, met hoogstens 2 decimalen."),
    (Field("X", Kind.DATE), "field X must be a date (YYYY-MM-DD)",
     "Vul een geldige datum in, bijvoorbeeld 15-01-2026."),
    (Field("X", Kind.INTEGER), "field X must be a whole number from 0 to 999999999",
     "Vul een heel getal in."),
    (Field("X", Kind.CHOICE), "field X needs exactly one of A or B",
     "Kies een van de mogelijkheden."),
    (None, "something new", "Dit is niet geldig."),
])
def test_a_forms_problem_reads_as_a_sentence_in_the_words_of_its_field(field, message, expected):
    assert sentence(field, message) == expected
