"""The composition root: settings in, the hub's services out.

Everything that talks to the outside world (server, CLI, scheduler) builds one :class:`Hub`
and takes its services from it, so each service is wired in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from skp import sealing
from skp.acceptance import Acceptance, Observer, Runner, Runs
from skp.addressbook import AddressBook
from skp.clock import Clock, SystemClock
from skp.config import Settings
from skp.keystore import KeyStore, open_key_store
from skp.mailbox import Mailbox
from skp.metrics import Metrics
from skp.organisations import Organisations
from skp.participants import Participants
from skp.store.db import make_engine, make_sessions
from skp.store.session import transaction


@dataclass(frozen=True)
class Hub:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    keyring: sealing.KeyRing
    clock: Clock
    mailbox: Mailbox
    participants: Participants
    metrics: Metrics
    addressbook: AddressBook
    organisations: Organisations
    acceptance: Acceptance

    @classmethod
    def build(cls, settings: Settings, *, engine: Engine | None = None,
              keyring: sealing.KeyRing | None = None, clock: Clock | None = None) -> Hub:
        """Wire the services; the defaults open the database and the key store of ``settings``
        (skp.keystore: the KEK file, read again whenever it changes, or the HSM)."""
        engine = engine or make_engine(settings.database_url)
        keyring = keyring or open_key_store(settings)
        clock = clock or SystemClock()
        sessions = make_sessions(engine)
        metrics = Metrics(sessions, clock, directory=settings.metrics_directory,
                          keystore=keyring if isinstance(keyring, KeyStore) else None)
        from skp.partner import PARTNERS  # the built-in test partners: shown only when run

        hidden = () if settings.test_partner else (p.id for p in PARTNERS)
        participants = Participants(sessions, clock)
        mailbox = Mailbox(sessions, keyring, settings, clock, metrics=metrics,
                          participants=participants)
        acceptance = Acceptance(Runs(sessions, participants, settings, clock),
                                Runner(sessions, mailbox, participants, settings, clock),
                                Observer(sessions, clock))
        return cls(settings, engine, sessions, keyring, clock, mailbox, participants, metrics,
                   AddressBook(sessions, hidden), Organisations(sessions, participants, clock),
                   acceptance)

    def healthy(self) -> bool:
        """Whether the database answers."""
        with transaction(self.sessions, read_only=True) as session:
            return session.execute(text("SELECT 1")).scalar() == 1
