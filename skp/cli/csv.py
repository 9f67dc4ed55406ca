"""The portal's CSV layout: its documentation and empty templates per message type."""

from __future__ import annotations

import sys

import click

from skp.cli import CliError, cli
from skp.domain import csvdocs, csvlayout
from skp.domain.catalogue import lookup
from skp.domain.roles import Module


@cli.group("csv")
def csv_group() -> None:
    """The CSV files of the portal (docs/csv.md)."""


@csv_group.command("layout")
@click.option("--markdown", is_flag=True, required=True,
              help="Write the layout of every type as Markdown (the text of docs/csv.md).")
def csv_layout(markdown: bool) -> None:
    """The CSV layout of every message type, generated from the catalogue."""
    click.echo(csvdocs.markdown(), nl=False)


@csv_group.command("template")
@click.argument("module", type=click.Choice([m.value for m in Module]))
@click.argument("type_code", metavar="TYPE")
def csv_template(module: str, type_code: str) -> None:
    """Write an empty upload file of TYPE in MODULE (UTF-8 with BOM) to standard output."""
    try:
        mt = lookup(Module(module), type_code)
    except KeyError:
        raise CliError(f"module {module} has no message type {type_code}") from None
    if not csvlayout.sendable(mt):
        raise CliError(f"{type_code} needs a document and cannot be sent as CSV")
    sys.stdout.buffer.write(csvlayout.write(csvlayout.template_columns(mt), []))
