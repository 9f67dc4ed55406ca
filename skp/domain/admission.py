"""The lifecycle of a participant: from registration through acceptance to active.

::

    registered ──start run──▶ in_acceptance ──run passed──▶ accepted ──activate──▶ active
        ▲                         │                            │                    │  ▲
        └────────run failed───────┘◀────────start run──────────┘        deactivate  │  │
                                                                                    ▼  │
                                                                  deactivated ─reactivate

A registered participant's certificate works (it must, to be tested), but it becomes
``active`` only after a passed acceptance run, or when the operator activates it explicitly
without one (audited). Pure: no I/O.
"""

from __future__ import annotations

import enum

from skp.errors import NotAllowed


class Standing(enum.StrEnum):
    """Where a participant is in its lifecycle."""

    REGISTERED = "registered"
    IN_ACCEPTANCE = "in_acceptance"
    ACCEPTED = "accepted"
    ACTIVE = "active"
    DEACTIVATED = "deactivated"

    @property
    def has_access(self) -> bool:
        """Whether the participant's valid certificates give access."""
        return self is not Standing.DEACTIVATED

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


def start_run(standing: Standing) -> Standing:
    """The standing once an acceptance run starts."""
    if standing not in (Standing.REGISTERED, Standing.ACCEPTED):
        raise NotAllowed(f"an acceptance run starts for a registered or accepted participant; "
                         f"this one is {standing.label}")
    return Standing.IN_ACCEPTANCE


def finish_run(standing: Standing, passed: bool) -> Standing:
    """The standing once a run ends: accepted when it passed, registered again when not; a
    participant that left acceptance meanwhile (activated, deactivated) keeps its standing."""
    if standing is not Standing.IN_ACCEPTANCE:
        return standing
    return Standing.ACCEPTED if passed else Standing.REGISTERED


def activate(standing: Standing, *, without_acceptance: bool) -> Standing:
    """The standing after ``skp participants activate``: only an accepted participant becomes
    active, unless the operator explicitly skips acceptance."""
    if standing is Standing.ACTIVE:
        return standing
    if standing is Standing.DEACTIVATED:
        raise NotAllowed("the participant is deactivated: reactivate it instead")
    if standing is not Standing.ACCEPTED and not without_acceptance:
        raise NotAllowed(f"the participant is {standing.label} and has no passed acceptance "
                         "run: start one with `skp acceptance start`, or give "
                         "--without-acceptance")
    return Standing.ACTIVE


def deactivate(standing: Standing) -> Standing:
    return Standing.DEACTIVATED


def reactivate(standing: Standing) -> Standing:
    if standing is not Standing.DEACTIVATED:
        return standing
    return Standing.ACTIVE
