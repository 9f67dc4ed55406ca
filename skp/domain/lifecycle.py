"""The mailbox state machine of one message.

::

    queued ──fetch──▶ fetched ──confirm──▶ confirmed      (content deleted at once)
      │  ▲               │ fetch (repeatable)
      │  └───────────────┘
      └──────deadline────┴──────────────▶ expired        (content deleted by the purge)

Confirmed and expired are final. Confirming a confirmed message is allowed and changes nothing
(idempotent); a message must be fetched before it is confirmed.
"""

from __future__ import annotations

import enum

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

_REFUSALS: dict[tuple[State, Event], str] = {
    (State.QUEUED, Event.CONFIRM): "fetch the message before confirming it",
    (State.CONFIRMED, Event.FETCH): "the message was confirmed and its content deleted",
    (State.EXPIRED, Event.FETCH): "the message expired and its content was deleted",
    (State.EXPIRED, Event.CONFIRM): "the message expired before it was confirmed",
}


def transition(state: State, event: Event) -> State:
    """The state after ``event``; :class:`InvalidState` when the event is not allowed."""
    try:
        return _TRANSITIONS[(state, event)]
    except KeyError:
        reason = _REFUSALS.get((state, event), f"{event} is not possible when {state}")
        raise InvalidState(reason) from None
