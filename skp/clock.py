"""Time as a service: the system clock in production, a settable one in tests."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current instant, aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FrozenClock:
    """A clock that stands still until moved; for tests and benchmarks."""

    def __init__(self, instant: dt.datetime) -> None:
        self.set(instant)

    def set(self, instant: dt.datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = instant.astimezone(dt.UTC)

    def advance(self, delta: dt.timedelta) -> None:
        self._now += delta

    def now(self) -> dt.datetime:
        return self._now
