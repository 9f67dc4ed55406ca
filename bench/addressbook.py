"""The address book with a national register: ZoekDeelnemers' search on SQLite and PostgreSQL.

Registers ``--participants`` participants (a tenth of them creditors with "Energie" in the
name, all with every module of their role) straight into a fresh database, then times the
address book's searches as the SOAP operation runs them: by a part of the name, by KvK number,
the first page of a whole module, and paging through a module's whole book.

    .venv/bin/python bench/addressbook.py                  # 20 000 participants
    .venv/bin/python bench/addressbook.py --smoke                              # a smoke run
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from harness import ms, out, postgres_schema, timed
from sqlalchemy import insert, text

from skp.addressbook import AddressBook, Search
from skp.domain.addressbook import folded
from skp.domain.roles import ROLE_MODULES, Module, Role
from skp.store.db import make_engine, make_sessions, migrate
from skp.store.models import Participant, ParticipantModule

ROLES = (Role.SE, Role.SE, Role.SE, Role.SE, Role.SE, Role.SE, Role.SHV_FASE1, Role.SHV_FASE2,
         Role.BEWINDVOERDER, Role.SHV_OVERIG)


def register(url: str, count: int) -> AddressBook:
    engine = make_engine(url)
    migrate(engine)
    now = dt.datetime.now(dt.UTC)
    people, modules = [], []
    for i in range(count):
        role = ROLES[i % len(ROLES)]
        name = f"{'Énergie' if i % 10 == 0 else 'Organisatie'} {i:06d} BV"
        key = str(uuid.UUID(int=i + 1))
        people.append({"id": key, "name": name, "search_name": folded(name), "role": role,
                       "kvk_nummer": f"{10_000_000 + i}", "vestigingsnummer": None,
                       "uses_bsn": i % 7 == 0, "extension_days": 0, "active": i % 50 != 0,
                       "standing": "active" if i % 50 else "deactivated", "created_at": now})
        modules += [{"participant_id": key, "module": m} for m in ROLE_MODULES[role]]
    with engine.begin() as conn:
        conn.execute(insert(Participant), people)
        conn.execute(insert(ParticipantModule), modules)
        conn.execute(text("ANALYZE"))  # as autovacuum would soon after such a load
    return AddressBook(make_sessions(engine))


def whole_book(book: AddressBook) -> int:
    return sum(1 for _ in book.every(Module.SCHULDREGELING))


def figures(name: str, book: AddressBook, count: int, repeat: int) -> None:
    searches: dict[str, Callable[[], object]] = {
        "name 'energie' (100)": lambda: book.search(Search(Module.SCHULDREGELING,
                                                           name="energie")),
        "KvK number": lambda: book.search(Search(Module.SCHULDREGELING,
                                                 kvk_nummer=f"{10_000_000 + count // 2}")),
        "first page of the module (100)": lambda: book.search(Search(Module.SCHULDREGELING)),
        "a page after an entry (500)": lambda: book.search(Search(
            Module.SCHULDREGELING, limit=500, after=str(uuid.UUID(int=count // 2 + 1)))),
    }
    for label, call in searches.items():
        times = timed(call, repeat)
        out(f"{name:<10} {label:<32} median {ms(statistics.median(times))}, "
            f"max {ms(max(times))} over {repeat}")
    started = time.perf_counter()
    entries = whole_book(book)
    out(f"{name:<10} {'whole schuldregeling book':<32} {entries} entries in "
        f"{ms(time.perf_counter() - started)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--only", default="sqlite,postgresql")
    parser.add_argument("--smoke", action="store_true", help="200 participants, 2 repeats")
    args = parser.parse_args()
    if args.smoke:
        args.participants, args.repeat = 200, 2
    only = args.only.split(",")
    out(f"participants: {args.participants}")
    if "sqlite" in only:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'book.sqlite3'}"
            figures("SQLite", register(url, args.participants), args.participants, args.repeat)
    if "postgresql" in only:
        with postgres_schema("skp_bench_addressbook") as url:
            figures("PostgreSQL", register(url, args.participants), args.participants,
                    args.repeat)


if __name__ == "__main__":
    main()
