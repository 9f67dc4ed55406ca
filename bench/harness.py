"""What the benchmarks share: output, a throwaway PKI, databases, the hub server in a
subprocess, keep-alive clients (lean HTTPS connections, in processes of their own) and
percentiles.

Every loop here is bounded in count and in time, and all traffic goes to 127.0.0.1. The tests
take their PostgreSQL schemas from here too (:func:`postgres_schema`, tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import http.client
import io
import multiprocessing
import os
import re
import signal
import ssl
import statistics
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import trustme
from sqlalchemy import text

from skp.client import Identity
from skp.config import Settings
from skp.hub import Hub
from skp.keystore import file as keyfile
from skp.store.db import make_engine, migrate

T = TypeVar("T")

#: The PostgreSQL database the benchmarks make a schema of their own in (as the tests do).
PG_URL = os.environ.get("SKP_TEST_POSTGRES_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so that servers are stopped and schemas dropped."""

    def leave(*_: object) -> None:
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, leave)


def out(line: str = "") -> None:
    """One line of output, flushed at once (bench/ prints nothing through ``print``)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def quantile(values: Iterable[float], q: int) -> float:
    """The ``q``-th percentile (1..99) of ``values``; 0 for fewer than two values."""
    data = sorted(values)
    if len(data) < 2:
        return data[0] if data else 0.0
    return statistics.quantiles(data, n=100, method="inclusive")[q - 1]


def timed(call: Callable[[], object], repeat: int) -> list[float]:
    """The wall time of each of ``repeat`` calls of ``call``, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def cpu_per_call(call: Callable[[], object], calls: int, rounds: int) -> tuple[float, float]:
    """The median and the least CPU time of this process per call of ``call`` over ``rounds``
    rounds of ``calls`` calls (each after a tenth as many to warm up), in ms."""
    per_call = []
    for _ in range(rounds):
        for _ in range(calls // 10):
            call()
        began = time.process_time()
        for _ in range(calls):
            call()
        per_call.append((time.process_time() - began) / calls * 1000)
    return statistics.median(per_call), min(per_call)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


# --- PKI -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Pki:
    """A throwaway CA in ``directory``: the server's certificate and one per client name."""

    directory: Path

    @property
    def ca(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.directory / "server.key"

    def identity(self, name: str) -> Identity:
        return Identity(self.directory / f"{name}.pem", self.directory / f"{name}.key", self.ca)

    def pem(self, name: str) -> bytes:
        return (self.directory / f"{name}.pem").read_bytes()


def make_pki(directory: Path, names: Iterable[str]) -> Pki:
    """A CA (trustme) with a server certificate for 127.0.0.1 and a client one per name."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="skp bench CA")
    ca.cert_pem.write_to_path(directory / "ca.pem")
    leaves = [("server", ca.issue_cert("localhost", "127.0.0.1"))]
    leaves += [(name, ca.issue_cert(f"{name}.bench.skp.test", common_name=name))
               for name in names]
    for name, leaf in leaves:
        leaf.cert_chain_pems[0].write_to_path(directory / f"{name}.pem")
        leaf.private_key_pem.write_to_path(directory / f"{name}.key")
    return Pki(directory)


class Connection:
    """One keep-alive HTTPS connection to ``url`` with a participant's client certificate,
    trusting only the bench CA (``identity.ca``; nothing from the environment).

    The load generator's client: :mod:`http.client` on a TLS socket, so that a request costs
    the client its request line and five headers, the TLS records and the answer's status line
    and headers, and nothing of a session, adapter or connection pool. It connects on the
    first request and again after a failed one.
    """

    def __init__(self, url: str, identity: Identity, *, timeout: float = 60) -> None:
        address = urllib.parse.urlsplit(url)
        context = ssl.create_default_context(cafile=str(identity.ca))
        context.load_cert_chain(str(identity.cert), str(identity.key))
        self._http = http.client.HTTPSConnection(address.hostname or "127.0.0.1",
                                                 address.port, timeout=timeout,
                                                 context=context)

    def post(self, path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
        """POST ``body`` to ``path``; the answer's status and body (read whole, so that the
        connection can carry the next request)."""
        try:
            self._http.request("POST", path, body, headers)
            answer = self._http.getresponse()
            return answer.status, answer.read()
        except BaseException:
            self._http.close()  # a half-done exchange: the next request connects afresh
            raise

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


# --- databases -----------------------------------------------------------------------------

@contextlib.contextmanager
def postgres_schema(prefix: str) -> Iterator[str]:
    """The URL of a fresh PostgreSQL schema named after ``prefix``, dropped afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def bench_settings(database_url: str, directory: Path, pki: Pki, **overrides: object
                   ) -> Settings:
    """Settings of a bench hub: its database, KEK file and TLS files, no send rate (the loads
    send from one participant far faster than the default allows), no practical cap on
    connections per address (every client connects from 127.0.0.1); the rest default, the
    mailbox limit too (every mailbox cycle confirms what it sent)."""
    values: dict[str, object] = {
        "database_url": database_url, "kek_file": directory / "kek.json",
        "tls_cert": pki.server_cert, "tls_key": pki.server_key, "tls_client_ca": pki.ca,
        "send_rate": 0, "max_connections_per_address": 1024, **overrides}
    return Settings(**values)  # type: ignore[arg-type]


def build_hub(settings: Settings, **hub: object) -> Hub:
    """Migrate the database of ``settings``, create its KEK file if missing, build a hub."""
    engine = make_engine(settings.database_url, **(
        {} if settings.database_url.startswith("sqlite") else {"pool_size": 10}))
    migrate(engine)
    keyring = (keyfile.load_keyring(settings.kek_file) if settings.kek_file.exists()
               else keyfile.create_keyring_file(settings.kek_file))
    return Hub.build(settings, engine=engine, keyring=keyring, **hub)  # type: ignore[arg-type]


# --- the WSGI app in this process ---------------------------------------------------------

@contextlib.contextmanager
def keeping(hub: Hub) -> Iterator[None]:
    """The register watched in this process, as a server process watches it: identities and
    a send's parties kept inside, from the first lease on."""
    identities = hub.participants.identities
    identities.start()
    try:
        while not identities.current():
            time.sleep(0.01)
        yield
    finally:
        identities.stop()


def wsgi_environ(pem: str, path: str, operation: str, body: bytes, **extra: object
                 ) -> dict[str, object]:
    """The WSGI environ cheroot builds for a SOAP call over mutual TLS (the part skp reads)."""
    return {"REQUEST_METHOD": "POST", "PATH_INFO": path, "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "0", "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "https", "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "1",
            "SSL_CLIENT_CERT": pem, "CONTENT_TYPE": "text/xml; charset=utf-8",
            "HTTP_SOAPACTION": f'"{operation}"', "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body), **extra}


# --- the rest of the machine ---------------------------------------------------------------

def postgres_cpu_seconds() -> dict[int, float]:
    """User + system CPU time so far of every ``postgres`` process alive now, by process id
    (on a shared machine, other users' queries count too)."""
    found, tick = {}, os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError):
            name, fields = stat.read_text().rsplit(")", 1)
            if name.endswith("(postgres"):
                values = fields.split()
                found[int(stat.parent.name)] = (int(values[11]) + int(values[12])) / tick
    return found


def cpu_since(before: Mapping[int, float], after: Mapping[int, float]) -> float:
    """The CPU time the processes of ``after`` used since ``before`` (a process that started
    in between counts whole, one that ended in between not at all)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def idle_cpu_seconds() -> float:
    """The seconds all CPUs of the machine were idle since boot (/proc/stat: idle + iowait)."""
    values = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    return (int(values[3]) + int(values[4])) / os.sysconf("SC_CLK_TCK")


# --- the server in a subprocess -------------------------------------------------------------

def server_environment(settings: Settings) -> dict[str, str]:
    """The SKP_* variables that make `skp serve` run with ``settings``."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("SKP_")},
        "SKP_ENVIRONMENT": "production",  # JSON request log, as a production hub writes it
        "SKP_DATABASE_URL": settings.database_url, "SKP_KEK_FILE": str(settings.kek_file),
        "SKP_TLS_CERT": str(settings.tls_cert), "SKP_TLS_KEY": str(settings.tls_key),
        "SKP_TLS_CLIENT_CA": str(settings.tls_client_ca), "SKP_BIND_HOST": "127.0.0.1",
        "SKP_SERVER_THREADS": str(settings.server_threads),
        "SKP_SEND_RATE": str(settings.send_rate),
        "SKP_MAILBOX_LIMIT": str(settings.mailbox_limit),
        "SKP_MAX_CONNECTIONS_PER_ADDRESS": str(settings.max_connections_per_address),
        "SKP_PURGE_INTERVAL": "86400",  # no purge during a measurement
        "SKP_WORKERS": str(settings.workers or 1),
        "PYTHONUNBUFFERED": "1",
    }


