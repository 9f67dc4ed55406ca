"""Verdicts of acceptance steps from observed metadata (skp.domain.verdicts): waiting until
met or due, and a failure line that says what was expected and what was seen."""

from __future__ import annotations

import datetime as dt

import pytest

from skp.domain.acceptance import (
    INVALID_STATE,
    UNAVAILABLE,
    Kind,
    Routine,
    Start,
    Step,
    replies,
    script,
)
from skp.domain.catalogue import lookup, message_types
from skp.domain.roles import ROLE_MODULES, Role
from skp.domain.routing import Party
from skp.domain.verdicts import DROPPED, MATCHING, OK, Call, Facts, Outcome, Seen, judge
from tests.unit.domain.test_acceptance import PARTNERS

T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
LIMIT = dt.timedelta(minutes=15)


def at(seconds):
    return T0 + dt.timedelta(seconds=seconds)


def message(mid, code="Kennisgeving", *, sender="partner", recipient="me", fetched=None,
            confirmed=None, cross=None, conversation="c1", kenmerk="k1", new=True,
            received=0, module="schuldregeling"):
    return Seen(mid, module, code, sender, recipient, kenmerk, conversation, cross,
                "confirmed" if confirmed is not None else "queued", at(received),
                None if fetched is None else at(fetched),
                None if confirmed is None else at(confirmed), new)


def facts(now, **kwargs):
    return Facts(now=at(now), started_at=T0, deadline=T0 + LIMIT, **kwargs)


DELIVER = Step(Routine.RECIPIENT, "receive", Kind.DELIVER, "fetch and confirm")


def test_received_waits_then_passes_when_all_are_confirmed():
    sent = [message("m1"), message("m2", fetched=2)]
    assert judge(DELIVER, facts(5, sent=sent)).outcome is Outcome.WAITING
    sent = [message("m1", fetched=1, confirmed=2), message("m2", fetched=2, confirmed=3)]
    assert judge(DELIVER, facts(5, sent=sent)) .outcome is Outcome.PASSED


def test_received_fails_at_the_deadline_saying_what_is_missing():
    sent = [message("m1", fetched=1, confirmed=2), message("m2", fetched=2), message("m3")]
    verdict = judge(DELIVER, facts(15 * 60, sent=sent))
    assert verdict.outcome is Outcome.FAILED
    assert verdict.lines == (
        "expected Kennisgeving m2 fetched and confirmed; seen fetched, never confirmed",
        "expected Kennisgeving m3 fetched and confirmed; seen never fetched")


def test_a_confirmation_before_the_fetch_fails_at_once():
    calls = [Call(at(1), "BevestigOntvangst", "Client.InvalidState", "m1")]
    verdict = judge(DELIVER, facts(2, sent=[message("m1")], calls=calls))
    assert verdict.outcome is Outcome.FAILED
    assert "fetched before it is confirmed; seen a confirmation before any fetch" in (
        verdict.lines[0])


def test_the_burst_counts_what_was_lost():
    step = Step(Routine.RECIPIENT, "burst", Kind.BURST, "all")
    sent = [message(f"m{n}", fetched=1, confirmed=2) for n in range(4)] + [message("lost")]
    (line,) = judge(step, facts(15 * 60, sent=sent)).lines
    assert line == ("expected all 5 messages of the burst fetched and confirmed; seen 4 "
                    "confirmed, 0 fetched but not confirmed, 1 never fetched (lost)")


ANSWER = Step(Routine.ANSWERING, "answer", Kind.ANSWER, "answer")


def test_an_answer_in_the_conversation_with_the_cross_reference_passes():
    request = message("r1", "Saldoverzoek", conversation="c9")
    reply = message("a1", "SaldoverzoekAntwoord", sender="me", recipient="partner",
                    cross="r1", conversation="c9")
    assert judge(ANSWER, facts(3, sent=[request], own=[reply])).outcome is Outcome.PASSED


def test_a_wrong_reply_type_fails():
    request = message("r1", "Saldoverzoek", conversation="c9")
    reply = message("a1", "KennisgevingAntwoord", sender="me", cross="r1", conversation="c9")
    verdict = judge(ANSWER, facts(3, sent=[request], own=[reply]))
    assert verdict.outcome is Outcome.FAILED
    (line,) = verdict.lines
    assert line.startswith("expected ") and "SaldoverzoekAntwoord or " in line
    assert line.endswith("answering Saldoverzoek r1; seen KennisgevingAntwoord")


