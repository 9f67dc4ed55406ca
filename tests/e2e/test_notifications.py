"""Messages sent over SOAP (mutual TLS, zeep) bring each recipient's subscribed address one mail
from a real SMTP server on 127.0.0.1 (STARTTLS), with the counts per type and the link, and
nothing of what the messages say: no names, no BSN, no amounts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from decimal import Decimal

import trustme

from skp.config import NotifySettings, PortalSettings
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import Module
from skp.mail import SmtpTransport
from skp.notifications import Notifier
from tests.e2e.conftest import header, zeep_body
from tests.functional.smtp import SmtpServer, write_ca

SR = Module.SCHULDREGELING
CANARY = "CANARY-e2e-9k"
AMOUNT = Decimal("4321.09")
#: What the messages hold: free text, the BSN and dates of the examples, the answer's amount.
SECRETS = (CANARY, "123456782", "2026-01-15", "1234 AB", "4321.09", "4321,09", "4.321,09",
           "TOT-REF-77")


def _counts(text: str) -> dict[str, int]:
    lines = [line[2:].rsplit(": ", 1) for line in text.splitlines() if line.startswith("- ")]
    return {title: int(n) for title, n in lines}


def test_soap_messages_bring_one_mail_each_without_their_content(connect, people, pki, hub,
                                                                 clock, tmp_path):
    ca = trustme.CA()
    smtp = SmtpServer(ca)
    smtp.start()
    try:
        settings = dataclasses.replace(
            hub.settings, portal=PortalSettings(public_url="https://portaal.skp.example"),
            notify=NotifySettings(smtp_host="127.0.0.1", smtp_port=smtp.port,
                                  smtp_ca=write_ca(ca, tmp_path / "ca.pem"),
                                  sender="noreply@skp.example"))
        notifier = Notifier(hub.sessions, settings, clock, SmtpTransport(settings.notify))
        for unit, kvk in ((people.se, "90000002"), (people.se_bsn, "90000003"),
                          (people.shv, "90000001")):
            hub.participants.update(unit.id, kvk_nummer=kvk)
            hub.organisations.subscribe(kvk, "admin", unit.id, f"{kvk}@example.nl", True)
        shv, se = connect(pki.people["shv"], SR), connect(pki.people["se"], SR)
        conversation = str(uuid.uuid4())
        sent = []
        for code, recipient in (("Saldoverzoek", people.se), ("Saldoverzoek", people.se),
                                ("Kennisgeving", people.se),
                                ("KennisgevingPubliek", people.se_bsn)):
            mt = lookup(SR, code)
            sent.append(example_body(mt, text=CANARY))
            receipt = getattr(shv, f"Verstuur{code}")(
                Header=header(recipient, conversation=conversation),
                Bericht=zeep_body(mt, sent[-1]))
        # The creditor fetches one Saldoverzoek (no longer new) and answers it with an amount.
        first = se.Berichtenlijst(Berichttype="Saldoverzoek").Bericht[0].BerichtId
        se.HaalBerichtOp(BerichtId=first)
        se.VerstuurSaldoverzoekAntwoord(
            Header=header(people.shv, conversation=conversation, cross=first),
            Bericht={"Datum": "2026-01-15", "Matching": "NIET_GEMATCHT",
                     "OngematchteSchulden": {"Totaalvordering": {"Referentie": "TOT-REF-77",
                                                                 "Bedrag": AMOUNT}}})
        assert receipt.BerichtId
        clock.advance(dt.timedelta(minutes=1))
        assert notifier.run().sent == 3
        clock.advance(dt.timedelta(minutes=1))
        assert notifier.run().sent == 0
    finally:
        smtp.stop()
    by_address = {mail.rcpt_tos: mail for mail in smtp.mails()}
    assert len(by_address) == len(smtp.mails()) == 3
    assert _counts(by_address[("90000002@example.nl",)].text) == {
        "Saldoverzoek (Schuldregeling)": 1, "Kennisgeving (Schuldregeling)": 1}
    assert _counts(by_address[("90000003@example.nl",)].text) == {
        "Kennisgeving Publiek (Schuldregeling)": 1}
    assert _counts(by_address[("90000001@example.nl",)].text) == {
        "Saldoverzoek antwoord (Schuldregeling)": 1}
    assert (f"https://portaal.skp.example/eenheid/{people.se.id}/berichten"
            in by_address[("90000002@example.nl",)].text)
    bodies = repr(sent)
    assert CANARY in bodies and "123456782" in bodies  # what must not leak, was sent
    for mail in smtp.mails():
        raw = mail.raw.decode("utf-8", "replace") + mail.text
        for secret in SECRETS:
            assert secret not in raw, secret
