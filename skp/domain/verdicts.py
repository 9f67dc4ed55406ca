"""Verdicts of acceptance steps (skp.domain.acceptance), from what the hub observed.

The runner passes in :class:`Facts`: the metadata of the messages the step is about and the
participant's own requests as the hub saw them (operation, outcome, hub id, the header's
references), and ``now``. A verdict is ``waiting`` until the expectation is met or the step's
deadline passes; its lines say, for a failure, what was expected and what was seen. Pure.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from skp.domain import matching
from skp.domain.acceptance import Kind, Step
from skp.domain.catalogue import lookup, message_types
from skp.domain.roles import Module


class Outcome(enum.StrEnum):
    PENDING = "pending"  # not started
    WAITING = "waiting"
    PASSED = "passed"
    FAILED = "failed"

    @property
    def final(self) -> bool:
        return self in (Outcome.PASSED, Outcome.FAILED)


#: The outcome the hub records for a send whose answer it dropped on purpose.
DROPPED = "dropped"
OK = "ok"
#: The operation of the record that a partner received a Saldoverzoek antwoord; its outcome
#: is the answer's Matching code.
MATCHING = "Matching"


@dataclass(frozen=True)
class Seen:
    """The metadata of one message the step is about."""

    id: str
    module: str
    type_code: str
    sender_id: str
    recipient_id: str
    kenmerk: str
    conversation_id: str
    cross_reference_id: str | None
    state: str
    received_at: dt.datetime
    fetched_at: dt.datetime | None = None
    confirmed_at: dt.datetime | None = None
    #: Whether no earlier message was in its conversation.
    new_conversation: bool = True


@dataclass(frozen=True)
class Call:
    """One request of the participant as the hub saw it."""

    at: dt.datetime
    operation: str
    outcome: str
    message_id: str | None = None
    repeated: bool = False
    cross_reference: str | None = None
    conversation: str | None = None

    @property
    def sends(self) -> bool:
        return self.operation.startswith("Verstuur")


@dataclass(frozen=True)
class Facts:
    now: dt.datetime
    started_at: dt.datetime
    deadline: dt.datetime
    #: What the partners sent the participant in this step, in order.
    sent: Sequence[Seen] = ()
    #: What the participant sent since the step started.
    own: Sequence[Seen] = ()
    #: What the partners sent the participant since, answering its own messages.
    answers: Sequence[Seen] = ()
    #: The participant's requests since the step started (the whole run's, for the rate).
    calls: Sequence[Call] = ()
    #: The send rate the participant agreed to: (messages, seconds); 0 messages = no limit.
    rate: tuple[int, int] = (0, 60)


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    lines: tuple[str, ...] = ()


def judge(step: Step, facts: Facts) -> Verdict:
    """The verdict of ``step`` at ``facts.now``."""
    match step.kind:
        case Kind.DELIVER | Kind.BURST:
            return _received(step, facts)
        case Kind.ANSWER:
            return _answered(facts)
        case Kind.INITIATE:
            return _initiated(step, facts)
        case Kind.LOST_RECEIPT:
            return _repeated(facts)
        case Kind.FAULTS:
            return _kept_polling(step, facts)
        case Kind.RATE:
            return _rate(facts)
    raise AssertionError(step.kind)  # pragma: no cover


def _due(facts: Facts) -> bool:
    return facts.now >= facts.deadline


def _verdict(problems: list[str], done: bool) -> Verdict:
    """Failed on a problem (a mistake that cannot be undone, or what was missing at the
    deadline), passed when ``done``, else waiting."""
    if problems:
        return Verdict(Outcome.FAILED, tuple(problems))
    return Verdict(Outcome.PASSED if done else Outcome.WAITING)


def _received(step: Step, facts: Facts) -> Verdict:
    ids = {m.id for m in facts.sent}
    early = [f"expected {_name(m)} fetched before it is confirmed; seen a confirmation "
             f"before any fetch (Client.InvalidState at {c.at:%H:%M:%S})"
             for c in facts.calls for m in facts.sent
             if c.operation == "BevestigOntvangst" and c.outcome == "Client.InvalidState"
             and c.message_id == m.id and (m.fetched_at is None or c.at < m.fetched_at)]
    if early:
        return Verdict(Outcome.FAILED, tuple(dict.fromkeys(early)))
    missing = [m for m in facts.sent if m.confirmed_at is None]
    if not missing:
        return Verdict(Outcome.PASSED)
    if not _due(facts):
        return Verdict(Outcome.WAITING)
    if step.kind is Kind.BURST:
        unfetched = [m.id for m in missing if m.fetched_at is None]
        return Verdict(Outcome.FAILED, (
            f"expected all {len(ids)} messages of the burst fetched and confirmed; seen "
            f"{len(ids) - len(missing)} confirmed, {len(missing) - len(unfetched)} fetched "
            f"but not confirmed, {len(unfetched)} never fetched"
            + (f" ({', '.join(unfetched[:5])})" if unfetched else ""),))
    return Verdict(Outcome.FAILED, tuple(
        f"expected {_name(m)} fetched and confirmed; seen "
        + ("fetched, never confirmed" if m.fetched_at else "never fetched")
        for m in missing))


def _answered(facts: Facts) -> Verdict:
    problems: list[str] = []
    answered = 0
    for request in facts.sent:
        allowed = _reply_types(request)
        reply = next((m for m in facts.own if m.cross_reference_id == request.id), None)
        if reply is None:
            if _due(facts):
                problems.append(f"expected a reply ({' or '.join(allowed)}) to {_name(request)}"
                                f" in conversation {request.conversation_id}; seen "
                                + _refusals(facts, request))
            continue
        if reply.type_code not in allowed:
            problems.append(f"expected {' or '.join(allowed)} answering {_name(request)}; "
                            f"seen {reply.type_code}")
        elif reply.conversation_id != request.conversation_id:
            problems.append(f"expected the reply to {_name(request)} in conversation "
                            f"{request.conversation_id}; seen {reply.conversation_id}")
        else:
            answered += 1
    done = answered == len(facts.sent)
    if done and not problems:
        return _matched_and_not(facts)
    return _verdict(problems, done)


def _matched_and_not(facts: Facts) -> Verdict:
    """Where a Saldoverzoek came twice and both were answered with a Saldoverzoek antwoord:
    one matched (GEMATCHT) and one not (NIET_GEMATCHT), as the partner read them."""
    requests = {m.id for m in facts.sent if m.type_code == matching.REQUEST}
    replies = [m for m in facts.own if m.cross_reference_id in requests]
    if len(requests) < 2 or any(m.type_code != matching.REPLY for m in replies):
        return Verdict(Outcome.PASSED)
    codes = {c.message_id: c.outcome for c in facts.calls if c.operation == MATCHING}
    seen = [codes.get(m.id) for m in replies]
    if None in seen:  # the partner has not read them yet
        return Verdict(Outcome.FAILED, ("expected the test partner to receive your Saldoverzoek "
                                        "antwoorden; seen them not fetched",)) if _due(
            facts) else Verdict(Outcome.WAITING)
    if set(seen) >= {"GEMATCHT", "NIET_GEMATCHT"}:
        return Verdict(Outcome.PASSED)
    return Verdict(Outcome.FAILED, (
        "expected one Saldoverzoek answered as matched (GEMATCHT) and one as not matched "
        f"(NIET_GEMATCHT); seen {', '.join(str(c) for c in seen)}",))


def _refusals(facts: Facts, request: Seen) -> str:
    refused = [c for c in facts.calls if c.sends and c.outcome != OK]
    if not refused:
        return "no reply"
    return "; ".join(
        f"{c.operation} refused with {c.outcome} (CrossReferentienummer "
        f"{c.cross_reference or '-'}, conversation {c.conversation or '-'})"
        for c in refused[:3])


def _reply_types(request: Seen) -> tuple[str, ...]:
    mt = lookup(Module(request.module), request.type_code)
    return tuple(r.code for r in message_types(mt.module) if mt.code in r.answers)


def _initiated(step: Step, facts: Facts) -> Verdict:
    problems: list[str] = []
    done = 0
    used: set[str] = set()
    for start in step.starts:
        mine = next((m for m in facts.own if m.id not in used and m.type_code == start.type_code
                     and m.module == start.module and m.recipient_id == start.partner_id),
                    None)
        if mine is None:
            if _due(facts):
                refused = [c for c in facts.calls
                           if c.operation == f"Verstuur{start.type_code}" and c.outcome != OK]
                problems.append(
                    f"expected a {start.type_code} of module {start.module} to "
                    f"{start.partner_id} in a new conversation; seen "
                    + ("; ".join(f"a send refused with {c.outcome}" for c in refused[:3])
                       or "none"))
            continue
        used.add(mine.id)
        if not mine.new_conversation:
            problems.append(f"expected {_name(mine)} to start a new conversation; seen it in "
                            f"conversation {mine.conversation_id}, which was in use before")
            continue
        answers = [a for a in facts.answers if a.cross_reference_id == mine.id]
        if answers and all(a.confirmed_at for a in answers):
            done += 1
        elif _due(facts):
            problems.append(
                f"expected the test partner's answer to {_name(mine)} fetched and confirmed; "
                "seen " + ("no answer yet" if not answers else ", ".join(
                    f"{_name(a)} " + ("fetched, never confirmed" if a.fetched_at
                                      else "never fetched") for a in answers
                    if not a.confirmed_at)))
    return _verdict(problems, done == len(step.starts))


def _repeated(facts: Facts) -> Verdict:
    dropped = next((c for c in facts.calls if c.outcome == DROPPED), None)
    if dropped is None:
        if _due(facts):
            return Verdict(Outcome.FAILED, ("expected a message whose receipt the hub could "
                                            "drop; seen no message sent",))
        return Verdict(Outcome.WAITING)
    original = next((m for m in facts.own if m.id == dropped.message_id), None)
    kenmerk = original.kenmerk if original else "?"
    # The same message again under another Kenmerk: its type, recipient, conversation and
    # cross-reference, after the drop.
    twice = [m for m in facts.own if original is not None and m.id != original.id
             and m.received_at >= dropped.at
             and (m.type_code, m.recipient_id, m.conversation_id, m.cross_reference_id) == (
                 original.type_code, original.recipient_id, original.conversation_id,
                 original.cross_reference_id)]
    if twice:
        return Verdict(Outcome.FAILED, (
            f"expected the repeat after the lost receipt to carry Kenmerk {kenmerk}; seen a "
            f"new message {twice[0].id} with Kenmerk {twice[0].kenmerk}: stored twice",))
    if any(c.sends and c.repeated and c.message_id == dropped.message_id and c.at >= dropped.at
           for c in facts.calls):
        return Verdict(Outcome.PASSED)
    if _due(facts):
        return Verdict(Outcome.FAILED, (
            f"expected a repeat with Kenmerk {kenmerk} after the lost receipt of "
            f"{dropped.message_id}; seen no repeat",))
    return Verdict(Outcome.WAITING)


def _kept_polling(step: Step, facts: Facts) -> Verdict:
    problems = []
    pending = False
    for operations, code in step.faults:
        fault = next((c for c in facts.calls if c.operation in operations
                      and c.outcome == code), None)
        if fault is None:
            pending = True
            continue
        went_on = any(c.operation == "Berichtenlijst" and c.outcome == OK and c.at >= fault.at
                      and c is not fault for c in facts.calls)
        if not went_on:
            pending = True
            problems.append(f"expected polling (Berichtenlijst) to go on after {code} on "
                            f"{fault.operation} at {fault.at:%H:%M:%S}; seen no poll since")
    if not pending:
        return Verdict(Outcome.PASSED)
    if _due(facts):
        return Verdict(Outcome.FAILED, tuple(problems) or (
            "expected the adapter to poll (Berichtenlijst) and work its messages so the hub "
            "could answer its faults; seen no such request",))
    return Verdict(Outcome.WAITING)


def _rate(facts: Facts) -> Verdict:
    limit, seconds = facts.rate
    refused = [c for c in facts.calls if c.outcome == "Client.RateLimited"]
    sends = sorted(c.at for c in facts.calls if c.sends)
    most, first = 0, 0
    for last, at in enumerate(sends):
        while (at - sends[first]).total_seconds() >= seconds:
            first += 1
        most = max(most, last - first + 1)
    if refused or (limit and most > limit):
        return Verdict(Outcome.FAILED, (
            f"expected at most {limit} sends in any {seconds} seconds; seen {most}, "
            f"{len(refused)} refused with Client.RateLimited",))
    return Verdict(Outcome.PASSED)


def _name(m: Seen) -> str:
    return f"{m.type_code} {m.id}"
