"""Running the hub: migrate, serve, purge, health."""

from __future__ import annotations

import dataclasses
import gc
import http.client
import signal
import ssl
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import click
import requests

from skp import tls
from skp.cli import CliError, State, cli, pass_state
from skp.config import Environment, KeyStoreKind, Settings
from skp.keystore import file as keyfile
from skp.store.db import make_engine, migrate


@cli.command("migrate")
@pass_state
def migrate_command(state: State) -> None:
    """Create or upgrade the database schema (SKP_DATABASE_URL).

    In development this also creates the key-encryption-key file (SKP_KEK_FILE) when it is
    missing; in production the KEK file must be provisioned by the operator.
    """
    settings = state.settings
    if settings.key_store is not KeyStoreKind.FILE:
        pass  # the HSM's token is the operator's to provision (docs/operations.md)
    elif not settings.kek_file.exists():
        if settings.environment is Environment.PRODUCTION:
            raise CliError(f"the KEK file {settings.kek_file} does not exist; provision it "
                           "(skp keys init) and set SKP_KEK_FILE")
        ring = keyfile.create_keyring_file(settings.kek_file)
        click.echo(f"created key-encryption key {ring.current_id} in {settings.kek_file}")
    else:
        keyfile.load_keyring(settings.kek_file)
    engine = make_engine(settings.database_url)
    migrate(engine)
    engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    state.say(f"database {where} is up to date", database=where)


@cli.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Listen on this port instead of SKP_BIND_PORT, and write it into the WSDL "
                   "address (0: any free port).")
@pass_state
def serve(state: State, port: int | None) -> None:
    """Serve the SOAP services over mutual TLS and run the purge job."""
    from skp import logs, scheduler
    from skp.server import HubApp, make_server

    settings = state.settings
    logs.configure(settings.environment)
    for path, variable in ((settings.tls_cert, "SKP_TLS_CERT"), (settings.tls_key, "SKP_TLS_KEY"),
                           (settings.tls_client_ca, "SKP_TLS_CLIENT_CA")):
        if not path.exists():
            raise CliError(f"{path} does not exist: set {variable}, or run `skp pki init-dev` "
                           "for a development PKI")
    hub = state.hub
    if port:
        hub = dataclasses.replace(hub, settings=listening_on(settings, port))
    elif port == 0:
        listening_on(settings, 1)  # refuses now what it would refuse once bound
    server = make_server(hub, port=port)
    try:
        server.prepare()
    except OSError as exc:
        host, wanted = server.bind_addr[:2]
        # cheroot reports the socket's error inside its own: "... [Errno 98] Address ...)"
        why = exc.strerror or str(exc).rsplit("] ", 1)[-1].rstrip(")")
        raise CliError(f"cannot listen on {host}:{wanted}: {why}; stop what uses it or choose "
                       "another port (`make run PORT=…`, or SKP_BIND_PORT and "
                       "SKP_PUBLIC_URL)") from exc
    host, bound = server.bind_addr[:2]
    if port == 0:  # the WSDL address names the port the system chose
        hub = dataclasses.replace(hub, settings=listening_on(settings, bound))
        server.wsgi_app = HubApp(hub)
    portal = _portal(state)
    jobs = scheduler.start(hub)
    # What start-up built lives as long as the process: keep it out of every later collection.
    gc.freeze()

    def leave(*_: Any) -> None:
        # Stop from another thread: serve() below then returns. (Stopping inside the handler,
        # on the thread that runs serve(), can wait forever.)
        for each in (server, portal):
            if each is not None:
                threading.Thread(target=each.stop, name="skp-stop").start()

    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGINT, leave)
    public, interval = hub.settings.public_url, hub.settings.purge_interval.total_seconds()
    state.say(f"skp serves {public} (listening on {host}:{bound}; modules at /<module>, WSDL "
              f"at /<module>?wsdl); purge every {interval:.0f} s",
              public_url=public, listen=f"{host}:{bound}", purge_interval_s=interval)
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
        threading.Thread(target=portal.serve, name="skp-portal", daemon=True).start()
        click.echo(f"the portal serves {settings.portal.public_url} (on "
                   f"{portal.bind_addr[0]}:{portal.bind_addr[1]})")
    try:
        server.serve()
    finally:
        jobs.shutdown(wait=False)
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


