"""The demo participants of a development hub, with fixed ids so examples can name them, and
the demo conversation between them: a newcomer's first five minutes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skp import pki
from skp.client import Client, Identity
from skp.domain.admission import Standing
from skp.domain.calendar import AMSTERDAM
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.organisation import Login
from skp.domain.roles import ROLE_MODULES, Module, Role
from skp.errors import NotFound
from skp.participants import Participants, fingerprint, load_certificate

_NAMESPACE = uuid.UUID("5b3f3c1e-8a0e-4d8e-9d7a-6b2c1f0e4a11")


@dataclass(frozen=True)
class DemoParticipant:
    slug: str
    name: str
    role: Role
    uses_bsn: bool = False
    kvk_nummer: str | None = None
    vestigingsnummer: str | None = None

    @property
    def id(self) -> str:
        return str(uuid.uuid5(_NAMESPACE, self.slug))


CAST = (
    DemoParticipant("shv", "Gemeente Voorbeeld, schuldhulpverlening", Role.SHV_FASE2,
                    kvk_nummer="90000001", vestigingsnummer="000090000001"),
    DemoParticipant("energie-noord", "Energie BV, unit Noord", Role.SE,
                    kvk_nummer="90000002", vestigingsnummer="000090000021"),
    DemoParticipant("energie-zuid", "Energie BV, unit Zuid", Role.SE,
                    kvk_nummer="90000002", vestigingsnummer="000090000022"),
    DemoParticipant("kredietbank", "Kredietbank Voorbeeld", Role.SHV_FASE2,
                    kvk_nummer="90000003"),
    DemoParticipant("waarborgfonds", "Waarborgfonds saneringskredieten", Role.WSK,
                    kvk_nummer="90000004"),
)


@dataclass(frozen=True)
class DevEmployee:
    """A demo organisation's employee for the portal's development login."""

    key: str
    name: str
    login: Login

    @property
    def label(self) -> str:
        role = "beheerder" if self.login.administrator else "medewerker"
        organisation = {"90000001": "Gemeente Voorbeeld", "90000002": "Energie BV",
                        "90000003": "Kredietbank Voorbeeld"}[self.login.kvk_nummer]
        return f"{self.name}, {role} bij {organisation}"


DEV_EMPLOYEES = (
    DevEmployee("energie-beheer", "Anna de Vries", Login("90000002", "dev-anna", None, True)),
    DevEmployee("energie-noord", "Bram Jansen", Login("90000002", "dev-bram", None, False)),
    DevEmployee("energie-zuid", "Chris Bakker", Login("90000002", "dev-chris", None, False)),
    DevEmployee("gemeente-beheer", "Dewi Visser", Login("90000001", "dev-dewi", None, True)),
    DevEmployee("gemeente", "Emre Smit", Login("90000001", "dev-emre", None, False)),
    DevEmployee("kredietbank-beheer", "Fleur Mulder", Login("90000003", "dev-fleur", None,
                                                            True)),
)


def add_cast(participants: Participants) -> None:
    """Register every demo participant, active, without certificates (tests, benchmarks)."""
    for demo in CAST:
        _register(participants, demo)


def _register(participants: Participants, demo: DemoParticipant) -> None:
    participants.add(name=demo.name, role=demo.role, modules=ROLE_MODULES[demo.role],
                     standing=Standing.ACTIVE, uses_bsn=demo.uses_bsn, participant_id=demo.id,
                     kvk_nummer=demo.kvk_nummer, vestigingsnummer=demo.vestigingsnummer)


def add_demo(participants: Participants, certs: Path) -> list[tuple[DemoParticipant, bool]]:
    """Register every demo participant and its dev certificate unless already there.

    Returns each participant with whether anything was added for it.
    """
    registered = {c.fingerprint for c in participants.certificates()}
    result = []
    for demo in CAST:
        added = False
        try:
            participants.get(demo.id)
        except NotFound:
            _register(participants, demo)
            added = True
        cert_file = certs / f"{demo.slug}.pem"
        issued = (pki.Issued(cert_file, certs / f"{demo.slug}.key") if cert_file.exists()
                  else pki.issue_client(certs, demo.slug, demo.name))
        if fingerprint(load_certificate(issued.pem)) not in registered:
            participants.add_certificate(demo.id, issued.pem)
            added = True
        result.append((demo, added))
    return result


def conversation(url: str, certs: Path, say: Callable[[str], None]) -> None:
    """A whole Schuldregeling conversation between the demo debt service and a demo creditor
    against the hub at ``url``, told step by step (metadata only)."""
    module = Module.SCHULDREGELING
    shv_demo, se_demo = CAST[0], CAST[1]
    shv, se = (Client(url, module, Identity(certs / f"{d.slug}.pem", certs / f"{d.slug}.key",
                                            certs / "ca.pem")) for d in (shv_demo, se_demo))
    conversation_id, tag = str(uuid.uuid4()), uuid.uuid4().hex[:8]

    def send(client: Client, code: str, body: dict[str, Any], to: DemoParticipant,
             cross: str | None = None) -> str:
        receipt = client.send(code, body, recipient=to.id, kenmerk=f"demo-{tag}-{code}",
                              conversation=conversation_id, cross_reference=cross)
        say(f"  sent {code} to {to.slug}: BerichtId {receipt['BerichtId']}, fetch before "
            f"{receipt['UiterlijkOphalenOp'].astimezone(AMSTERDAM):%Y-%m-%d %H:%M} "
            "(Amsterdam)")
        return str(receipt["BerichtId"])

    def receive(client: Client, who: DemoParticipant, code: str) -> tuple[dict[str, Any], Any]:
        listing = client.list_pending(code)
        message = next(m for m in listing["Bericht"] or []
                       if m["ConversatieReferentienummer"] == conversation_id)
        metadata, body = client.fetch(message["BerichtId"])
        client.confirm(message["BerichtId"])
        say(f"  {who.slug} fetched and confirmed {code} {metadata['BerichtId']} "
            f"(backlog was {listing['Achterstand']}); the hub deleted its content")
        return metadata, body

    say(f"1. Ping as {shv_demo.slug}: you are {shv.ping()['Naam']}")
    say(f"2. {shv_demo.slug} notifies creditor {se_demo.slug} and asks for the balance of "
        "two invoices")
    send(shv, "Kennisgeving", example_body(lookup(module, "Kennisgeving")), se_demo)
    request = example_body(lookup(module, "Saldoverzoek"))
    request["Vorderingen"] = [{"FactuurnummerSEVolgensSHV": f"F-{n}"} for n in (1, 2)]
    saldoverzoek = send(shv, "Saldoverzoek", request, se_demo)
    say(f"3. {se_demo.slug} works its mailbox")
    receive(se, se_demo, "Kennisgeving")
    receive(se, se_demo, "Saldoverzoek")
    say(f"4. {se_demo.slug} answers without matching: one total amount")
    answer = {"Datum": "2026-01-15", "Matching": "NIET_GEMATCHT",
              "OngematchteSchulden": {"Totaalvordering": {"Referentie": "TOTAAL",
                                                          "Bedrag": "100.00"}}}
    send(se, "SaldoverzoekAntwoord", answer, shv_demo, cross=saldoverzoek)
    _, reply = receive(shv, shv_demo, "SaldoverzoekAntwoord")
    zero = [v for v in reply.get("Vorderingen") or [] if v.get("AutomatischAangevuld")]
    say(f"  the hub added {len(zero)} zero-amount lines, one per invoice the SHV listed")
    say(f"5. {shv_demo.slug} proposes a payment plan; {se_demo.slug} agrees")
    voorstel = send(shv, "Betaalvoorstel", example_body(lookup(module, "Betaalvoorstel")),
                    se_demo)
    receive(se, se_demo, "Betaalvoorstel")
    send(se, "BetaalvoorstelAntwoord", {"Akkoord": True}, shv_demo, cross=voorstel)
    receive(shv, shv_demo, "BetaalvoorstelAntwoord")
    log = shv.logbook(ConversatieReferentienummer=conversation_id)
    say(f"6. the logbook of {shv_demo.slug} holds {len(log)} messages of this conversation: "
        + ", ".join(f"{m['Berichttype']} ({m['Status']})" for m in reversed(log)))