def test_refused_answers_are_reported_at_the_deadline():
    request = message("r1", "Saldoverzoek", conversation="c9")
    calls = [Call(at(1), "VerstuurSaldoverzoekAntwoord", "Client.InvalidReply",
                  cross_reference="x", conversation="c9")]
    assert judge(ANSWER, facts(3, sent=[request], calls=calls)).outcome is Outcome.WAITING
    (line,) = judge(ANSWER, facts(15 * 60, sent=[request], calls=calls)).lines
    assert line.startswith("expected a reply (")
    assert line.endswith("seen VerstuurSaldoverzoekAntwoord refused with Client.InvalidReply "
                         "(CrossReferentienummer x, conversation c9)")


def test_two_saldoverzoeken_are_answered_one_matched_and_one_not():
    requests = [message(f"r{n}", "Saldoverzoek", conversation=f"c{n}") for n in (1, 2)]
    replies = [message(f"a{n}", "SaldoverzoekAntwoord", sender="me", cross=f"r{n}",
                       conversation=f"c{n}") for n in (1, 2)]
    assert judge(ANSWER, facts(3, sent=requests, own=replies)).outcome is Outcome.WAITING

    def read(*codes):
        return [Call(at(2), MATCHING, code, f"a{n}") for n, code in enumerate(codes, 1)]

    both = facts(3, sent=requests, own=replies, calls=read("GEMATCHT", "NIET_GEMATCHT"))
    assert judge(ANSWER, both).outcome is Outcome.PASSED
    same = judge(ANSWER, facts(3, sent=requests, own=replies,
                               calls=read("GEMATCHT", "GEMATCHT")))
    assert same.outcome is Outcome.FAILED
    assert same.lines == ("expected one Saldoverzoek answered as matched (GEMATCHT) and one "
                          "as not matched (NIET_GEMATCHT); seen GEMATCHT, GEMATCHT",)
    refusal = [message("a1", "GeenMedewerking", sender="me", cross="r1", conversation="c1"),
               replies[1]]
    assert judge(ANSWER, facts(3, sent=requests, own=refusal)).outcome is Outcome.PASSED


INITIATE = Step(Routine.INITIATING, "initiate", Kind.INITIATE, "start",
                starts=(Start("partner", "schuldregeling", "Kennisgeving"),))  # type: ignore[arg-type]


def test_initiated_needs_a_new_conversation_and_the_answer_confirmed():
    mine = message("k1", sender="me", recipient="partner")
    answer = message("a1", "KennisgevingAntwoord", cross="k1", fetched=3)
    assert judge(INITIATE, facts(4, own=[mine], answers=[answer])).outcome is Outcome.WAITING
    answer = message("a1", "KennisgevingAntwoord", cross="k1", fetched=3, confirmed=4)
    assert judge(INITIATE, facts(5, own=[mine], answers=[answer])).outcome is Outcome.PASSED
    old = message("k1", sender="me", recipient="partner", new=False)
    verdict = judge(INITIATE, facts(5, own=[old], answers=[answer]))
    assert verdict.outcome is Outcome.FAILED and "start a new conversation" in verdict.lines[0]


LOST = Step(Routine.ROBUSTNESS, "lost-receipt", Kind.LOST_RECEIPT, "again")


def test_the_repeat_after_a_lost_receipt_carries_the_same_kenmerk():
    mine = message("s1", "Statusverzoek", sender="me", recipient="partner", kenmerk="K-1")
    dropped = Call(at(1), "VerstuurStatusverzoek", DROPPED, "s1")
    assert judge(LOST, facts(2, own=[mine], calls=[dropped])).outcome is Outcome.WAITING
    repeat = Call(at(2), "VerstuurStatusverzoek", OK, "s1", repeated=True)
    assert judge(LOST, facts(3, own=[mine], calls=[dropped, repeat])).outcome is Outcome.PASSED


