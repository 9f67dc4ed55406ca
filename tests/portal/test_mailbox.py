"""The mailbox pages through Flask's test client over the real app, mailbox and database:
the listing, a message's page and documents, confirming, answering and new messages, and that
nobody outside the recipient unit opens any of it."""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid

from skp import partner as tp
from skp.clock import FrozenClock
from skp.config import PortalSettings, Settings
from skp.demo import add_cast
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.lifecycle import State
from skp.domain.roles import ROLE_MODULES, Module
from skp.domain.validation import Header
from skp.hub import Hub
from skp.partner import ensure_partners
from skp.portal import create_app
from tests.portal.conftest import (
    BASE,
    ENERGIE,
    GEMEENTE,
    NOORD,
    SHV,
    ZUID,
    employee,
    employee_id,
    token,
)

MODULE = Module.SCHULDREGELING
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40


def saldoverzoek(hub, *, document=PDF, claims=("F-1", "F-2"), to=NOORD.id):
    body = example_body(lookup(MODULE, "Saldoverzoek"))
    body["Vorderingen"] = [{"FactuurnummerSEVolgensSHV": c} for c in claims]
    body["Toestemmingsverklaring"] = document
    return hub.mailbox.send(SHV.id, MODULE, "Saldoverzoek", Header(
        f"K-{uuid.uuid4().hex[:12]}", to, str(uuid.uuid4())), body)


def answer_form(app, hub):
    """A new Saldoverzoek for Noord, and Noord's employee on its answer form: the receipt,
    his client, the form's path and its fields as shown."""
    receipt = saldoverzoek(hub)
    bram = employee(app, hub, "energie-noord", ENERGIE, NOORD.id)
    path = f"/eenheid/{NOORD.id}/berichten/{receipt.message_id}/antwoord/SaldoverzoekAntwoord"
    return receipt, bram, path, form_fields(bram.get(path, base_url=BASE).get_data(as_text=True))


def form_fields(html):
    """The form's fields and their values as a browser would post them (text inputs, the
    selected options, checked radios, hidden fields)."""
    data = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if not name or (kind and kind[1] in ("file", "submit")):
            continue
        if kind and kind[1] == "radio" and "checked" not in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        data[name[1]] = value[1] if value else ""
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html,
                                    re.S):
        chosen = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected',
                           options)
        data[name] = (chosen[1] or chosen[2]) if chosen else ""
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html,
                                 re.S):
        data[name] = text.strip()
    return data


def test_the_listing_shows_the_waiting_messages_with_their_sender(app, hub):
    receipt = saldoverzoek(hub)
    bram = employee(app, hub, "energie-noord", ENERGIE, NOORD.id)
    page = bram.get(f"/eenheid/{NOORD.id}/berichten", base_url=BASE)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"/eenheid/{NOORD.id}/berichten/{receipt.message_id}" in html
    assert "Gemeente Voorbeeld, schuldhulpverlening" in html  # the address book's name
    assert "Saldoverzoek" in html and "Nieuw" in html
    assert '<span class="badge">1 bijlage</span>' in html  # its Toestemmingsverklaring
    assert "Laatste werkdag" not in html
    assert f"/eenheid/{NOORD.id}/berichten" in bram.get(f"/eenheid/{NOORD.id}",
                                                        base_url=BASE).get_data(as_text=True)
    assert "Andere bedrijfseenheden" not in html
    # An employee of two units switches between their mailboxes.
    hub.organisations.link(ENERGIE, "test", employee_id(bram), ZUID.id, True)
    html = bram.get(f"/eenheid/{NOORD.id}/berichten", base_url=BASE).get_data(as_text=True)
    assert f'href="/eenheid/{ZUID.id}/berichten">{ZUID.name}</a>' in html
    html = bram.get(f"/eenheid/{ZUID.id}/berichten", base_url=BASE).get_data(as_text=True)
    assert receipt.message_id not in html and "Er wachten geen berichten" in html
    # On the last working day (Monday 7 December) the listing warns.
    hub.clock.set(dt.datetime(2026, 12, 7, 8, tzinfo=dt.UTC))
    bram = employee(app, hub, "energie-noord", ENERGIE)
    assert "Laatste werkdag" in bram.get(f"/eenheid/{NOORD.id}/berichten",
                                         base_url=BASE).get_data(as_text=True)


