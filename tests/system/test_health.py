"""`skp health` answers 0 only for this machine's skp hub answering /healthz over TLS: not for
whatever else listens on the port."""

from __future__ import annotations

import contextlib
import os
import socket
import socketserver
import ssl
import subprocess
import threading
from collections.abc import Iterator

import pytest

from skp import pki
from tests.system.serving import SKP, make_run, make_run_env


def health(env: dict[str, str], expect: int) -> str:
    done = subprocess.run([SKP, "health"], env=env, capture_output=True, text=True,  # noqa: S603
                          timeout=60, check=False)
    assert done.returncode == expect, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return (done.stdout + done.stderr).strip()


@contextlib.contextmanager
def listener(answer: bytes, context: ssl.SSLContext | None = None) -> Iterator[int]:
    """A server on a free port that answers every connection with ``answer``: over TLS with
    ``context``, else over plain TCP."""

    class Answer(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            with contextlib.suppress(OSError):
                conn = self.request
                if context is not None:
                    conn = context.wrap_socket(conn, server_side=True)
                with conn:
                    conn.recv(4096)
                    conn.sendall(answer)

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Answer) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield server.server_address[1]
        finally:
            server.shutdown()


@pytest.fixture
def hub_env(tmp_path):
    """A migrated database, a KEK and a dev PKI, as `make run` would leave them."""
    env = make_run_env(tmp_path, 8443)
    subprocess.run([SKP, "migrate"], env=env, check=True, capture_output=True)  # noqa: S603
    pki.init_dev(tmp_path / "certs")
    return env


def test_a_plain_tcp_server_is_no_hub(hub_env):
    with listener(b"+PONG\r\n") as port:
        out = health({**hub_env, "SKP_BIND_PORT": str(port)}, expect=2)
    assert out.startswith(f"Error: no skp hub on 127.0.0.1:{port}: the TLS handshake failed")


def test_redis_is_no_hub(hub_env):
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 6379)) != 0:
            pytest.skip("no Redis on 127.0.0.1:6379")
    out = health({**hub_env, "SKP_BIND_PORT": "6379"}, expect=2)
    assert out.startswith("Error: no skp hub answers on 127.0.0.1:6379")  # it waits for more


def test_another_tls_server_is_not_this_hub(hub_env, tmp_path):
    other = tmp_path / "other"
    pki.init_dev(other)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(other / "server.pem", other / "server.key")
    with listener(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", context) as port:
        out = health({**hub_env, "SKP_BIND_PORT": str(port)}, expect=2)
    assert out == (f"Error: what listens on 127.0.0.1:{port} is not this hub: its certificate "
                   "is not the one in SKP_TLS_CERT")


def test_a_running_hub_is_healthy(tmp_path):
    with make_run(tmp_path) as hub:
        env = make_run_env(tmp_path, int(hub.url.rsplit(":", 1)[1]))
        assert health(env, expect=0) == "healthy"
        foreign = tmp_path / "foreign"
        pki.init_dev(foreign)
        issued = pki.issue_client(foreign, "monitor", "Monitor")
        out = health({**env, "SKP_HEALTH_CERT": str(issued.cert),
                      "SKP_HEALTH_KEY": str(issued.key)}, expect=2)
        assert "refused the client certificate" in out and "SKP_HEALTH_CERT" in out
    assert os.environ.get("SKP_HEALTH_CERT") is None
