"""E-mail notifications: how long a run takes to decide and to send, on SQLite and PostgreSQL.

Registers ``--units`` business units, each with one subscribed address, and ``--messages``
queued messages spread over them (straight into a fresh database), then times one run of the
notifier: the first, which decides and sends a mail for every unit to a local aiosmtpd over
STARTTLS, and a second within the interval, which finds nothing due (the cost every poll pays).

    .venv/bin/python bench/notifications.py                      # 1000 units, 20 000 messages
    .venv/bin/python bench/notifications.py --smoke   # 20 units, 200 messages: that it runs
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
import uuid
from pathlib import Path

import trustme
from harness import ms, out, postgres_schema
from sqlalchemy import insert, text

from skp.clock import FrozenClock
from skp.config import NotifySettings, Settings
from skp.domain.lifecycle import State
from skp.domain.roles import Module, Role
from skp.mail import SmtpTransport
from skp.notifications import Notifier
from skp.store.db import make_engine, make_sessions, migrate
from skp.store.models import Message, Participant
from skp.store.organisation import NotificationAddress

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.functional.smtp import SmtpServer

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
TYPES = ("Kennisgeving", "Saldoverzoek")


def load(url: str, units: int, messages: int) -> None:
    engine = make_engine(url)
    migrate(engine)
    sender = str(uuid.UUID(int=10**9))
    people = [{"id": sender, "name": "Gemeente", "search_name": "gemeente",
               "role": Role.SHV_FASE2, "active": True, "created_at": NOW, "uses_bsn": False,
               "extension_days": 0}]
    people += [{"id": str(uuid.UUID(int=i + 1)), "name": f"Unit {i:05d}",
                "search_name": f"unit {i:05d}", "role": Role.SE, "active": True,
                "created_at": NOW, "uses_bsn": False, "extension_days": 0}
               for i in range(units)]
    rows = [{"id": str(uuid.uuid4()), "module": Module.SCHULDREGELING,
             "type_code": TYPES[i % 2], "sender_id": sender,
             "recipient_id": str(uuid.UUID(int=i % units + 1)), "kenmerk": f"K{i}",
             "conversation_id": str(uuid.uuid4()), "version": "2.0", "state": State.QUEUED,
             "size": 10, "received_at": NOW - dt.timedelta(seconds=i % 3600),
             "deadline_at": NOW + dt.timedelta(days=4), "nonce": b"n", "ciphertext": b"c",
             "wrapped_key": b"k", "kek_id": "kek", "documents": 0} for i in range(messages)]
    with engine.begin() as conn:
        conn.execute(insert(Participant), people)
        conn.execute(insert(NotificationAddress), [
            {"participant_id": p["id"], "email": f"u{n}@example.nl", "new_messages": True,
             "reminders": True} for n, p in enumerate(people[1:])])
        for start in range(0, len(rows), 5000):
            conn.execute(insert(Message), rows[start:start + 5000])
        conn.execute(text("ANALYZE"))
    engine.dispose()


def figures(name: str, url: str, smtp: SmtpServer, ca: Path, units: int) -> None:
    engine = make_engine(url)
    settings = Settings(notify=NotifySettings(smtp_host="127.0.0.1", smtp_port=smtp.port,
                                              smtp_ca=ca, sender="noreply@example.nl"))
    clock = FrozenClock(NOW + dt.timedelta(minutes=1))
    notifier = Notifier(make_sessions(engine), settings, clock, SmtpTransport(settings.notify))
    before = len(smtp.mails())
    started = time.perf_counter()
    decided = notifier.decide(clock.now())
    decide_s = time.perf_counter() - started
    started = time.perf_counter()
    result = notifier.deliver(clock.now())
    deliver_s = time.perf_counter() - started
    if not decided == units == result.sent == len(smtp.mails()) - before:
        raise SystemExit(f"expected {units} mails, decided {decided}, sent {result.sent}")
    out(f"{name:<10} decide {decided} mails in {ms(decide_s)}; send them in {ms(deliver_s)} "
        f"({units / deliver_s:.0f} mails/s over one STARTTLS connection)")
    clock.advance(dt.timedelta(minutes=1))
    started = time.perf_counter()
    idle = notifier.run()
    if idle.decided or idle.sent:
        raise SystemExit(f"a run within the interval sent {idle.sent} mails")
    out(f"{name:<10} a run with nothing due: {ms(time.perf_counter() - started)}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--only", default="sqlite,postgresql")
    parser.add_argument("--smoke", action="store_true", help="20 units, 200 messages")
    args = parser.parse_args()
    if args.smoke:
        args.units, args.messages = 20, 200
    only = args.only.split(",")
    out(f"units: {args.units}, queued messages: {args.messages}")
    authority = trustme.CA()
    smtp = SmtpServer(authority)
    smtp.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            ca = Path(tmp) / "ca.pem"
            authority.cert_pem.write_to_path(ca)
            if "sqlite" in only:
                url = f"sqlite:///{Path(tmp) / 'notify.sqlite3'}"
                load(url, args.units, args.messages)
                figures("SQLite", url, smtp, ca, args.units)
            if "postgresql" in only:
                with postgres_schema("notifications") as url:
                    load(url, args.units, args.messages)
                    figures("PostgreSQL", url, smtp, ca, args.units)
    finally:
        smtp.stop()


if __name__ == "__main__":
    main()
