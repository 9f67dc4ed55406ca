"""Who may exchange messages with whom at all: the reach of a participant by its standing."""

from __future__ import annotations

import itertools

import pytest

from skp.domain.addressbook import sees_everyone
from skp.domain.roles import ROLE_MODULES, Role
from skp.domain.routing import Party, check_reach, may_reach
from skp.errors import NotAllowed, UnknownRecipient


def party(name: str, *, active: bool = True, test_partner: bool = False,
          role: Role = Role.SE) -> Party:
    return Party(f"id-{name}", role, ROLE_MODULES[role], active=active,
                 test_partner=test_partner)


LIVE = party("live")
NEW = party("new", active=False)
OTHER_NEW = party("other-new", active=False)
PARTNER = party("partner", test_partner=True)


def test_active_participants_reach_each_other():
    check_reach(LIVE, party("live-2"))
    assert may_reach(LIVE, party("live-2"))


@pytest.mark.parametrize(("sender", "recipient"), [
    (NEW, PARTNER), (PARTNER, NEW), (LIVE, PARTNER), (PARTNER, LIVE)])
def test_everyone_reaches_the_test_partners_and_is_reached_by_them(sender, recipient):
    check_reach(sender, recipient)
    assert may_reach(sender, recipient)


@pytest.mark.parametrize("sender", [LIVE, OTHER_NEW])
def test_a_recipient_not_active_yet_looks_unknown(sender):
    with pytest.raises(UnknownRecipient) as refused:
        check_reach(sender, NEW)
    assert refused.value.message == f"no active participant {NEW.id}"  # as for an unknown id
    assert refused.value.code == "Client.UnknownRecipient"
    assert not may_reach(sender, NEW)


def test_a_sender_not_active_yet_reaches_only_the_test_partners():
    with pytest.raises(NotAllowed) as refused:
        check_reach(NEW, LIVE)
    assert "test partners" in str(refused.value)
    assert LIVE.id not in str(refused.value)
    assert not may_reach(NEW, LIVE)


def test_reach_is_symmetric():
    everyone = (LIVE, NEW, OTHER_NEW, PARTNER, party("partner-2", test_partner=True))
    for a, b in itertools.permutations(everyone, 2):
        assert may_reach(a, b) == may_reach(b, a), (a.id, b.id)


@pytest.mark.parametrize(("viewer", "everyone"), [
    (None, True), (LIVE, True), (PARTNER, True), (NEW, False)])
def test_only_a_participant_not_active_yet_sees_just_the_test_partners(viewer, everyone):
    assert sees_everyone(viewer) is everyone