@dataclass
class Server:
    """`skp serve` running in a subprocess; with workers, its CPU time is theirs too."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def memory(self) -> dict[str, int]:
        """VmRSS and VmHWM (peak RSS) of the server process, in bytes."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        return {key: int(value) * 1024 for key, value in
                re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.MULTILINE)}

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process used so far."""
        return sum(self.cpu_times())

    def cpu_times(self) -> tuple[float, float]:
        """User and system CPU time the server process and its live workers used so far,
        and the workers that have exited."""
        user = system = 0.0
        for times in self.cpu_by_process().values():
            user, system = user + times[0], system + times[1]
        return user, system

    def cpu_by_process(self) -> dict[int, tuple[float, float]]:
        """User and system CPU time so far of the server process (with the workers that have
        exited) and of each live worker, by process id."""
        found = {}
        tick = os.sysconf("SC_CLK_TCK")
        for pid in (self.pid, *self.workers()):
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                # utime, stime, and (the supervisor's) cutime, cstime of reaped children
                found[pid] = ((int(fields[11]) + int(fields[13])) / tick,
                              (int(fields[12]) + int(fields[14])) / tick)
        return found

    def workers(self) -> list[int]:
        """The worker processes of a supervisor (none for a single process)."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        with contextlib.suppress(OSError):
            return [int(pid) for pid in children.read_text().split()]
        return []


