"""Starting runs and reading them: what ``skp acceptance`` and ``Acceptatiestatus`` call."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from skp.acceptance.views import RunView, dump_step
from skp.clock import Clock
from skp.config import Settings
from skp.domain import admission
from skp.domain.acceptance import Partner, Routine, script
from skp.domain.verdicts import Outcome
from skp.errors import NotAllowed, NotFound
from skp.participants import Participants
from skp.partner import ANSWERS, PARTNERS, ensure_partners
from skp.store.acceptance import AcceptanceRun, AcceptanceStep, RunState
from skp.store.models import Participant
from skp.store.session import transaction
from skp.store.types import canonical_id


def limit_text(settings: Settings) -> str:
    """The step time limit as a person reads it."""
    seconds = int(settings.acceptance_step_limit.total_seconds())
    return f"{seconds // 60} minutes" if seconds % 60 == 0 else f"{seconds} seconds"


class Runs:
    """Acceptance runs in the database."""

    def __init__(self, sessions: sessionmaker[Session], participants: Participants,
                 settings: Settings, clock: Clock) -> None:
        self._sessions = sessions
        self._participants = participants
        self._settings = settings
        self._clock = clock

    def start(self, participant_id: str, routines: Collection[Routine] | None = None
              ) -> RunView:
        """Start a run of ``routines`` (default all that apply) for a participant; it moves to
        ``in_acceptance``. The scheduler's acceptance job drives the run from then on."""
        ensure_partners(self._participants)
        info = self._participants.get(participant_id)
        if info.id in ANSWERS:
            raise NotAllowed("a test partner is not accepted: it is part of the hub")
        partners = [Partner(self._participants.get(p.id).party, ANSWERS[p.id]) for p in PARTNERS]
        steps = script(info.party, partners, burst=self._settings.acceptance_burst,
                       limit=limit_text(self._settings), routines=routines)
        if not steps:
            raise NotAllowed("no routine applies to this participant's role and modules; "
                             "switch its modules on first")
        now = self._clock.now()
        run = AcceptanceRun(id=str(uuid.uuid4()), participant_id=info.id,
                            state=RunState.RUNNING, started_at=now, drop_send=False, faults="",
                            routines=",".join(dict.fromkeys(s.routine.value for s in steps)))
        with transaction(self._sessions) as session:
            if session.scalars(select(AcceptanceRun.id).where(
                    AcceptanceRun.participant_id == info.id,
                    AcceptanceRun.state == RunState.RUNNING)).first() is not None:
                raise NotAllowed("this participant has a run in progress; wait for its end")
            self._participants.move(session, info.id, admission.start_run)
            session.add(run)
            session.add_all(AcceptanceStep(run_id=run.id, seq=n, routine=step.routine.value,
                                           key=step.key, script=dump_step(step),
                                           outcome=Outcome.PENDING, sent="", lines="")
                            for n, step in enumerate(steps))
        return self.get(run.id)

    def get(self, run_id: str) -> RunView:
        key = canonical_id(run_id)
        with transaction(self._sessions, read_only=True) as session:
            run = session.get(AcceptanceRun, key) if key else None
            if run is None:
                raise NotFound(f"no acceptance run {run_id}")
            return _view(session, run)

    def runs(self, participant_id: str | None = None, limit: int = 50) -> list[RunView]:
        """The latest runs (of a participant), newest first."""
        query = select(AcceptanceRun).order_by(AcceptanceRun.started_at.desc()).limit(limit)
        if participant_id is not None:
            query = query.where(AcceptanceRun.participant_id == canonical_id(participant_id))
        with transaction(self._sessions, read_only=True) as session:
            return [_view(session, run) for run in session.scalars(query)]

    def latest(self, participant_id: str) -> RunView | None:
        """A participant's latest run."""
        found = self.runs(participant_id, limit=1)
        return found[0] if found else None


def _view(session: Session, run: AcceptanceRun) -> RunView:
    name = session.get_one(Participant, run.participant_id).name
    steps = list(session.scalars(select(AcceptanceStep).where(
        AcceptanceStep.run_id == run.id).order_by(AcceptanceStep.seq)))
    return RunView.of(run, name, steps)
