"""Connectivity: Ping over mutual TLS with a real zeep client."""

from __future__ import annotations

from skp.domain.roles import Module


def test_ping_answers_with_the_callers_identity(connect, people, pki):
    service = connect(pki.people["shv"], Module.SCHULDREGELING)
    answer = service.Ping(Tekst="hallo")
    assert answer.Tekst == "hallo"
    assert answer.DeelnemerId == people.shv.id
    assert answer.Naam == people.shv.name
    assert answer.Rol == "SHV_FASE2"
    assert "schuldregeling" in answer.Module
