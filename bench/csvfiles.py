"""The portal's CSV upload and download on SQLite and PostgreSQL.

Uploads one file of ``--rows`` Kennisgevingen (the largest that fits in 4 MB is printed too)
through the CSV service: read and check every cell, then send all in one transaction
(Mailbox.send_many); then the same file again (every row a repeat: nothing sent); then
downloads ``--rows`` waiting Saldoverzoeken (list, fetch them, write the CSV) and confirms
them.

    .venv/bin/python bench/csvfiles.py                          # 2 000 rows, both databases
    .venv/bin/python bench/csvfiles.py --smoke                  # 20 rows: that it runs
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import tempfile
import time
import uuid
from collections.abc import Iterator

from harness import ms, out, postgres_schema

from skp.config import Settings
from skp.csvexchange import MAX_FILE_BYTES, CsvExchange
from skp.domain import csvlayout
from skp.domain.admission import Standing
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.organisation import Login
from skp.domain.roles import ROLE_MODULES, Module, Role
from skp.domain.validation import Header
from skp.hub import Hub
from skp.sealing import MemoryKeyRing
from skp.store.db import make_engine, migrate

SR = Module.SCHULDREGELING


def kennisgevingen(recipient: str, rows: int) -> bytes:
    mt = lookup(SR, "Kennisgeving")
    cells = csvlayout.flatten(mt, example_body(mt, full=True))
    return csvlayout.write(csvlayout.template_columns(mt), (
        {"Module": SR.value, "Berichttype": mt.code, "Ontvanger": recipient, **cells,
         "KlantnummerSHV": f"K-{n}"} for n in range(rows)))


def run(label: str, url: str, rows: int) -> None:
    engine = make_engine(url)
    migrate(engine)
    with contextlib.nullcontext():  # one block per database
        settings = Settings(database_url=url, send_rate=0, mailbox_limit=rows * 3)
        hub = Hub.build(settings, engine=engine, keyring=MemoryKeyRing.generate())
        add = functools.partial(hub.participants.add, standing=Standing.ACTIVE)
        shv = add(name="SHV", role=Role.SHV_FASE2, modules=ROLE_MODULES[Role.SHV_FASE2])
        se = add(name="SE", role=Role.SE, modules=ROLE_MODULES[Role.SE])
        service = CsvExchange(hub.sessions, hub.mailbox, hub.clock)
        data = kennisgevingen(se.id, rows)
        per_row = len(data) / rows
        out(f"{label}: file of {rows} Kennisgevingen {len(data) / 1e6:.2f} MB "
            f"({per_row:.0f} bytes a row; {int(MAX_FILE_BYTES // per_row)} rows fit in 4 MB)")
        with timed() as took:
            result = service.upload(shv, [("k.csv", data)])
        if result.problems or len(result.receipts) != rows:
            raise SystemExit(f"the upload was refused: {result.problems[:3]}")
        out(f"{label}: upload, sent all in one transaction   {ms(took[0])} "
            f"({ms(took[0] / rows)} a row)")
        with timed() as took:
            again = service.upload(shv, [("k.csv", data)])
        if again.repeated != rows:
            raise SystemExit("the repeated upload sent something")
        out(f"{label}: the same file again, nothing sent     {ms(took[0])}")

        mt = lookup(SR, "Saldoverzoek")
        for n in range(rows):
            hub.mailbox.send(shv.id, SR, mt.code, Header(f"SV-{n}", se.id, str(uuid.uuid4())),
                             example_body(mt, full=True, sender_role=Role.SHV_FASE2))
        employee = hub.organisations.sign_in(Login("90000002", "bench", None, False))
        with timed() as took:
            download = service.download(se, employee.id, SR, mt.code)
            if download is None:
                raise SystemExit("nothing to download")
            file = service.file(se, employee.id, download)
        out(f"{label}: download of {rows} Saldoverzoeken          {ms(took[0])} "
            f"({len(file.content) / 1e6:.2f} MB)")
        with timed() as took:
            confirmed = service.confirm(se, employee.id, download)
        if confirmed != rows:
            raise SystemExit(f"{confirmed} of {rows} confirmed")
        out(f"{label}: its confirm                             {ms(took[0])}")
    engine.dispose()


@contextlib.contextmanager
def timed() -> Iterator[list[float]]:
    took: list[float] = []
    start = time.perf_counter()
    yield took
    took.append(time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--smoke", action="store_true", help="20 rows")
    args = parser.parse_args()
    if args.smoke:
        args.rows = 20
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as directory:
            run("sqlite", f"sqlite:///{directory}/skp.sqlite3", args.rows)
    if args.only != "sqlite":
        with postgres_schema("csv") as url:
            run("postgresql", url, args.rows)


if __name__ == "__main__":
    main()
