"""The integrators' test tool."""

from __future__ import annotations

from pathlib import Path

import click

from skp.cli import State, cli, pass_state
from skp.client import Identity
from skp.testtool import As, Run

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@cli.group()
def testtool() -> None:
    """Scripted acceptance routines against a hub with the test partner switched on."""


@testtool.command("run")
@click.option("--url", help="The hub (default: SKP_PUBLIC_URL).")
@click.option("--cert", type=FILE, required=True, help="Your client certificate (PEM).")
@click.option("--key", type=FILE, required=True, help="Its private key (PEM).")
@click.option("--ca", type=FILE, required=True, help="The CA that signed the hub's certificate.")
@click.option("--as", "role", type=click.Choice([a.value for a in As]), default=As.SHV.value,
              show_default=True, help="The role your system plays.")
@click.option("--wsdl-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Local WSDL files (default: fetch them from the hub).")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("var/testtool-report.xml"), show_default=True,
              help="Where to write the JUnit XML report.")
@click.option("--wait", type=click.FloatRange(1, 600), default=30, show_default=True,
              help="Seconds to wait for each answer of the test partner.")
@pass_state
def run(state: State, url: str | None, cert: Path, key: Path, ca: Path, role: str,
        wsdl_dir: Path | None, report: Path, wait: float) -> None:
    """Run every routine for your role; exit 0 only when all pass."""
    result = Run(url or state.settings.public_url, Identity(cert, key, ca), As(role),
                 wsdl_dir=wsdl_dir, wait=wait, say=click.echo)
    passed = result.run()
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_bytes(result.junit())
    click.echo(f"report: {report}")
    if not passed:
        raise SystemExit(1)
