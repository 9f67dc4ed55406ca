"""Running the hub: migrate, purge, health, demo (serving: skp.cli.serve)."""

from __future__ import annotations

import http.client
import ssl
from pathlib import Path

import click
import requests

from skp import tls
from skp.cli import CliError, State, cli, pass_state
from skp.config import Environment, KeyStoreKind
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
