"""Client certificates of participants."""

from __future__ import annotations

import re
from pathlib import Path

import click
from cryptography import x509

from skp import pki
from skp.certificates import check_client_certificate, load_bundle
from skp.cli import CliError, State, cli, pass_state
from skp.cli.participants import in_force
from skp.participants import CertificateInfo


def show_certificate(cert: CertificateInfo) -> None:
    revoked = f"  REVOKED {cert.revoked_at:%Y-%m-%d %H:%M}" if cert.revoked_at else ""
    click.echo(f"{cert.fingerprint}  {cert.participant_id}  until {cert.not_after:%Y-%m-%d}  "
               f"{cert.subject}{revoked}")


@cli.group()
def certs() -> None:
    """Client certificates: each identifies exactly one participant."""


@certs.command("add")
@click.argument("participant_id")
@click.argument("pem_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_state
def add(state: State, participant_id: str, pem_file: Path) -> None:
    """Register a certificate (PEM or DER file) for a participant.

    Refuses one that can never authenticate: a CA certificate, one without the clientAuth
    extended key usage, an expired one, one that does not chain to SKP_TLS_CLIENT_CA (the
    certificates after the first in a PEM file count as its intermediates). Warns when it
    expires within 30 days.
    """
    data = pem_file.read_bytes()
    leaf, *intermediates = load_bundle(data)
    ca_file = state.settings.tls_client_ca
    try:
        cas = x509.load_pem_x509_certificates(ca_file.read_bytes())
    except (OSError, ValueError) as exc:
        raise CliError(f"the client CA bundle {ca_file} cannot be read: set SKP_TLS_CLIENT_CA "
                       "to the CAs of the participants' certificates") from exc
    warnings = check_client_certificate(leaf, intermediates, cas, state.hub.clock.now())
    show_certificate(state.hub.participants.add_certificate(participant_id, data))
    for warning in warnings:
        click.echo(f"Warning: {warning}", err=True)


@certs.command("issue-dev")
@click.argument("participant_id")
@click.option("--certs", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=Path("certs"), show_default=True, help="Folder of the dev PKI.")
@pass_state
def issue_dev(state: State, participant_id: str, directory: Path) -> None:
    """Issue a development client certificate for a participant and register it."""
    state.development_only("certs issue-dev")
    info = state.hub.participants.get(participant_id)
    slug = re.sub(r"[^a-z0-9]+", "-", info.name.lower()).strip("-") or info.id
    issued = pki.issue_client(directory, slug, info.name)
    show_certificate(state.hub.participants.add_certificate(info.id, issued.pem))
    click.echo(f"certificate {issued.cert}, key {issued.key}")


@certs.command("revoke")
@click.argument("fingerprint")
@pass_state
def revoke(state: State, fingerprint: str) -> None:
    """Revoke a certificate now: it no longer gives access, at any server process, once this
    command returns."""
    show_certificate(in_force(state, state.hub.participants.revoke_certificate(fingerprint)))


@certs.command("list")
@click.option("--participant", "participant_id", help="Only this participant's.")
@pass_state
def list_(state: State, participant_id: str | None) -> None:
    """Certificates with their expiry, soonest first."""
    for cert in state.hub.participants.certificates(participant_id):
        show_certificate(cert)
