"""The mailbox state machine, checked for every (state, event) pair."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from skp.domain.lifecycle import Event, State, at, transition
from skp.errors import InvalidState

#: The allowed transitions as the module docstring draws them.
ALLOWED = {
    (State.QUEUED, Event.FETCH): State.FETCHED,
    (State.FETCHED, Event.FETCH): State.FETCHED,  # fetching again is fine until confirmed
    (State.FETCHED, Event.CONFIRM): State.CONFIRMED,
    (State.CONFIRMED, Event.CONFIRM): State.CONFIRMED,  # idempotent
    (State.QUEUED, Event.EXPIRE): State.EXPIRED,
    (State.FETCHED, Event.EXPIRE): State.EXPIRED,
}
REFUSED = [pair for pair in itertools.product(State, Event) if pair not in ALLOWED]


def pair_id(pair):
    return f"{pair[0]}-{pair[1]}"


@pytest.mark.parametrize(("pair", "after"), ALLOWED.items(), ids=[pair_id(p) for p in ALLOWED])
def test_allowed_transitions(pair, after):
    assert transition(*pair) is after


@pytest.mark.parametrize("pair", REFUSED, ids=pair_id)
def test_every_other_pair_is_refused(pair):
    with pytest.raises(InvalidState) as info:
        transition(*pair)
    assert info.value.code == "Client.InvalidState"
    assert info.value.message  # says why, e.g. "fetch the message before confirming it"


def test_confirm_needs_a_fetch_first():
    with pytest.raises(InvalidState, match="fetch the message before confirming it"):
        transition(State.QUEUED, Event.CONFIRM)


@pytest.mark.parametrize("final", [State.CONFIRMED, State.EXPIRED])
@pytest.mark.parametrize("event", Event)
def test_confirmed_and_expired_are_final(final, event):
    try:
        after = transition(final, event)
    except InvalidState:
        return
    assert after is final


@pytest.mark.parametrize(("state", "has_content"), [
    (State.QUEUED, True), (State.FETCHED, True), (State.CONFIRMED, False), (State.EXPIRED, False),
])
def test_has_content(state, has_content):
    assert state.has_content is has_content


def test_content_is_only_held_in_states_that_can_still_be_fetched():
    fetchable = {state for state in State if (state, Event.FETCH) in ALLOWED}
    assert {state for state in State if state.has_content} == fetchable


DEADLINE = dt.datetime(2026, 11, 27, 23, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("state", list(State))
def test_at_the_deadline_a_message_with_content_is_expired(state):
    before = DEADLINE - dt.timedelta(microseconds=1)
    assert at(state, DEADLINE, before) is state
    assert at(state, DEADLINE, DEADLINE) is (State.EXPIRED if state.has_content else state)


def test_past_the_deadline_fetch_and_confirm_are_refused_alike():
    refusals = []
    for event in (Event.FETCH, Event.CONFIRM):
        with pytest.raises(InvalidState) as refused:
            transition(at(State.FETCHED, DEADLINE, DEADLINE), event)
        refusals.append(refused.value.message)
    assert refusals[0] == refusals[1]
