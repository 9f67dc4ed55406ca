"""Acceptance runs: the hub's scripted routines that judge a participant's adapter."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from skp.acceptance import RunView
from skp.acceptance.report import html, junit
from skp.cli import CliError, State, cli, pass_state
from skp.cli.participants import in_force
from skp.domain.acceptance import Routine


def _routines(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
              ) -> list[Routine]:
    """The routines of ``--routines``, comma-separated or repeated."""
    found = []
    for part in (p.strip() for value in values for p in value.split(",")):
        try:
            found.append(Routine(part))
        except ValueError:
            raise click.BadParameter(f"{part!r} is not a routine; the routines are "
                                     f"{', '.join(r.value for r in Routine)}") from None
    return found


def _left(left: dt.timedelta | None) -> str:
    if left is None:
        return ""
    minutes, seconds = divmod(int(left.total_seconds()), 60)
    return f"  ({minutes}:{seconds:02d} left)"


def show_run(run: RunView, now: dt.datetime) -> None:
    click.echo(f"run {run.id}  {run.state}  participant {run.participant_id}  "
               f"started {run.started_at:%Y-%m-%d %H:%M:%S}")
    for routine in run.routines:
        click.echo(f"  {routine}: {run.routine_outcome(routine)}")
        for step in (s for s in run.steps if s.routine is routine):
            click.echo(f"    {step.key:<32} {step.outcome}{_left(step.time_left(now))}")
            for line in step.lines:
                click.echo(f"      {line}")
    awaited = run.awaited
    if awaited is not None:
        click.echo(f"  awaited from the participant: {awaited.expectation}")


@cli.group()
def acceptance() -> None:
    """Acceptance runs: scripted routines with the test partners that judge a participant's
    own adapter, before `skp participants activate`."""


@acceptance.command("start")
@click.argument("participant_id")
@click.option("--routines", "--routine", "routines", multiple=True, callback=_routines,
              help="Only these routines, comma-separated or repeated: recipient, answering, "
                   "initiating, robustness (default: every routine that applies to the "
                   "participant's role and modules).")
@pass_state
def start(state: State, participant_id: str, routines: list[Routine]) -> None:
    """Start a run for a participant; the scheduler of `skp serve` drives it."""
    run = in_force(state, state.hub.acceptance.runs.start(participant_id, routines or None))
    show_run(run, state.hub.clock.now())


@acceptance.command("status")
@click.argument("run_id", required=False)
@click.option("--participant", "participant_id", help="Only this participant's runs.")
@pass_state
def status(state: State, run_id: str | None, participant_id: str | None) -> None:
    """One run with its steps, or the latest runs."""
    runs = state.hub.acceptance.runs
    if run_id is not None:
        show_run(runs.get(run_id), state.hub.clock.now())
        return
    found = runs.runs(participant_id)
    if not found:
        click.echo("no acceptance runs yet: start one with `skp acceptance start`")
    for run in found:
        click.echo(f"{run.id}  {run.state:<8} {run.started_at:%Y-%m-%d %H:%M}  "
                   f"{run.participant_id}  {run.participant_name}")


@acceptance.command("report")
@click.argument("run_id")
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the run as JUnit XML to this file.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the run as an HTML page to this file.")
@pass_state
def report(state: State, run_id: str, junit_file: Path | None, html_file: Path | None) -> None:
    """Write a run's report (JUnit XML, HTML); without a file, show it."""
    run = state.hub.acceptance.runs.get(run_id)
    if junit_file is None and html_file is None:
        show_run(run, state.hub.clock.now())
        return
    now = state.hub.clock.now()
    for path, kind in ((junit_file, "junit"), (html_file, "html")):
        if path is None:
            continue
        try:
            path.write_bytes(junit(run) if kind == "junit" else html(run, now))
        except OSError as exc:
            raise CliError(f"cannot write {path}: {exc.strerror}") from exc
        click.echo(f"wrote {path}")
