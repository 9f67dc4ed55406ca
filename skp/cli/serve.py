"""``skp serve``: one process, or a supervisor with worker processes (skp.server.supervisor).

With one worker (SQLite, or ``--workers 1``) the process serves and runs the scheduled jobs
itself, as it always did. With more, it binds the sockets, runs the scheduled jobs and starts
the workers (``--worker``, hidden: the file descriptors they inherited), which only serve.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import click

from skp.cli import CliError, State, cli, pass_state
from skp.config import Environment, Settings
from skp.hub import Hub

if TYPE_CHECKING:
    from skp.server import Server


@cli.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Listen on this port instead of SKP_BIND_PORT, and write it into the WSDL "
                   "address (0: any free port).")
@click.option("--workers", type=click.IntRange(1, 1024), default=None,
              help="Worker processes instead of SKP_WORKERS (default: one per CPU on "
                   "PostgreSQL; SQLite takes only 1).")
@click.option("--worker", "inherited", default=None, hidden=True,
              help="Internal: serve as the worker in SLOT of a supervisor, on the inherited "
                   "file descriptors LISTEN,PORTAL,READY,SLOT (PORTAL -1: no portal).")
@pass_state
def serve(state: State, port: int | None, workers: int | None, inherited: str | None) -> None:
    """Serve the SOAP services over mutual TLS and run the purge job.

    On PostgreSQL a supervisor runs SKP_WORKERS worker processes on one listening socket: it
    starts a worker again when one dies, stops them on SIGTERM once their requests in flight
    are answered, and replaces them one at a time on SIGHUP (new code or certificates).
    """
    from skp import logs

    if workers is not None:  # refused on SQLite, as SKP_WORKERS is
        state.settings = dataclasses.replace(state.settings, workers=workers)
    settings = state.settings
    logs.configure(settings.environment)
    for path, variable in ((settings.tls_cert, "SKP_TLS_CERT"), (settings.tls_key, "SKP_TLS_KEY"),
                           (settings.tls_client_ca, "SKP_TLS_CLIENT_CA")):
        if not path.exists():
            raise CliError(f"{path} does not exist: set {variable}, or run `skp pki init-dev` "
                           "for a development PKI")
    if inherited is not None:
        _work(state, port, inherited)
    elif settings.processes == 1:
        _alone(state, port)
    else:
        _supervise(state, port, settings.processes)


def _alone(state: State, port: int | None) -> None:
    """One process that serves and runs the scheduled jobs."""
    from skp import scheduler
    from skp.server import HubApp, make_server

    settings = state.settings
    cpu = _pin(settings, None)  # before the threads start: each takes its starter's CPUs
    hub = state.hub
    if port:
        hub = dataclasses.replace(hub, settings=listening_on(settings, port))
    elif port == 0:
        listening_on(settings, 1)  # refuses now what it would refuse once bound
    server = make_server(hub, port=port)
    _prepare(server)
    host, bound = server.bind_addr[:2]
    if port == 0:  # the WSDL address names the port the system chose
        hub = dataclasses.replace(hub, settings=listening_on(settings, bound))
        server.wsgi_app = HubApp(hub)
    portal = _portal(state)
    jobs = scheduler.start(hub)
    try:
        _announce(state, hub, f"{host}:{bound}", 1, portal, cpu)
        _run(hub, server, portal)
    finally:
        jobs.shutdown(wait=False)


def _work(state: State, port: int | None, inherited: str) -> None:
    """A worker of a supervisor: serves on the sockets it inherited, runs no jobs."""
    from skp.portal.server import make_portal_server
    from skp.server import make_server
    from skp.server.sockets import inherited as adopt

    listen, portal_fd, ready, slot = (int(fd) for fd in inherited.split(","))
    _pin(state.settings, slot)  # before the threads start: each takes its starter's CPUs
    hub = state.hub
    if port:
        hub = dataclasses.replace(hub, settings=listening_on(state.settings, port))
    server = make_server(hub, port=port, listening=adopt(listen))
    _prepare(server)
    portal = None
    if portal_fd >= 0:
        portal = make_portal_server(hub, listening=adopt(portal_fd))
        portal.prepare()
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the supervisor's: it replaces us

    def tell_ready() -> None:
        os.write(ready, b"r")
        os.close(ready)

    _run(hub, server, portal, ready=tell_ready)


def _supervise(state: State, port: int | None, count: int) -> None:
    """Bind, start ``count`` workers and supervise them; run the scheduled jobs here."""
    from skp import metrics, scheduler, tls
    from skp.server.sockets import listen
    from skp.server.supervisor import Supervisor, WorkerFailed

    settings = state.settings
    if port is not None:
        listening_on(settings, port or 1)  # refuses now what it would refuse once bound
    # What each worker would refuse at start-up, refused here once, in one line.
    tls.server_context(settings.tls_cert, settings.tls_key, settings.tls_client_ca)
    if settings.portal.enabled:
        tls.portal_context(settings.portal.tls_cert or settings.tls_cert,
                           settings.portal.tls_key or settings.tls_key)
    host, wanted = settings.bind_host, settings.bind_port if port is None else port
    hub_socket = _listen(listen, host, wanted, "")
    listening = [hub_socket]
    portal = settings.portal
    if portal.enabled:
        _portal_allowed(settings)
        listening.append(_listen(listen, portal.bind_host, portal.bind_port, "the portal "))
    bound = hub_socket.getsockname()[1]
    directory = Path(tempfile.mkdtemp(prefix="skp-metrics-"))
    try:
        metrics.share(directory)  # the jobs here count with the workers
        settings = dataclasses.replace(settings, metrics_directory=directory)
        state.settings = listening_on(settings, bound) if port is not None else settings
        hub = state.hub
        fds = [sock.fileno() for sock in listening]
        portal_fd = fds[1] if portal.enabled else -1
        first = _first_slot(settings)

        def command(ready: int, slot: int) -> list[str]:
            return [sys.executable, "-m", "skp", "serve", "--workers", "1",
                    *(["--port", str(bound)] if port is not None else []),
                    "--worker", f"{fds[0]},{portal_fd},{ready},{first + slot}"]

        supervisor = Supervisor(command, listening, count, drain=settings.drain_timeout,
                                exited=lambda pid: metrics.process_gone(directory, pid))
        supervisor.install()
        try:
            supervisor.start()
        except WorkerFailed as failed:
            raise CliError(f"a worker process exited at start-up (exit code {failed.code}); "
                           "its output above says why") from failed
        jobs = scheduler.start(hub)
        try:
            _announce(state, hub, f"{host}:{bound}", count,
                      (portal.bind_host, portal.bind_port) if portal.enabled else None)
            supervisor.run()
        finally:
            jobs.shutdown(wait=False)
            hub.engine.dispose()
    finally:
        for sock in listening:
            sock.close()
        shutil.rmtree(directory, ignore_errors=True)


def _pin(settings: Settings, slot: int | None) -> int | None:
    """Keep this serving process on its CPU (SKP_PIN_CPUS; skp.server.affinity): the CPU of
    worker ``slot``, or with None the one it is on; None if not kept on one."""
    from skp.server import affinity

    return affinity.take(slot) if settings.pin_cpus else None


def _first_slot(settings: Settings) -> int:
    """The CPU slot of the first worker: that of the CPU the supervisor is on (SKP_PIN_CPUS)."""
    from skp.server import affinity

    return affinity.here() if settings.pin_cpus else 0


def _listen(listen: Any, host: str, port: int, what: str) -> socket.socket:
    try:
        sock: socket.socket = listen(host, port)
    except OSError as exc:
        raise CliError(f"{what}cannot listen on {host}:{port}: "
                       f"{exc.strerror or type(exc).__name__}; stop what uses it or choose "
                       "another port (`make run PORT=…`, or SKP_BIND_PORT and "
                       "SKP_PUBLIC_URL)") from exc
    return sock


def _prepare(server: Server) -> None:
    """Bind (or adopt) the server's socket and start its threads; a clear refusal if not."""
    try:
        server.prepare()
    except OSError as exc:
        host, wanted = server.bind_addr[:2]
        # cheroot reports the socket's error inside its own: "... [Errno 98] Address ...)"
        why = exc.strerror or str(exc).rsplit("] ", 1)[-1].rstrip(")")
        raise CliError(f"cannot listen on {host}:{wanted}: {why}; stop what uses it or choose "
                       "another port (`make run PORT=…`, or SKP_BIND_PORT and "
                       "SKP_PUBLIC_URL)") from exc


