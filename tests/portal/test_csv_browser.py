"""CSV in a real browser: the demo debt service sends two Saldoverzoeken over SOAP (mutual
TLS, skp.client); a creditor's employee downloads them as CSV, fills in the answers, uploads
them — once with a bad line (nothing is sent; the error is named by file, line and column),
once corrected (both answers reach the debt service over SOAP, with the hub's zero-amount
lines) — and confirms the download. An employee of another unit cannot download them."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from skp.domain import csvlayout
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.organisation import Login
from skp.domain.roles import Module
from tests.portal.browser import check, log_in, log_out
from tests.portal.conftest import ENERGIE, NOORD, SHV, ZUID

SR = Module.SCHULDREGELING


@pytest.fixture
def debt_service(soap_client):
    """The demo debt service's SOAP client."""
    return soap_client(SHV)


def employee(portal, acting: str, name: str, unit: str) -> None:
    """An employee of Energie BV, named and linked to ``unit`` by the administrator."""
    org = portal.hub.organisations
    info = org.sign_in(Login(ENERGIE, acting, None, False))
    org.name(ENERGIE, info.id, name)
    org.link(ENERGIE, "administrator", info.id, unit, True)


def download(page, link) -> bytes:
    with page.expect_download() as started:
        link.click()
    return Path(started.value.path()).read_bytes()


def filled(answer_file: bytes, *, bad_line: bool) -> bytes:
    """The answer file as an employee fills it in a spreadsheet: not matched, a total each."""
    header, rows = csvlayout.read(answer_file)
    out = []
    for n, row in enumerate(rows, 1):
        amount = "honderd" if bad_line and n == 2 else f"{n}50,25"
        out.append({**row.cells, "Datum": "15-01-2026", "Matching": "NIET_GEMATCHT",
                    "OngematchteSchulden.Totaalvordering.Referentie": f"TOTAAL-{n}",
                    "OngematchteSchulden.Totaalvordering.Bedrag": amount})
    return csvlayout.write(header, out)


def upload(page, name: str, data: bytes) -> None:
    page.get_by_label("CSV-bestanden").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": data})
    page.get_by_role("button", name="Versturen").click()


def test_a_creditor_answers_two_saldoverzoeken_by_csv(organisations, debt_service, page):
    portal = organisations
    employee(portal, "pseudo-bram", "Bram Jansen", NOORD.id)
    employee(portal, "pseudo-chris", "Chris Bakker", ZUID.id)
    conversation = str(uuid.uuid4())
    requests = []
    for n in (1, 2):
        body = example_body(lookup(SR, "Saldoverzoek"))
        body["Vorderingen"] = [{"FactuurnummerSEVolgensSHV": f"F-{n}-{i}"} for i in (1, 2)]
        if n == 1:
            body["Toestemmingsverklaring"] = b"%PDF-1.4\n" + bytes(range(256)) + b"\n%%EOF\n"
        requests.append(debt_service.send("Saldoverzoek", body, recipient=NOORD.id,
                                          kenmerk=f"SV-{uuid.uuid4().hex[:8]}",
                                          conversation=conversation)["BerichtId"])
        portal.clock.advance(dt.timedelta(seconds=1))

    log_in(page, portal.url, "bram")
    page.get_by_role("link", name=NOORD.name).click()
    page.get_by_role("link", name="CSV-bestanden downloaden en versturen").click()
    expect(page.get_by_role("heading", name="CSV-bestanden", level=1)).to_be_visible()
    expect(page.get_by_role("row", name=re.compile(r"Saldoverzoek\s+Schuldregeling\s+2"))
           ).to_be_visible()
    check(page, "csv")

    page.get_by_role("button", name="Downloaden Saldoverzoek (Schuldregeling)").click()
    expect(page.get_by_role("status")).to_contain_text("De download staat klaar")
    # The document of the first is not in the file: the page links to its message.
    note = page.get_by_role("note")
    expect(note).to_contain_text("1 bericht heeft bijlagen")
    expect(note.get_by_role("link")).to_have_attribute(
        "href", f"/eenheid/{NOORD.id}/berichten/{requests[0]}")
    check(page, "csv-download")
    file_link = page.get_by_role("link", name=re.compile("^Bestand downloaden Saldoverzoek"))
    downloaded = download(page, file_link)
    assert downloaded.startswith(b"\xef\xbb\xbf")
    _, rows = csvlayout.read(downloaded)
    assert {r.cells["BerichtId"]: r.cells["Bijlagen"] for r in rows} == {
        requests[0]: "1", requests[1]: "0"}
    answer_file = download(page, page.get_by_role(
        "link", name=re.compile("^Antwoordbestand Saldoverzoek antwoord voor Saldoverzoek")))

    # One bad line: nothing is sent, and the error names the file, the line and the column.
    upload(page, "antwoorden.csv", filled(answer_file, bad_line=True))
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Er is niets verstuurd")
    expect(alert).to_contain_text(
        re.compile(r"Bestand antwoorden\.csv, regel 3, kolom [A-Z]+ "
                   r"\(OngematchteSchulden\.Totaalvordering\.Bedrag\): moet een getal zijn"))
    expect(alert).not_to_contain_text("honderd")
    check(page, "csv-fout")
    assert debt_service.list_pending("SaldoverzoekAntwoord")["Achterstand"] == 0

    # Corrected: both answers arrive over SOAP, with the hub's zero-amount lines.
    upload(page, "antwoorden.csv", filled(answer_file, bad_line=False))
    expect(page.get_by_role("status")).to_have_text("2 berichten verstuurd.")
    listing = debt_service.list_pending("SaldoverzoekAntwoord")
    assert listing["Achterstand"] == 2
    for message in listing["Bericht"]:
        metadata, body = debt_service.fetch(message["BerichtId"])
        assert metadata["CrossReferentienummer"] in requests
        assert metadata["Afzender"] == NOORD.id
        assert body["OngematchteSchulden"]["Totaalvordering"]["Referentie"].startswith("TOTAAL")
        zero = [v for v in body["Vorderingen"] if v["AutomatischAangevuld"]]
        assert len(zero) == 2

    # Confirming the download confirms exactly its two messages.
    href = file_link.get_attribute("href")
    page.get_by_role("button", name=re.compile("^Download bevestigen Saldoverzoek")).click()
    expect(page.get_by_role("status")).to_have_text("De download is bevestigd: 2 berichten "
                                                    "bevestigd.")
    for request in requests:
        assert debt_service.status(request)["Status"] == "confirmed"
    expect(page.get_by_text("Er zijn geen downloads om te bevestigen.")).to_be_visible()
    log_out(page, portal.url)

    # Chris works for Zuid: Noord's CSV page and its download are not his to open.
    log_in(page, portal.url, "chris")
    assert page.goto(f"{portal.url}/eenheid/{NOORD.id}/csv/").status == 404
    assert page.goto(f"{portal.url}{href}").status == 404
    page.goto(f"{portal.url}/eenheid/{ZUID.id}/csv/")
    expect(page.get_by_text("Er wachten geen berichten.")).to_be_visible()
