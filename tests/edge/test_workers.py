"""nginx (deploy/nginx/) in front of `skp serve --workers 2` on PostgreSQL on loopback: the
workers answer what nginx passes on, with the participant from nginx's header, also while a
SIGHUP replaces them."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from skp import pki as dev_pki
from tests.conftest import postgres_schema
from tests.edge.nginx import EDGE_SOURCE, running_edge, template_values
from tests.helpers import PING
from tests.system.serving import SKP, demo_hub, free_port, stop, wait_for


@pytest.fixture
def edge_and_hub(pg_url, tmp_path):
    """(edge URL, certs folder, the hub's supervisor process, its log)."""
    del pg_url  # fails or skips as every PostgreSQL test does
    port = free_port()
    with postgres_schema("skp_edge_workers") as url:
        env, certs = demo_hub(
            tmp_path, url, SKP_BIND_HOST="127.0.0.1", SKP_BIND_PORT=str(port),
            SKP_PUBLIC_URL=f"https://localhost:{port}", SKP_TRUSTED_PROXIES=EDGE_SOURCE,
            SKP_WORKERS="2")
        log = tmp_path / "hub.log"
        with log.open("wb") as out:
            hub = subprocess.Popen([SKP, "serve"], env=env, stdout=out,  # noqa: S603
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            assert b"2 worker processes" in wait_for(hub, log, b"skp serves", timeout=120)
            proxy = dev_pki.issue_edge(certs)
            values = template_values(
                tmp_path / "edge", port=free_port(), hub_port=port,
                server=(certs / "server.pem", certs / "server.key"), ca=certs / "ca.pem",
                crl=dev_pki.write_crl(certs), proxy=(proxy.cert, proxy.key))
            with running_edge(tmp_path / "edge", values, level="notice") as edge:
                yield edge.url, certs, hub, log
        finally:
            stop(hub, timeout=60)


def ping(url: str, certs: Path) -> str:
    """A Ping as the demo debt service, on a connection of its own: its outcome."""
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(certs / "ca.pem")
        session.cert = (str(certs / "shv.pem"), str(certs / "shv.key"))
        try:
            answer = session.post(f"{url}/schuldregeling", data=PING, timeout=30, headers={
                "Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"Ping"'})
        except requests.RequestException as exc:
            return f"{type(exc).__name__}: {exc}"
    return "ok" if answer.status_code == 200 and b"PingResponse" in answer.content else (
        f"{answer.status_code}: {answer.content[:200]!r}")


def test_the_workers_serve_behind_the_edge_and_are_replaced_without_a_failure(edge_and_hub):
    url, certs, hub, log = edge_and_hub
    assert [ping(url, certs) for _ in range(10)] == ["ok"] * 10
    outcomes: list[str] = []
    done = threading.Event()

    def load() -> None:  # within the edge's rate limit per certificate (25 a second)
        while not done.is_set():
            outcomes.append(ping(url, certs))
            time.sleep(0.1)

    threads = [threading.Thread(target=load) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        hub.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 120
        while log.read_bytes().count(b"worker replaced") < 2:
            assert time.monotonic() < deadline, "the workers were not replaced"
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        done.set()
        for thread in threads:
            thread.join()
    assert len(outcomes) > 5
    assert set(outcomes) == {"ok"}, [o for o in outcomes if o != "ok"][:3]
