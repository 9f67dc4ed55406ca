"""The production edge as the tests run it: Debian's nginx with deploy/nginx/, on 127.0.0.1.

The ``edge`` fixture (module scope) starts nginx in front of the running hub of the ``server``
fixture (tests/e2e/conftest.py) and yields an :class:`Edge`. To use it in another suite, import
it with the fixtures it needs::

    from tests.e2e.conftest import clock, hub, people, pki, server  # noqa: F401
    from tests.edge.nginx import edge  # noqa: F401

Then ``edge.url`` (``https://localhost:<port>``) takes the same clients as ``server`` does: a
participant's certificate of ``pki`` (``session_for(pki.people["shv"], pki.ca_file)``). nginx
checks it against ``pki.ca_file`` and a CRL that revokes ``pki.revoked``, and passes it to the
hub, which trusts nginx because nginx connects from ``EDGE_SOURCE`` with ``pki.edge``'s
certificate. ``edge.port`` is for raw requests (``tests.edge.wire.exchange``);
``edge.error_log()`` and ``edge.access_log()`` read nginx's logs. For an edge with other
values (another CRL, say), ``running_edge(directory, edge_values(pki, server, directory,
port=free_port()))`` after changing what is needed, as tests/edge/test_crl.py does; for a hub
with other certificates (the development PKI), ``template_values``, as tests/attack/ does.

The configuration is the one docker-compose.yml runs: ``deploy/nginx/templates/skp.conf.template``,
rendered as the official image's entrypoint renders it (``${SKP_*}`` from the environment),
inside a main ``nginx.conf`` that plays the image's own (pid, logs and temporary files in the
edge's folder; the error log at ``info`` unless ``running_edge`` is given another level).
Without nginx the tests are skipped, or fail when ``CI`` is set.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from skp import pki as dev_pki
from tests.system.serving import free_port

ROOT = Path(__file__).parents[2]
TEMPLATE = ROOT / "deploy" / "nginx" / "templates" / "skp.conf.template"
#: The address nginx connects to the hub from (proxy_bind): the hub's only trusted proxy.
EDGE_SOURCE = "127.0.0.2"
#: The name in the hub's test certificate, which nginx verifies.
HUB_NAME = "localhost"
VARIABLE = re.compile(r"\$\{(SKP_[A-Z_]+)\}")

MAIN_CONF = """\
{user}
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log {level};
events {{
    worker_connections 512;
}}
http {{
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    proxy_bind {source};
    include {dir}/skp.conf;
}}
"""


@dataclass(frozen=True)
class Edge:
    """A running nginx: its address and its folder (configuration, logs)."""

    url: str
    port: int
    directory: Path

    def error_log(self) -> str:
        return (self.directory / "error.log").read_text(errors="replace")

    def access_log(self) -> str:
        return (self.directory / "access.log").read_text(errors="replace")


def nginx_binary() -> str:
    """The nginx executable; skips the test without one, fails when ``CI`` is set."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found:
        return found
    reason = "nginx is not installed (apt-get install nginx)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason} and CI is set")
    pytest.skip(reason)


def render(template: str, values: Mapping[str, str]) -> str:
    """``template`` with every ``${SKP_*}`` replaced, as envsubst does in the official image;
    a variable without a value is an error here (envsubst would leave it, and nginx fail)."""
    missing = sorted(set(VARIABLE.findall(template)) - set(values))
    assert not missing, f"no value for {missing}"
    return VARIABLE.sub(lambda match: values[match.group(1)], template)