def _announce(state: State, hub: Hub, listen: str, count: int, portal: Any,
              cpu: int | None = None) -> None:
    """The start-up lines: where the hub serves (with more than one worker, or on which CPU),
    and the portal when it is on."""
    settings = hub.settings
    public, interval = settings.public_url, settings.purge_interval.total_seconds()
    if count > 1:
        each = ", each kept on one CPU" if settings.pin_cpus else ""
        processes = f"{count} worker processes{each}; "
    else:
        processes = "" if cpu is None else f"on CPU {cpu}; "
    state.say(f"skp serves {public} (listening on {listen}; {processes}modules at /<module>, "
              f"WSDL at /<module>?wsdl); purge every {interval:.0f} s",
              public_url=public, listen=listen, workers=count, cpu=cpu,
              purge_interval_s=interval)
    notify = settings.notify
    if notify.enabled:
        state.say(f"e-mail notifications go out through {notify.smtp_host}:{notify.port} "
                  f"({notify.smtp_security}); looked for every {notify.poll.total_seconds():.0f} s",
                  smtp=f"{notify.smtp_host}:{notify.port}",
                  notify_poll_s=notify.poll.total_seconds())
    if settings.environment is Environment.DEVELOPMENT:
        certs = settings.tls_client_ca.parent
        click.echo(f"Try, as the demo debt service: curl --cacert {certs}/ca.pem --cert "
                   f"{certs}/shv.pem --key {certs}/shv.key {public}/schuldregeling?wsdl")
    if portal is not None:
        where = portal if isinstance(portal, tuple) else portal.bind_addr
        click.echo(f"the portal serves {settings.portal.public_url} (on {where[0]}:{where[1]})")


