"""Property-based tests of the mailbox on a real database (SQLite file).

- The purge never deletes content that is unconfirmed and not past its deadline.
- Under any sequence of sends, fetches, confirms, clock moves and purges, every message only
  makes the transitions of skp.domain.lifecycle, and holds content exactly while pending.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import select

from skp.clock import FrozenClock
from skp.config import Settings
from skp.domain.admission import Standing
from skp.domain.lifecycle import State
from skp.domain.roles import ROLE_MODULES, Module, Role
from skp.errors import InvalidState
from skp.mailbox import Mailbox
from skp.participants import Participants
from skp.sealing import MemoryKeyRing
from skp.store.db import make_engine, make_sessions, migrate
from skp.store.models import Message
from tests.helpers import send

SR = Module.SCHULDREGELING
START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
ALLOWED = {(State.QUEUED, State.FETCHED), (State.FETCHED, State.CONFIRMED),
           (State.QUEUED, State.EXPIRED), (State.FETCHED, State.EXPIRED)}


class Hub:
    """A mailbox on a fresh SQLite file with a debt counsellor and a creditor."""

    def __init__(self) -> None:
        self.directory = tempfile.TemporaryDirectory()
        self.engine = make_engine(f"sqlite:///{Path(self.directory.name) / 'hub.sqlite3'}")
        migrate(self.engine)
        self.sessions = make_sessions(self.engine)
        self.clock = FrozenClock(START)
        participants = Participants(self.sessions, self.clock)
        self.shv = participants.add(standing=Standing.ACTIVE, name="SHV", role=Role.SHV_FASE2,
                                    modules=ROLE_MODULES[Role.SHV_FASE2])
        self.se = participants.add(standing=Standing.ACTIVE,
                                   name="SE", role=Role.SE, modules=ROLE_MODULES[Role.SE],
                                   extension_days=7)
        self.mailbox = Mailbox(self.sessions, MemoryKeyRing.generate(), Settings(), self.clock)

    def rows(self) -> list[Message]:
        with self.sessions() as session:
            return list(session.scalars(select(Message)))

    def close(self) -> None:
        self.engine.dispose()
        self.directory.cleanup()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(received=st.lists(st.integers(0, 30 * 24 * 60), min_size=1, max_size=8),
       fetched=st.lists(st.booleans(), min_size=8, max_size=8),
       now=st.integers(0, 40 * 24 * 60))
def test_purge_never_deletes_pending_content_before_its_deadline(received, fetched, now):
    hub = Hub()
    try:
        for minutes, fetch in zip(sorted(received), fetched, strict=False):
            hub.clock.set(START + dt.timedelta(minutes=minutes))
            receipt = send(hub.mailbox, hub.shv, hub.se, SR, "Kennisgeving")
            if fetch:
                hub.mailbox.fetch(hub.se.id, receipt.message_id)
        moment = START + dt.timedelta(minutes=now)
        hub.mailbox.purge(moment)
        for row in hub.rows():
            if row.deadline_at > moment:
                assert row.state in (State.QUEUED, State.FETCHED)
                assert row.ciphertext is not None
            else:
                assert row.state is State.EXPIRED and row.ciphertext is None
    finally:
        hub.close()


class MailboxMachine(RuleBasedStateMachine):
    """Random operations against the mailbox; the database must follow the state machine."""

    @initialize()
    def start(self) -> None:
        self.hub = Hub()
        self.seen: dict[str, State] = {}

    def teardown(self) -> None:
        if hasattr(self, "hub"):
            self.hub.close()

    @rule()
    def send_one(self) -> None:
        receipt = send(self.hub.mailbox, self.hub.shv, self.hub.se, SR, "Kennisgeving")
        self.seen[receipt.message_id] = State.QUEUED

    @precondition(lambda self: self.seen)
    @rule(pick=st.integers(0, 1000))
    def fetch(self, pick: int) -> None:
        message_id = sorted(self.seen)[pick % len(self.seen)]
        try:
            self.hub.mailbox.fetch(self.hub.se.id, message_id)
        except InvalidState:
            assert self.seen[message_id] in (State.CONFIRMED, State.EXPIRED) or self._due(
                message_id)

    @precondition(lambda self: self.seen)
    @rule(pick=st.integers(0, 1000))
    def confirm(self, pick: int) -> None:
        message_id = sorted(self.seen)[pick % len(self.seen)]
        try:
            self.hub.mailbox.confirm(self.hub.se.id, message_id)
        except InvalidState:  # past its deadline a message is expired, purged or not
            assert self.seen[message_id] in (State.QUEUED, State.EXPIRED) or self._due(
                message_id)

    @rule()
    def fetch_next(self) -> None:
        self.hub.mailbox.fetch_next(self.hub.se.id, SR)

    @rule(hours=st.integers(1, 24 * 10))
    def time_passes(self, hours: int) -> None:
        self.hub.clock.advance(dt.timedelta(hours=hours))

    @rule()
    def purge(self) -> None:
        self.hub.mailbox.purge()

    @rule()
    def stranger_is_refused(self) -> None:
        for message_id in self.seen:
            try:
                self.hub.mailbox.fetch(self.hub.shv.id, message_id)
            except Exception as exc:  # the sender is not the recipient
                assert type(exc).__name__ == "NotFound"
            else:
                raise AssertionError("the sender fetched its own message from the mailbox")
            break

    @invariant()
    def only_allowed_transitions_and_content_while_pending(self) -> None:
        if not hasattr(self, "hub"):
            return
        for row in self.hub.rows():
            before = self.seen[row.id]
            assert row.state == before or (before, row.state) in ALLOWED, (before, row.state)
            assert (row.ciphertext is not None) == row.state.has_content
            self.seen[row.id] = row.state

    def _due(self, message_id: str) -> bool:
        rows = {row.id: row for row in self.hub.rows()}
        return rows[message_id].deadline_at <= self.hub.clock.now()


TestMailboxMachine = MailboxMachine.TestCase
TestMailboxMachine.settings = settings(max_examples=15, stateful_step_count=20, deadline=None,
                                       suppress_health_check=[HealthCheck.too_slow])
