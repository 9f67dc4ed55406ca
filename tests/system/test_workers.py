"""`skp serve --workers 2` on PostgreSQL as real processes: a supervisor and its workers on one
listening socket. A worker that dies is started again while the others answer; SIGTERM lets a
request in flight finish; SIGHUP replaces the workers without a refused connection; /metrics
sums the workers' counts and shows the database's series once; SQLite refuses more than one."""

from __future__ import annotations

import os
import re
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import pytest
import requests

from skp.server import affinity
from tests.conftest import postgres_schema
from tests.edge.wire import ping_request
from tests.helpers import PING, wait_until
from tests.system.serving import SKP, cpus_of, demo_hub, free_port, stop, wait_for

LISTEN = re.compile(rb"listening on 127\.0\.0\.1:(\d+);")


@pytest.fixture(scope="module")
def state(pg_url, tmp_path_factory):
    """A migrated PostgreSQL schema with the demo participants, and the environment for it."""
    del pg_url  # fails or skips the module as every PostgreSQL test does
    directory = tmp_path_factory.mktemp("workers")
    with postgres_schema("skp_workers") as url:
        env, certs = demo_hub(
            directory, url, SKP_WORKERS="2", SKP_DRAIN_TIMEOUT="20",
            # The load below comes from one address faster than closed connections are
            # counted off: the limit per address is not what these tests are about.
            SKP_MAX_CONNECTIONS_PER_ADDRESS="100")
        yield env, certs


class Hub:
    """A running `skp serve`: the supervisor's process, its port and its output."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        with log.open("wb") as out:
            self.process = subprocess.Popen([SKP, "serve", "--port", "0"],  # noqa: S603
                                            env=env, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        self.log = log
        output = wait_for(self.process, log, b"skp serves", timeout=120)
        self.port = int(LISTEN.search(output).group(1))

    def workers(self) -> set[int]:
        pid = self.process.pid
        return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}

    def stop(self) -> None:
        stop(self.process, timeout=60)


@pytest.fixture
def hub(state, tmp_path):
    env, _ = state
    running = Hub(env, tmp_path / "serve.log")
    yield running
    running.stop()


def client(certs: Path, who: str = "server") -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(certs / "ca.pem")
    session.cert = (str(certs / f"{who}.pem"), str(certs / f"{who}.key"))
    return session


def healthz(certs: Path, port: int) -> int:
    """/healthz on a new connection each time: any worker may take it."""
    with client(certs) as session:
        return session.get(f"https://localhost:{port}/healthz", timeout=30,
                           headers={"Connection": "close"}).status_code


def test_a_worker_that_dies_is_started_again(state, hub):
    _, certs = state
    before = hub.workers()
    assert len(before) == 2
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    # The other worker answers at once; the supervisor starts a new one beside it.
    assert [healthz(certs, hub.port) for _ in range(10)] == [200] * 10
    wait_until(lambda: len(hub.workers() - {victim}) == 2, 60, "a new worker")
    assert [healthz(certs, hub.port) for _ in range(10)] == [200] * 10
    assert b"worker exited; starting another" in hub.log.read_bytes()


def listed(masks: Iterable[set[frozenset[int]]]) -> list[list[list[int]]]:
    """Processes' CPUs (:func:`cpus_of` of each) as sorted lists, to compare in any order."""
    return sorted(sorted(map(sorted, each)) for each in masks)


def test_each_worker_serves_on_a_cpu_of_its_own_and_its_successor_on_the_same(state, hub):
    _, certs = state
    allowed = affinity.allowed()
    if len(allowed) < 2:
        pytest.skip("one CPU: both workers are on it")
    cpus = {pid: cpus_of(pid) for pid in hub.workers()}
    assert listed(cpus.values()) == [[[allowed[0]]], [[allowed[1]]]]
    # The supervisor starts workers and runs the scheduled jobs: on every CPU, as before.
    assert cpus_of(hub.process.pid) == {frozenset(allowed)}
    assert b"2 worker processes, each kept on one CPU;" in hub.log.read_bytes()
    victim = min(cpus)
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: len(hub.workers() - {victim}) == 2, 60, "a new worker")
    assert healthz(certs, hub.port) == 200
    (successor,) = hub.workers() - set(cpus)
    # It takes its CPU as it starts, before it serves.
    wait_until(lambda: cpus_of(successor) == cpus[victim], 60, "the CPU of the one it replaced")


