"""The portal's mailbox listing with a big backlog, on SQLite and PostgreSQL.

Puts ``--waiting`` messages (default 10 000; Saldoverzoeken and Kennisgevingen from the demo
debt service) into the mailbox of the demo creditor unit Noord, then times the portal's page
``/eenheid/<unit>/berichten`` through Flask's test client as a logged-in employee of that unit
(the whole request: session, access check, the mailbox's keyset listing, the address book's
sender names, rendering): the first page, the first page of one type, a page after the middle
message and the last page.

    .venv/bin/python bench/portal_mailbox.py
    .venv/bin/python bench/portal_mailbox.py --smoke   # 200 waiting: that it runs
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics
import tempfile
import uuid
from pathlib import Path

from flask.testing import FlaskClient
from harness import ms, out, postgres_schema, timed
from sqlalchemy import insert, select, text

from skp.config import PortalSettings, Settings
from skp.demo import CAST, add_cast
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import Module
from skp.domain.validation import Header
from skp.hub import Hub
from skp.portal import create_app
from skp.sealing import MemoryKeyRing
from skp.store.db import make_engine, migrate
from skp.store.models import Message

MODULE = Module.SCHULDREGELING
SHV, NOORD = CAST[0], CAST[1]
BASE = "https://localhost"


def fill(url: str, directory: Path, waiting: int) -> Hub:
    """A hub whose unit Noord has ``waiting`` messages waiting. Two are sent; the rest are
    copies of their rows with ids, Kenmerken and times of their own (the listing reads only
    metadata)."""
    engine = make_engine(url)
    migrate(engine)
    hub = Hub.build(Settings(portal=PortalSettings(secret_file=directory / "secret")),
                    engine=engine, keyring=MemoryKeyRing.generate())
    add_cast(hub.participants)
    for code in ("Saldoverzoek", "Kennisgeving"):
        hub.mailbox.send(SHV.id, MODULE, code, Header(f"bench-{code}", NOORD.id,
                                                      str(uuid.uuid4())),
                         example_body(lookup(MODULE, code)))
    with engine.begin() as conn:
        originals = [dict(row._mapping) for row in conn.execute(select(Message))]
        start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        rows = []
        for i in range(waiting - len(originals)):
            row = dict(originals[i % 5 == 0])  # a fifth are Kennisgevingen
            row.update(id=str(uuid.uuid4()), kenmerk=f"bench-{i}",
                       received_at=start + dt.timedelta(milliseconds=i))
            rows.append(row)
        for chunk in range(0, len(rows), 1000):
            conn.execute(insert(Message), rows[chunk:chunk + 1000])
        conn.execute(text("ANALYZE"))
    return hub


def employee(hub: Hub) -> FlaskClient:
    client = create_app(hub).test_client()
    page = client.get("/inloggen", base_url=BASE).get_data(as_text=True)
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    if token is None:
        raise SystemExit("the login page has no form")
    client.post("/inloggen/ontwikkeling", base_url=BASE,
                data={"csrf_token": token[1], "persona": "energie-noord"})
    with client.session_transaction() as session:
        me = session["user"]["employee"]
    hub.organisations.link(NOORD.kvk_nummer or "", "bench", me, NOORD.id, True)
    return client


def figures(name: str, hub: Hub, waiting: int, repeat: int) -> None:
    client = employee(hub)
    listing = f"/eenheid/{NOORD.id}/berichten?module={MODULE.value}"
    with hub.engine.connect() as conn:  # oldest first, as the listing
        ids = list(conn.scalars(select(Message.id).where(Message.type_code == "Saldoverzoek")
                                .order_by(Message.received_at, Message.id)))
    pages = {
        "first page, no module chosen": f"/eenheid/{NOORD.id}/berichten",
        "first page (50)": listing,
        "first page of Saldoverzoek": f"{listing}&type=Saldoverzoek",
        "page after the middle message": f"{listing}&na={ids[len(ids) // 2]}",
        "last page": f"{listing}&na={ids[-20]}",
        "a Saldoverzoek page after the middle": f"{listing}&type=Saldoverzoek"
                                                f"&na={ids[len(ids) // 2]}",
    }
    for label, path in pages.items():
        def get(path: str = path) -> None:
            answer = client.get(path, base_url=BASE)
            if answer.status_code != 200:
                raise SystemExit(f"{path}: {answer.status_code}")

        get()  # warm: templates compiled, statements cached
        times = timed(get, repeat)
        out(f"{name:<10} {label:<38} median {ms(statistics.median(times))}, "
            f"max {ms(max(times))} over {repeat} ({waiting} waiting)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiting", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--only", default="sqlite,postgresql")
    parser.add_argument("--smoke", action="store_true", help="200 waiting, 2 repeats")
    args = parser.parse_args()
    if args.smoke:
        args.waiting, args.repeat = 200, 2
    only = args.only.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        if "sqlite" in only:
            url = f"sqlite:///{Path(tmp) / 'portal.sqlite3'}"
            figures("SQLite", fill(url, Path(tmp), args.waiting), args.waiting, args.repeat)
        if "postgresql" in only:
            with postgres_schema("portal") as url:
                hub = fill(url, Path(tmp), args.waiting)
                figures("PostgreSQL", hub, args.waiting, args.repeat)
                hub.engine.dispose()


if __name__ == "__main__":
    main()
