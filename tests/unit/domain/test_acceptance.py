"""The scripts of acceptance runs per role and module (skp.domain.acceptance)."""

from __future__ import annotations

import pytest

from skp.domain.acceptance import Kind, Partner, Routine, script
from skp.domain.catalogue import lookup
from skp.domain.roles import ROLE_MODULES, Module, Role
from skp.domain.routing import Party

SE = Party("partner-se", Role.SE, ROLE_MODULES[Role.SE])
WSK = Party("partner-wsk", Role.WSK, ROLE_MODULES[Role.WSK])
SHV = Party("partner-shv", Role.SHV_FASE2, ROLE_MODULES[Role.SHV_FASE2])
PARTNERS = [
    Partner(SE, frozenset({"Kennisgeving", "Saldoverzoek", "Betaalvoorstel",
                           "Betalingsvoorstel", "MeldingStartBewind", "MeldingWijzigingBewind",
                           "MeldingEindeBewind"})),
    Partner(WSK, frozenset({"RegistreerVoorbeoordeling", "AanvraagBorgstelling"})),
    Partner(SHV, frozenset()),
]


def steps(role, modules=None, **kwargs):
    me = Party("me", role, ROLE_MODULES[role] if modules is None else frozenset(modules))
    return script(me, PARTNERS, burst=50, limit="15 minutes", **kwargs)


def routines(role, modules=None):
    return list(dict.fromkeys(s.routine for s in steps(role, modules)))


def test_each_role_gets_the_routines_of_what_it_does():
    everything = list(Routine)
    assert routines(Role.SE) == [Routine.RECIPIENT, Routine.ANSWERING, Routine.ROBUSTNESS]
    assert routines(Role.WSK) == [Routine.RECIPIENT, Routine.ANSWERING, Routine.ROBUSTNESS]
    assert routines(Role.SHV_FASE2) == everything
    for role in (Role.SHV_FASE1, Role.SHV_OVERIG, Role.BEWINDVOERDER):
        assert routines(role) == [Routine.INITIATING, Routine.ROBUSTNESS]


def test_a_creditor_receives_every_unprompted_type_with_and_without_documents():
    (deliver,) = [s for s in steps(Role.SE, {Module.SCHULDREGELING}) if s.kind is Kind.DELIVER]
    sent = [(d.type_code, d.documents) for d in deliver.deliveries]
    assert ("Saldoverzoek", False) in sent and ("Saldoverzoek", True) in sent
    assert ("Kennisgeving", False) in sent
    assert "KennisgevingPubliek" not in {code for code, _ in sent}  # the creditor has no BSN
    for code, _ in sent:  # never a reply that would need an original of the creditor's
        mt = lookup(Module.SCHULDREGELING, code)
        assert not mt.is_reply or mt.reply_optional
    assert {d.partner_id for d in deliver.deliveries} == {SHV.id}


def test_the_burst_has_the_configured_size_of_one_type():
    (burst,) = [s for s in steps(Role.SE) if s.kind is Kind.BURST]
    assert len(burst.deliveries) == 50 and len(set(burst.deliveries)) == 1
    assert "all 50" in burst.expectation


def test_answering_sends_each_request_and_a_saldoverzoek_twice():
    (answer,) = [s for s in steps(Role.SE, {Module.SCHULDINVENTARISATIE})
                 if s.kind is Kind.ANSWER]
    assert [d.type_code for d in answer.deliveries] == ["Saldoverzoek", "Saldoverzoek"]
    assert "CrossReferentienummer" in answer.expectation


def test_initiating_asks_only_for_what_the_partners_answer():
    initiate = [s for s in steps(Role.SHV_FASE2) if s.kind is Kind.INITIATE]
    started = {(s.module, s.type_code, s.partner_id) for step in initiate for s in step.starts}
    assert (Module.SCHULDREGELING, "Kennisgeving", SE.id) in started
    assert (Module.WAARBORGFONDS, "AanvraagBorgstelling", WSK.id) in started
    assert (Module.WAARBORGFONDS, "AanvraagOvername", WSK.id) not in started
    assert all("new conversation" in s.expectation for s in initiate)


@pytest.mark.parametrize("role", list(Role))
def test_robustness_ends_every_script(role):
    kinds = [s.kind for s in steps(role) if s.routine is Routine.ROBUSTNESS]
    assert kinds == [Kind.LOST_RECEIPT, Kind.FAULTS, Kind.RATE]


def test_only_the_routines_asked_for():
    assert {s.routine for s in steps(Role.SE, routines=[Routine.ANSWERING])} == {
        Routine.ANSWERING}
