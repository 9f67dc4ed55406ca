"""The ``skp`` command line. Every command has ``--help``; bad input exits with code 2."""

from __future__ import annotations

from pathlib import Path

import click

from skp import sealing
from skp.config import Environment, Settings
from skp.errors import SkpError
from skp.soap.documents import export
from skp.store.db import make_engine, migrate


@click.group()
def cli() -> None:
    """skp: an open Schuldenknooppunt, the routing hub for debt-relief messages."""


@cli.command("migrate")
def migrate_command() -> None:
    """Create or upgrade the database schema (SKP_DATABASE_URL).

    In development this also creates the key-encryption-key file (SKP_KEK_FILE) when it is
    missing; in production the KEK file must be provisioned by the operator.
    """
    try:
        settings = Settings.from_env()
        if not settings.kek_file.exists():
            if settings.environment is Environment.PRODUCTION:
                raise click.UsageError(f"the KEK file {settings.kek_file} does not exist; "
                                       "provision it and set SKP_KEK_FILE")
            ring = sealing.create_keyring_file(settings.kek_file)
            click.echo(f"created key-encryption key {ring.current_id} in {settings.kek_file}")
        else:
            sealing.load_keyring(settings.kek_file)
        engine = make_engine(settings.database_url)
        migrate(engine)
        engine.dispose()
    except SkpError as exc:
        raise click.UsageError(exc.message) from exc
    click.echo(f"database {engine.url.render_as_string(hide_password=True)} is up to date")


@cli.group()
def wsdl() -> None:
    """The WSDL and XSD documents of the modules' SOAP services."""


@wsdl.command("export")
@click.option("--out", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=Path("wsdl"), show_default=True, help="Folder to write the files to.")
def wsdl_export(directory: Path) -> None:
    """Write <module>.wsdl and <module>.xsd for every module (address: SKP_PUBLIC_URL)."""
    try:
        settings = Settings.from_env()
    except SkpError as exc:
        raise click.UsageError(exc.message) from exc
    for path in export(directory, settings.public_url):
        click.echo(f"wrote {path}")


def main() -> None:
    cli()
