"""Acceptance from the hub's side: the routines that judge a participant's own adapter.

A run is a script of routines for the participant's role and modules (:func:`script`), each
routine a sequence of steps. A step makes the test partners send (``deliveries``), asks the
participant to start messages from its own system (``starts``), or has the hub misbehave on
purpose (a lost receipt, injected faults); it then expects something of the adapter within a
time limit. :mod:`skp.domain.verdicts` judges a step from what the hub observed. Pure: no I/O;
the runner passes the partners and the participant in.

Routines:

- ``recipient``: the partners send every type the participant may receive unprompted in each
  module (with and without optional documents), then a burst; each must be fetched and then
  confirmed, and nothing confirmed that was not fetched.
- ``answering``: the partners send each request the participant answers; the adapter must
  send a reply type of that request within the limit, with the request's hub id as
  CrossReferentienummer, in the request's conversation.
- ``initiating``: the participant starts each type the partners answer, each in a new
  conversation, and then fetches and confirms the partners' answers.
- ``robustness``: a repeat with the same Kenmerk after the hub dropped a receipt; polling on
  after ``Server.Unavailable`` and ``Client.InvalidState``; no more than the agreed send rate.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from skp.domain.catalogue import MessageType, message_types
from skp.domain.fields import documents
from skp.domain.roles import Module
from skp.domain.routing import Party, check_route
from skp.errors import ClientError


class Routine(enum.StrEnum):
    RECIPIENT = "recipient"
    ANSWERING = "answering"
    INITIATING = "initiating"
    ROBUSTNESS = "robustness"


class Kind(enum.StrEnum):
    """What a step does and expects."""

    DELIVER = "deliver"
    BURST = "burst"
    ANSWER = "answer"
    INITIATE = "initiate"
    LOST_RECEIPT = "lost-receipt"
    FAULTS = "faults"
    RATE = "rate"


@dataclass(frozen=True)
class Delivery:
    """A message a test partner sends the participant: an example of ``type_code``, with its
    optional documents when ``documents``."""

    partner_id: str
    module: Module
    type_code: str
    documents: bool = False


@dataclass(frozen=True)
class Start:
    """A message the participant is asked to start from its own system."""

    partner_id: str
    module: Module
    type_code: str


@dataclass(frozen=True)
class Step:
    routine: Routine
    key: str
    kind: Kind
    expectation: str
    deliveries: tuple[Delivery, ...] = ()
    starts: tuple[Start, ...] = ()
    #: Faults the hub answers on purpose, once each: (operations, fault code).
    faults: tuple[tuple[tuple[str, ...], str], ...] = field(default=())


@dataclass(frozen=True)
class Partner:
    """A test partner as the script needs it: who it is and which request types it answers."""

    party: Party
    answers: frozenset[str]


#: The faults of the robustness routine: on which operations, with which code.
UNAVAILABLE = (("Berichtenlijst",), "Server.Unavailable")
INVALID_STATE = (("HaalBerichtOp", "BevestigOntvangst"), "Client.InvalidState")


def unprompted(mt: MessageType) -> bool:
    """Whether ``mt`` may travel without an original it answers."""
    return not mt.is_reply or mt.reply_optional


def routes(mt: MessageType, sender: Party, recipient: Party) -> bool:
    """Whether ``sender`` may send ``mt`` to ``recipient``."""
    try:
        check_route(mt, sender, recipient)
    except ClientError:
        return False
    return True


def replies(mt: MessageType, sender: Party, recipient: Party) -> tuple[str, ...]:
    """The types ``sender`` may answer ``mt`` with, back to ``recipient``."""
    return tuple(r.code for r in message_types(mt.module)
                 if mt.code in r.answers and routes(r, sender, recipient))


def has_optional_documents(mt: MessageType) -> bool:
    return any(not f.required for f in documents(mt.fields))


def script(participant: Party, partners: Sequence[Partner], *, burst: int, limit: str,
           routines: Collection[Routine] | None = None) -> tuple[Step, ...]:
    """The steps of a run for ``participant``, routine by routine; a routine that has nothing
    to check for this role and these modules is left out. ``limit`` is the step time limit as
    the participant reads it (e.g. "15 minutes")."""
    wanted = set(Routine) if routines is None else set(routines)
    steps: list[Step] = []
    if Routine.RECIPIENT in wanted:
        steps += _recipient(participant, partners, burst, limit)
    if Routine.ANSWERING in wanted:
        steps += _answering(participant, partners, limit)
    if Routine.INITIATING in wanted:
        steps += _initiating(participant, partners, limit)
    if Routine.ROBUSTNESS in wanted:
        steps += _robustness(participant, partners, limit)
    return tuple(steps)


def _modules(participant: Party) -> list[Module]:
    return sorted(participant.modules)


def _deliveries(participant: Party, partners: Sequence[Partner], module: Module
                ) -> list[Delivery]:
    """Every type a partner may send the participant unprompted in ``module``."""
    found = []
    for mt in message_types(module):
        partner = _sender(mt, partners, participant)
        if partner is None or not unprompted(mt):
            continue
        found.append(Delivery(partner.party.id, module, mt.code))
        if has_optional_documents(mt):
            found.append(Delivery(partner.party.id, module, mt.code, documents=True))
    return found


def _sender(mt: MessageType, partners: Sequence[Partner], recipient: Party) -> Partner | None:
    return next((p for p in partners if routes(mt, p.party, recipient)), None)


def _requests(participant: Party, partners: Sequence[Partner], module: Module
              ) -> list[tuple[Delivery, tuple[str, ...]]]:
    """The requests of ``module`` a partner may send that the participant answers, with the
    reply types it may answer each with."""
    found = []
    for mt in message_types(module):
        partner = _sender(mt, partners, participant)
        if partner is None or not unprompted(mt):
            continue
        answers = replies(mt, participant, partner.party)
        if answers:
            found.append((Delivery(partner.party.id, module, mt.code), answers))
    return found


def _starts(participant: Party, partners: Sequence[Partner], module: Module,
            answered: bool) -> list[Start]:
    """What the participant may start in ``module`` to a partner (one that answers it, when
    ``answered``)."""
    found = []
    for mt in message_types(module):
        if not unprompted(mt) or (mt.is_reply and answered):
            continue
        partner = next((p for p in partners if routes(mt, participant, p.party)
                        and (not answered or mt.code in p.answers)), None)
        if partner is not None:
            found.append(Start(partner.party.id, module, mt.code))
    return found


def _recipient(participant: Party, partners: Sequence[Partner], burst: int, limit: str
               ) -> list[Step]:
    steps = []
    first: Delivery | None = None
    for module in _modules(participant):
        sent = _deliveries(participant, partners, module)
        if not sent:
            continue
        first = first or next((d for d in sent if not d.documents), sent[0])
        codes = ", ".join(sorted({d.type_code for d in sent}))
        steps.append(Step(
            Routine.RECIPIENT, f"receive-{module}", Kind.DELIVER,
            f"fetch and then confirm each of the {len(sent)} messages the test partners send "
            f"in module {module} ({codes}, with and without documents) within {limit}; "
            "confirm nothing that was not fetched", deliveries=tuple(sent)))
    if first is not None and burst > 0:
        steps.append(Step(
            Routine.RECIPIENT, "burst", Kind.BURST,
            f"fetch and confirm all {burst} {first.type_code} messages of a burst sent at "
            f"once within {limit}, losing none", deliveries=(first,) * burst))
    return steps


def _answering(participant: Party, partners: Sequence[Partner], limit: str) -> list[Step]:
    steps = []
    for module in _modules(participant):
        requests = _requests(participant, partners, module)
        if not requests:
            continue
        sent: list[Delivery] = []
        lines = []
        for delivery, answers in requests:
            # A Saldoverzoek twice: the adapter shows a matched and a not-matched answer.
            sent += [delivery] * (2 if delivery.type_code == "Saldoverzoek" else 1)
            lines.append(f"{delivery.type_code} with {' or '.join(answers)}")
        if any(d.type_code == "Saldoverzoek" for d, _ in requests):
            lines.append("of the two Saldoverzoeken answered with a SaldoverzoekAntwoord, one "
                         "matched (GEMATCHT) and one not matched (NIET_GEMATCHT)")
        steps.append(Step(
            Routine.ANSWERING, f"answer-{module}", Kind.ANSWER,
            f"answer each request of module {module} within {limit} ({'; '.join(lines)}), "
            "with CrossReferentienummer = the hub id (BerichtId) of the request and in the "
            "request's conversation (ConversatieReferentienummer)", deliveries=tuple(sent)))
    return steps


def _initiating(participant: Party, partners: Sequence[Partner], limit: str) -> list[Step]:
    steps = []
    for module in _modules(participant):
        starts = _starts(participant, partners, module, answered=True)
        if not starts:
            continue
        what = "; ".join(f"{s.type_code} to {s.partner_id}" for s in starts)
        steps.append(Step(
            Routine.INITIATING, f"initiate-{module}", Kind.INITIATE,
            f"start from your own system, each in a new conversation, in module {module}: "
            f"{what}; then fetch and confirm the test partner's answers, all within {limit}",
            starts=tuple(starts)))
    return steps


def _robustness(participant: Party, partners: Sequence[Partner], limit: str) -> list[Step]:
    steps = []
    start = next((s for m in _modules(participant)
                  for s in _starts(participant, partners, m, answered=False)), None)
    request = next((d for m in _modules(participant)
                    for d, _ in _requests(participant, partners, m)), None)
    if start is not None:
        steps.append(Step(
            Routine.ROBUSTNESS, "lost-receipt", Kind.LOST_RECEIPT,
            f"send a {start.type_code} of module {start.module} to {start.partner_id}; the "
            "hub closes the connection once without its receipt: send it again with the "
            f"same Kenmerk within {limit}", starts=(start,)))
    elif request is not None:
        steps.append(Step(
            Routine.ROBUSTNESS, "lost-receipt", Kind.LOST_RECEIPT,
            f"answer the {request.type_code} the test partner sends; the hub closes the "
            "connection once without the answer's receipt: send it again with the same "
            f"Kenmerk within {limit}", deliveries=(request,)))
    delivery = next((d for m in _modules(participant)
                     for d in _deliveries(participant, partners, m)), None)
    faults = (UNAVAILABLE, INVALID_STATE) if delivery else (UNAVAILABLE,)
    steps.append(Step(
        Routine.ROBUSTNESS, "faults", Kind.FAULTS,
        "keep polling after the hub answers Server.Unavailable"
        + (" and, for a message, Client.InvalidState" if delivery else "")
        + f" within {limit}", deliveries=(delivery,) if delivery else (), faults=faults))
    steps.append(Step(
        Routine.ROBUSTNESS, "rate", Kind.RATE,
        "send no more than the agreed rate over the whole run (no Client.RateLimited)"))
    return steps
