"""The operator's view of the traffic: metadata of messages and the backlog, never content."""

from __future__ import annotations

import datetime as dt

import click

from skp.cli import State, cli, pass_state
from skp.domain.calendar import AMSTERDAM
from skp.domain.lifecycle import State as MessageState
from skp.mailbox import MessageFilter, MessageInfo

#: Dates and times on the command line are Amsterdam's, like the deadlines.
WHEN = click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])


def _local(when: dt.datetime | None) -> dt.datetime | None:
    return None if when is None else when.replace(tzinfo=AMSTERDAM).astimezone(dt.UTC)


def _time(when: dt.datetime | None) -> str:
    return "-" if when is None else f"{when.astimezone(AMSTERDAM):%Y-%m-%d %H:%M:%S}"


@cli.group()
def messages() -> None:
    """Metadata of messages (ids, types, parties, states, times); never their content."""


@messages.command("list")
@click.option("--participant", "participant_id", help="Sent or received by this participant.")
@click.option("--type", "type_code", help="Of this message type, e.g. Saldoverzoek.")
@click.option("--state", "message_state", type=click.Choice([s.value for s in MessageState]),
              help="In this state.")
@click.option("--since", type=WHEN, help="Received at or after (Amsterdam time).")
@click.option("--until", type=WHEN, help="Received before (Amsterdam time).")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True,
              help="At most this many, newest first.")
@pass_state
def list_(state: State, participant_id: str | None, type_code: str | None,
          message_state: str | None, since: dt.datetime | None, until: dt.datetime | None,
          limit: int) -> None:
    """Messages that match, newest first: one line each."""
    if participant_id is not None:
        participant_id = state.hub.participants.get(participant_id).id
    found = state.hub.mailbox.messages(MessageFilter(
        participant_id=participant_id, type_code=type_code,
        state=MessageState(message_state) if message_state else None,
        since=_local(since), until=_local(until), limit=limit))
    for info in found:
        click.echo(f"{info.id}  {_time(info.received_at)}  {info.module}/{info.type_code}  "
                   f"{info.state:<9}  {info.sender_id} -> {info.recipient_id}  {info.size} B")


@messages.command("show")
@click.argument("message_id")
@pass_state
def show(state: State, message_id: str) -> None:
    """Every metadata field of one message (times in Amsterdam time)."""
    info: MessageInfo = state.hub.mailbox.message(message_id)
    for label, value in (
            ("message", info.id), ("module", info.module), ("type", info.type_code),
            ("version", info.version), ("state", info.state), ("sender", info.sender_id),
            ("recipient", info.recipient_id), ("kenmerk", info.kenmerk),
            ("conversation", info.conversation_id),
            ("cross reference", info.cross_reference_id or "-"), ("size", f"{info.size} B"),
            ("received", _time(info.received_at)), ("deadline", _time(info.deadline)),
            ("fetched", _time(info.fetched_at)), ("confirmed", _time(info.confirmed_at)),
            ("expired", _time(info.expired_at))):
        click.echo(f"{label + ':':<17}{value}")


@cli.command("backlog")
@pass_state
def backlog(state: State) -> None:
    """Per recipient: the messages not confirmed yet and the oldest's arrival, longest
    waiting first."""
    for row in state.hub.mailbox.backlog():
        click.echo(f"{row.recipient_id}  {row.pending:>6} waiting since "
                   f"{_time(row.oldest)}  {row.name}")
