"""Requests of organisations (from the portal's "Mijn organisatie"): a module or the extension
of the deadline, answered by the operator."""

from __future__ import annotations

import click

from skp.cli import State, cli, pass_state
from skp.domain.roles import MODULE_INFO, Module
from skp.organisations import RequestInfo


def _what(request: RequestInfo) -> str:
    if request.kind == "module":
        return f"module {request.value} ({MODULE_INFO[Module(request.value)].title})"
    return f"extension {request.value} days"


@cli.group("requests")
def requests_() -> None:
    """Requests of organisations for a module or an extension (Verlengen afhandeltermijn)."""


@requests_.command("list")
@click.option("--all", "everything", is_flag=True, help="Also the answered ones.")
@pass_state
def list_(state: State, everything: bool) -> None:
    """The open requests (oldest last), or all of them."""
    found = state.hub.organisations.requests(state=None if everything else "open")
    if not found:
        click.echo("no requests" if everything else "no open requests")
    for r in found:
        unit = state.hub.participants.get(r.participant_id)
        click.echo(f"{r.id}  {r.state:<8}  {r.requested_at:%Y-%m-%d %H:%M}  {unit.id}  "
                   f"{unit.name}: {_what(r)}")


@requests_.command("approve")
@click.argument("request_id")
@pass_state
def approve(state: State, request_id: str) -> None:
    """Grant a request: the participant gets the module or the extension now."""
    decided = state.hub.organisations.decide(request_id, approve=True)
    unit = state.hub.participants.get(decided.participant_id)
    click.echo(f"approved {decided.id}: {unit.name} has {_what(decided)}")


@requests_.command("refuse")
@click.argument("request_id")
@click.option("--reason", required=True,
              help="Why, for the organisation's administrator (no personal data).")
@pass_state
def refuse(state: State, request_id: str, reason: str) -> None:
    """Refuse a request, saying why."""
    decided = state.hub.organisations.decide(request_id, approve=False, reason=reason[:500])
    click.echo(f"refused {decided.id}")
