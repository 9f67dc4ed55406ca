"""Sample integrator client (Python, zeep): one Kennisgeving from a debt service to a creditor.

    pip install zeep requests
    python client.py [HUB_URL] [CERTS_DIR]

HUB_URL defaults to $SKP_HUB_URL or https://localhost:8443; CERTS_DIR to $SKP_CERTS or the
repository's certs/ (the development PKI `make run` creates). It prints metadata only: ids,
types and states, never names or amounts. Exit code 0 when every step worked, 1 otherwise.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import sys
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import requests
import zeep
from zeep.proxy import ServiceProxy
from zeep.transports import Transport

HERE = Path(__file__).resolve().parent
WSDL = HERE.parents[1] / "wsdl" / "schuldregeling.wsdl"  # checked in; no need to fetch ?wsdl
NS = "urn:skp:schuldregeling:2.0"
BINDING = f"{{{NS}}}Schuldregeling"
CREDITOR = "Energie BV, unit Noord"  # a demo creditor of `make run`, found in the address book


def connect(hub: str, certs: Path, who: str) -> ServiceProxy:
    """The schuldregeling service, called with the client certificate of ``who``."""
    session = requests.Session()
    session.trust_env = False                 # trust only the hub's CA, not the environment's
    session.verify = str(certs / "ca.pem")
    session.cert = (str(certs / f"{who}.pem"), str(certs / f"{who}.key"))
    client = zeep.Client(str(WSDL), transport=Transport(session=session, timeout=30))
    return client.create_service(BINDING, f"{hub}/schuldregeling")  # the WSDL names :8443


def fout(fault: zeep.exceptions.Fault) -> dict[str, str]:
    """The detail of a hub fault, the WSDL's Fout element: Code (e.g. Client.NotFound, the
    faultcode without its prefix), Melding, RequestId and, if any, BerichtId."""
    element = fault.detail.find(f"{{{NS}}}Fout") if fault.detail is not None else None
    return {child.tag.rpartition("}")[2]: child.text for child in element or ()}


def expect(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"failed: {what}")


def main() -> None:
    args = sys.argv[1:]
    hub = (args[0] if args else os.environ.get("SKP_HUB_URL", "https://localhost:8443")).rstrip("/")
    certs = Path(args[1] if len(args) > 1 else os.environ.get("SKP_CERTS", HERE / "../../certs"))
    shv, creditor = connect(hub, certs, "shv"), connect(hub, certs, "energie-noord")

    # 1. Ping: the hub answers with the participant your certificate belongs to.
    ping = shv.Ping(Tekst="hallo")
    print(f"ping: DeelnemerId={ping.DeelnemerId} Rol={ping.Rol}")

    # 2. Find the creditor in the address book: its id, and whether it uses the BSN (then it
    #    gets a KennisgevingPubliek instead of a Kennisgeving).
    found = shv.ZoekDeelnemers(Naam="energie", Rol="SE")
    creditor_entry = next(d for d in found.Deelnemer if d.Naam == CREDITOR)
    expect(not creditor_entry.GebruiktBsn, "the creditor takes a Kennisgeving")
    print(f"found: DeelnemerId={creditor_entry.DeelnemerId} Rol={creditor_entry.Rol} "
          f"GebruiktBsn={str(creditor_entry.GebruiktBsn).lower()}")

    # 3. Send a Kennisgeving. The Kenmerk is your own idempotency key: sending again with the
    #    same Kenmerk returns the first receipt (Herhaald=true) and stores nothing new.
    kenmerk = f"SAMPLE-PY-{secrets.token_hex(6)}"
    today = dt.datetime.now(ZoneInfo("Europe/Amsterdam")).date()
    receipt = shv.VerstuurKennisgeving(
        Header={"Kenmerk": kenmerk, "Ontvanger": creditor_entry.DeelnemerId,
                "ConversatieReferentienummer": str(uuid.uuid4())},  # new case: new conversation
        Bericht={"KlantnummerSHV": "KL-0001", "DatumAanmelding": today,
                 "Klant": {"Achternaam": "Voorbeeld", "Geboortedatum": dt.date(1980, 1, 1)},
                 "Adreskeuze": {"Woonadres": {"Huisnummer": "1", "Postcode": "1234 AB",
                                              "Woonplaats": "Voorbeeld"}},
                 "Contactpersoon": {"Naam": "Team Schuldhulp"}})
    message_id = receipt.BerichtId
    print(f"sent: BerichtId={message_id} Kenmerk={kenmerk} Herhaald={str(receipt.Herhaald).lower()}"
          f" UiterlijkOphalenOp={receipt.UiterlijkOphalenOp.isoformat()}")

    # 4. As the creditor: list the mailbox (oldest first; page on with Na=Volgende).
    listing = creditor.Berichtenlijst(Berichttype="Kennisgeving", Maximum=500)
    mine = [m for m in listing.Bericht if m.BerichtId == message_id]
    expect(len(mine) == 1, f"message {message_id} is not in the creditor's mailbox")
    print(f"listed: BerichtId={message_id} Berichttype={mine[0].Berichttype} "
          f"Status={mine[0].Status} Achterstand={listing.Achterstand}")

    # 5. Fetch it: the content is in the element named after its type. Fetching is
    #    repeatable until you confirm, so store the content first, then confirm.
    fetched = creditor.HaalBerichtOp(BerichtId=message_id)
    expect(fetched.Kennisgeving is not None, "the fetched message has no Kennisgeving")
    meta = fetched.Metadata
    print(f"fetched: BerichtId={meta.BerichtId} Berichttype={meta.Berichttype} "
          f"Status={meta.Status} Afzender={meta.Afzender}")

    # 6. Confirm: the hub deletes the content now and keeps only the metadata.
    confirmed = creditor.BevestigOntvangst(BerichtId=message_id)
    expect(confirmed.Status == "confirmed", f"state after confirming is {confirmed.Status}")
    print(f"confirmed: BerichtId={confirmed.BerichtId} Status={confirmed.Status}")

    # 6. The content is gone now: fetching again is refused with a fault. Compare its Code;
    #    quote its RequestId to the hub's operator.
    try:
        creditor.HaalBerichtOp(BerichtId=message_id)
    except zeep.exceptions.Fault as fault:
        detail = fout(fault)
        expect(detail.get("Code") == "Client.InvalidState", f"the fault is {fault.code}")
        print(f"refused: Code={detail['Code']} RequestId={detail['RequestId']}")
    else:
        expect(False, "a fetch after the confirm was not refused")


if __name__ == "__main__":
    try:
        main()
    except zeep.exceptions.Fault as fault:  # a refusal: a stable code and a RequestId
        sys.exit(f"fault: {fault.code} {fault.message} (RequestId {fout(fault).get('RequestId')})")
    except (OSError, zeep.exceptions.Error) as exc:  # files, TLS, network (requests), XML
        sys.exit(f"error: {type(exc).__name__}: {exc}")
