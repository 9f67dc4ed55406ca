"""The participant register."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import click

from skp import published
from skp.cli import CliError, State, cli, pass_state
from skp.demo import add_demo
from skp.domain.roles import Module, Role
from skp.identities import LEASE
from skp.participants import ParticipantInfo

ROLE = click.Choice([r.value for r in Role])
MODULE = click.Choice([m.value for m in Module])
EXTENSION = click.Choice(["0", "7", "14", "28"])
T = TypeVar("T")


def in_force(state: State, changed: T) -> T:
    """``changed`` once every server process has applied the change to the register: from
    then on none of them lets in what it took away (skp.identities)."""
    waiting = state.hub.participants.identities.in_force()
    if waiting:
        click.echo(f"Warning: {waiting} server process(es) have not confirmed the change; "
                   f"they stop using identities kept before it within {LEASE:.0f} s", err=True)
    return changed


def show_participant(info: ParticipantInfo) -> None:
    click.echo(f"{info.id}  {info.name}")
    standing = info.standing.label if info.active else f"INACTIVE ({info.standing.label})"
    click.echo(f"  role {info.role}, {standing}, "
               f"extension {info.extension_days} days, uses BSN: "
               f"{'yes' if info.uses_bsn else 'no'}")
    click.echo(f"  modules: {', '.join(sorted(info.modules)) or '-'}")
    if info.kvk_nummer:
        click.echo(f"  KvK {info.kvk_nummer} {info.vestigingsnummer or ''}".rstrip())


@cli.group()
def participants() -> None:
    """Participants: organisations or business units that send and receive."""


@participants.command("add")
@click.option("--name", required=True, help="Organisation (unit) name.")
@click.option("--role", type=ROLE, required=True, help="The participant's role.")
@click.option("--module", "modules", type=MODULE, multiple=True,
              help="A module to switch on (repeat for several).")
@click.option("--uses-bsn", is_flag=True, help="A creditor that uses the BSN.")
@click.option("--extension", type=EXTENSION, default="0", show_default=True,
              help="Verlengen afhandeltermijn in days.")
@click.option("--kvk", help="KvK number (8 digits).")
@click.option("--vestiging", help="KvK vestigingsnummer (12 digits).")
@click.option("--id", "participant_id", help="A given UUID instead of a new one.")
@pass_state
def add(state: State, name: str, role: str, modules: tuple[str, ...], uses_bsn: bool,
        extension: str, kvk: str | None, vestiging: str | None,
        participant_id: str | None) -> None:
    """Register a participant."""
    info = state.hub.participants.add(
        name=name, role=Role(role), modules=[Module(m) for m in modules], uses_bsn=uses_bsn,
        extension_days=int(extension), kvk_nummer=kvk, vestigingsnummer=vestiging,
        participant_id=participant_id)
    show_participant(info)


@participants.command("list")
@pass_state
def list_(state: State) -> None:
    """All participants, by name."""
    for info in state.hub.participants.all():
        click.echo(f"{info.id}  {info.role:<13} {info.standing:<13} {info.name}")


@participants.command("show")
@click.argument("participant_id")
@pass_state
def show(state: State, participant_id: str) -> None:
    """One participant with its modules and certificates."""
    show_participant(state.hub.participants.get(participant_id))
    for cert in state.hub.participants.certificates(participant_id):
        revoked = f", revoked {cert.revoked_at:%Y-%m-%d}" if cert.revoked_at else ""
        click.echo(f"  certificate {cert.fingerprint} valid until "
                   f"{cert.not_after:%Y-%m-%d}{revoked}")


@participants.command("enable-module")
@click.argument("participant_id")
@click.argument("module", type=MODULE)
@pass_state
def enable_module(state: State, participant_id: str, module: str) -> None:
    """Switch a module on for a participant."""
    register = state.hub.participants
    show_participant(in_force(state, register.enable_module(participant_id, Module(module))))


@participants.command("disable-module")
@click.argument("participant_id")
@click.argument("module", type=MODULE)
@pass_state
def disable_module(state: State, participant_id: str, module: str) -> None:
    """Switch a module off for a participant."""
    register = state.hub.participants
    show_participant(in_force(state, register.disable_module(participant_id, Module(module))))


@participants.command("set-extension")
@click.argument("participant_id")
@click.argument("days", type=EXTENSION)
@pass_state
def set_extension(state: State, participant_id: str, days: str) -> None:
    """Set the extension of the fetch period (0, 7, 14 or 28 days) for new messages."""
    register = state.hub.participants
    show_participant(in_force(state, register.set_extension(participant_id, int(days))))


@participants.command("update")
@click.argument("participant_id")
@click.option("--name", help="Organisation (unit) name.")
@click.option("--kvk", help="KvK number (8 digits; \"\" removes it).")
@click.option("--vestiging", help="KvK vestigingsnummer (12 digits; \"\" removes it).")
@click.option("--uses-bsn/--no-uses-bsn", default=None,
              help="Whether the participant (a creditor) uses the BSN.")
@pass_state
def update(state: State, participant_id: str, name: str | None, kvk: str | None,
           vestiging: str | None, uses_bsn: bool | None) -> None:
    """Change a participant's name, KvK numbers or use of the BSN (what is not given stays)."""
    if name is None and kvk is None and vestiging is None and uses_bsn is None:
        raise CliError("give at least one of --name, --kvk, --vestiging, "
                       "--uses-bsn/--no-uses-bsn")
    show_participant(in_force(state, state.hub.participants.update(
        participant_id, name=name, kvk_nummer=kvk, vestigingsnummer=vestiging,
        uses_bsn=uses_bsn)))


