"""kill -9 of a hub process during a load of sends on PostgreSQL, then a restart: every
message that got a receipt is still there and delivered exactly once; a client that retries
the sends it got no receipt for (same Kenmerk) gets one, and nothing is stored twice."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import threading
import time
import uuid
import warnings
from pathlib import Path

import pytest
from sqlalchemy import select

from skp import pki
from skp.client import Client, Identity, SkpFault
from skp.domain.admission import Standing
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import Module, Role
from skp.keystore import file as keyfile
from skp.participants import Participants
from skp.store.db import make_sessions, migrate
from skp.store.models import Message
from tests.helpers import empty
from tests.system.serving import SKP, free_port, stop, wait_for

SR = Module.SCHULDREGELING
WSDL = Path(__file__).parents[2] / "wsdl" / "schuldregeling.wsdl"


def start(env, log):
    with log.open("wb") as out:
        process = subprocess.Popen([SKP, "serve"], env=env, stdout=out,  # noqa: S603
                                   stderr=subprocess.STDOUT, start_new_session=True)
    wait_for(process, log, b"skp serves", timeout=60)
    return process


@pytest.mark.postgres
def test_kill_9_during_sends_loses_and_duplicates_nothing(pg_url, pg_engine, clock, tmp_path):
    migrate(pg_engine)
    certs = tmp_path / "certs"
    pki.init_dev(certs)
    participants = Participants(make_sessions(pg_engine), clock)
    people = {}
    for slug, role in (("shv", Role.SHV_FASE2), ("se", Role.SE)):
        people[slug] = participants.add(standing=Standing.ACTIVE,
                                        name=slug, role=role, modules=[SR])
        participants.add_certificate(people[slug].id, pki.issue_client(certs, slug, slug).pem)
    keyfile.create_keyring_file(tmp_path / "kek.json")
    port = free_port()
    env = {**os.environ, "SKP_DATABASE_URL": pg_url, "SKP_KEK_FILE": str(tmp_path / "kek.json"),
           "SKP_BIND_PORT": str(port), "SKP_TLS_CERT": str(certs / "server.pem"),
           "SKP_TLS_KEY": str(certs / "server.key"), "SKP_TLS_CLIENT_CA": str(certs / "ca.pem")}
    url = f"https://localhost:{port}"

    def client(slug):
        return Client(url, SR, Identity(certs / f"{slug}.pem", certs / f"{slug}.key",
                                        certs / "ca.pem"), wsdl=WSDL, timeout=10)

    body = example_body(lookup(SR, "Kennisgeving"))
    receipts: dict[str, str] = {}
    attempted: list[str] = []

    def send(sender, kenmerk):
        receipt = sender.send("Kennisgeving", body, recipient=people["se"].id, kenmerk=kenmerk,
                              conversation=str(uuid.uuid4()))
        receipts[kenmerk] = receipt["BerichtId"]

    def load(n):
        with client("shv") as sender:
            for i in range(10_000):
                kenmerk = f"CRASH-{n}-{i}"
                attempted.append(kenmerk)
                try:
                    send(sender, kenmerk)
                except Exception:  # the server died under us: this send has no receipt
                    return

    server = start(env, tmp_path / "serve-1.log")
    try:
        threads = [threading.Thread(target=load, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while len(receipts) < 40:
            assert time.monotonic() < deadline, "the load did not get going"
            time.sleep(0.05)
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        for thread in threads:
            thread.join(timeout=60)
        with warnings.catch_warnings():
            # A request the kill cut off can leave its socket, to the dead server, for the
            # garbage collector to close: collected here, not later in whatever test runs then.
            warnings.filterwarnings("ignore", "unclosed <ssl.SSLSocket", ResourceWarning)
            gc.collect()
        before = dict(receipts)

        server = start(env, tmp_path / "serve-2.log")
        retry = client("shv")
        for kenmerk in attempted:
            if kenmerk not in receipts:
                send(retry, kenmerk)  # the client retries what it got no receipt for
        assert all(receipts[k] == v for k, v in before.items())

        with pg_engine.connect() as conn:
            stored = dict(conn.execute(select(Message.kenmerk, Message.id)).all())
        assert stored == receipts, "a stored message without receipt, or a receipt without one"
        creditor, delivered = client("se"), set()
        while (page := creditor.list_pending())["Bericht"]:
            for message in page["Bericht"]:
                creditor.fetch(message["BerichtId"])
                creditor.confirm(message["BerichtId"])
                delivered.add(message["BerichtId"])
        assert delivered == set(receipts.values())
        with pytest.raises(SkpFault):  # confirmed means gone: no second delivery
            creditor.fetch(next(iter(delivered)))
    finally:
        stop(server)
        empty(pg_engine)
