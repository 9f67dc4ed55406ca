"""Interface documents for integrators."""

from __future__ import annotations

from pathlib import Path

import click

from skp.cli import State, cli, pass_state
from skp.soap.documents import export


@cli.group()
def wsdl() -> None:
    """The WSDL and XSD documents of the modules' SOAP services."""


@wsdl.command("export")
@click.option("--out", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=Path("wsdl"), show_default=True, help="Folder to write the files to.")
@pass_state
def wsdl_export(state: State, directory: Path) -> None:
    """Write <module>.wsdl and <module>.xsd for every module (address: SKP_PUBLIC_URL)."""
    for path in export(directory, state.settings.public_url):
        click.echo(f"wrote {path}")