def test_the_listing_filters_by_type_and_pages_by_keyset(app, hub, monkeypatch):
    monkeypatch.setattr("skp.portal.mailbox.PAGE_SIZE", 2)
    ids = []
    for _ in range(3):
        ids.append(saldoverzoek(hub).message_id)
        hub.clock.advance(dt.timedelta(seconds=1))
    body = example_body(lookup(MODULE, "Kennisgeving"))
    hub.mailbox.send(SHV.id, MODULE, "Kennisgeving",
                     Header("K-kennisgeving", NOORD.id, str(uuid.uuid4())), body)
    bram = employee(app, hub, "energie-noord", ENERGIE, NOORD.id)
    first = bram.get(f"/eenheid/{NOORD.id}/berichten?module=schuldregeling&type=Saldoverzoek",
                     base_url=BASE).get_data(as_text=True)
    assert ids[0] in first and ids[1] in first and ids[2] not in first
    assert "Kennisgeving</a>" not in first
    assert "3 berichten wachten" in first
    after = re.search(r'href="([^"]*na=[^"]+)"', first)[1].replace("&amp;", "&")
    second = bram.get(after, base_url=BASE).get_data(as_text=True)
    assert ids[2] in second and ids[0] not in second
    assert bram.get(f"/eenheid/{NOORD.id}/berichten?na={uuid.uuid4()}",
                    base_url=BASE).status_code == 404


def test_the_message_page_shows_the_content_once_opened_and_audits_it(app, hub):
    receipt = saldoverzoek(hub)
    bram = employee(app, hub, "energie-noord", ENERGIE, NOORD.id)
    page = bram.get(f"/eenheid/{NOORD.id}/berichten/{receipt.message_id}", base_url=BASE)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Klantnummer schuldhulpverlener" in html  # a label from the catalogue's name
    assert "<th scope=\"col\">Factuurnummer volgens schuldhulpverlener</th>" in html
    assert "F-1" in html and "F-2" in html
    assert "Beantwoorden met Saldoverzoek antwoord" in html
    assert "Beantwoorden met Geen medewerking" in html
    assert hub.mailbox.message(receipt.message_id).state is State.FETCHED
    trail = hub.organisations.audit_trail(ENERGIE)
    assert (trail[0][1], trail[0][2], trail[0][3]) == (
        f"employee:{employee_id(bram)}", "message.open", receipt.message_id)

    download = bram.get(f"/eenheid/{NOORD.id}/berichten/{receipt.message_id}/document/"
                        "Toestemmingsverklaring", base_url=BASE)
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"] == (
        'attachment; filename="Toestemmingsverklaring.pdf"')
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Cache-Control"] == "no-store"
    assert bram.get(f"/eenheid/{NOORD.id}/berichten/{receipt.message_id}/document/Klant",
                    base_url=BASE).status_code == 404


def test_confirming_deletes_the_content(app, hub):
    receipt = saldoverzoek(hub)
    bram = employee(app, hub, "energie-noord", ENERGIE, NOORD.id)
    path = f"/eenheid/{NOORD.id}/berichten/{receipt.message_id}"
    bram.get(path, base_url=BASE)
    answer = bram.post(f"{path}/bevestigen", base_url=BASE,
                       data={"csrf_token": token(bram, path)})
    assert answer.status_code == 302
    assert hub.mailbox.message(receipt.message_id).state is State.CONFIRMED
    html = bram.get(path, base_url=BASE).get_data(as_text=True)
    assert "heeft de inhoud verwijderd" in html and "F-1" not in html
    assert "message.confirm" in [a for _, _, a, _ in hub.organisations.audit_trail(ENERGIE)]


def test_nobody_outside_the_recipient_unit_opens_anything(app, hub):
    receipt = saldoverzoek(hub)
    bram = employee(app, hub, "energie-noord", ENERGIE, NOORD.id)
    chris = employee(app, hub, "energie-zuid", ENERGIE, ZUID.id)  # another unit
    emre = employee(app, hub, "gemeente", GEMEENTE, SHV.id)  # the sender's own employee
    path = f"/eenheid/{NOORD.id}/berichten/{receipt.message_id}"
    for client in (chris, emre):
        for method, url in (("GET", f"/eenheid/{NOORD.id}/berichten"), ("GET", path),
                            ("GET", f"{path}/document/Toestemmingsverklaring"),
                            ("GET", f"{path}/antwoord/SaldoverzoekAntwoord"),
                            ("POST", f"{path}/bevestigen"),
                            ("POST", f"{path}/antwoord/SaldoverzoekAntwoord")):
            data = {"csrf_token": token(client, "/")} if method == "POST" else None
            assert client.open(url, method=method, data=data, base_url=BASE).status_code == 404
    # Nor through a unit of their own: the message is not in that unit's mailbox.
    own = f"/eenheid/{ZUID.id}/berichten/{receipt.message_id}"
    assert chris.get(own, base_url=BASE).status_code == 404
    assert hub.mailbox.message(receipt.message_id).state is State.QUEUED
    assert bram.get(f"/eenheid/{NOORD.id}/berichten/nonsense", base_url=BASE).status_code == 404


