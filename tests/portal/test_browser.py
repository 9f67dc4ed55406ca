"""The portal in a real browser (Debian's Chromium through Playwright) against the real portal
and a real OpenID Provider: an administrator sets up the organisation, an employee sees only
their unit, a login below EH3 is refused, an extension request is approved by the operator, an
address is subscribed to reminders only.
axe-core runs on every page; screenshots go to var/screenshots/."""

from __future__ import annotations

import re

from click.testing import CliRunner
from playwright.sync_api import expect

from skp.cli import cli
from tests.portal.browser import check, log_in, log_out
from tests.portal.conftest import NOORD, ZUID


def test_administrator_sets_up_and_an_employee_sees_only_their_unit(organisations, page):
    portal = organisations
    url = portal.url

    # Bram logs in first: he gives his name and is told whom to ask.
    log_in(page, url, "bram")
    expect(page.get_by_role("heading", name="Welkom bij het Schuldenknooppunt")).to_be_visible()
    check(page, "welkom")
    page.get_by_label("Uw naam").fill("Bram Jansen")
    page.get_by_role("button", name="Opslaan").click()
    expect(page.get_by_text("U bent nog niet aan een bedrijfseenheid gekoppeld")).to_be_visible()
    check(page, "overzicht-zonder-eenheden")
    log_out(page, url)
    check(page, "uitgelogd")

    # Anna logs in with the Beheer service and opens Mijn organisatie.
    log_in(page, url, "anna")
    page.get_by_label("Uw naam").fill("Anna de Vries")
    page.get_by_role("button", name="Opslaan").click()
    page.get_by_role("link", name="Mijn organisatie").first.click()
    expect(page.get_by_role("heading", name="Mijn organisatie", level=1)).to_be_visible()
    check(page, "mijn-organisatie")

    # Bewerken: a wrong IBAN gets a clear message, a right one is saved.
    page.get_by_role("link", name=f"Bewerken {NOORD.name}").click()
    page.get_by_label("IBAN", exact=True).fill("NL91 ABNA 0417 1643 01")
    page.get_by_label("Ten name van").fill("Energie BV")
    page.get_by_role("button", name="Opslaan").click()
    expect(page.get_by_role("alert")).to_contain_text("Dit is geen geldig IBAN")
    expect(page.get_by_label("IBAN", exact=True)).to_have_attribute("aria-invalid", "true")
    check(page, "eenheid-iban-fout")
    page.get_by_label("IBAN", exact=True).fill("NL91 ABNA 0417 1643 00")
    page.get_by_role("button", name="Opslaan").click()
    expect(page.get_by_role("status")).to_have_text("Het IBAN is opgeslagen.")
    expect(page.get_by_role("cell", name="NL91 ABNA 0417 1643 00", exact=True)).to_be_visible()
    check(page, "eenheid-bewerken")

    # Anna links Bram to unit Noord only.
    page.get_by_role("link", name="← Mijn organisatie").click()
    bram = page.get_by_role("group", name="Bram Jansen")
    bram.get_by_label(NOORD.name).check()
    page.get_by_role("button", name="Koppelingen opslaan voor Bram Jansen").click()
    expect(page.get_by_role("status")).to_contain_text("zijn opgeslagen")
    log_out(page, url)

    # Bram sees Noord, not Zuid, and cannot open Zuid.
    log_in(page, url, "bram")
    expect(page.get_by_role("link", name=NOORD.name)).to_be_visible()
    expect(page.get_by_text(ZUID.name)).to_have_count(0)
    check(page, "overzicht")
    page.get_by_role("link", name=NOORD.name).click()
    expect(page.get_by_role("heading", name=NOORD.name)).to_be_visible()
    check(page, "eenheid")
    answer = page.goto(f"{url}/eenheid/{ZUID.id}")
    assert answer.status == 404
    expect(page.get_by_text(ZUID.name)).to_have_count(0)
    check(page, "niet-gevonden")
    assert page.goto(f"{url}/organisatie/").status == 403
    check(page, "geen-toegang")


