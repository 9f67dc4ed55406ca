"""The participant lifecycle: registered → in acceptance → accepted → active (deactivated)."""

from __future__ import annotations

import pytest

from skp.domain import admission
from skp.domain.admission import Standing
from skp.errors import NotAllowed


def test_the_way_through_acceptance():
    standing = admission.start_run(Standing.REGISTERED)
    assert standing is Standing.IN_ACCEPTANCE
    standing = admission.finish_run(standing, passed=True)
    assert standing is Standing.ACCEPTED
    assert admission.activate(standing, without_acceptance=False) is Standing.ACTIVE


def test_a_failed_run_returns_to_registered_and_may_be_run_again():
    standing = admission.finish_run(Standing.IN_ACCEPTANCE, passed=False)
    assert standing is Standing.REGISTERED
    assert admission.start_run(standing) is Standing.IN_ACCEPTANCE
    assert admission.start_run(Standing.ACCEPTED) is Standing.IN_ACCEPTANCE


@pytest.mark.parametrize("standing", [Standing.REGISTERED, Standing.IN_ACCEPTANCE])
def test_activate_needs_a_passed_run_or_the_explicit_exception(standing):
    with pytest.raises(NotAllowed, match="no passed acceptance run"):
        admission.activate(standing, without_acceptance=False)
    assert admission.activate(standing, without_acceptance=True) is Standing.ACTIVE


@pytest.mark.parametrize("standing", [Standing.IN_ACCEPTANCE, Standing.ACTIVE,
                                      Standing.DEACTIVATED])
def test_a_run_starts_only_for_registered_or_accepted(standing):
    with pytest.raises(NotAllowed):
        admission.start_run(standing)


def test_a_run_ending_after_the_participant_left_acceptance_changes_nothing():
    assert admission.finish_run(Standing.ACTIVE, passed=False) is Standing.ACTIVE
    assert admission.finish_run(Standing.DEACTIVATED, passed=True) is Standing.DEACTIVATED


def test_deactivated_has_no_access_and_is_reactivated_not_activated():
    assert not Standing.DEACTIVATED.has_access
    assert all(s.has_access for s in Standing if s is not Standing.DEACTIVATED)
    with pytest.raises(NotAllowed, match="reactivate"):
        admission.activate(Standing.DEACTIVATED, without_acceptance=True)
    assert admission.reactivate(Standing.DEACTIVATED) is Standing.ACTIVE
    assert admission.deactivate(Standing.REGISTERED) is Standing.DEACTIVATED