def test_an_answer_not_matched_with_a_total_claim_gets_the_zero_amount_lines(app, hub):
    receipt, bram, path, data = answer_form(app, hub)
    data.update({"Datum": "2026-12-01", "Matching": "NIET_GEMATCHT",
                 "OngematchteSchulden-keuze": "Totaalvordering",
                 "OngematchteSchulden-Totaalvordering-Referentie": "TOTAAL",
                 "OngematchteSchulden-Totaalvordering-Bedrag": "1.234,56"})
    answer = bram.post(path, base_url=BASE, data=data)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    (reply,) = hub.mailbox.list_pending(SHV.id, MODULE, type_code="SaldoverzoekAntwoord").items
    assert reply.cross_reference_id == receipt.message_id
    body = hub.mailbox.fetch(SHV.id, reply.id).body
    assert body["OngematchteSchulden"] == {"Totaalvordering": {"Referentie": "TOTAAL",
                                                               "Bedrag": "1234.56"}}
    assert body["Vorderingen"] == [
        {"FactuurnummerSEVolgensSHV": c, "Openstaand": "0.00", "AutomatischAangevuld": True}
        for c in ("F-1", "F-2")]
    # The debt service's employee sees the answer laid out, in euro notation.
    emre = employee(app, hub, "gemeente", GEMEENTE, SHV.id)
    html = emre.get(f"/eenheid/{SHV.id}/berichten/{reply.id}", base_url=BASE).get_data(
        as_text=True)
    assert "€ 1.234,56" in html and "Niet gematcht" in html
    assert "<th scope=\"col\">Aangevuld door het Schuldenknooppunt</th>" in html
    assert "€ 0,00" in html
    # The same form posted again sends nothing new.
    assert bram.post(path, base_url=BASE, data=data).status_code == 302
    assert hub.mailbox.list_pending(SHV.id, MODULE).backlog == 1


def test_validation_errors_are_shown_next_to_their_fields_and_nothing_is_sent(app, hub):
    _, bram, path, data = answer_form(app, hub)
    data.update({"Matching": "NIET_GEMATCHT", "Vorderingen-0-Openstaand": "12,345",
                 "Vorderingen-0-FactuurnummerSE": "X" * 51})
    answer = bram.post(path, base_url=BASE, data=data)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert 'role="alert"' in html and "<p>Het bericht is nog niet verstuurd.</p>" in html
    assert '<h2 id="fouten-titel">Er ging iets mis</h2>' in html
    assert re.search(r'id="Datum-error">.*Vul dit veld in\.', html)
    assert re.search(r'id="Vorderingen-0-Openstaand-error">.*hoogstens 2 decimalen', html)
    assert re.search(r'id="Vorderingen-0-FactuurnummerSE-error">.*hoogstens 50 tekens', html)
    assert 'href="#Datum"' in html and 'aria-invalid="true"' in html
    assert hub.mailbox.list_pending(SHV.id, MODULE).backlog == 0
    # Matched, yet with unmatched claims: the error is on the choice.
    data.update({"Datum": "01-12-2026", "Matching": "GEMATCHT",
                 "Vorderingen-0-Openstaand": "12,34", "Vorderingen-0-FactuurnummerSE": "F",
                 "OngematchteSchulden-keuze": "Totaalvordering",
                 "OngematchteSchulden-Totaalvordering-Referentie": "T",
                 "OngematchteSchulden-Totaalvordering-Bedrag": "1"})
    html = bram.post(path, base_url=BASE, data=data).get_data(as_text=True)
    assert "Bij een gematcht antwoord vult u geen ongematchte schulden in" in html
    assert hub.mailbox.list_pending(SHV.id, MODULE).backlog == 0


