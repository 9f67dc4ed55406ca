"""The mailbox state machine of one message.

::

    queued ──fetch──▶ fetched ──confirm──▶ confirmed      (content deleted at once)
      │  ▲               │ fetch (repeatable)
      │  └───────────────┘
      └──────deadline────┴──────────────▶ expired        (content deleted by the purge)

Confirmed and expired are final. Confirming a confirmed message is allowed and changes nothing
(idempotent); a message must be fetched before it is confirmed.

A message is expired from its deadline on, whether or not the purge has deleted its content
yet (:func:`at`): from then on a fetch and a confirm are refused alike, so the sender never sees
``confirmed`` for a message whose recipient could no longer fetch it.
"""

from __future__ import annotations

import enum
from datetime import datetime

from skp.domain.retention import is_due
from skp.errors import InvalidState


class State(enum.StrEnum):
    """Where a message is in the mailbox."""

    QUEUED = "queued"
    FETCHED = "fetched"
    CONFIRMED = "confirmed"
    EXPIRED = "expired"

    @property
    def has_content(self) -> bool:
        """Whether the hub still holds the sealed content in this state."""
        return self in (State.QUEUED, State.FETCHED)


class Event(enum.StrEnum):
    FETCH = "fetch"
    CONFIRM = "confirm"
    EXPIRE = "expire"


_TRANSITIONS: dict[tuple[State, Event], State] = {
    (State.QUEUED, Event.FETCH): State.FETCHED,
    (State.FETCHED, Event.FETCH): State.FETCHED,
    (State.FETCHED, Event.CONFIRM): State.CONFIRMED,
    (State.CONFIRMED, Event.CONFIRM): State.CONFIRMED,
    (State.QUEUED, Event.EXPIRE): State.EXPIRED,
    (State.FETCHED, Event.EXPIRE): State.EXPIRED,
}

_EXPIRED = "the message passed its deadline unconfirmed: it expired and its content is deleted"

_REFUSALS: dict[tuple[State, Event], str] = {
    (State.QUEUED, Event.CONFIRM): "fetch the message before confirming it",
    (State.CONFIRMED, Event.FETCH): "the message was confirmed and its content deleted",
    (State.EXPIRED, Event.FETCH): _EXPIRED,
    (State.EXPIRED, Event.CONFIRM): _EXPIRED,
}


def at(state: State, deadline: datetime, now: datetime) -> State:
    """The state of a message at ``now``: one that still holds content is expired once its
    fetch ``deadline`` is due, even before the purge has come by."""
    if state.has_content and is_due(deadline, now):
        return State.EXPIRED
    return state


def transition(state: State, event: Event) -> State:
    """The state after ``event``; :class:`InvalidState` when the event is not allowed."""
    try:
        return _TRANSITIONS[(state, event)]
    except KeyError:
        reason = _REFUSALS.get((state, event), f"{event} is not possible when {state}")
        raise InvalidState(reason) from None