def _run(hub: Hub, server: Server, portal: Any,
         ready: Callable[[], None] = lambda: None) -> None:
    """Serve until SIGTERM or SIGINT; then the requests in flight are answered (within
    SKP_DRAIN_TIMEOUT) before the process ends. ``ready`` is called once SIGTERM drains."""
    stopping: list[threading.Thread] = []

    def leave(*_: Any) -> None:
        # Stop from another thread: serve() below then returns. (Stopping inside the handler,
        # on the thread that runs serve(), can wait forever.)
        for each in (server, portal):
            if each is not None:
                thread = threading.Thread(target=each.stop, name="skp-stop")
                stopping.append(thread)
                thread.start()

    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGINT, leave)
    ready()
    # What start-up built lives as long as the process: keep it out of every later collection.
    gc.freeze()
    if portal is not None:
        threading.Thread(target=portal.serve, name="skp-portal", daemon=True).start()
    try:
        server.serve()
    finally:
        for thread in list(stopping):  # the requests in flight finish first
            thread.join()
        server.stop()
        if portal is not None:
            portal.stop()
        hub.engine.dispose()


def listening_on(settings: Settings, port: int) -> Settings:
    """``settings`` for a hub that listens on ``port``, with the port in SKP_PUBLIC_URL too;
    refused when SKP_PUBLIC_URL names another port than SKP_BIND_PORT (a proxy or a port
    mapping in between: its address is not the hub's to change)."""
    address = urlsplit(settings.public_url)
    if (address.port or 443) != settings.bind_port:
        raise CliError(f"--port cannot tell the WSDL address: SKP_PUBLIC_URL "
                       f"({settings.public_url}) names another port than SKP_BIND_PORT "
                       f"({settings.bind_port}); set SKP_BIND_PORT and SKP_PUBLIC_URL instead")
    host = address.hostname or "localhost"
    host = f"[{host}]" if ":" in host else host
    return dataclasses.replace(settings, bind_port=port, public_url=urlunsplit(
        (address.scheme, f"{host}:{port}", address.path, "", "")))


def _portal_allowed(settings: Settings) -> None:
    if settings.environment is Environment.PRODUCTION and not settings.portal.oidc_issuer:
        raise CliError("the portal needs an eHerkenning broker in production: set "
                       "SKP_PORTAL_OIDC_ISSUER (docs/portal.md), or SKP_PORTAL=false")


def _portal(state: State) -> Any:
    """The portal's server, ready to serve, when the portal is on (SKP_PORTAL)."""
    settings = state.settings
    if not settings.portal.enabled:
        return None
    _portal_allowed(settings)
    from skp.portal.server import make_portal_server

    portal = make_portal_server(state.hub)
    try:
        portal.prepare()
    except OSError as exc:
        host, wanted = portal.bind_addr[:2]
        raise CliError(f"the portal cannot listen on {host}:{wanted}: "
                       f"{exc.strerror or type(exc).__name__}; stop what uses it or set "
                       "SKP_PORTAL_BIND_PORT and SKP_PORTAL_PUBLIC_URL") from exc
    return portal
