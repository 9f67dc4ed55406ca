"""What the e-mail notifications of a business unit say, and when they are due.

Two kinds, each to the addresses an administrator subscribed to it:

- **new messages**: when messages arrived for the unit since its previous notice and none of
  them has been fetched yet, at most one mail per unit per notification interval. The window a
  notice counts ends :data:`SETTLE` before ``now``, so a message whose transaction is still being
  committed when the notice is decided falls into the next window instead of being missed.
- **reminder**: on the morning (:data:`REMINDER_TIME`, Amsterdam) of the last working day before
  messages expire, one mail with the number of those messages still not confirmed.

A mail names the unit and counts messages per type (the catalogue's Dutch titles) and links to
the unit's mailbox on the portal. It never holds content, names of debtors or amounts: its text
is built here from nothing else.

Pure: no I/O and no system clock. Callers pass ``now`` and what they counted.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from skp.domain.calendar import (
    AMSTERDAM,
    WorkingDayCalendar,
    end_of_day,
    local_date,
    require_aware,
)
from skp.domain.catalogue import lookup
from skp.domain.dutch import long_day
from skp.domain.retention import last_working_day
from skp.domain.roles import MODULE_INFO, Module

__all__ = [
    "REMINDER_TIME",
    "SETTLE",
    "Kind",
    "Mail",
    "compose",
    "expiring_today",
    "new_messages_window",
    "reminder_day",
    "reminder_due_at",
    "stale_at",
]

#: Local time on the last working day at which the reminder goes out.
REMINDER_TIME = time(8, 0)
#: How far behind ``now`` a new-message window ends (see the module docstring).
SETTLE = timedelta(seconds=30)
#: How long a new-message notice is worth sending when the mail server stays unreachable.
NEW_MESSAGES_STALE = timedelta(days=1)


class Kind(enum.StrEnum):
    """What a notification is about; also what an address is subscribed to."""

    NEW_MESSAGES = "new"
    REMINDER = "reminder"


@dataclass(frozen=True)
class Mail:
    """A notification's text (no addresses: the caller adds those)."""

    subject: str
    body: str


def new_messages_window(now: datetime, interval: timedelta, last_notice_at: datetime | None
                        ) -> datetime | None:
    """The end of the window a new-message notice may count at ``now``, or None while the
    previous notice (decided at ``last_notice_at``) is less than ``interval`` ago."""
    require_aware(now, "now")
    if last_notice_at is not None and now < require_aware(last_notice_at) + interval:
        return None
    return now - SETTLE


def reminder_day(deadline_at: datetime, calendar: WorkingDayCalendar) -> date:
    """The day of the reminder of a message with this deadline: its last working day, the day
    the portal's mailbox warns of too (skp.domain.retention.last_working_day)."""
    return last_working_day(deadline_at, calendar=calendar)


def reminder_due_at(day: date) -> datetime:
    """When the reminder of ``day`` goes out: :data:`REMINDER_TIME` in Amsterdam, as aware UTC."""
    return datetime.combine(day, REMINDER_TIME, tzinfo=AMSTERDAM).astimezone(UTC)


def expiring_today(now: datetime, pending: Iterable[tuple[Module, str, datetime, int]],
                   calendar: WorkingDayCalendar) -> dict[tuple[Module, str], int]:
    """The reminder's counts at ``now``: of the ``pending`` (module, type, deadline, count),
    those whose last working day is today once its morning has come, and not expired yet.
    Empty before the reminder time and when nothing expires after today."""
    today = local_date(now)
    if now < reminder_due_at(today):
        return {}
    counts: dict[tuple[Module, str], int] = {}
    for module, type_code, deadline_at, count in pending:
        if deadline_at > now and reminder_day(deadline_at, calendar) == today:
            counts[(module, type_code)] = counts.get((module, type_code), 0) + count
    return counts


def _lines(counts: Mapping[tuple[Module, str], int]) -> list[str]:
    lines = []
    for (module, type_code), count in sorted(
            counts.items(), key=lambda item: (MODULE_INFO[item[0][0]].title, item[0][1])):
        title = lookup(module, type_code).title
        lines.append(f"- {title} ({MODULE_INFO[module].title}): {count}")
    return lines


def compose(kind: Kind, unit_name: str, counts: Mapping[tuple[Module, str], int],
            mailbox_url: str, *, day: date | None = None) -> Mail:
    """The mail of ``kind`` for the unit: its name, the counts per type and the link; nothing
    else. ``day`` is the reminder's last working day."""
    total = sum(counts.values())
    if total < 1:
        raise ValueError("a notification needs at least one message to count")
    berichten = "bericht" if total == 1 else "berichten"
    nieuwe = "nieuw" if total == 1 else "nieuwe"  # "een nieuw bericht", "nieuwe berichten"
    footer = ["",
              "Deze e-mail bevat geen inhoud van berichten. U krijgt hem omdat dit adres is "
              f"aangemeld voor meldingen van {unit_name}; de beheerder van uw organisatie kan "
              "dat wijzigen onder \"Mijn organisatie\" in het portaal.",
              "",
              "Schuldenknooppunt"]
    if kind is Kind.NEW_MESSAGES:
        subject = f"{total} {nieuwe} {berichten} voor {unit_name}"
        intro = [f"Er {'is' if total == 1 else 'zijn'} {total} {nieuwe} {berichten} voor "
                 f"{unit_name} op het Schuldenknooppunt:", ""]
        outro = ["", f"Bekijk en behandel ze in het portaal: {mailbox_url}"]
    else:
        if day is None:
            raise ValueError("a reminder needs its day")
        shown = long_day(day)
        verlopen = "verloopt" if total == 1 else "verlopen"
        subject = f"Herinnering: {total} {berichten} voor {unit_name} {verlopen} na {shown}"
        intro = [f"Vandaag, {shown}, is de laatste werkdag om {total} {berichten} voor "
                 f"{unit_name} af te handelen. Daarna verwijdert het Schuldenknooppunt "
                 f"{'het' if total == 1 else 'ze'}:", ""]
        outro = ["", f"Handel ze af in het portaal: {mailbox_url}"]
    return Mail(subject, "\n".join([*intro, *_lines(counts), *outro, *footer]) + "\n")


def stale_at(kind: Kind, decided_at: datetime, day: date | None = None) -> datetime:
    """From when an unsent notification is no longer worth sending: a reminder at the end of its
    day (its messages expire then), a new-message notice :data:`NEW_MESSAGES_STALE` on."""
    if kind is Kind.REMINDER:
        if day is None:
            raise ValueError("a reminder needs its day")
        return end_of_day(day)
    return require_aware(decided_at, "decided_at") + NEW_MESSAGES_STALE