def test_lines_are_added_and_removed_without_javascript(app, hub):
    _, bram, path, data = answer_form(app, hub)
    data.update({"Vorderingen-0-FactuurnummerSE": "A", "regel": "bij:Vorderingen"})
    html = bram.post(path, base_url=BASE, data=data).get_data(as_text=True)
    assert 'name="Vorderingen-1-Openstaand"' in html and 'value="A"' in html
    assert 'role="alert"' not in html  # adding a line checks nothing yet
    data = form_fields(html)
    data.update({"Vorderingen-1-FactuurnummerSE": "B", "regel": "weg:Vorderingen-0"})
    html = bram.post(path, base_url=BASE, data=data).get_data(as_text=True)
    assert 'name="Vorderingen-0-Openstaand"' not in html and 'value="B"' in html
    assert bram.post(path, base_url=BASE, data={**data, "regel": "weg:Nergens-9"}
                     ).status_code == 400
    assert hub.mailbox.list_pending(SHV.id, MODULE).backlog == 0


def test_a_new_kennisgeving_goes_to_a_creditor_from_the_address_book_once(app, hub):
    emre = employee(app, hub, "gemeente", GEMEENTE, SHV.id)
    choose = emre.get(f"/eenheid/{SHV.id}/nieuw", base_url=BASE).get_data(as_text=True)
    assert 'value="schuldregeling/Kennisgeving"' in choose
    assert "SaldoverzoekAntwoord" not in choose  # a reply is not started from here
    path = f"/eenheid/{SHV.id}/nieuw?soort=schuldregeling/Kennisgeving"
    html = emre.get(path, base_url=BASE).get_data(as_text=True)
    assert NOORD.name in html and ZUID.name in html and SHV.name not in html.split(
        'id="ontvanger"')[1].split("</select>")[0]
    data = form_fields(html)
    data.update({"ontvanger": NOORD.id, "KlantnummerSHV": "KL-1", "DatumAanmelding": "2026-12-01",
                 "Klant-Achternaam": "Jansen", "Klant-Geboortedatum": "1980-05-17",
                 "Adreskeuze-keuze": "Woonadres", "Adreskeuze-Woonadres-Huisnummer": "1",
                 "Adreskeuze-Woonadres-Postcode": "1234 AB",
                 "Adreskeuze-Woonadres-Woonplaats": "Utrecht",
                 "Contactpersoon-Naam": "E. Smit"})
    first = emre.post(path, base_url=BASE, data=data)
    assert first.status_code == 302, first.get_data(as_text=True)
    assert emre.post(path, base_url=BASE, data=data).status_code == 302  # a double submit
    (message,) = hub.mailbox.list_pending(NOORD.id, MODULE).items
    assert (message.type_code, message.kenmerk) == ("Kennisgeving", data["kenmerk"])
    body = hub.mailbox.fetch(NOORD.id, message.id).body
    assert body["Klant"] == {"Achternaam": "Jansen", "Geboortedatum": "1980-05-17"}
    assert body["Adreskeuze"] == {"Woonadres": {"Huisnummer": "1", "Postcode": "1234 AB",
                                                "Woonplaats": "Utrecht"}}
    assert "message.send" in [a for _, _, a, _ in hub.organisations.audit_trail(GEMEENTE)]
    # The same form (its Kenmerk) to another recipient: refused in Dutch, nothing sent.
    data["ontvanger"] = ZUID.id
    refused = emre.post(path, base_url=BASE, data=data)
    assert refused.status_code == 200
    assert ("Dit formulier is al gebruikt voor een ander bericht. Open het formulier opnieuw. "
            "Er is niets verstuurd.") in refused.get_data(as_text=True)
    assert hub.mailbox.list_pending(ZUID.id, MODULE).backlog == 0


def test_a_new_message_needs_a_recipient_and_its_required_fields(app, hub):
    emre = employee(app, hub, "gemeente", GEMEENTE, SHV.id)
    path = f"/eenheid/{SHV.id}/nieuw?soort=schuldregeling/Saldoverzoek"
    data = form_fields(emre.get(path, base_url=BASE).get_data(as_text=True))
    html = emre.post(path, base_url=BASE, data=data).get_data(as_text=True)
    assert re.search(r'id="ontvanger-error">.*Kies een ontvanger\.', html)
    assert re.search(r'id="Klant-Achternaam-error">.*Vul dit veld in\.', html)
    assert re.search(r'id="Adres-Postcode-error">.*Vul dit veld in\.', html)
    data.update({"ontvanger": NOORD.id, "Adres-Postcode": "12345"})
    html = emre.post(path, base_url=BASE, data=data).get_data(as_text=True)
    assert "Kies een ontvanger" not in html
    assert re.search(r'id="Adres-Postcode-error">.*postcode in zoals 1234 AB', html)
    assert hub.mailbox.list_pending(NOORD.id, MODULE).backlog == 0