def _portal(state: State) -> Any:
    """The portal's server, ready to serve, when the portal is on (SKP_PORTAL)."""
    settings = state.settings
    if not settings.portal.enabled:
        return None
    if settings.environment is Environment.PRODUCTION and not settings.portal.oidc_issuer:
        raise CliError("the portal needs an eHerkenning broker in production: set "
                       "SKP_PORTAL_OIDC_ISSUER (docs/portal.md), or SKP_PORTAL=false")
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


@cli.command("purge")
@pass_state
def purge(state: State) -> None:
    """Run the purge once (for cron users): expire what is due, delete old metadata."""
    from skp.jobs import purge_job

    result = purge_job(state.hub)
    if result is None:
        click.echo("another process is purging right now; nothing done")
        return
    click.echo(f"expired {result.expired} messages, ended {result.contexts} claim contexts, "
               f"deleted metadata of {result.metadata} messages")


@cli.command("health")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              envvar="SKP_HEALTH_CERT", show_envvar=True,
              help="Client certificate for /healthz (default: SKP_TLS_CERT); it must chain to "
                   "SKP_TLS_CLIENT_CA and allow client authentication.")
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              envvar="SKP_HEALTH_KEY", show_envvar=True,
              help="Its private key (default: SKP_TLS_KEY).")
@pass_state
def health(state: State, cert: Path | None, key: Path | None) -> None:
    """Exit 0 when the database answers and this machine's hub answers /healthz over TLS.

    The hub is recognised by its certificate, the one in SKP_TLS_CERT.
    """
    settings = state.settings
    if not state.hub.healthy():
        raise CliError("the database does not answer")
    host = "127.0.0.1" if settings.bind_host in ("0.0.0.0", "") else settings.bind_host  # noqa: S104
    where = f"{host}:{settings.bind_port}"
    context = tls.pinned_client_context(cert or settings.tls_cert, key or settings.tls_key)
    connection = http.client.HTTPSConnection(host, settings.bind_port, context=context,
                                             timeout=5)
    pinned = False
    try:
        connection.connect()
        pinned = isinstance(connection.sock, ssl.SSLSocket) and tls.is_pinned(
            connection.sock, settings.tls_cert.read_bytes())
        if not pinned:
            raise CliError(f"what listens on {where} is not this hub: its certificate is not "
                           "the one in SKP_TLS_CERT")
        connection.request("GET", "/healthz")
        answer = connection.getresponse()
        status, body = answer.status, answer.read(64)
    except ssl.SSLError as exc:
        why = exc.reason or type(exc).__name__
        if pinned:
            raise CliError(f"the hub on {where} refused the client certificate ({why}): set "
                           "SKP_HEALTH_CERT and SKP_HEALTH_KEY to one it accepts") from exc
        raise CliError(f"no skp hub on {where}: the TLS handshake failed ({why})") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise CliError(f"no skp hub answers on {where}: "
                       f"{getattr(exc, 'strerror', None) or type(exc).__name__}") from exc
    finally:
        connection.close()
    if (status, body) != (200, b"ok"):
        raise CliError(f"the hub on {where} is not healthy: /healthz answered {status} "
                       f"{body.decode('ascii', 'replace')!r}")
    click.echo("healthy")


@cli.command("demo")
@click.option("--url", help="The running hub (default: SKP_PUBLIC_URL).")
@click.option("--certs", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=Path("certs"), show_default=True,
              help="The dev PKI with the demo participants' certificates.")
@pass_state
def demo(state: State, url: str | None, directory: Path) -> None:
    """Run a whole Schuldregeling conversation between demo participants, step by step."""
    from skp.client import SkpFault
    from skp.demo import conversation

    url = url or state.settings.public_url

    try:
        conversation(url, directory, click.echo)
    except SkpFault as fault:
        raise CliError(f"the hub refused: {fault}") from fault
    except (OSError, requests.RequestException) as exc:
        raise CliError(f"cannot reach the hub at {url} with the certificates in "
                       f"{directory}: {type(exc).__name__}; is `make run` running?") from exc