@contextlib.contextmanager
def serving(settings: Settings, directory: Path, *, prelude: str = "",
            env: Mapping[str, str] | None = None, timeout: float = 60,
            command: list[str] | None = None) -> Iterator[Server]:
    """Run `skp serve --port 0` with ``settings`` (``settings.workers`` worker processes,
    by default 1) until the block ends; output in a file.

    ``prelude`` (Python source) runs in the server process before the CLI, and ``env`` adds
    to its environment: for trying out a change without editing skp (bench/whatif.py).
    ``command`` runs instead of `skp serve --port 0`, with the same environment: a server
    that prints ``listening on <address>`` once it listens (bench/spyneping.py).
    """
    log = directory / f"serve-{uuid.uuid4().hex[:6]}.log"
    program = [str(Path(sys.executable).with_name("skp"))]
    if prelude:
        program = [sys.executable, "-c", f"{prelude}\nfrom skp.cli import main\nmain()"]
    command = command or [*program, "serve", "--port", "0"]
    with log.open("wb") as sink:
        process = subprocess.Popen(command,  # noqa: S603 - our CLI
                                   env={**server_environment(settings), **(env or {})},
                                   stdout=sink, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while not (found := re.search(rb"listening on ([\d.]+:\d+)", log.read_bytes())):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("skp serve did not start:\n" + log.read_text()[-3000:])
            time.sleep(0.05)
        yield Server(process, f"https://{found.group(1).decode()}", log)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


# --- keep-alive clients ---------------------------------------------------------------------

@dataclass
class Load:
    """What ``drive`` measured: steps done, the time they took, latencies by operation, and
    the CPU time (user + system) the load process(es) used over that time."""

    seconds: float
    cpu: float = 0.0
    steps: int = 0
    ops: int = 0
    errors: int = 0
    first_error: str | None = None
    latencies: dict[str, list[float]] = field(default_factory=dict)

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds else 0.0

    @property
    def ops_per_second(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0

    def cpu_per(self, count: int) -> float:
        """The load's own CPU time per ``count`` (operations or requests), in seconds."""
        return self.cpu / count if count else 0.0

    def absorb(self, part: Load) -> None:
        """Add ``part``'s counts and latencies to this load's (its time and CPU are not)."""
        self.steps += part.steps
        self.ops += part.ops
        self.errors += part.errors
        self.first_error = self.first_error or part.first_error
        for name, values in part.latencies.items():
            self.latencies.setdefault(name, []).extend(values)

    def summary(self, name: str) -> str:
        values = self.latencies.get(name, [])
        return f"{name} p50 {ms(quantile(values, 50))}, p99 {ms(quantile(values, 99))}"


#: One step of a client: does its requests, returns each operation's latency in seconds.
Step = Callable[[T, int], Mapping[str, float]]


@dataclass(frozen=True)
class Clients(Generic[T]):
    """``count`` client threads, each with the state ``setup(i)`` returns and ``step`` runs."""

    count: int
    setup: Callable[[int], T]
    step: Step[T]
    teardown: Callable[[T], None] = lambda _: None

    def drive(self, seconds: float, *, max_steps: int = 1_000_000) -> Load:
        """Run ``step`` in every thread for ``seconds`` (at most ``max_steps`` each, after one
        untimed warm-up step); the steps done and their latencies."""
        results = [Load(0.0) for _ in range(self.count)]
        end, cpu = [0.0], [0.0]

        def begin() -> None:  # when every thread is ready: the clock and the CPU count start
            end[0] = time.perf_counter() + seconds
            cpu[0] = _cpu_seconds()

        start = threading.Barrier(self.count + 1, timeout=120, action=begin)

        def run(i: int) -> None:
            result = results[i]
            try:
                state = self.setup(i)
                self.step(state, 0)  # connect and warm up before the clock
            except Exception:
                start.abort()  # the others and the caller see BrokenBarrierError
                raise
            try:
                start.wait()
                serial = 1
                while time.perf_counter() < end[0] and serial <= max_steps:
                    try:
                        latencies = self.step(state, serial)
                    except Exception as exc:
                        result.errors += 1
                        result.first_error = result.first_error or "".join(
                            traceback.format_exception_only(exc)).strip()
                        if result.errors > 100:
                            return
                    else:
                        result.steps += 1
                        result.ops += len(latencies)
                        for name, value in latencies.items():
                            result.latencies.setdefault(name, []).append(value)
                    serial += 1
            finally:
                self.teardown(state)

        threads = [threading.Thread(target=run, args=(i,), daemon=True)
                   for i in range(self.count)]
        for thread in threads:
            thread.start()
        start.wait()
        began = end[0] - seconds
        for thread in threads:
            thread.join(timeout=seconds + 120)
        total = Load(time.perf_counter() - began, _cpu_seconds() - cpu[0])
        for result in results:
            total.absorb(result)
        return total


def drive_apart(clients: Clients[Any], seconds: float, *, processes: int = 2) -> Load:
    """:meth:`Clients.drive` with the client threads spread over ``processes`` processes of
    their own (forked), so that the load generator shares no interpreter lock with anything
    else; their counts and latencies summed, over the longest of their timed spans."""
    context = multiprocessing.get_context("fork")
    processes = max(1, min(processes, clients.count))
    share = [clients.count // processes + (k < clients.count % processes)
             for k in range(processes)]
    offsets = [sum(share[:k]) for k in range(processes)]
    results: Any = context.SimpleQueue()
    children = [context.Process(target=_drive_part, daemon=True,
                                args=(clients, offset, count, seconds, results))
                for offset, count in zip(offsets, share, strict=True)]
    for child in children:
        child.start()
    parts: list[Load | str] = [results.get() for _ in children]
    for child in children:
        child.join(timeout=seconds + 120)
    problems = [part for part in parts if isinstance(part, str)]
    if problems:
        raise RuntimeError("a load process failed:\n" + problems[0])
    loads = [part for part in parts if isinstance(part, Load)]
    total = Load(max(load.seconds for load in loads), sum(load.cpu for load in loads))
    for load in loads:
        total.absorb(load)
    return total


def _cpu_seconds() -> float:
    """User + system CPU time of this process (all its threads) so far."""
    times = os.times()
    return times.user + times.system


def _drive_part(clients: Clients[Any], offset: int, count: int, seconds: float,
                results: Any) -> None:
    """In a load process: client threads ``offset`` … ``offset + count - 1``."""
    try:
        part = Clients(count, lambda i: clients.setup(offset + i), clients.step,
                       clients.teardown)
        results.put(part.drive(seconds))
    except BaseException:
        results.put(traceback.format_exc())
