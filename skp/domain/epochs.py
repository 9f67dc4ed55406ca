"""Key epochs: when a new KEK takes over, and when an old one must be destroyed.

A KEK wraps the data keys of new content during its epoch, from its creation until the next
KEK's creation. Every message and claim context records the id of the KEK that wraps its data
key. An ended epoch's KEK is destroyed (crypto-shredding: every copy of its content, in a WAL,
a backup or a replica, becomes unreadable) once no stored data key uses it, and at the latest
when the longest deadline of anything it may wrap has passed since the epoch ended: the fetch
deadline with the longest extension (4 working days + 28 days) or the reply period of a
Saldoverzoek's claim context, whichever ends later. A short grace after an epoch's end lets
content sealed in that instant by another process commit before "unused" is believed.

Pure: no I/O and no system clock; callers pass ``now`` and what the store and database hold.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from skp.domain.calendar import WorkingDayCalendar, require_aware
from skp.domain.retention import EXTENSION_DAYS, fetch_deadline, reply_deadline

#: How long after its epoch ended a KEK is kept even when nothing uses it.
GRACE = timedelta(minutes=10)


@dataclass(frozen=True)
class Epoch:
    """A live KEK: its id and when it was created (its epoch's start)."""

    kek_id: str
    created_at: datetime


@dataclass(frozen=True)
class Plan:
    """What to do now: create a new current KEK, and which KEKs to destroy (and why)."""

    create: bool
    destroy: Mapping[str, str]  # kek id -> "unused" or "deadline"


def shred_deadline(ended_at: datetime, *, calendar: WorkingDayCalendar, working_days: int,
                   reply_working_days: int) -> datetime:
    """The instant from which nothing sealed during an epoch that ended at ``ended_at`` may
    still be kept: the latest deadline of content received by then."""
    return max(fetch_deadline(ended_at, calendar=calendar, working_days=working_days,
                              extension_days=max(EXTENSION_DAYS)),
               reply_deadline(ended_at, calendar=calendar, working_days=reply_working_days))


def ordered(epochs: Sequence[Epoch], current_id: str) -> list[Epoch]:
    """The epochs oldest first, the current one last (it is the newest)."""
    return sorted(epochs, key=lambda e: (e.kek_id == current_id, e.created_at))


def ends(epochs: Sequence[Epoch], current_id: str) -> dict[str, datetime]:
    """When each ended epoch ended: the next one's start. The current one has not ended."""
    chain = ordered(epochs, current_id)
    return {e.kek_id: nxt.created_at for e, nxt in itertools.pairwise(chain)}


def plan(epochs: Sequence[Epoch], current_id: str, now: datetime, *, length: timedelta,
         in_use: Mapping[str, int], calendar: WorkingDayCalendar, working_days: int,
         reply_working_days: int) -> Plan:
    """What the scheduler does at ``now``; ``in_use`` counts the stored data keys per KEK."""
    require_aware(now, "now")
    current = next((e for e in epochs if e.kek_id == current_id), None)
    create = current is None or now - current.created_at >= length
    destroy: dict[str, str] = {}
    for kek_id, ended_at in ends(epochs, current_id).items():
        if now >= shred_deadline(ended_at, calendar=calendar, working_days=working_days,
                                 reply_working_days=reply_working_days):
            destroy[kek_id] = "deadline"
        elif now >= ended_at + GRACE and not in_use.get(kek_id, 0):
            destroy[kek_id] = "unused"
    return Plan(create, destroy)
