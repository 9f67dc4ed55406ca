"""What the server tells acceptance about a participant under test, and what it asks.

Only for a participant whose standing is ``in_acceptance`` and that has a running run:

- :meth:`Observer.intercept`, as an operation begins: answers a fault the running step armed
  (once), instead of the operation;
- :meth:`Observer.drop`, after a send was committed: whether to close the connection without
  the answer (the lost receipt; once);
- :meth:`Observer.record`, when the request is done: its operation, outcome and ids.

Metadata only: the operation, the outcome's fault code, the hub id, the header's references.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from skp.clock import Clock
from skp.errors import InvalidState, SkpError, Unavailable
from skp.store.acceptance import AcceptanceCall, AcceptanceRun, RunState
from skp.store.session import transaction

log = logging.getLogger("skp.acceptance")

#: The environ keys the server and the SOAP layer share with the observer.
RUN = "skp.acceptance.run"
OPERATION = "skp.operation"
REPEATED = "skp.repeated"
HEADER = "skp.sent_header"

_FAULTS: dict[str, type[SkpError]] = {"Server.Unavailable": Unavailable,
                                      "Client.InvalidState": InvalidState}


class Observer:
    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    def intercept(self, participant_id: str, operation: str, environ: dict[str, Any]) -> None:
        """Note the participant's running run in ``environ``; raise the fault the run's step
        armed for ``operation``, once."""
        with transaction(self._sessions, read_only=True) as session:
            found = session.execute(select(AcceptanceRun.id, AcceptanceRun.faults).where(
                AcceptanceRun.participant_id == participant_id,
                AcceptanceRun.state == RunState.RUNNING)).first()
        if found is None:
            return
        environ[RUN] = found.id
        items = [item for item in found.faults.split(";") if item]
        armed = next((n for n, item in enumerate(items)
                      if operation in item.partition("=")[0].split("|")), None)
        if armed is None:
            return
        code = items[armed].partition("=")[2]
        rest = ";".join(items[:armed] + items[armed + 1:])
        with transaction(self._sessions) as session:  # once: the first request takes it
            taken = session.execute(update(AcceptanceRun).where(
                AcceptanceRun.id == found.id, AcceptanceRun.faults == found.faults)
                .values(faults=rest)).rowcount  # type: ignore[attr-defined]
        if not taken:
            return
        raise _FAULTS[code](f"the hub answers {code} on purpose: the acceptance routine "
                            "checks that your adapter keeps working after it")

    def drop(self, run_id: str) -> bool:
        """Whether to drop this send's answer: the run's step armed it and no request took it
        yet."""
        with transaction(self._sessions) as session:
            return bool(session.execute(update(AcceptanceRun).where(
                AcceptanceRun.id == run_id, AcceptanceRun.drop_send.is_(True))
                .values(drop_send=False)).rowcount)  # type: ignore[attr-defined]

    def record(self, environ: dict[str, Any], outcome: str) -> None:
        """Keep the request's metadata for the judge; a failure here only loses the record."""
        header = environ.get(HEADER)
        try:
            with transaction(self._sessions) as session:
                session.add(AcceptanceCall(
                    run_id=environ[RUN], at=self._clock.now(),
                    operation=str(environ.get(OPERATION, "?"))[:64], outcome=outcome[:64],
                    message_id=environ.get("skp.message_id"),
                    repeated=bool(environ.get(REPEATED)),
                    cross_reference=header[0] if header else None,
                    conversation=header[1] if header else None))
        except SkpError as exc:
            log.warning("acceptance call not recorded", extra={
                "run": environ[RUN], "error": type(exc).__name__})
