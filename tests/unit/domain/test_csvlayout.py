"""The CSV layout, pure: columns from the catalogue, flatten and unflatten, Dutch numbers and
dates, the byte order mark, the formula guard, and docs/csv.md up to date."""

from __future__ import annotations

from pathlib import Path

import pytest

from skp.domain import csvdocs, csvlayout
from skp.domain.catalogue import CATALOGUE, lookup
from skp.domain.examples import example_body
from skp.domain.fields import Kind, amount, date, flag, integer, percentage, text
from skp.domain.roles import Module, Role
from skp.domain.validation import map_documents, validate_body

SR = Module.SCHULDREGELING
ANTWOORD = lookup(SR, "SaldoverzoekAntwoord")
ALL = [mt for types in CATALOGUE.values() for mt in types.values()]


def without_documents(mt, body):
    """``body`` without its document fields (they are not part of the CSV layout)."""
    documents = {f.name for f in mt.fields if f.kind is Kind.DOCUMENT}
    return {k: v for k, v in body.items() if k not in documents}


def test_columns_are_field_paths_with_numbered_slots():
    columns = csvlayout.template_columns(ANTWOORD)
    assert columns[:4] == ["Module", "Berichttype", "Kenmerk", "CrossReferentienummer"]
    assert "Ontvanger" not in columns  # a reply goes back to the sender of the original
    assert "Contactpersoon.Naam" in columns
    assert "Vorderingen.1.Openstaand" in columns
    assert f"Vorderingen.{csvlayout.SLOTS}.Openstaand" in columns
    assert f"Vorderingen.{csvlayout.SLOTS + 1}.Openstaand" not in columns
    assert "OngematchteSchulden.Totaalvordering.Bedrag" in columns
    assert "OngematchteSchulden.OpenstaandeSchulden.Schuld.3.Bedrag" in columns
    assert not any("AutomatischAangevuld" in c for c in columns)  # the hub's, not the sender's
    received = csvlayout.received_columns(ANTWOORD)
    assert "Vorderingen.1.AutomatischAangevuld" in received and "BerichtId" in received
    new = csvlayout.template_columns(lookup(SR, "Saldoverzoek"))
    assert new[2:5] == ["Kenmerk", "Ontvanger", "ConversatieReferentienummer"]
    assert not any("Toestemmingsverklaring" in c for c in new)  # documents are left out
    # a download says how many documents a message has, for a type that may carry them
    assert csvlayout.received_columns(lookup(SR, "Saldoverzoek"))[2:9] == [
        *csvlayout.RECEIVED_COLUMNS, "Bijlagen"]
    assert "Bijlagen" not in received and "Bijlagen" not in new
    optional_reply = csvlayout.template_columns(lookup(SR, "StatusberichtShv"))
    assert optional_reply[2:6] == ["Kenmerk", "Ontvanger", "ConversatieReferentienummer",
                                   "CrossReferentienummer"]


@pytest.mark.parametrize("mt", ALL, ids=lambda mt: f"{mt.module.value}-{mt.code}")
def test_every_full_example_flattens_and_unflattens_to_itself(mt):
    role = sorted(mt.senders)[0]
    body = validate_body(mt, example_body(mt, full=True, sender_role=role), role)
    body = without_documents(mt, map_documents(mt.fields, body, lambda v: v))
    cells = csvlayout.flatten(mt, body)
    assert set(cells) <= set(csvlayout.template_columns(mt))
    back = csvlayout.unflatten(mt, cells)
    assert back.errors == []
    assert back.body == body


def test_dutch_decimals_and_dates():
    assert csvlayout.format_value(amount("A"), "1234.50") == "1234,50"
    assert csvlayout.format_value(percentage("P"), "12.50") == "12,50"
    assert csvlayout.format_value(date("D"), "2026-01-15") == "15-01-2026"
    assert csvlayout.format_value(flag("F"), True) == "ja"
    for written in ("1234,50", "1.234,50", "1234.50", "€ 1234,50", "1234,5"):
        assert csvlayout.parse_value(amount("A"), written) in ("1234.50", "1234.5")
    for written in ("15-01-2026", "2026-01-15", "5-1-2026"):
        assert csvlayout.parse_value(date("D"), written) in ("2026-01-15", "2026-01-05")
    assert csvlayout.parse_value(flag("F"), "Nee") is False
    assert csvlayout.parse_value(integer("I"), "12") == 12
    for field, wrong in ((amount("A"), "12,34,5"), (amount("A"), "1,234.5"),
                         (amount("A"), "veel"), (date("D"), "31-02-2026"),
                         (date("D"), "15/01/2026"), (integer("I"), "1,5"),
                         (flag("F"), "misschien")):
        with pytest.raises(ValueError) as caught:
            csvlayout.parse_value(field, wrong)
        assert wrong not in str(caught.value)  # the reason never repeats the content