@participants.command("activate")
@click.argument("participant_id")
@click.option("--without-acceptance", is_flag=True,
              help="Activate without a passed acceptance run (recorded in the audit trail).")
@pass_state
def activate(state: State, participant_id: str, without_acceptance: bool) -> None:
    """Activate an accepted participant: refused without a passed acceptance run (skp
    acceptance) unless --without-acceptance is given."""
    show_participant(in_force(state, state.hub.participants.activate(
        participant_id, without_acceptance=without_acceptance)))


@participants.command("reactivate")
@click.argument("participant_id")
@pass_state
def reactivate(state: State, participant_id: str) -> None:
    """Reactivate a participant: its valid certificates give access again."""
    show_participant(in_force(state, state.hub.participants.reactivate(participant_id)))


@participants.command("deactivate")
@click.argument("participant_id")
@pass_state
def deactivate(state: State, participant_id: str) -> None:
    """Deactivate a participant: its certificates no longer give access."""
    show_participant(in_force(state, state.hub.participants.deactivate(participant_id)))


@participants.command("add-demo")
@click.option("--certs", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=Path("certs"), show_default=True, help="Folder of the dev PKI.")
@pass_state
def add_demo_command(state: State, directory: Path) -> None:
    """Register the demo participants with dev certificates (skips what exists)."""
    state.development_only("participants add-demo")
    for demo, added in add_demo(state.hub.participants, directory):
        click.echo(f"{'added' if added else 'exists'}  {demo.id}  {demo.role:<9} "
                   f"{demo.name}  ({directory / demo.slug}.pem)")


@participants.command("export")
@click.option("--format", "format_", type=click.Choice(["csv", "json"]), default="csv",
              show_default=True, help="CSV (semicolons, for spreadsheets) or JSON.")
@click.option("--module", "modules", type=MODULE, multiple=True,
              help="Only the address book of this module (repeat for several; default all).")
@click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write to this file instead of standard output.")
@pass_state
def export(state: State, format_: str, modules: tuple[str, ...], out: Path | None) -> None:
    """The address book as other participants see it: the public fields only, a row per
    participant and module (active participants with the module switched on)."""
    rows = published.records(state.hub.addressbook,
                             [Module(m) for m in modules] if modules else Module)
    text = published.as_json(rows) if format_ == "json" else published.as_csv(rows)
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc.strerror}") from exc