def test_a_login_below_eh3_is_refused(organisations, page):
    log_in(page, organisations.url, "laag")
    expect(page.get_by_role("alert")).to_contain_text("minimaal EH3")
    check(page, "inloggen-geweigerd")
    assert page.goto(f"{organisations.url}/").url.endswith("/inloggen")
    check(page, "inloggen")
    actions = [action for _, _, action, _ in organisations.hub.organisations.audit_trail()]
    assert "login.refused.assurance" in actions and "login" not in actions


def test_a_login_for_another_service_is_refused(organisations, page):
    log_in(page, organisations.url, "anders")
    expect(page.get_by_role("alert")).to_contain_text("niet voor het Schuldenknooppunt")


def test_an_extension_request_is_approved_by_the_operator(organisations, page, monkeypatch):
    portal = organisations
    log_in(page, portal.url, "anna")
    page.get_by_label("Uw naam").fill("Anna de Vries")
    page.get_by_role("button", name="Opslaan").click()
    page.goto(f"{portal.url}/organisatie/eenheid/{NOORD.id}")
    page.get_by_label("Verlengen afhandeltermijn").check()
    page.get_by_label("Verlenging").select_option("14")
    page.get_by_role("button", name="Aanvragen").click()
    expect(page.get_by_role("status")).to_contain_text("Uw aanvraag is verstuurd")
    expect(page.get_by_text(re.compile(r"14 dagen:\s+in behandeling"))).to_be_visible()
    check(page, "aanvraag")

    (request,) = portal.hub.organisations.requests(state="open")
    monkeypatch.setattr("skp.cli.State.hub", portal.hub)
    result = CliRunner().invoke(cli, ["requests", "approve", request.id])
    assert result.exit_code == 0, result.output
    assert portal.hub.participants.get(NOORD.id).extension_days == 14

    page.reload()
    expect(page.get_by_text(re.compile(r"14 dagen:\s+toegekend"))).to_be_visible()
    page.goto(f"{portal.url}/organisatie/")
    expect(page.get_by_role("cell", name="14 dagen").first).to_be_visible()


def test_the_pages_work_on_a_phone(organisations, browser):
    context = browser.new_context(ignore_https_errors=True, bypass_csp=True, locale="nl-NL",
                                  viewport={"width": 375, "height": 740}, is_mobile=True,
                                  has_touch=True)
    page = context.new_page()
    try:
        log_in(page, organisations.url, "anna")
        page.get_by_label("Uw naam").fill("Anna de Vries")
        page.get_by_role("button", name="Opslaan").click()
        page.get_by_role("link", name="Mijn organisatie").first.click()
        check(page, "telefoon-mijn-organisatie")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways
        page.get_by_role("link", name=f"Bewerken {NOORD.name}").click()
        check(page, "telefoon-eenheid-bewerken")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        context.close()


def test_an_administrator_subscribes_an_address_to_reminders_only(organisations, page):
    portal = organisations
    log_in(page, portal.url, "anna")
    page.get_by_label("Uw naam").fill("Anna de Vries")
    page.get_by_role("button", name="Opslaan").click()
    page.goto(f"{portal.url}/organisatie/eenheid/{NOORD.id}")
    meldingen = page.get_by_role("group", name="Welke meldingen?")
    expect(meldingen.get_by_label("Nieuwe berichten")).to_be_checked()  # both by default
    page.get_by_label("E-mailadres").fill("Herinneringen@Energie.example")
    meldingen.get_by_label("Nieuwe berichten").uncheck()
    meldingen.get_by_label("Herinneringen voordat berichten verlopen").uncheck()
    page.get_by_role("button", name="Adres toevoegen").click()
    expect(page.get_by_role("alert")).to_contain_text("Kies nieuwe berichten, herinneringen")
    check(page, "meldingen-fout")
    page.get_by_role("group", name="Welke meldingen?").get_by_label(
        "Herinneringen voordat berichten verlopen").check()
    page.get_by_role("button", name="Adres toevoegen").click()
    expect(page.get_by_role("status")).to_contain_text("de gekozen meldingen")
    expect(page.get_by_text("herinneringen@energie.example (herinneringen)")).to_be_visible()
    check(page, "meldingen")
    (subscription,) = portal.hub.organisations.subscriptions(NOORD.kvk_nummer, NOORD.id)
    assert (subscription.new_messages, subscription.reminders) == (False, True)