def test_a_file_has_a_bom_semicolons_and_crlf_and_reads_back():
    data = csvlayout.write(["A", "B"], [{"A": "x;y", "B": 'say "hi"\nthere'}, {"A": "z"}])
    assert data.startswith(b"\xef\xbb\xbfA;B\r\n")
    assert b'"x;y";"say ""hi""\nthere"\r\n' in data
    header, rows = csvlayout.read(data)
    assert header == ["A", "B"]
    assert [r.cells for r in rows] == [{"A": "x;y", "B": 'say "hi"\nthere'}, {"A": "z", "B": ""}]
    assert [r.line for r in rows] == [2, 4]  # the second record starts after the line break
    assert csvlayout.read("A;B\r\nè;x\r\n".encode("cp1252"))[1][0].cells["A"] == "è"
    assert csvlayout.read(b"A;;\r\n1;;\r\n")[1][0].cells["A"] == "1"  # empty columns


@pytest.mark.parametrize("value", ["=SUM(A1)", "+31", "-5", "@cmd", "\tx", "\rx", "'quoted",
                                   "''", "gewoon"])
def test_the_formula_guard_round_trips(value):
    data = csvlayout.write(["A"], [{"A": value}])
    cell = data.decode("utf-8-sig").split("\r\n")[1].strip('"')
    if value[0] in "=+-@\t\r'":
        assert cell.startswith("'")  # a spreadsheet shows it as text, never runs it
    _, rows = csvlayout.read(data)
    assert rows[0].cells["A"] == value


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "leeg"), (b"A,B\r\n1,2\r\n", "puntkomma"), (b"A;A\r\n", "twee keer"),
    (b"A;B\r\n\"x\"y;1\r\n", "geen geldige CSV"), (b"A\r\n1;2\r\n", "meer cellen"),
    (b"\xef\xbb\xbfA\r\n\xff\r\n", "UTF-8"),
])
def test_a_file_that_is_no_csv_is_refused_by_line(data, reason):
    with pytest.raises(csvlayout.CsvFileError, match=reason):
        csvlayout.read(data)


def test_unflatten_reports_each_bad_cell_and_skips_empty_slots():
    cells = {"Datum": "15-01-2026", "Matching": "NIET_GEMATCHT",
             "Vorderingen.2.Openstaand": "12,50", "Vorderingen.5.Openstaand": "3",
             "Vorderingen.3.Ontstaansdatum": "gisteren", "Vorderingen.1.Onbekend": "x",
             "Vorderingen.7.AutomatischAangevuld": "ja", "OngematchteSchulden": "x"}
    back = csvlayout.unflatten(ANTWOORD, cells)
    assert {e.column for e in back.errors} == {
        "Vorderingen.3.Ontstaansdatum", "Vorderingen.1.Onbekend",
        "Vorderingen.7.AutomatischAangevuld", "OngematchteSchulden"}
    assert back.body["Vorderingen"] == [{"Openstaand": "12.50"}, {"Openstaand": "3"}]
    assert back.column("Vorderingen[1]/Openstaand") == "Vorderingen.5.Openstaand"
    assert back.column("OngematchteSchulden/Totaalvordering/Bedrag") == (
        "OngematchteSchulden.Totaalvordering.Bedrag")


def test_a_download_has_as_many_slots_as_its_longest_message():
    body = {"Datum": "2026-01-15", "Matching": "GEMATCHT",
            "Vorderingen": [{"Openstaand": "1.00"}] * 12}
    slots = csvlayout.slots_needed(ANTWOORD, [body])
    assert slots == {"Vorderingen": 12}
    assert "Vorderingen.12.Openstaand" in csvlayout.received_columns(ANTWOORD, slots)


def test_types_that_always_need_a_document_cannot_be_uploaded():
    assert not csvlayout.sendable(lookup(Module.MELDINGEN_BEWINDVOERING, "MeldingStartBewind"))
    assert csvlayout.sendable(lookup(SR, "Saldoverzoek"))


def test_excel_column_letters():
    assert [csvlayout.excel_column(i) for i in (0, 25, 26, 27, 701, 702)] == [
        "A", "Z", "AA", "AB", "ZZ", "AAA"]


def test_docs_csv_md_is_generated_from_the_catalogue():
    doc = Path(__file__).parents[3] / "docs" / "csv.md"
    assert doc.read_text(encoding="utf-8") == csvdocs.markdown(), (
        "docs/csv.md is out of date: run `skp csv layout --markdown > docs/csv.md`")
    assert "`Vorderingen.N.Openstaand`" in doc.read_text(encoding="utf-8")


def test_text_is_kept_as_written():
    assert csvlayout.parse_value(text("T"), "  ruimte  ") == "  ruimte  "
    assert Role.SE in ANTWOORD.senders