def test_a_repeat_with_a_new_kenmerk_is_stored_twice():
    mine = message("s1", "Statusverzoek", sender="me", recipient="partner", kenmerk="K-1",
                   received=1)
    again = message("s2", "Statusverzoek", sender="me", recipient="partner", kenmerk="K-2",
                    received=2)
    dropped = Call(at(1), "VerstuurStatusverzoek", DROPPED, "s1")
    (line,) = judge(LOST, facts(3, own=[mine, again], calls=[dropped])).lines
    assert line == ("expected the repeat after the lost receipt to carry Kenmerk K-1; seen a "
                    "new message s2 with Kenmerk K-2: stored twice")
    other = message("s3", "Statusverzoek", sender="me", recipient="partner", kenmerk="K-3",
                    received=2, conversation="c2")  # another case: not the same message
    assert judge(LOST, facts(3, own=[mine, other], calls=[dropped])).outcome is (
        Outcome.WAITING)


FAULTS = Step(Routine.ROBUSTNESS, "faults", Kind.FAULTS, "poll on",
              faults=(UNAVAILABLE, INVALID_STATE))


def test_polling_on_after_each_fault_passes_and_giving_up_fails():
    calls = [Call(at(1), "Berichtenlijst", "Server.Unavailable"),
             Call(at(2), "Berichtenlijst", OK),
             Call(at(3), "HaalBerichtOp", "Client.InvalidState"),
             Call(at(4), "Berichtenlijst", OK)]
    assert judge(FAULTS, facts(5, calls=calls)).outcome is Outcome.PASSED
    verdict = judge(FAULTS, facts(15 * 60, calls=calls[:1]))
    assert verdict.outcome is Outcome.FAILED
    assert verdict.lines[0].startswith("expected polling (Berichtenlijst) to go on after "
                                       "Server.Unavailable on Berichtenlijst")


RATE = Step(Routine.ROBUSTNESS, "rate", Kind.RATE, "rate")


def test_the_rate_is_judged_over_any_window():
    calls = [Call(at(n), "VerstuurStatusverzoek", OK) for n in range(0, 6)]
    assert judge(RATE, facts(7, calls=calls, rate=(6, 60))).outcome is Outcome.PASSED
    verdict = judge(RATE, facts(7, calls=calls, rate=(5, 60)))
    assert verdict.outcome is Outcome.FAILED
    assert verdict.lines == ("expected at most 5 sends in any 60 seconds; seen 6, 0 refused "
                             "with Client.RateLimited",)
    spread = [Call(at(n * 30), "VerstuurStatusverzoek", OK) for n in range(6)]
    assert judge(RATE, facts(200, calls=spread, rate=(2, 60))).outcome is Outcome.PASSED


@pytest.mark.parametrize(("role", "uses_bsn"), [
    (Role.SE, False), (Role.SE, True), (Role.WSK, False), (Role.SHV_FASE2, False)])
def test_an_answer_passes_exactly_when_its_type_is_one_the_step_names(role, uses_bsn):
    """Where a request may be answered in several ways (an answer or a Geen medewerking, a
    Gebeurtenis or a Waarborgfonds foutbericht), the step names each of them and the verdict
    takes each of them, and no other reply type."""
    me = Party("me", role, ROLE_MODULES[role], uses_bsn)
    partners = {p.party.id: p.party for p in PARTNERS}
    answer_steps = script(me, PARTNERS, burst=0, limit="15 minutes",
                          routines=[Routine.ANSWERING])
    assert answer_steps
    for step in answer_steps:
        for delivery in dict.fromkeys(step.deliveries):
            named = replies(lookup(delivery.module, delivery.type_code), me,
                            partners[delivery.partner_id])
            assert f"{delivery.type_code} with {' or '.join(named)}" in step.expectation
            request = message("r1", delivery.type_code, module=delivery.module.value)
            for reply_type in message_types(delivery.module):
                if not reply_type.is_reply:
                    continue
                reply = message("a1", reply_type.code, sender="me", recipient="partner",
                                cross="r1", module=delivery.module.value)
                verdict = judge(step, facts(3, sent=[request], own=[reply]))
                assert (verdict.outcome is Outcome.PASSED) == (reply_type.code in named), (
                    delivery.type_code, reply_type.code, verdict.lines)
