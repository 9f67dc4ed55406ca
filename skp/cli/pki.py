"""The development PKI."""

from __future__ import annotations

from pathlib import Path

import click
from cryptography import x509

from skp import pki as dev_pki
from skp.cli import State, cli, pass_state


@cli.group()
def pki() -> None:
    """Development certificates (never for production: use PKIoverheid there)."""


@pki.command("init-dev")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=Path("certs"), show_default=True, help="Folder to write to.")
@click.option("--host", "hosts", multiple=True, default=("localhost", "127.0.0.1"),
              show_default=True, help="A name or address of the server certificate.")
@click.option("--key", type=click.Choice(dev_pki.KEY_KINDS), default=dev_pki.KEY_KINDS[0],
              show_default=True, help="Kind of key of the CA and every certificate it issues: "
              "EC P-256, or RSA 3072 for clients that cannot use EC keys (mono, .NET "
              "Framework).")
@click.option("--force", is_flag=True, help="Replace an existing dev PKI.")
@click.option("--if-missing", is_flag=True, help="Do nothing when the dev PKI exists.")
@pass_state
def init_dev(state: State, directory: Path, hosts: tuple[str, ...], key: str, force: bool,
             if_missing: bool) -> None:
    """Create a development CA and the hub's server certificate."""
    state.development_only("pki init-dev")
    if if_missing and (directory / "ca.pem").exists():
        click.echo(f"development PKI in {directory} exists")
        return
    ca, server = dev_pki.init_dev(directory, hosts=hosts, force=force, key=key)
    click.echo(f"created {ca.cert} (CA; clients and the hub trust it), {server.cert} and "
               f"{server.key} (the hub's certificate for {', '.join(hosts)}), {key} keys")


@pki.command("issue-edge")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=Path("certs"), show_default=True, help="Folder of the dev PKI.")
def issue_edge(directory: Path) -> None:
    """Issue the edge's own client certificate towards the hub (deploy/nginx/)."""
    issued = dev_pki.issue_edge(directory)
    click.echo(f"created {issued.cert} and {issued.key} (the edge's client certificate)")


@pki.command("crl")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=Path("certs"), show_default=True, help="Folder of the dev PKI.")
@click.option("--revoke", "revoked", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A certificate (PEM) to list as revoked; repeatable.")
def crl(directory: Path, revoked: tuple[Path, ...]) -> None:
    """Write the dev CA's revocation list (crl.pem) that the edge checks."""
    try:
        certificates = [x509.load_pem_x509_certificate(path.read_bytes()) for path in revoked]
    except ValueError as exc:
        raise click.BadParameter("not a PEM certificate", param_hint="--revoke") from exc
    path = dev_pki.write_crl(directory, certificates)
    click.echo(f"created {path} ({len(certificates)} revoked)")
