"""Header and body validation: what is refused, how values are normalised, what errors say."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skp.domain.catalogue import lookup, message_types
from skp.domain.examples import example_body
from skp.domain.roles import MODULE_INFO, Module, Role
from skp.domain.validation import Header, problems, validate_body, validate_header
from skp.errors import SchemaInvalid

SR = Module.SCHULDREGELING
BETAALVOORSTEL = lookup(SR, "Betaalvoorstel")
KENNISGEVING = lookup(SR, "Kennisgeving")
KENNISGEVING_PUBLIEK = lookup(SR, "KennisgevingPubliek")
KENNISGEVING_ANTWOORD = lookup(SR, "KennisgevingAntwoord")
ANTWOORD = lookup(SR, "SaldoverzoekAntwoord")
BETAALVOORSTEL_ANTWOORD = lookup(SR, "BetaalvoorstelAntwoord")
SALDOVERZOEK = lookup(Module.SCHULDINVENTARISATIE, "Saldoverzoek")
MELDING_START = lookup(Module.MELDINGEN_BEWINDVOERING, "MeldingStartBewind")

CANARY = "CANARY-93731"
MISSING = object()


def sender_of(mt):
    return min(mt.senders)


def at(body, path):
    """The value at ``path`` ('Vorderingen/0/Aanbod') of ``body``."""
    for key in path.split("/"):
        body = body[int(key)] if isinstance(body, list) else body[key]
    return body


def changed(mt, path, value, *, role=None):
    """The full example body of ``mt`` with the field at ``path`` set, or removed (MISSING)."""
    body = copy.deepcopy(example_body(mt, full=True, sender_role=role or sender_of(mt)))
    *parents, last = path.split("/")
    node = at(body, "/".join(parents)) if parents else body
    key = int(last) if isinstance(node, list) else last
    if value is MISSING:
        del node[key]
    else:
        node[key] = value
    return body


def accepted(mt, path, value):
    """The normalised value of ``path`` after validating a body with it set to ``value``."""
    return at(validate_body(mt, changed(mt, path, value), sender_of(mt)), path)


def refused(mt, path, value, match=None):
    """The SchemaInvalid raised for a body with ``path`` set to ``value``."""
    with pytest.raises(SchemaInvalid, match=match) as info:
        validate_body(mt, changed(mt, path, value), sender_of(mt))
    return info.value


# --- header -----------------------------------------------------------------------------------


def header(**changes):
    fields = dict(kenmerk="SK-11789-4", ontvanger=str(uuid.uuid4()),
                  conversatie_referentienummer=str(uuid.uuid4()))
    return Header(**fields | changes)


@pytest.mark.parametrize("module", Module)
def test_header_gets_the_module_version_by_default(module):
    version = MODULE_INFO[module].version
    assert validate_header(module, header()).versie == version
    assert validate_header(module, header(versie=version)).versie == version


@pytest.mark.parametrize(("module", "versie"), [
    (Module.SCHULDREGELING, "1.0"), (Module.SCHULDREGELING, "1.1"), (Module.SCHULDREGELING, ""),
    (Module.WAARBORGFONDS, "2.0"), (Module.MELDINGEN_BEWINDVOERING, "1"),
])
def test_header_refuses_another_version(module, versie):
    with pytest.raises(SchemaInvalid, match=f"use {MODULE_INFO[module].version}"):
        validate_header(module, header(versie=versie))


@pytest.mark.parametrize("kenmerk", ["K", "SK-11789-4", "!~", "x" * 64, "a/b:c#1"])
def test_header_accepts_printable_kenmerk(kenmerk):
    assert validate_header(SR, header(kenmerk=kenmerk)).kenmerk == kenmerk


@pytest.mark.parametrize("kenmerk", ["", None, "x" * 65, "with space", "tab\there", "ké",
                                     "line\n", " lead"])
def test_header_refuses_bad_kenmerk(kenmerk):
    with pytest.raises(SchemaInvalid, match="Kenmerk must be 1 to 64 printable"):
        validate_header(SR, header(kenmerk=kenmerk))


UUID = uuid.UUID("1b4e28ba-2fa1-11d2-883f-0016d3cca427")


@pytest.mark.parametrize("spelling", [
    str(UUID), str(UUID).upper(), UUID.hex, f"{{{UUID}}}", f"urn:uuid:{UUID}",
])
def test_header_canonicalises_uuids(spelling):
    checked = validate_header(SR, header(ontvanger=spelling, conversatie_referentienummer=spelling,
                                         cross_referentienummer=spelling))
    canonical = str(UUID)
    assert checked.ontvanger == canonical
    assert checked.conversatie_referentienummer == canonical
    assert checked.cross_referentienummer == canonical


@pytest.mark.parametrize("cross", [None, ""])
def test_header_without_cross_reference(cross):
    assert validate_header(SR, header(cross_referentienummer=cross)).cross_referentienummer is None


NOT_UUIDS = [
    (attribute, name, bad)
    for attribute, name in [("ontvanger", "Ontvanger"),
                            ("conversatie_referentienummer", "ConversatieReferentienummer"),
                            ("cross_referentienummer", "CrossReferentienummer")]
    for bad in [CANARY, f"{UUID}0", "", None]
    if not (attribute == "cross_referentienummer" and not bad)  # empty: not a reply
]


@pytest.mark.parametrize(("attribute", "name", "bad"), NOT_UUIDS)
def test_header_refuses_non_uuids_without_echoing_them(attribute, name, bad):
    with pytest.raises(SchemaInvalid, match=f"{name} must be a UUID") as info:
        validate_header(SR, header(**{attribute: bad}))
    assert CANARY not in str(info.value)


def test_header_refuses_kenmerk_without_echoing_it():
    with pytest.raises(SchemaInvalid) as info:
        validate_header(SR, header(kenmerk=f"{CANARY} with spaces"))
    assert CANARY not in str(info.value)


# --- body: structure --------------------------------------------------------------------------


@pytest.mark.parametrize(("mt", "path", "where"), [
    (BETAALVOORSTEL, "Onbekend", "body"),
    (KENNISGEVING, "Klant/Onbekend", "Klant"),
    (KENNISGEVING, "Adreskeuze/Woonadres/Onbekend", "Adreskeuze/Woonadres"),
    (BETAALVOORSTEL, "Vorderingen/0/Onbekend", r"Vorderingen\[0\]"),
])
def test_unknown_fields_are_refused_with_their_path(mt, path, where):
    refused(mt, path, "x",
            match=rf"^Client\.SchemaInvalid: {where} has unknown field\(s\) Onbekend$")


@pytest.mark.parametrize(("mt", "path", "where"), [
    (BETAALVOORSTEL, "KlantnummerSHV", "KlantnummerSHV"),
    (BETAALVOORSTEL, "Vorderingen", "Vorderingen"),
    (BETAALVOORSTEL, "Vorderingen/0/Aanbod", r"Vorderingen\[0\]/Aanbod"),
    (KENNISGEVING, "Klant/Achternaam", "Klant/Achternaam"),
    (KENNISGEVING, "Adreskeuze/Woonadres/Postcode", "Adreskeuze/Woonadres/Postcode"),
    (KENNISGEVING_PUBLIEK, "Klant/Bsn", "Klant/Bsn"),
    (ANTWOORD, "Vorderingen/0/Openstaand", r"Vorderingen\[0\]/Openstaand"),
    (ANTWOORD, "OngematchteSchulden/Totaalvordering/Bedrag",
     "OngematchteSchulden/Totaalvordering/Bedrag"),
])
@pytest.mark.parametrize("absent", [MISSING, None])
def test_missing_required_fields_are_named_by_path(mt, path, where, absent):
    refused(mt, path, absent, match=rf"field {where} is required$")


@pytest.mark.parametrize(("mt", "path"), [
    (BETAALVOORSTEL, "KlantnummerSE"),
    (KENNISGEVING, "Partner"),
    (KENNISGEVING, "Klant/Voornamen"),
    (ANTWOORD, "Vorderingen"),
    (ANTWOORD, "Vorderingen/0/OrigineleVordering"),
])
@pytest.mark.parametrize("absent", [MISSING, None])
def test_optional_fields_may_be_absent(mt, path, absent):
    body = validate_body(mt, changed(mt, path, absent), sender_of(mt))
    *parents, last = path.split("/")
    assert last not in (at(body, "/".join(parents)) if parents else body)


def test_required_repeated_field_needs_an_item():
    refused(BETAALVOORSTEL, "Vorderingen", [], match="field Vorderingen is required")


@pytest.mark.parametrize(("mt", "path"), [
    (BETAALVOORSTEL, "Vorderingen"),
    (KENNISGEVING_ANTWOORD, "FactuurnummerSE"),
])
@pytest.mark.parametrize("value", [{"FactuurnummerSE": "F-1"}, "F-1"])
def test_repeated_field_must_be_a_list(mt, path, value):
    refused(mt, path, value, match=f"field {path} must be a list")


def test_repeated_field_comes_back_as_a_list():
    assert accepted(KENNISGEVING_ANTWOORD, "FactuurnummerSE", ("F-1", "F-2")) == ["F-1", "F-2"]


@pytest.mark.parametrize("value", ["Jansen", ["Jansen"], 3])
def test_group_must_be_a_mapping(value):
    refused(KENNISGEVING, "Klant", value, match="Klant must be a group of fields")


def test_body_must_be_a_mapping():
    with pytest.raises(SchemaInvalid, match="body must be a group of fields"):
        validate_body(BETAALVOORSTEL, [], Role.SHV_FASE2)


# --- body: choices ----------------------------------------------------------------------------

WOONADRES = example_body(KENNISGEVING)["Adreskeuze"]["Woonadres"]


@pytest.mark.parametrize("option", ["Woonadres", "Briefadres"])
def test_choice_takes_one_option(option):
    assert accepted(KENNISGEVING, "Adreskeuze", {option: WOONADRES}) == {option: WOONADRES}


@pytest.mark.parametrize("value", [{}, {"Woonadres": WOONADRES, "Briefadres": WOONADRES},
                                   {"Woonadres": None}])
def test_choice_needs_exactly_one(value):
    refused(KENNISGEVING, "Adreskeuze", value,
            match="field Adreskeuze needs exactly one of Woonadres or Briefadres")


def test_unmatched_claims_are_one_total_or_a_list_never_both():
    both = {"Totaalvordering": {"Referentie": "T-1", "Bedrag": "10.00"},
            "OpenstaandeSchulden": {"Schuld": [{"FactuurnummerSE": "F-1", "Bedrag": "10.00"}]}}
    refused(ANTWOORD, "OngematchteSchulden", both,
            match="needs exactly one of Totaalvordering or OpenstaandeSchulden")
    listed = {"OpenstaandeSchulden": both["OpenstaandeSchulden"]}
    assert accepted(ANTWOORD, "OngematchteSchulden", listed) == listed


# --- body: values -----------------------------------------------------------------------------


@pytest.mark.parametrize(("mt", "path", "limit"), [
    (BETAALVOORSTEL, "KlantnummerSHV", 50),
    (BETAALVOORSTEL, "Motivatie", 4000),
    (KENNISGEVING, "Contactpersoon/Telefoon", 20),
    (KENNISGEVING, "Klant/Achternaam", 200),
    (KENNISGEVING_ANTWOORD, "FactuurnummerSE/0", 50),
])
def test_text_max_length(mt, path, limit):
    assert accepted(mt, path, "x" * limit) == "x" * limit
    where = path.replace("/0", "[0]").replace("[", r"\[").replace("]", r"\]")
    refused(mt, path, "x" * (limit + 1), match=f"field {where} is longer than {limit} characters")


@pytest.mark.parametrize("value", ["", "   ", "\n", 12, ["x"]])
def test_text_must_be_non_empty_text(value):
    refused(BETAALVOORSTEL, "Motivatie", value, match="field Motivatie must be non-empty text")


@pytest.mark.parametrize("bsn", ["123456782", "000000000"])
def test_bsn_pattern_accepts_nine_digits(bsn):
    assert accepted(KENNISGEVING_PUBLIEK, "Klant/Bsn", bsn) == bsn


@pytest.mark.parametrize(("bsn", "why"), [
    ("12345678", "does not have the required format"),
    ("12345678a", "does not have the required format"),
    ("\uff11" * 9, "does not have the required format"),  # full-width digits
    ("1234567890", "is longer than 9 characters"),
])
def test_bsn_pattern_refuses_anything_else(bsn, why):
    refused(KENNISGEVING_PUBLIEK, "Klant/Bsn", bsn, match=f"field Klant/Bsn {why}")


POSTCODE_PATH = "Adreskeuze/Woonadres/Postcode"


@pytest.mark.parametrize("postcode", ["1234 AB", "1234AB", "9999 ZZ"])
def test_postcode_pattern_accepts_dutch_postcodes(postcode):
    assert accepted(KENNISGEVING, POSTCODE_PATH, postcode) == postcode


@pytest.mark.parametrize("postcode", ["0123 AB", "1234 ab", "1234-AB", "123 AB", "1234 A"])
def test_postcode_pattern_refuses_others(postcode):
    refused(KENNISGEVING, POSTCODE_PATH, postcode, match="does not have the required format")


def test_code_must_be_one_of_its_choices():
    assert accepted(ANTWOORD, "Matching", "NIET_GEMATCHT") == "NIET_GEMATCHT"
    for value in ("niet_gemaatcht", "gematcht", "", 1, ["GEMATCHT"]):
        refused(ANTWOORD, "Matching", value, match="field Matching must be one of GEMATCHT, "
                                                   "NIET_GEMATCHT$")


@pytest.mark.parametrize(("value", "normalised"), [
    ("2026-01-15", "2026-01-15"),
    (dt.date(2026, 2, 28), "2026-02-28"),
    ("2028-02-29", "2028-02-29"),
])
def test_dates_become_iso_strings(value, normalised):
    assert accepted(KENNISGEVING, "DatumAanmelding", value) == normalised


@pytest.mark.parametrize(("value", "why"), [
    (dt.datetime(2026, 1, 15, 10, 0, tzinfo=dt.UTC), "must be a date without time"),
    ("15-01-2026", r"must be a date \(YYYY-MM-DD\)"),
    ("2026-02-30", r"must be a date \(YYYY-MM-DD\)"),
    ("", r"must be a date \(YYYY-MM-DD\)"),
])
def test_dates_are_refused_when_not_a_date(value, why):
    refused(KENNISGEVING, "DatumAanmelding", value, match=f"field DatumAanmelding {why}")


@pytest.mark.parametrize(("value", "normalised"), [
    (Decimal("12.5"), "12.50"),
    ("12.5", "12.50"),
    (Decimal("12.50"), "12.50"),
    (12, "12.00"),
    ("0", "0.00"),
    ("1E+2", "100.00"),
    ("100000000000", "100000000000.00"),
])
def test_amounts_become_strings_with_two_decimals(value, normalised):
    assert accepted(BETAALVOORSTEL, "TotaalPreferenteSchuld", value) == normalised


@pytest.mark.parametrize(("value", "why"), [
    (12.5, "must be a decimal number, not a float"),
    (True, "must be a decimal number, not a float"),
    ("twaalf", "must be a decimal number$"),
    (Decimal("12.505"), "must have at most 2 decimals"),
    ("12.500", "must have at most 2 decimals"),
    ("NaN", "must have at most 2 decimals"),
    ("Infinity", "must have at most 2 decimals"),
    ("-1", "must be between 0 and 100000000000"),
    ("-0.01", "must be between 0 and 100000000000"),
    ("100000000000.01", "must be between 0 and 100000000000"),
])
def test_amounts_are_refused(value, why):
    refused(BETAALVOORSTEL, "TotaalPreferenteSchuld", value,
            match=f"field TotaalPreferenteSchuld {why}")


@given(st.integers(min_value=0, max_value=10**13))
def test_any_amount_in_cents_round_trips(cents):
    value = Decimal(cents).scaleb(-2)
    normalised = accepted(BETAALVOORSTEL, "TotaalPreferenteSchuld", value)
    assert Decimal(normalised) == value
    assert normalised.split(".")[1].isdigit() and len(normalised.split(".")[1]) == 2


@pytest.mark.parametrize(("value", "normalised"), [("40.5", "40.50"), (0, "0.00"),
                                                    ("100", "100.00")])
def test_percentages_are_normalised(value, normalised):
    assert accepted(BETAALVOORSTEL, "Aanbodpercentage", value) == normalised


@pytest.mark.parametrize("value", ["100.01", "-1", 40.5, "33.333"])
def test_percentages_are_refused(value):
    refused(BETAALVOORSTEL, "Aanbodpercentage", value, match="field Aanbodpercentage must")


@pytest.mark.parametrize("value", [0, 3, 360])
def test_integers_are_whole_numbers_from_zero(value):
    assert accepted(BETAALVOORSTEL, "LooptijdMaanden", value) == value


@pytest.mark.parametrize("value", [-1, True, "3", 3.0, Decimal(3)])
def test_integers_are_refused(value):
    refused(BETAALVOORSTEL, "LooptijdMaanden", value,
            match="field LooptijdMaanden must be a whole number from 0 to 999999999")


@pytest.mark.parametrize("value", [True, False])
def test_booleans(value):
    assert accepted(BETAALVOORSTEL_ANTWOORD, "Akkoord", value) is value


@pytest.mark.parametrize("value", ["true", 1, 0, "Ja"])
def test_booleans_are_refused_unless_true_or_false(value):
    refused(BETAALVOORSTEL_ANTWOORD, "Akkoord", value, match="field Akkoord must be true or false")


PDF = b"%PDF-1.4\n% beschikking\n"


@pytest.mark.parametrize("value", [PDF, bytearray(PDF), base64.b64encode(PDF).decode()])
def test_documents_become_base64(value):
    assert accepted(MELDING_START, "Beschikking", value) == base64.b64encode(PDF).decode()


@pytest.mark.parametrize(("value", "why"), [
    ("niet base64!", "must be a base64-encoded document"),
    ("QUJ", "must be a base64-encoded document"),  # bad padding
    ("", "must not be empty"),
    (b"", "must not be empty"),
])
def test_documents_are_refused_when_not_base64_or_empty(value, why):
    refused(MELDING_START, "Beschikking", value, match=f"field Beschikking {why}")


# --- body: who may set what -------------------------------------------------------------------


@pytest.mark.parametrize("value", [True, False])
def test_hub_only_field_is_refused_from_a_sender(value):
    refused(ANTWOORD, "Vorderingen/0/AutomatischAangevuld", value,
            match=r"field Vorderingen\[0\]/AutomatischAangevuld is set by the hub")


@pytest.mark.parametrize(("role", "attachment"), [
    (Role.SHV_OVERIG, "Toestemmingsverklaring"),
    (Role.BEWINDVOERDER, "Beschikking"),
])
@pytest.mark.parametrize("module", [Module.SCHULDINVENTARISATIE, Module.BETALINGSREGELING])
def test_role_must_attach_its_document(module, role, attachment):
    mt = lookup(module, "Saldoverzoek")
    body = example_body(mt, sender_role=role)
    assert validate_body(mt, body, role)[attachment]
    del body[attachment]
    with pytest.raises(SchemaInvalid, match=f"as {role} you must attach {attachment} to "
                                            "Saldoverzoek"):
        validate_body(mt, body, role)


@pytest.mark.parametrize("role", [Role.SHV_FASE1, Role.SHV_FASE2])
def test_other_helpers_need_no_attachment(role):
    body = example_body(SALDOVERZOEK)
    assert "Toestemmingsverklaring" not in body and "Beschikking" not in body
    validate_body(SALDOVERZOEK, body, role)


def test_schuldregeling_saldoverzoek_needs_no_attachment():
    mt = lookup(SR, "Saldoverzoek")
    validate_body(mt, example_body(mt), Role.SHV_FASE2)


# --- errors never echo a value ----------------------------------------------------------------


@pytest.mark.parametrize(("mt", "path", "value"), [
    (BETAALVOORSTEL, "KlantnummerSHV", CANARY * 5),  # too long
    (KENNISGEVING_PUBLIEK, "Klant/Bsn", "93731ABCD"),  # wrong format
    (KENNISGEVING, POSTCODE_PATH, "93731"),
    (ANTWOORD, "Matching", CANARY),
    (KENNISGEVING, "DatumAanmelding", CANARY),
    (KENNISGEVING, "Klant/Geboortedatum", CANARY),
    (BETAALVOORSTEL, "TotaalPreferenteSchuld", CANARY),
    (BETAALVOORSTEL, "TotaalPreferenteSchuld", "93731.123"),
    (BETAALVOORSTEL, "Vorderingen/0/Aanbod", "-93731"),
    (BETAALVOORSTEL, "Aanbodpercentage", "93731"),
    (BETAALVOORSTEL, "LooptijdMaanden", CANARY),
    (BETAALVOORSTEL, "LooptijdMaanden", -93731),
    (BETAALVOORSTEL_ANTWOORD, "Akkoord", CANARY),
    (MELDING_START, "Beschikking", CANARY + "!"),
    (KENNISGEVING, "Klant", CANARY),
    (KENNISGEVING_ANTWOORD, "FactuurnummerSE", CANARY),
    (KENNISGEVING, "Adreskeuze", {"Woonadres": WOONADRES, "Briefadres": WOONADRES | {
        "Straat": CANARY}}),
    (ANTWOORD, "Vorderingen/0/AutomatischAangevuld", CANARY),
])
def test_errors_never_contain_the_offending_value(mt, path, value):
    error = refused(mt, path, value)
    for text in (str(error), error.message, repr(error.args)):
        assert CANARY not in text
        assert "93731" not in text


# --- examples ---------------------------------------------------------------------------------

SENDINGS = [(mt, role) for module in Module for mt in message_types(module)
            for role in sorted(mt.senders)]


@pytest.mark.parametrize(("mt", "role"), SENDINGS,
                         ids=[f"{mt.module}:{mt.code}:{role}" for mt, role in SENDINGS])
@pytest.mark.parametrize("full", [False, True], ids=["minimal", "full"])
def test_every_example_body_validates(mt, role, full):
    body = example_body(mt, full=full, sender_role=role)
    normalised = validate_body(mt, body, role)
    assert validate_body(mt, normalised, role) == normalised  # normalising is idempotent
    assert json.loads(json.dumps(normalised)) == normalised  # JSON-ready


@pytest.mark.parametrize(("mt", "role"), SENDINGS,
                         ids=[f"{mt.module}:{mt.code}:{role}" for mt, role in SENDINGS])
def test_plain_example_body_lacks_only_role_attachments(mt, role):
    body = example_body(mt)
    if role in dict(mt.required_by_role):
        with pytest.raises(SchemaInvalid, match="you must attach"):
            validate_body(mt, body, role)
    else:
        validate_body(mt, body, role)


def test_example_text_is_cut_to_the_field_length():
    body = example_body(BETAALVOORSTEL, full=True, text="y" * 5000)
    assert body["Motivatie"] == "y" * 4000
    assert body["KlantnummerSHV"] == "y" * 50
    validate_body(BETAALVOORSTEL, body, Role.SHV_FASE2)


# -- edges found in review ----------------------------------------------------------------

def _betaalvoorstel(**changes):

    mt = lookup(Module.SCHULDREGELING, "Betaalvoorstel")
    return mt, {**example_body(mt), **changes}


@pytest.mark.parametrize("zero", ["-0", "-0.00", "0"])
def test_negative_zero_is_plain_zero(zero):

    mt, body = _betaalvoorstel(TotaalPreferenteSchuld=zero)
    assert validate_body(mt, body, Role.SHV_FASE2)["TotaalPreferenteSchuld"] == "0.00"


@pytest.mark.parametrize("empty", [[], ()])
def test_an_empty_required_list_is_missing(empty):

    mt, body = _betaalvoorstel(Vorderingen=empty)
    with pytest.raises(SchemaInvalid, match="Vorderingen is required"):
        validate_body(mt, body, Role.SHV_FASE2)


@pytest.mark.parametrize("day", ["20260115", "2026-W03-4", 20260115, "2026-1-15"])
def test_dates_are_yyyy_mm_dd_only(day):

    mt = lookup(Module.SCHULDREGELING, "Kennisgeving")
    with pytest.raises(SchemaInvalid, match="DatumAanmelding"):
        validate_body(mt, {**example_body(mt), "DatumAanmelding": day}, Role.SHV_FASE2)


def test_integers_have_an_upper_bound():

    mt, body = _betaalvoorstel(LooptijdMaanden=10**50)
    with pytest.raises(SchemaInvalid, match="LooptijdMaanden"):
        validate_body(mt, body, Role.SHV_FASE2)


def test_document_text_is_kept_as_given():
    text = base64.b64encode(PDF * 1000).decode()
    assert accepted(MELDING_START, "Beschikking", text) is text  # no second copy


@pytest.mark.parametrize(("text", "canonical"), [("QR==", "QQ=="), ("QUJ=", "QUI="),
                                                 ("QUJD", "QUJD")])
def test_document_text_with_stray_bits_is_made_canonical(text, canonical):
    assert accepted(MELDING_START, "Beschikking", text) == canonical


def test_problems_names_every_error_at_once_with_its_path():
    mt = ANTWOORD
    found = problems(mt, {"Matching": "NIET_GEMATCHT", "Vorderingen": [
        {"Openstaand": "1.234"}, {"FactuurnummerSE": "X" * 51, "Openstaand": "1"}]},
        Role.SE)
    assert [(path, str(error).split(": ", 1)[1]) for path, error in found] == [
        ("Datum", "field Datum is required"),
        ("Vorderingen[0]/Openstaand", "field Vorderingen[0]/Openstaand must have at most 2 "
                                      "decimals"),
        ("Vorderingen[1]/FactuurnummerSE", "field Vorderingen[1]/FactuurnummerSE is longer "
                                           "than 50 characters"),
    ]
    # Once the fields are valid, the rules of the whole body: matching.
    found = problems(mt, {"Datum": "2026-01-15", "Matching": "NIET_GEMATCHT"}, Role.SE)
    assert [path for path, _ in found] == ["OngematchteSchulden"]
    valid = {"Datum": "2026-01-15", "Matching": "NIET_GEMATCHT", "OngematchteSchulden": {
        "Totaalvordering": {"Referentie": "T", "Bedrag": "1"}}}
    assert problems(mt, valid, Role.SE) == []


def test_problems_of_a_choice_name_the_option_field():
    mt = ANTWOORD
    found = problems(mt, {"Datum": "2026-01-15", "Matching": "NIET_GEMATCHT",
                          "OngematchteSchulden": {"Totaalvordering": {"Referentie": "T"}}},
                     Role.SE)
    assert [path for path, _ in found] == ["OngematchteSchulden/Totaalvordering/Bedrag"]
    found = problems(mt, {"Datum": "2026-01-15", "Matching": "NIET_GEMATCHT",
                          "OngematchteSchulden": {}}, Role.SE)
    assert [path for path, _ in found] == ["OngematchteSchulden"]
