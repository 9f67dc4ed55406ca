"""Advancing runs: the scheduler's acceptance job calls :meth:`Runner.tick`.

A tick lets the test partners work their mailboxes (answer and confirm), then, for every
running run, begins its next step (the partners send what the step delivers; the hub arms a
lost receipt or its faults) and judges the waiting one from the metadata of the messages and
the participant's observed requests (skp.domain.verdicts). Steps run one after another; a run
ends when every step is judged, passed only when all passed, and moves the participant on
(skp.domain.admission.finish_run); the requests observed for it are deleted then, its steps
and their verdicts kept.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from skp.acceptance.views import load_step
from skp.clock import Clock
from skp.config import Settings
from skp.domain import admission, matching
from skp.domain.acceptance import Kind, Step
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.validation import Header
from skp.domain.verdicts import MATCHING, Call, Facts, Outcome, Seen, judge
from skp.errors import SkpError
from skp.mailbox import Delivery, Mailbox
from skp.participants import Participants
from skp.partner import PARTNERS, TestPartner
from skp.store.acceptance import AcceptanceCall, AcceptanceRun, AcceptanceStep, RunState
from skp.store.models import Message
from skp.store.session import transaction

log = logging.getLogger("skp.acceptance")

_PARTNER_IDS = tuple(p.id for p in PARTNERS)
_ROLES = {p.id: p.role for p in PARTNERS}


class Runner:
    """Advances the running acceptance runs."""

    def __init__(self, sessions: sessionmaker[Session], mailbox: Mailbox,
                 participants: Participants, settings: Settings, clock: Clock) -> None:
        self._sessions = sessions
        self._mailbox = mailbox
        self._participants = participants
        self._settings = settings
        self._clock = clock
        self._partner = TestPartner(mailbox, observe=self._observe)

    def tick(self) -> int:
        """Advance every running run once; the number of runs still running."""
        with transaction(self._sessions, read_only=True) as session:
            runs = list(session.scalars(select(AcceptanceRun.id).where(
                AcceptanceRun.state == RunState.RUNNING)))
        if not runs:
            return 0
        self._partner.work()
        running = 0
        for run_id in runs:
            try:
                running += self.advance(run_id)
            except SkpError as exc:  # one run's trouble does not hold up the others
                log.warning("acceptance run not advanced", extra={
                    "run": run_id, "error": type(exc).__name__})
                running += 1
        return running

    def _observe(self, delivery: Delivery) -> None:
        """Keep the Matching of a Saldoverzoek antwoord a partner received from a participant
        under test: the answering routine asks for a matched and a not-matched one. A code,
        never the claims."""
        info = delivery.info
        if info.type_code != matching.REPLY:
            return
        with transaction(self._sessions) as session:
            run_id = session.scalars(select(AcceptanceRun.id).where(
                AcceptanceRun.participant_id == info.sender_id,
                AcceptanceRun.state == RunState.RUNNING)).first()
            if run_id is not None:
                session.add(AcceptanceCall(
                    run_id=run_id, at=self._clock.now(), operation=MATCHING,
                    outcome=str(delivery.body.get("Matching", "?"))[:64], message_id=info.id))

    def advance(self, run_id: str) -> bool:
        """Begin and judge the run's steps as far as they go now; whether it still runs."""
        while True:
            now = self._clock.now()
            begun: tuple[int, Step] | None = None
            with transaction(self._sessions) as session:
                run = session.get(AcceptanceRun, run_id)
                if run is None or run.state is not RunState.RUNNING:
                    return False
                row = session.scalars(
                    select(AcceptanceStep).where(
                        AcceptanceStep.run_id == run_id,
                        AcceptanceStep.outcome.in_((Outcome.PENDING, Outcome.WAITING)))
                    .order_by(AcceptanceStep.seq).limit(1)).first()
                if row is None:
                    self._finish(session, run, now)
                    return False
                step = load_step(row.script)
                if row.outcome is Outcome.PENDING:
                    self._begin(run, row, step, now)
                    begun = row.seq, step
                else:
                    verdict = judge(step, self._facts(session, run, row, step, now))
                    if not verdict.outcome.final:
                        return True
                    row.outcome = verdict.outcome
                    row.lines = "\n".join(verdict.lines)
                    row.finished_at = now
                    run.drop_send, run.faults = False, ""
                    log.info("acceptance step judged", extra={
                        "run": run_id, "step": step.key, "outcome": verdict.outcome.value})
            if begun is not None:  # the partners send in transactions of their own
                self._deliver(run_id, *begun)

    def _begin(self, run: AcceptanceRun, row: AcceptanceStep, step: Step,
               now: dt.datetime) -> None:
        limit = self._settings.acceptance_step_limit
        row.started_at, row.deadline_at = now, now + limit
        row.outcome = Outcome.WAITING
        run.drop_send = step.kind is Kind.LOST_RECEIPT
        run.faults = ";".join(f"{'|'.join(ops)}={code}" for ops, code in step.faults)
        if step.kind is Kind.RATE:
            row.started_at = run.started_at  # the rate is judged over the whole run

    def _deliver(self, run_id: str, seq: int, step: Step) -> None:
        """The partners send the step's deliveries; their hub ids are kept with the step."""
        with transaction(self._sessions, read_only=True) as session:
            participant_id = session.get_one(AcceptanceRun, run_id).participant_id
        sent, refused = [], None
        for n, delivery in enumerate(step.deliveries):
            mt = lookup(delivery.module, delivery.type_code)
            body = example_body(mt, full=delivery.documents,
                                sender_role=_ROLES[delivery.partner_id])
            try:
                receipt = self._mailbox.send(
                    delivery.partner_id, delivery.module, delivery.type_code,
                    Header(kenmerk=f"acc-{run_id}-{seq}-{n}", ontvanger=participant_id,
                           conversatie_referentienummer=str(uuid.uuid4())), body)
            except SkpError as exc:  # e.g. the participant's mailbox is full
                refused = (f"expected the test partner's {delivery.type_code} delivered to "
                           f"you; seen the hub refuse it with {exc.code}")
                break
            sent.append(receipt.message_id)
        with transaction(self._sessions) as session:
            row = session.get_one(AcceptanceStep, (run_id, seq))
            row.sent = ",".join(sent)
            if refused is not None:
                row.outcome, row.lines, row.finished_at = (Outcome.FAILED, refused,
                                                           self._clock.now())

    def _facts(self, session: Session, run: AcceptanceRun, row: AcceptanceStep, step: Step,
               now: dt.datetime) -> Facts:
        since, deadline = row.started_at, row.deadline_at
        if since is None or deadline is None:  # the CHECK constraint holds a begun step to it
            raise AssertionError("a waiting step has begun")
        sent_ids = [i for i in row.sent.split(",") if i]
        sent = _seen(session, select(Message).where(Message.id.in_(sent_ids))) if sent_ids else []
        order = {key: n for n, key in enumerate(sent_ids)}
        sent.sort(key=lambda m: order[m.id])
        own = _seen(session, select(Message).where(
            Message.sender_id == run.participant_id, Message.received_at >= since))
        answers = _seen(session, select(Message).where(
            Message.recipient_id == run.participant_id,
            Message.sender_id.in_(_PARTNER_IDS),
            Message.cross_reference_id.in_([m.id for m in own]))) if own else []
        calls = [Call(c.at, c.operation, c.outcome, c.message_id, c.repeated,
                      c.cross_reference, c.conversation)
                 for c in session.scalars(select(AcceptanceCall).where(
                     AcceptanceCall.run_id == run.id, AcceptanceCall.at >= since)
                     .order_by(AcceptanceCall.id))]
        rate = (self._settings.send_rate, int(self._settings.send_window.total_seconds()))
        return Facts(now, since, deadline, sent, own, answers, calls, rate)

    def _finish(self, session: Session, run: AcceptanceRun, now: dt.datetime) -> None:
        outcomes = session.scalars(select(AcceptanceStep.outcome).where(
            AcceptanceStep.run_id == run.id)).all()
        passed = bool(outcomes) and all(o is Outcome.PASSED for o in outcomes)
        run.state = RunState.PASSED if passed else RunState.FAILED
        run.finished_at = now
        run.drop_send, run.faults = False, ""
        # The verdicts are the report; the observed requests they were judged from go.
        session.execute(delete(AcceptanceCall).where(AcceptanceCall.run_id == run.id))
        self._participants.move(session, run.participant_id,
                                lambda standing: admission.finish_run(standing, passed))
        log.info("acceptance run finished", extra={"run": run.id, "outcome": run.state.value})


def _seen(session: Session, query: Select[Message]) -> list[Seen]:
    rows: Sequence[Message] = session.scalars(query).all()
    firsts = dict(session.execute(
        select(Message.conversation_id, func.min(Message.received_at))
        .where(Message.conversation_id.in_({m.conversation_id for m in rows}))
        .group_by(Message.conversation_id)).all()) if rows else {}
    return sorted((Seen(m.id, m.module.value, m.type_code, m.sender_id, m.recipient_id,
                        m.kenmerk, m.conversation_id, m.cross_reference_id, m.state.value,
                        m.received_at, m.fetched_at, m.confirmed_at,
                        new_conversation=firsts.get(m.conversation_id) == m.received_at)
                   for m in rows), key=lambda m: (m.received_at, m.id))
