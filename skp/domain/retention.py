"""When a message's content and metadata must go.

The rule, in plain words:

- A message that is not fetched may be kept until the **end of the 4th Dutch working day after
  the day of receipt**. The day of receipt is the Europe/Amsterdam date on which the hub received
  it; that day never counts, whether or not it is a working day itself. "End of the day" is
  midnight Amsterdam time. Working days are those of :mod:`skp.domain.calendar`. The number 4
  is a setting.
- A recipient with the extension feature gets 7, 14 or 28 extra **calendar** days on top, counted
  from that last working day (the deadline may then end on a weekend or holiday).
- A reply is due by the end of the 10th working day after the day of receipt (no extension).
- Metadata goes once its retention period (a setting, e.g. 13 months) has passed since receipt.

Pure: no I/O and no system clock. Callers pass aware datetimes, including ``now``; deadlines
come back as aware UTC datetimes.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from skp.domain.calendar import WorkingDayCalendar, end_of_day, local_date, require_aware

__all__ = [
    "EXTENSION_DAYS",
    "fetch_deadline",
    "is_due",
    "last_working_day",
    "metadata_due",
    "on_last_working_day",
    "reply_deadline",
    "validate_extension",
]

EXTENSION_DAYS: frozenset[int] = frozenset({0, 7, 14, 28})
"""Calendar days a recipient's handling period may be extended by; 0 means no extension."""


def validate_extension(days: int) -> int:
    """Return ``days`` if it is an allowed extension (0, 7, 14 or 28), else raise ValueError."""
    if isinstance(days, bool) or days not in EXTENSION_DAYS:
        allowed = ", ".join(str(d) for d in sorted(EXTENSION_DAYS))
        raise ValueError(f"extension must be one of {allowed} days, got {days!r}")
    return days


def fetch_deadline(
    received_at: datetime,
    *,
    calendar: WorkingDayCalendar,
    working_days: int = 4,
    extension_days: int = 0,
) -> datetime:
    """End of the ``working_days``-th working day after the day of receipt, plus the extension.

    Returns an aware UTC datetime: the content is due for deletion from that instant on.
    """
    validate_extension(extension_days)
    last = calendar.add_working_days(local_date(received_at), working_days)
    return end_of_day(last + timedelta(days=extension_days))


def reply_deadline(
    received_at: datetime, *, calendar: WorkingDayCalendar, working_days: int = 10
) -> datetime:
    """End of the ``working_days``-th working day after the day of receipt, as aware UTC."""
    return end_of_day(calendar.add_working_days(local_date(received_at), working_days))


def is_due(deadline: datetime, now: datetime) -> bool:
    """Whether ``deadline`` has been reached at ``now`` (the deadline instant itself is due)."""
    return require_aware(now, "now") >= require_aware(deadline, "deadline")


def last_working_day(deadline: datetime, *, calendar: WorkingDayCalendar) -> date:
    """The last Amsterdam working day on which a message with ``deadline`` can still be handled:
    the day the deadline ends, or the working day before it when that is none (an extension
    may end on a weekend or holiday)."""
    last = local_date(require_aware(deadline, "deadline") - timedelta(microseconds=1))
    while not calendar.is_working_day(last):
        last -= timedelta(days=1)
    return last


def on_last_working_day(deadline: datetime, now: datetime, *,
                        calendar: WorkingDayCalendar) -> bool:
    """Whether ``now`` is on or past the :func:`last_working_day` of ``deadline``: the day to
    warn that the message's content is about to be deleted."""
    return local_date(now) >= last_working_day(deadline, calendar=calendar)


def metadata_due(received_at: datetime, now: datetime, retention: timedelta) -> bool:
    """Whether metadata received at ``received_at`` has been kept for ``retention`` at ``now``."""
    return require_aware(received_at, "received_at") + retention <= require_aware(now, "now")