@contextlib.contextmanager
def running_edge(directory: Path, values: Mapping[str, str], *, level: str = "info",
                 timeout: float = 20) -> Iterator[Edge]:
    """nginx with the template rendered from ``values`` (``SKP_EDGE_PORT`` among them), until
    the block ends. Its error log has ``level``: ``info`` shows why a client certificate was
    refused, but also quotes request header lines; the official image logs at ``notice``."""
    binary = nginx_binary()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "skp.conf").write_text(render(TEMPLATE.read_text(), values))
    # As root, nginx's workers would run as nobody, who may not enter the test's folders.
    user = "user root;" if os.geteuid() == 0 else ""
    (directory / "nginx.conf").write_text(
        MAIN_CONF.format(user=user, dir=directory, level=level, source=EDGE_SOURCE))
    command = [binary, "-p", str(directory), "-c", str(directory / "nginx.conf"),
               "-e", str(directory / "error.log"), "-g", "daemon off;"]
    with (directory / "stderr.log").open("wb") as err:
        process = subprocess.Popen(command, stdout=err,  # noqa: S603  # our own arguments
                                   stderr=subprocess.STDOUT)
    port = int(values["SKP_EDGE_PORT"])
    try:
        _wait_until_listening(process, port, directory, timeout)
        yield Edge(f"https://localhost:{port}", port, directory)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_listening(process: subprocess.Popen[bytes], port: int, directory: Path,
                          timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            output = (directory / "stderr.log").read_text(errors="replace")
            pytest.fail(f"nginx exited with {process.returncode}: {output}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        assert time.monotonic() < deadline, "nginx did not start listening"
        time.sleep(0.05)


def edge_values(pki: type, hub_url: str, directory: Path, *, port: int) -> dict[str, str]:
    """The template's values for an edge in front of ``hub_url`` with the test PKI: the same
    server certificate and CA as the hub; a CRL that revokes ``pki.revoked``."""
    crl = directory / dev_pki.CRL
    crl.write_bytes(revocation_list(pki, [pki.revoked.pem]))
    return template_values(directory, port=port, hub_port=urlsplit(hub_url).port or 443,
                           server=(pki.server_cert, pki.server_key), ca=pki.ca_file, crl=crl,
                           proxy=(pki.edge.cert, pki.edge.key))


def template_values(directory: Path, *, port: int, hub_port: int, server: tuple[Path, Path],
                    ca: Path, crl: Path, proxy: tuple[Path, Path]) -> dict[str, str]:
    """The template's values for nginx on ``port`` in front of the hub on 127.0.0.1:``hub_port``:
    ``server`` (certificate, key) towards the clients, whose certificates ``ca`` issued and
    ``crl`` lists, ``proxy`` (certificate, key) towards the hub, whose certificate ``ca``
    issued too; the access log in ``directory``."""
    return {
        "SKP_EDGE_PORT": str(port),
        "SKP_EDGE_HUB": f"127.0.0.1:{hub_port}",
        "SKP_EDGE_HUB_NAME": HUB_NAME,
        "SKP_EDGE_CERT": str(server[0]),
        "SKP_EDGE_KEY": str(server[1]),
        "SKP_EDGE_CLIENT_CA": str(ca),
        "SKP_EDGE_CRL": str(crl),
        "SKP_EDGE_PROXY_CERT": str(proxy[0]),
        "SKP_EDGE_PROXY_KEY": str(proxy[1]),
        "SKP_EDGE_HUB_CA": str(ca),
        "SKP_EDGE_ACCESS_LOG": str(directory / "access.log"),
        "SKP_MAX_REQUEST_BYTES": "8388608",
    }


def revocation_list(pki: type, revoked: list[bytes]) -> bytes:
    """A current CRL of the test CA (``pki.authority``) listing the PEM certificates
    ``revoked``, made by the same code as the dev PKI's (skp.pki)."""
    return dev_pki.revocation_list(
        *signer(pki.authority), [x509.load_pem_x509_certificate(pem) for pem in revoked],
        now=dt.datetime.now(dt.UTC))


def signer(authority: trustme.CA) -> tuple[x509.Certificate, Any]:
    """A trustme CA as skp.pki.revocation_list takes it: its certificate and its key."""
    return (x509.load_pem_x509_certificate(authority.cert_pem.bytes()),
            serialization.load_pem_private_key(authority.private_key_pem.bytes(), None))


@pytest.fixture(scope="module")
def edge(server: str, pki: type, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    """nginx with deploy/nginx/ in front of the ``server`` hub (see the module docstring)."""
    directory = tmp_path_factory.mktemp("edge")
    values = edge_values(pki, server, directory, port=free_port())
    with running_edge(directory, values) as running:
        yield running
