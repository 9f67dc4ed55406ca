"""Acceptance from the hub's side: scripted routines that judge a participant's own adapter
(docs/acceptance.md).

The rules (routine scripts per role and module, step expectations, verdicts) are pure code in
:mod:`skp.domain.acceptance` and :mod:`skp.domain.verdicts`; this package is their I/O:

- :mod:`~skp.acceptance.service`: starting runs, reading them (:class:`Runs`);
- :mod:`~skp.acceptance.runner`: the scheduler's tick that drives the partners and judges;
- :mod:`~skp.acceptance.observer`: what the server records and does on purpose;
- :mod:`~skp.acceptance.report`: JUnit XML and an HTML page of a run;
- :mod:`~skp.acceptance.views`: a run as callers see it.
"""

from __future__ import annotations

from dataclasses import dataclass

from skp.acceptance.observer import Observer
from skp.acceptance.runner import Runner
from skp.acceptance.service import Runs
from skp.acceptance.views import RunView, StepView

__all__ = ["Acceptance", "Observer", "RunView", "Runner", "Runs", "StepView"]


@dataclass(frozen=True)
class Acceptance:
    """The acceptance services of a hub."""

    runs: Runs
    runner: Runner
    observer: Observer