def test_the_recipient_is_searched_for_in_the_address_book(app, hub):
    emre = employee(app, hub, "gemeente", GEMEENTE, SHV.id)
    path = f"/eenheid/{SHV.id}/nieuw?soort=schuldregeling/Kennisgeving&zoek=zuid"
    html = emre.get(path, base_url=BASE).get_data(as_text=True)
    options = html.split('id="ontvanger"')[1].split("</select>")[0]
    assert ZUID.name in options and NOORD.name not in options
    # A recipient chosen before a narrower search still counts: the address book says so.
    data = {**form_fields(html), "ontvanger": NOORD.id}
    html = emre.post(path, base_url=BASE, data=data).get_data(as_text=True)
    assert "Kies een ontvanger" not in html and "Vul dit veld in." in html
    for wrong in (SHV.id, str(uuid.uuid4()), "nonsense"):  # itself, unknown, no id
        html = emre.post(path, base_url=BASE, data={**data, "ontvanger": wrong}).get_data(
            as_text=True)
        assert "Kies een ontvanger" in html


def test_a_unit_not_active_yet_finds_only_the_test_partners(engine, sessions, keyring,
                                                           tmp_path):
    settings = Settings(test_partner=True,
                        portal=PortalSettings(secret_file=tmp_path / "secret"))
    hub = Hub.build(settings, engine=engine, keyring=keyring,
                    clock=FrozenClock(dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)))
    add_cast(hub.participants)
    ensure_partners(hub.participants)
    newcomer = hub.participants.add(name="Gemeente Voorbeeld, nieuwe unit",
                                    role=SHV.role, modules=ROLE_MODULES[SHV.role],
                                    kvk_nummer=GEMEENTE)
    west = hub.participants.add(name="Energie BV, unit West", role=NOORD.role,
                                modules=ROLE_MODULES[NOORD.role], kvk_nummer=ENERGIE)
    app = create_app(hub)
    emre = employee(app, hub, "gemeente", GEMEENTE, newcomer.id, SHV.id)

    def options(unit):
        path = f"/eenheid/{unit}/nieuw?soort=schuldregeling/Kennisgeving"
        html = emre.get(path, base_url=BASE).get_data(as_text=True)
        return path, html, html.split('id="ontvanger"')[1].split("</select>")[0]

    path, html, found = options(newcomer.id)
    assert tp.SE.name in found and NOORD.name not in found and ZUID.name not in found
    html = emre.post(path, base_url=BASE, data={**form_fields(html), "ontvanger": NOORD.id}
                     ).get_data(as_text=True)
    assert "Kies een ontvanger" in html  # not one it may send to
    _, _, found = options(SHV.id)
    assert NOORD.name in found and ZUID.name in found and tp.SE.name in found
    assert west.name not in found  # a creditor not active yet is in no one's book


def test_a_new_saldoverzoek_carries_an_uploaded_document(app, hub):
    emre = employee(app, hub, "gemeente", GEMEENTE, SHV.id)
    path = f"/eenheid/{SHV.id}/nieuw?soort=schuldinventarisatie/Saldoverzoek"
    data = form_fields(emre.get(path, base_url=BASE).get_data(as_text=True))
    data.update({"ontvanger": NOORD.id, "KlantnummerSHV": "KL-2", "Klant-Achternaam": "Bos",
                 "Klant-Geboortedatum": "1970-01-02", "Adres-Huisnummer": "3",
                 "Adres-Postcode": "1234AB", "Adres-Woonplaats": "Zeist",
                 "Contactpersoon-Naam": "E. Smit", "Vorderingen-0-FactuurnummerSEVolgensSHV": "F-7",
                 "Toestemmingsverklaring": (io.BytesIO(PDF), "toestemming.pdf")})
    answer = emre.post(path, base_url=BASE, data=data, content_type="multipart/form-data")
    assert answer.status_code == 302, answer.get_data(as_text=True)
    (message,) = hub.mailbox.list_pending(NOORD.id, Module.SCHULDINVENTARISATIE).items
    body = hub.mailbox.fetch(NOORD.id, message.id).body
    assert body["Toestemmingsverklaring"].read() == PDF
    assert body["Vorderingen"] == [{"FactuurnummerSEVolgensSHV": "F-7"}]
