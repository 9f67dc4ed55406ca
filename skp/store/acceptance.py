"""Typed models of acceptance runs: a run per participant, its steps, and the participant's
requests as the hub observed them while it was in acceptance (metadata only, never content).

A run's steps and their verdicts are its report; they are kept after the run ends.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from skp.domain.verdicts import Outcome
from skp.store.models import Base, _enum


class RunState(enum.StrEnum):
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"


class AcceptanceRun(Base):
    """One acceptance run of a participant's adapter."""

    __tablename__ = "acceptance_run"
    __table_args__ = (
        CheckConstraint("state = 'running' OR finished_at IS NOT NULL", name="finished_at"),
        Index(None, "participant_id", "state"),
        {"comment": "Acceptance runs: scripted routines that judge a participant's adapter"},
    )

    id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True, comment="Run id")
    participant_id: Mapped[str] = mapped_column(
        ForeignKey("participant.id", ondelete="CASCADE"), comment="The participant under test")
    state: Mapped[RunState] = mapped_column(_enum(RunState, "run_state"),
                                            comment="running, passed or failed")
    routines: Mapped[str] = mapped_column(comment="The routines of the run, comma-separated")
    started_at: Mapped[dt.datetime] = mapped_column(comment="When the run was started")
    finished_at: Mapped[dt.datetime | None] = mapped_column(comment="When it ended")
    drop_send: Mapped[bool] = mapped_column(
        default=False, comment="Drop the answer of the participant's next committed send, once")
    faults: Mapped[str] = mapped_column(
        String(500), default="",
        comment="Faults to answer once each: 'Op|Op=Code' items, separated by ';'")


class AcceptanceStep(Base):
    """A step of a run: what it does and expects, and its verdict."""

    __tablename__ = "acceptance_step"
    __table_args__ = (
        CheckConstraint("outcome = 'pending' OR started_at IS NOT NULL", name="started_at"),
        {"comment": "Steps of acceptance runs with their expectations and verdicts"},
    )

    run_id: Mapped[str] = mapped_column(
        ForeignKey("acceptance_run.id", ondelete="CASCADE"), primary_key=True, comment="Run")
    seq: Mapped[int] = mapped_column(primary_key=True, comment="Place in the run, from 0")
    routine: Mapped[str] = mapped_column(String(32), comment="Routine (skp.domain.acceptance)")
    key: Mapped[str] = mapped_column(String(64), comment="The step's name within its routine")
    script: Mapped[str] = mapped_column(Text, comment="The step as JSON: kind, expectation, "
                                                      "deliveries, starts, faults")
    outcome: Mapped[Outcome] = mapped_column(_enum(Outcome, "outcome"),
                                             comment="pending, waiting, passed or failed")
    started_at: Mapped[dt.datetime | None] = mapped_column(comment="When the step began")
    deadline_at: Mapped[dt.datetime | None] = mapped_column(comment="When it fails if unmet")
    finished_at: Mapped[dt.datetime | None] = mapped_column(comment="When it was judged")
    sent: Mapped[str] = mapped_column(Text, default="",
                                      comment="Hub ids the test partners sent, comma-separated")
    lines: Mapped[str] = mapped_column(Text, default="",
                                       comment="The verdict: expected and seen, one a line")


class AcceptanceCall(Base):
    """A request of a participant in acceptance, as the hub saw it (metadata only)."""

    __tablename__ = "acceptance_call"
    __table_args__ = (
        Index(None, "run_id", "at"),
        {"comment": "Requests of participants under acceptance (operation, outcome, ids)"},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True, comment="Sequence")
    run_id: Mapped[str] = mapped_column(
        ForeignKey("acceptance_run.id", ondelete="CASCADE"), comment="Run")
    at: Mapped[dt.datetime] = mapped_column(comment="When the request was answered")
    operation: Mapped[str] = mapped_column(
        String(64), comment="SOAP operation; Matching: a partner received a Saldoverzoek antwoord")
    outcome: Mapped[str] = mapped_column(
        String(64), comment="ok, a fault code, or dropped; for Matching its code")
    message_id: Mapped[str | None] = mapped_column(String(64), comment="Hub message id")
    repeated: Mapped[bool] = mapped_column(default=False, comment="A send of a known Kenmerk")
    cross_reference: Mapped[str | None] = mapped_column(
        String(64), comment="The header's CrossReferentienummer of a send")
    conversation: Mapped[str | None] = mapped_column(
        String(64), comment="The header's ConversatieReferentienummer of a send")
