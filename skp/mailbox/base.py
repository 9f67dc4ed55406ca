"""What every part of the mailbox shares: the database, the key ring, the settings, the clock,
the metrics, the participant register, the working-day calendar and the quotas."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from skp import sealing
from skp.clock import Clock, SystemClock
from skp.config import Settings
from skp.domain.calendar import WorkingDayCalendar
from skp.mailbox.quotas import Quotas
from skp.metrics import MailboxMetrics, NullMetrics
from skp.participants import Participants


class MailboxBase:
    """The mailbox's dependencies, given through its constructor.

    ``metrics`` hears of each message sent, first fetched, confirmed or expired once its
    transaction has committed; by default nobody listens. ``participants`` is the register
    whose kept lookups a server process shares (skp.identities); by default one of its own.
    """

    def __init__(self, sessions: sessionmaker[Session], keyring: sealing.KeyRing,
                 settings: Settings, clock: Clock | None = None, *,
                 metrics: MailboxMetrics | None = None,
                 participants: Participants | None = None) -> None:
        self._sessions = sessions
        self._keyring = keyring
        self._settings = settings
        self._clock = clock or SystemClock()
        self._metrics: MailboxMetrics = metrics or NullMetrics()
        self._participants = participants or Participants(sessions, self._clock)
        self._calendar = WorkingDayCalendar(settings.extra_non_working_days)
        self._quotas = Quotas(settings)
