"""The hub under attack: `skp serve` as a process of its own, so its memory can be read.

Its state (SQLite file, KEK, the development PKI with the demo participants registered) lives in
one folder; its log (development format, one line a record) goes to a file the suite reads.
Behind nginx (:func:`nginx_hub`) nginx's folder, with its error and access logs, lies in the
same folder. ``SKP_ATTACK_SOURCE`` may name another checkout of skp whose code the hub then runs
(say, an older one, for a before-and-after comparison); the suite's own code stays this one.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from skp import pki as dev_pki
from tests.edge.nginx import EDGE_SOURCE, running_edge, template_values
from tests.system.serving import SKP, free_port, make_run_env, stop, wait_for


@dataclass(frozen=True)
class Target:
    """Where the attacks go: the address clients connect to, the certificates they use, the
    process whose memory counts and the log that must stay clean; behind an edge, nginx's
    folder (its logs must stay clean too, its workers' memory is reported)."""

    name: str
    host: str
    port: int
    certs: Path
    pid: int
    log: Path
    edge: Path | None = None

    @property
    def ca(self) -> Path:
        return self.certs / "ca.pem"

    @property
    def logs(self) -> tuple[Path, ...]:
        """The hub's log, and nginx's error and access logs."""
        edge = () if self.edge is None else (self.edge / "error.log", self.edge / "access.log")
        return (self.log, *edge)

    def identity(self, slug: str) -> tuple[Path, Path]:
        """A demo participant's certificate and key."""
        return self.certs / f"{slug}.pem", self.certs / f"{slug}.key"

    def edge_workers(self) -> list[int]:
        """nginx's worker processes (the children of its master), or none."""
        if self.edge is None:
            return []
        master = (self.edge / "nginx.pid").read_text().strip()
        children = Path(f"/proc/{master}/task/{master}/children").read_text()
        return [int(pid) for pid in children.split()]


def status(pid: int) -> dict[str, int]:
    """Resident and peak resident memory of ``pid`` in kB."""
    text = Path(f"/proc/{pid}/status").read_text()
    return {key: int(re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)[1])  # type: ignore[index]
            for key in ("VmRSS", "VmHWM")}


def reset_peak(pid: int) -> None:
    """Start counting ``pid``'s peak memory from now (Linux >= 4.0)."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


@contextlib.contextmanager
def bare_hub(state: Path) -> Iterator[Target]:
    """The hub serving on 127.0.0.1 with its own TLS."""
    with _hub(state) as (process, port):
        yield Target("bare", "127.0.0.1", port, state / "certs", process.pid, state / "hub.log")


@contextlib.contextmanager
def nginx_hub(state: Path) -> Iterator[Target]:
    """nginx with deploy/nginx/ on 127.0.0.1, in front of the hub in trusted-proxy mode (as
    tests/edge/ runs it: the hub trusts nginx's source address, nginx checks the development
    CA's CRL and connects with the edge's certificate)."""
    certs = state / "certs"
    with _hub(state, SKP_TRUSTED_PROXIES=EDGE_SOURCE) as (process, port):
        proxy = dev_pki.issue_edge(certs)
        values = template_values(
            state / "edge", port=free_port(), hub_port=port,
            server=(certs / "server.pem", certs / "server.key"), ca=certs / "ca.pem",
            crl=dev_pki.write_crl(certs), proxy=(proxy.cert, proxy.key))
        # At notice, as the official image logs: at info nginx quotes refused header lines.
        with running_edge(state / "edge", values, level="notice") as edge:
            yield Target("nginx", "127.0.0.1", edge.port, certs, process.pid,
                         state / "hub.log", edge.directory)


@contextlib.contextmanager
def _hub(state: Path, **settings: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`skp serve` on 127.0.0.1 (its log in ``state``/hub.log) with ``settings`` (``SKP_*``)
    added, and the port it serves on."""
    port = free_port()
    env = {**make_run_env(state, port), "SKP_BIND_HOST": "127.0.0.1", **settings}
    source = os.environ.get("SKP_ATTACK_SOURCE")
    if source:
        env["PYTHONPATH"] = source
    certs = state / "certs"
    for command in (["migrate"], ["pki", "init-dev", "--dir", str(certs)],
                    ["participants", "add-demo", "--certs", str(certs)]):
        subprocess.run([SKP, *command], env=env, check=True,  # noqa: S603
                       capture_output=True, timeout=120)
    log = state / "hub.log"
    with log.open("wb") as out:
        process = subprocess.Popen([SKP, "serve"], env=env, stdout=out,  # noqa: S603
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(process, log, b"skp serves", timeout=60)
        yield process, port
    finally:
        stop(process)
