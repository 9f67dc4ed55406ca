"""Two `skp serve` processes on one PostgreSQL with e-mail notifications on, polling every
second, against a real and slow SMTP server with STARTTLS: each unit gets its mail exactly
once (the notifications' advisory lock)."""

from __future__ import annotations

import datetime as dt
import os
import time

import trustme

from skp import pki
from skp.clock import FrozenClock
from skp.config import Settings
from skp.domain.admission import Standing
from skp.domain.roles import ROLE_MODULES, Module, Role
from skp.hub import Hub
from skp.keystore import file as keyfile
from skp.store.db import migrate
from tests.functional.smtp import SmtpServer, write_ca
from tests.helpers import empty, send
from tests.system.serving import servers

UNITS = 3


def test_two_servers_send_each_notification_once(pg_url, pg_engine, tmp_path):
    migrate(pg_engine)
    kek = tmp_path / "kek.json"
    ring = keyfile.create_keyring_file(kek)
    pki.init_dev(tmp_path / "certs")
    ca = trustme.CA()
    smtp = SmtpServer(ca)
    smtp.delay = 0.6  # sending all takes longer than a poll: the other process's turn comes
    smtp.start()
    # Received two minutes ago: past the settling time of a notice's window.
    past = FrozenClock(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2))
    hub = Hub.build(Settings(), engine=pg_engine, keyring=ring, clock=past)
    shv = hub.participants.add(standing=Standing.ACTIVE, name="SHV", role=Role.SHV_FASE2,
                               modules=ROLE_MODULES[Role.SHV_FASE2])
    for n in range(UNITS):
        se = hub.participants.add(standing=Standing.ACTIVE,
                                  name=f"Energie BV, unit {n}", role=Role.SE,
                                  modules=ROLE_MODULES[Role.SE], kvk_nummer="90000002")
        hub.organisations.subscribe("90000002", "admin", se.id, f"unit{n}@energie.example", True)
        for _ in range(n + 1):
            send(hub.mailbox, shv, se, Module.SCHULDREGELING, "Kennisgeving")

    env = {**os.environ, "SKP_ENVIRONMENT": "production", "SKP_DATABASE_URL": pg_url,
           "SKP_KEK_FILE": str(kek), "SKP_TLS_CERT": str(tmp_path / "certs/server.pem"),
           "SKP_TLS_KEY": str(tmp_path / "certs/server.key"),
           "SKP_TLS_CLIENT_CA": str(tmp_path / "certs/ca.pem"),
           "SKP_SMTP_HOST": "127.0.0.1", "SKP_SMTP_PORT": str(smtp.port),
           "SKP_SMTP_CA": str(write_ca(ca, tmp_path / "smtp-ca.pem")),
           "SKP_NOTIFY_FROM": "noreply@skp.example", "SKP_NOTIFY_POLL": "1"}
    try:
        with servers(env, tmp_path) as logs:
            deadline = time.monotonic() + 60
            while len(smtp.mails()) < UNITS:
                assert time.monotonic() < deadline, f"{len(smtp.mails())} of {UNITS} mails came"
                time.sleep(0.2)
            time.sleep(3)  # several more rounds in both processes
    finally:
        smtp.stop()
    mails = smtp.mails()
    assert sorted(m.rcpt_tos[0] for m in mails) == [f"unit{n}@energie.example"
                                                    for n in range(UNITS)]
    for mail in mails:
        n = int(mail.rcpt_tos[0][4])
        assert f"- Kennisgeving (Schuldregeling): {n + 1}" in mail.text
    assert all(b"e-mail notifications go out through 127.0.0.1" in log.read_bytes()
               for log in logs)
    empty(pg_engine)  # leave the shared database empty
