"""What a run looks like from outside: for ``skp acceptance status``, the report, the SOAP
operation ``Acceptatiestatus`` and the portal. Metadata only."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass

from skp.domain.acceptance import Delivery, Kind, Routine, Start, Step
from skp.domain.roles import Module
from skp.domain.verdicts import Outcome
from skp.store.acceptance import AcceptanceRun, AcceptanceStep, RunState


def dump_step(step: Step) -> str:
    """A step of the script as stored (JSON)."""
    return json.dumps(dataclasses.asdict(step), sort_keys=True)


def load_step(text: str) -> Step:
    data = json.loads(text)
    return Step(
        Routine(data["routine"]), data["key"], Kind(data["kind"]), data["expectation"],
        tuple(Delivery(d["partner_id"], Module(d["module"]), d["type_code"], d["documents"])
              for d in data["deliveries"]),
        tuple(Start(s["partner_id"], Module(s["module"]), s["type_code"])
              for s in data["starts"]),
        tuple((tuple(ops), code) for ops, code in data["faults"]))


@dataclass(frozen=True)
class StepView:
    seq: int
    routine: Routine
    key: str
    kind: Kind
    expectation: str
    outcome: Outcome
    started_at: dt.datetime | None
    deadline: dt.datetime | None
    finished_at: dt.datetime | None
    lines: tuple[str, ...]
    #: What the participant is asked to start from its own system in this step.
    starts: tuple[Start, ...] = ()

    def time_left(self, now: dt.datetime) -> dt.timedelta | None:
        """How long the participant still has, while the step waits for it."""
        if self.outcome is not Outcome.WAITING or self.deadline is None:
            return None
        return max(self.deadline - now, dt.timedelta(0))

    @classmethod
    def of(cls, row: AcceptanceStep) -> StepView:
        step = load_step(row.script)
        return cls(row.seq, step.routine, step.key, step.kind, step.expectation,
                   Outcome(row.outcome), row.started_at, row.deadline_at, row.finished_at,
                   tuple(line for line in row.lines.split("\n") if line), step.starts)


@dataclass(frozen=True)
class RunView:
    id: str
    participant_id: str
    participant_name: str
    state: RunState
    routines: tuple[Routine, ...]
    started_at: dt.datetime
    finished_at: dt.datetime | None
    steps: tuple[StepView, ...]

    @property
    def awaited(self) -> StepView | None:
        """The step that waits for the participant now, if any."""
        return next((s for s in self.steps if s.outcome is Outcome.WAITING), None)

    def routine_outcome(self, routine: Routine) -> Outcome:
        """Failed when a step failed, passed when every step passed, else waiting/pending."""
        outcomes = [s.outcome for s in self.steps if s.routine is routine]
        if Outcome.FAILED in outcomes:
            return Outcome.FAILED
        if all(o is Outcome.PASSED for o in outcomes):
            return Outcome.PASSED
        return Outcome.WAITING if Outcome.WAITING in outcomes else Outcome.PENDING

    @classmethod
    def of(cls, run: AcceptanceRun, name: str, steps: list[AcceptanceStep]) -> RunView:
        return cls(run.id, run.participant_id, name, RunState(run.state),
                   tuple(Routine(r) for r in run.routines.split(",") if r), run.started_at,
                   run.finished_at, tuple(StepView.of(s) for s in steps))
