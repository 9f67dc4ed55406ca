"""The mailbox pages in a real browser (Chromium through Playwright, the real OpenID Provider)
next to the real SOAP server over mutual TLS: the demo debt service sends a Saldoverzoek with
a document with the real SOAP client, a creditor's employee opens it in the portal, downloads
the document and answers it not matched with a total claim; the debt service's client fetches
the answer with the hub's zero-amount lines. An employee of another unit opens none of it. A
debt counsellor starts a Saldoverzoek in the portal and the creditor's client receives it.
axe-core runs on every new page."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import Module
from tests.portal.browser import check, log_in
from tests.portal.conftest import ENERGIE, GEMEENTE, NOORD, SHV, ZUID

MODULE = Module.SCHULDREGELING
DOCUMENT = b"%PDF-1.4\n" + bytes(range(256)) * 300 + b"\n%%EOF\n"


@pytest.fixture
def clients(soap_client):
    """A SOAP client each for the debt service and a creditor."""
    return {demo.slug: soap_client(demo) for demo in (SHV, NOORD)}


def named_and_linked(page, portal, who, name, kvk, unit):
    """Log in, give a name, and be linked to ``unit`` (as the administrator would)."""
    log_in(page, portal.url, who)
    page.get_by_label("Uw naam").fill(name)
    page.get_by_role("button", name="Opslaan").click()
    me = next(e for e in portal.hub.organisations.employees(kvk) if e.display_name == name)
    portal.hub.organisations.link(kvk, "test", me.id, unit, True)


def test_a_creditor_answers_a_saldoverzoek_sent_over_soap(organisations, clients, page,
                                                          browser):
    portal = organisations
    shv = clients["shv"]
    request = example_body(lookup(MODULE, "Saldoverzoek"))
    request["Vorderingen"] = [{"FactuurnummerSEVolgensSHV": f"F-{n}"} for n in (1, 2)]
    request["Toestemmingsverklaring"] = DOCUMENT
    conversation = str(uuid.uuid4())
    sent = shv.send("Saldoverzoek", request, recipient=NOORD.id, kenmerk="SV-browser-1",
                    conversation=conversation)

    named_and_linked(page, portal, "bram", "Bram Jansen", ENERGIE, NOORD.id)
    page.goto(f"{portal.url}/eenheid/{NOORD.id}")
    page.get_by_role("link", name=f"Berichten van {NOORD.name}").click()
    expect(page.get_by_role("heading", name=f"Berichten van {NOORD.name}")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Saldoverzoek")
    expect(row.get_by_role("cell", name=SHV.name)).to_be_visible()
    expect(row.get_by_role("cell", name="Nieuw")).to_be_visible()
    check(page, "berichten")

    row.get_by_role("link", name=re.compile("^Saldoverzoek")).click()
    expect(page.get_by_role("heading", name="Saldoverzoek", level=1)).to_be_visible()
    expect(page.get_by_role("cell", name="F-2", exact=True)).to_be_visible()
    check(page, "bericht")
    with page.expect_download() as download:
        page.get_by_role("link", name="Toestemmingsverklaring downloaden").click()
    assert download.value.suggested_filename == "Toestemmingsverklaring.pdf"
    assert download.value.path().read_bytes() == DOCUMENT
    message_url = page.url

    # The answer: first without its date (an error next to the field), then complete.
    page.get_by_role("link", name="Beantwoorden met Saldoverzoek antwoord", exact=True).click()
    expect(page.get_by_role("heading", name="Saldoverzoek antwoord versturen")).to_be_visible()
    check(page, "antwoord")
    page.get_by_label("Matching").select_option(label="Niet gematcht")
    unmatched = page.get_by_role("group", name="Ongematchte schulden")
    total = unmatched.get_by_role("group", name="Totaalvordering")
    loose = unmatched.get_by_role("group", name="Openstaande schulden")
    expect(total).to_be_hidden()  # with JavaScript, only the chosen option shows
    unmatched.get_by_role("radio", name="Totaalvordering").check()
    expect(total).to_be_visible()
    expect(loose).to_be_hidden()
    total.get_by_label("Referentie").fill("TOTAAL")
    total.get_by_label("Bedrag").fill("1.234,56")
    page.get_by_role("button", name="Versturen").click()
    expect(page.get_by_role("alert")).to_contain_text("Datum: Vul dit veld in.")
    expect(page.get_by_label("Datum", exact=True)).to_have_attribute("aria-invalid", "true")
    check(page, "antwoord-fout")
    page.get_by_label("Datum", exact=True).fill("2026-12-01")
    page.get_by_role("button", name="Versturen").click()
    expect(page.get_by_role("status")).to_contain_text("Het bericht Saldoverzoek antwoord is "
                                                        "verstuurd")

    listing = shv.list_pending("SaldoverzoekAntwoord")
    (answer,) = listing["Bericht"]
    assert answer["CrossReferentienummer"] == sent["BerichtId"]
    assert answer["ConversatieReferentienummer"] == conversation
    _, body = shv.fetch(answer["BerichtId"])
    assert body["Matching"] == "NIET_GEMATCHT"
    assert str(body["OngematchteSchulden"]["Totaalvordering"]["Bedrag"]) == "1234.56"
    zero = [(v["FactuurnummerSEVolgensSHV"], str(v["Openstaand"]))
            for v in body["Vorderingen"] if v["AutomatischAangevuld"]]
    assert zero == [("F-1", "0.00"), ("F-2", "0.00")]

    # Bram confirms the Saldoverzoek: the same call as BevestigOntvangst.
    page.goto(message_url)
    expect(page.get_by_role("cell", name="Saldoverzoek antwoord")).to_be_visible()
    page.get_by_role("button", name="Bevestigen").click()
    expect(page.get_by_role("status")).to_contain_text("is bevestigd")
    assert shv.status(sent["BerichtId"])["Status"] == "confirmed"
    assert "message.open" in [a for _, _, a, _ in portal.hub.organisations.audit_trail(ENERGIE)]

    # Chris works for unit Zuid: nothing of Noord's opens for him.
    other = browser.new_context(ignore_https_errors=True, bypass_csp=True, locale="nl-NL")
    try:
        chris = other.new_page()
        named_and_linked(chris, portal, "chris", "Chris Bakker", ENERGIE, ZUID.id)
        for path in (message_url, f"{message_url}/document/Toestemmingsverklaring",
                     f"{message_url}/antwoord/SaldoverzoekAntwoord",
                     f"{portal.url}/eenheid/{NOORD.id}/berichten",
                     message_url.replace(NOORD.id, ZUID.id)):
            assert chris.goto(path).status == 404, path
        expect(chris.get_by_text("Toestemmingsverklaring")).to_have_count(0)
        chris.goto(f"{portal.url}/eenheid/{ZUID.id}/berichten")
        expect(chris.get_by_text("Er wachten geen berichten")).to_be_visible()
    finally:
        other.close()


def test_a_debt_counsellor_starts_a_saldoverzoek_in_the_portal(organisations, clients, page):
    portal = organisations
    noord = clients["energie-noord"]
    named_and_linked(page, portal, "dewi", "Dewi Visser", GEMEENTE, SHV.id)
    page.goto(f"{portal.url}/eenheid/{SHV.id}")
    page.get_by_role("link", name="Nieuw bericht versturen").click()
    check(page, "nieuw-bericht")
    page.get_by_label("Berichttype").select_option(label="Saldoverzoek (Schuldregeling)")
    page.get_by_role("button", name="Verder").click()
    expect(page.get_by_role("heading", name="Saldoverzoek versturen")).to_be_visible()

    # Enter in a field sends the form (here: not yet valid), it does not remove a line.
    page.get_by_label("Klantnummer schuldhulpverlener", exact=True).press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Ontvanger: Kies een ontvanger.")
    expect(page.get_by_role("group", name="Vorderingen, regel 1")).to_be_visible()
    check(page, "nieuw-saldoverzoek-fout")
    page.get_by_label("Ontvanger").select_option(label=NOORD.name)
    page.get_by_label("Klantnummer schuldhulpverlener", exact=True).fill("KL-77")
    klant = page.get_by_role("group", name="Klant", exact=True)
    klant.get_by_label("Achternaam").fill("Jansen")
    klant.get_by_label("Geboortedatum").fill("1980-05-17")
    adres = page.get_by_role("group", name="Adres", exact=True)
    adres.get_by_label("Huisnummer").fill("12")
    adres.get_by_label("Postcode").fill("1234 AB")
    adres.get_by_label("Woonplaats").fill("Utrecht")
    page.get_by_role("group", name="Contactpersoon").get_by_label(
        "Naam", exact=True).fill("D. Visser")
    claims = page.get_by_role("group", name="Vorderingen", exact=True)
    claims.get_by_label("Factuurnummer volgens schuldhulpverlener").fill("F-9")
    claims.get_by_role("button", name="Regel toevoegen aan Vorderingen").click()
    claims = page.get_by_role("group", name="Vorderingen", exact=True)
    expect(claims.get_by_role("group", name="Vorderingen, regel 2")).to_be_visible()
    claims.get_by_role("group", name="Vorderingen, regel 2").get_by_label(
        "Factuurnummer volgens schuldhulpverlener").fill("F-10")
    expect(klant.get_by_label("Achternaam")).to_have_value("Jansen")  # kept over the re-render
    check(page, "nieuw-saldoverzoek")
    page.get_by_role("button", name="Versturen").dblclick()  # a double submit
    expect(page.get_by_role("status")).to_contain_text("Het bericht Saldoverzoek is")

    listing = noord.list_pending("Saldoverzoek")
    assert listing["Achterstand"] == 1
    metadata, body = noord.fetch(listing["Bericht"][0]["BerichtId"])
    assert metadata["Afzender"] == SHV.id
    assert body["KlantnummerSHV"] == "KL-77"
    assert body["Klant"]["Achternaam"] == "Jansen"
    assert [v["FactuurnummerSEVolgensSHV"] for v in body["Vorderingen"]] == ["F-9", "F-10"]
