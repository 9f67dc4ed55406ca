"""Dutch working days and local dates, as the Algemene termijnenwet counts them.

A working day is any day that is not a Saturday, not a Sunday and not a generally recognised
holiday (art. 3 Algemene termijnenwet): Nieuwjaarsdag, Goede Vrijdag, Tweede Paasdag,
Koningsdag, 5 May (every year), Hemelvaartsdag, Tweede Pinksterdag and both Christmas days;
nor a day equated to them by royal decree, which the caller passes as
``extra_non_working_days``. Dates are Europe/Amsterdam calendar dates.

Pure: no I/O and no system clock. Callers pass aware datetimes.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import holidays

__all__ = ["AMSTERDAM", "WorkingDayCalendar", "end_of_day", "local_date", "require_aware"]

AMSTERDAM = zoneinfo.ZoneInfo("Europe/Amsterdam")


@functools.lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[date]:
    """The generally recognised holidays of ``year``, weekends aside."""
    public = holidays.country_holidays("NL", years=year, categories=("public",))
    # The holidays package lists Bevrijdingsdag as public only every fifth year (2025, 2030);
    # the Algemene termijnenwet makes 5 May a non-working day every year.
    return frozenset(public) | {date(year, 5, 5)}


def _require_date(day: date) -> None:
    # datetime is a subclass of date; a datetime here is almost always a missed local_date().
    if isinstance(day, datetime):
        raise TypeError(f"expected a date, got datetime {day!r}: pass local_date(instant) instead")


@dataclass(frozen=True, slots=True, init=False)
class WorkingDayCalendar:
    """Which days count as Dutch working days.

    ``extra_non_working_days`` are the days equated to holidays by royal decree (for example
    the Friday after Hemelvaartsdag in a year the decree names it).
    """

    extra_non_working_days: frozenset[date]

    def __init__(self, extra_non_working_days: Iterable[date] = ()) -> None:
        extra = frozenset(extra_non_working_days)
        for day in extra:
            _require_date(day)
        object.__setattr__(self, "extra_non_working_days", extra)

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day: a weekday that is no holiday and no extra day."""
        _require_date(day)
        return (
            day.weekday() < 5  # Monday..Friday
            and day not in _holidays(day.year)
            and day not in self.extra_non_working_days
        )

    def add_working_days(self, day: date, count: int) -> date:
        """The ``count``-th working day strictly after ``day`` (``day`` itself never counts)."""
        _require_date(day)
        if count < 1:
            raise ValueError(f"count must be at least 1 working day, got {count}")
        current = day
        while count:
            current += timedelta(days=1)
            if self.is_working_day(current):
                count -= 1
        return current


def require_aware(instant: datetime, name: str = "instant") -> datetime:
    """Return ``instant`` unchanged, or raise ValueError when it carries no time zone."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(
            f"{name} is a naive datetime ({instant.isoformat()}): pass an aware one, "
            "e.g. datetime.now(UTC) or value.replace(tzinfo=UTC)"
        )
    return instant


def local_date(instant: datetime) -> date:
    """The Europe/Amsterdam calendar date on which the aware ``instant`` falls."""
    return require_aware(instant).astimezone(AMSTERDAM).date()


def end_of_day(day: date) -> datetime:
    """The end of Amsterdam ``day``: 00:00 local time of the next day, as an aware UTC datetime.

    Days on which summer time starts or ends last 23 or 25 hours; zoneinfo gets them right.
    """
    _require_date(day)
    midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=AMSTERDAM)
    return midnight.astimezone(UTC)
