"""What the database layer costs per call of the mailbox cycle, on both databases.

Run: ``.venv/bin/python bench/statements.py [--calls 2000] [--rounds 7]`` (about a minute;
needs PostgreSQL on 127.0.0.1; ``--smoke``: a few calls, that it runs). In this process, one
thread, no server: each call as a request makes it, inside `one_connection`, on an empty
mailbox: `statements` and `transaction` around ``SELECT 1`` (what skp.store.session adds to a
statement), a listing (`list_pending`, one statement) and a first fetch of a message that is
not there (the fetch's ``UPDATE … RETURNING``, no row). Prints the CPU time per call
(``time.process_time``), the median and the least of the rounds; the least is the steadier
on a shared machine. It uses only what skp has had since before 2 December, so an earlier
tree can be measured the same way: ``PYTHONPATH=<that tree> .venv/bin/python
bench/statements.py`` (docs/performance.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from harness import bench_settings, build_hub, cpu_per_call, make_pki, out, postgres_schema
from sqlalchemy import text

import skp
from skp.domain.roles import Module, Role
from skp.hub import Hub
from skp.mailbox import statements as mailbox_statements
from skp.store.session import one_connection, statements, transaction


def parts(hub: Hub, recipient: str) -> dict[str, Callable[[], object]]:
    """Each call, as a request makes it."""
    sessions, absent = hub.sessions, str(uuid.uuid4())
    now = dt.datetime.now(dt.UTC)

    def requested(call: Callable[[], object]) -> Callable[[], object]:
        def request() -> object:
            with one_connection(hub.engine):
                return call()
        return request

    def in_statements() -> object:
        with statements(sessions) as connection:
            return connection.execute(text("SELECT 1")).scalar()

    def in_transaction() -> object:
        with transaction(sessions, read_only=True) as session:
            return session.execute(text("SELECT 1")).scalar()

    def first_fetch() -> object:
        with statements(sessions, read_only=False) as connection:
            return mailbox_statements.advance(connection, mailbox_statements.FETCH, recipient,
                                              absent, now)

    return {
        "statements() + SELECT 1": requested(in_statements),
        "transaction() + SELECT 1": requested(in_transaction),
        "listing, empty mailbox (list_pending)": requested(
            lambda: hub.mailbox.list_pending(recipient, Module.SCHULDREGELING)),
        "first fetch, no such message (UPDATE … RETURNING)": requested(first_fetch),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="20 calls, 1 round")
    args = parser.parse_args()
    if args.smoke:
        args.calls, args.rounds = 20, 1
    out(f"skp from {Path(skp.__file__).parent}; CPU per call, in this process (median / least "
        f"of {args.rounds} rounds of {args.calls}):")
    with tempfile.TemporaryDirectory() as name, postgres_schema("statements") as pg_url:
        directory = Path(name)
        pki = make_pki(directory / "pki", ["se"])  # the settings name its files
        for label, url in (("PostgreSQL", pg_url),
                           ("SQLite    ", f"sqlite:///{directory / 'hub.sqlite3'}")):
            hub = build_hub(bench_settings(url, directory, pki))
            recipient = hub.participants.add(name="SE", role=Role.SE).id
            for part, call in parts(hub, recipient).items():
                median, least = cpu_per_call(call, args.calls, args.rounds)
                out(f"{label} {part}: {median:.3f} / {least:.3f} ms")
            hub.engine.dispose()


if __name__ == "__main__":
    main()
