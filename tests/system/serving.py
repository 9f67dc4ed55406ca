"""`make run` as a test starts it: on a free port, with all its state in one folder."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[2]
SKP = str(Path(sys.executable).parent / "skp")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_run_env(state: Path, port: int, portal: int = 0) -> dict[str, str]:
    """The environment that points `make run` at ``state`` (database, KEK, certs/), ``port``
    and, for the portal (which `make run` serves too), ``portal``."""
    certs = state / "certs"
    return {**os.environ, "SKP_DATABASE_URL": f"sqlite:///{state / 'skp.sqlite3'}",
            "SKP_KEK_FILE": str(state / "kek.json"), "SKP_BIND_PORT": str(port),
            "SKP_PUBLIC_URL": f"https://localhost:{port}",
            "SKP_TLS_CERT": str(certs / "server.pem"), "SKP_TLS_KEY": str(certs / "server.key"),
            "SKP_TLS_CLIENT_CA": str(certs / "ca.pem"), "CERTS": str(certs),
            "SKP_PORTAL_SECRET_FILE": str(state / "portal-secret"),
            **({"SKP_PORTAL_BIND_PORT": str(portal),
                "SKP_PORTAL_PUBLIC_URL": f"https://localhost:{portal}"} if portal else {})}


@dataclass(frozen=True)
class RunningHub:
    """A hub started by `make run`: its base URL, its certs/ folder, its start-up output and
    the file its output goes to."""

    url: str
    certs: Path
    output: bytes
    log: Path
    portal: str = ""


@contextlib.contextmanager
def make_run(state: Path, *, timeout: float = 120,
             port_argument: bool = False) -> Iterator[RunningHub]:
    """Run `make run` with its state in ``state`` until the block ends, then stop it.

    With ``port_argument`` the port is given as `make run PORT=…`, not in SKP_BIND_PORT and
    SKP_PUBLIC_URL.
    """
    port, portal, log = free_port(), free_port(), state / "make-run.log"
    env, command = make_run_env(state, port, portal), ["make", "--no-print-directory", "run"]
    if port_argument:
        del env["SKP_BIND_PORT"], env["SKP_PUBLIC_URL"]
        command.append(f"PORT={port}")
    # The output goes to a file, not a pipe: a pipe nobody reads would block the server.
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,  # noqa: S603
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        output = wait_for(process, log, b"skp serves", timeout=timeout)
        yield RunningHub(f"https://localhost:{port}", state / "certs", output, log,
                         f"https://localhost:{portal}")
    finally:
        stop(process)


def stop(*processes: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Stop the server ``processes``, each with its process group, as an operator does
    (SIGTERM), and wait for them. One still running ``timeout`` seconds later fails the test,
    killed first: left running, it would fail whatever test the garbage collector finds it
    in."""
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(timeout=max(0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for each in processes:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(each.pid, signal.SIGKILL)
                each.wait()
            raise AssertionError(f"a server did not stop within {timeout} s of SIGTERM") from None


def wait_for(process, log: Path, marker: bytes, timeout: float) -> bytes:
    """The output in ``log`` once it shows ``marker``; fails if the process exits or
    ``timeout`` passes first."""
    deadline = time.monotonic() + timeout
    while marker not in (seen := log.read_bytes()):
        assert process.poll() is None, seen.decode(errors="replace")
        assert time.monotonic() < deadline, seen.decode(errors="replace")
        time.sleep(0.1)
    return seen


def cpus_of(pid: int) -> set[frozenset[int]]:
    """The CPUs each thread of process ``pid`` may run on: one set of CPUs per thread, alike
    ones once."""
    masks = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
            masks.add(frozenset(os.sched_getaffinity(int(task.name))))
    return masks


@contextlib.contextmanager
def servers(env: dict[str, str], directory: Path, count: int = 2) -> Iterator[list[Path]]:
    """``count`` `skp serve --port 0` processes with ``env`` until the block ends, then each
    stopped with SIGTERM and waited for; the files their output goes to."""
    logs = [directory / f"serve-{n}.log" for n in range(1, count + 1)]
    outputs = [log.open("w") for log in logs]
    processes = [subprocess.Popen([SKP, "serve", "--port", "0"], env=env,  # noqa: S603
                                  stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True) for out in outputs]
    try:
        yield logs
    finally:
        try:
            stop(*processes)
        finally:
            for out in outputs:
                out.close()


#: Settings of the environment the tests run in that would change what a hub they start does.
_OWN_SETTINGS = ("SKP_BIND_PORT", "SKP_PUBLIC_URL", "SKP_ENVIRONMENT", "SKP_TEST_PARTNER",
                 "SKP_PORTAL", "PROMETHEUS_MULTIPROC_DIR")


def demo_hub(directory: Path, database_url: str, **settings: str) -> tuple[dict[str, str], Path]:
    """The environment of a hub on ``database_url`` with a development PKI (``directory``/
    certs) and KEK file in ``directory``, ``settings`` (``SKP_*``) added: migrated, with the
    demo participants registered. The environment, and the certs folder."""
    from skp import pki

    certs = directory / "certs"
    pki.init_dev(certs)
    env = {name: value for name, value in os.environ.items() if name not in _OWN_SETTINGS}
    env.update({"SKP_DATABASE_URL": database_url, "SKP_KEK_FILE": str(directory / "kek"),
                "SKP_TLS_CERT": str(certs / "server.pem"),
                "SKP_TLS_KEY": str(certs / "server.key"),
                "SKP_TLS_CLIENT_CA": str(certs / "ca.pem"), **settings})
    for command in (["migrate"], ["participants", "add-demo", "--certs", str(certs)]):
        done = subprocess.run([SKP, *command], env=env, capture_output=True,  # noqa: S603
                              timeout=120, check=False)
        assert done.returncode == 0, done.stderr
    return env, certs
