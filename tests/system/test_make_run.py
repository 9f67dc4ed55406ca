"""`make run` on a fresh state: it sets everything up and serves; Ping answers over mTLS."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

from skp.demo import CAST

ROOT = Path(__file__).parents[2]
PING = (b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        b'<Ping xmlns="urn:skp:schuldregeling:2.0"><Tekst>rook</Tekst></Ping>'
        b"</soap:Body></soap:Envelope>")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_make_run_serves_ping_to_a_demo_participant(tmp_path):
    certs, port = tmp_path / "certs", free_port()
    env = {**os.environ, "SKP_DATABASE_URL": f"sqlite:///{tmp_path / 'skp.sqlite3'}",
           "SKP_KEK_FILE": str(tmp_path / "kek.json"), "SKP_BIND_PORT": str(port),
           "SKP_TLS_CERT": str(certs / "server.pem"), "SKP_TLS_KEY": str(certs / "server.key"),
           "SKP_TLS_CLIENT_CA": str(certs / "ca.pem"), "CERTS": str(certs)}
    process = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env=env,  # noqa: S607
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        output = _wait_for(process, b"skp serves", timeout=120)
        assert b"added" in output
        session = requests.Session()
        session.trust_env = False
        session.verify = str(certs / "ca.pem")
        session.cert = (str(certs / "shv.pem"), str(certs / "shv.key"))
        response = session.post(f"https://localhost:{port}/schuldregeling", data=PING,
                                headers={"Content-Type": "text/xml; charset=utf-8",
                                         "SOAPAction": '"Ping"'}, timeout=10)
        assert response.status_code == 200
        assert CAST[0].id.encode() in response.content
        assert b"rook" in response.content
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        process.stdout.close()


def _wait_for(process, marker, timeout):
    os.set_blocking(process.stdout.fileno(), False)
    seen, deadline = b"", time.monotonic() + timeout
    while marker not in seen:
        assert process.poll() is None, seen.decode(errors="replace")
        assert time.monotonic() < deadline, seen.decode(errors="replace")
        seen += process.stdout.read() or b""
        time.sleep(0.1)
    return seen