def test_sigterm_lets_a_request_in_flight_finish(state, hub):
    _, certs = state
    context = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    context.load_cert_chain(certs / "shv.pem", certs / "shv.key")
    request = ping_request(close=True)
    cut = len(request) - 20
    with socket.create_connection(("127.0.0.1", hub.port), timeout=30) as raw, \
            context.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(request[:cut])  # the head and most of the body: a worker is reading it
        time.sleep(1.0)
        hub.process.send_signal(signal.SIGTERM)
        time.sleep(1.5)
        # The sockets are closed: no new connection gets in while the request finishes.
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", hub.port), timeout=5).close()
        assert hub.process.poll() is None, "the supervisor did not wait for its workers"
        tls.sendall(request[cut:])
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    assert b"PingResponse" in answer
    assert hub.process.wait(timeout=60) == 0


def test_sighup_replaces_the_workers_without_refusing_a_connection(state, hub):
    _, certs = state
    before = hub.workers()
    statuses: list[int | str] = []
    done = threading.Event()

    def load() -> None:
        while not done.is_set():
            try:
                statuses.append(healthz(certs, hub.port))
            except requests.RequestException as exc:
                statuses.append(f"{time.time():.3f} {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=load) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        hub.process.send_signal(signal.SIGHUP)
        wait_until(lambda: hub.log.read_bytes().count(b"worker replaced") == 2, 120,
                   "both workers replaced")
        time.sleep(0.5)
    finally:
        done.set()
        for thread in threads:
            thread.join()
    after = hub.workers()
    assert len(after) == 2 and not after & before
    # The new workers took the slots, and so the CPUs, of the old ones.
    assert listed(cpus_of(pid) for pid in after) == sorted(
        [[affinity.cpu_for(slot, affinity.allowed())]] for slot in range(2))
    assert len(statuses) > 10
    assert set(statuses) == {200}, ([s for s in statuses if s != 200][:5],
                                    hub.log.read_text(errors="replace")[-20000:])


def test_metrics_sum_over_the_workers_and_survive_a_dead_one(state, hub):
    _, certs = state
    port = hub.port

    def scrape() -> str:
        with client(certs) as session:
            return session.get(f"https://localhost:{port}/metrics", timeout=30,
                               headers={"Connection": "close"}).text

    def count(text: str) -> float:
        (line,) = [line for line in text.splitlines() if line.startswith(
            'skp_request_duration_seconds_count{operation="healthz"}')]
        return float(line.split()[-1])

    assert [healthz(certs, port) for _ in range(20)] == [200] * 20
    assert count(scrape()) == 20
    os.kill(min(hub.workers()), signal.SIGKILL)
    assert [healthz(certs, port) for _ in range(5)] == [200] * 5
    text = scrape()
    assert count(text) == 25  # the dead worker's counts are still in the sum
    # A series read from the database is there once, not once per worker.
    assert len([line for line in text.splitlines()
                if line.startswith("skp_certificate_expiry_seconds{")]) == len(
        {line.split("}")[0] for line in text.splitlines()
         if line.startswith("skp_certificate_expiry_seconds{")}) > 0
    assert text.count("# TYPE skp_backlog_messages gauge") == 1


def test_the_workers_serve_the_portal_too(state, tmp_path):
    env, certs = state
    portal = free_port()
    env = {**env, "SKP_PORTAL": "true", "SKP_PORTAL_BIND_PORT": str(portal),
           "SKP_PORTAL_PUBLIC_URL": f"https://localhost:{portal}",
           "SKP_PORTAL_SECRET_FILE": str(tmp_path / "portal-secret")}
    hub = Hub(env, tmp_path / "serve.log")
    try:
        assert f"the portal serves https://localhost:{portal}".encode() in hub.log.read_bytes()
        for _ in range(4):  # on new connections: whichever worker takes them
            with requests.Session() as session:
                session.trust_env = False
                page = session.get(f"https://localhost:{portal}/inloggen", timeout=30,
                                   verify=str(certs / "ca.pem"),
                                   headers={"Connection": "close"})
            assert page.status_code == 200
        assert healthz(certs, hub.port) == 200
    finally:
        hub.stop()
    assert hub.process.returncode == 0


def test_a_bad_certificate_is_one_line_before_any_worker_starts(state):
    env, certs = state
    bad = {**env, "SKP_TLS_CERT": str(certs / "ca.key")}
    refused = subprocess.run([SKP, "serve"], env=bad, capture_output=True,  # noqa: S603
                             text=True, timeout=120, check=False)
    assert refused.returncode == 2
    (line,) = refused.stderr.splitlines()
    assert line.startswith(f"Error: the server certificate {certs / 'ca.key'}")
    assert "SKP_TLS_CERT" in line and "worker" not in refused.stdout


def test_sqlite_refuses_more_than_one_worker(tmp_path):
    env = {**os.environ, "SKP_DATABASE_URL": f"sqlite:///{tmp_path / 'skp.sqlite3'}"}
    env.pop("SKP_WORKERS", None)
    refused = subprocess.run([SKP, "serve", "--workers", "2"], env=env,  # noqa: S603
                             capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode == 2
    (line,) = refused.stderr.splitlines()
    assert line == ("Error: SKP_WORKERS=2 (or --workers) needs PostgreSQL: a SQLite hub is "
                    "served by one process; set SKP_WORKERS=1 or SKP_DATABASE_URL to a "
                    "PostgreSQL database")


def test_a_revoked_certificate_is_refused_by_every_worker_once_the_command_returns(
        state, hub, tmp_path):
    """Each worker keeps the identities it looked up (skp.identities); `skp certs revoke`
    returns only once every worker has let go of the revoked one. Kept-alive clients ping on
    both workers while it runs: no Ping that began after it returned gets in."""
    from skp.demo import CAST

    env, certs = state
    issued = subprocess.run([SKP, "certs", "issue-dev", CAST[0].id, "--certs", str(certs)],  # noqa: S603
                            env=env, capture_output=True, text=True, timeout=60, check=True)
    fp = issued.stdout.split()[0]
    slug = re.search(r"certificate (\S+)\.pem,", issued.stdout).group(1)
    done = threading.Event()
    seen: list[tuple[float, int]] = []  # (when the Ping began, its status)

    def ping() -> None:
        with requests.Session() as session:
            session.trust_env, session.verify = False, str(certs / "ca.pem")
            session.cert = (f"{slug}.pem", f"{slug}.key")
            while not done.is_set():
                began = time.monotonic()
                answer = session.post(f"https://localhost:{hub.port}/schuldregeling",
                                      data=PING, timeout=30, headers={
                                          "SOAPAction": '"Ping"', "Content-Type": "text/xml"})
                seen.append((began, answer.status_code))

    clients = [threading.Thread(target=ping) for _ in range(6)]
    for client in clients:
        client.start()
    try:
        wait_until(lambda: len(seen) >= 60, 60, "pings from the clients")
        revoking = time.monotonic()
        with subprocess.Popen([SKP, "certs", "revoke", fp], env=env, text=True,  # noqa: S603
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) as revoke:
            said = revoke.stdout.readline()  # printed once the revocation is in force
            returned = time.monotonic()
            problem = revoke.stderr.read()
        time.sleep(1.0)
    finally:
        done.set()
        for client in clients:
            client.join(timeout=60)
    assert revoke.returncode == 0, problem
    assert "REVOKED" in said
    assert "Warning" not in problem
    before = [code for began, code in seen if began < revoking]
    after = [code for began, code in seen if began > returned]
    assert before and set(before) == {200}
    assert after and set(after) == {500}, after  # Client.Authentication, from both workers
