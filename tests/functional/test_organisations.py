"""The organisations' service on SQLite and PostgreSQL: employees and units, the
administrator's data, requests to the operator, the audit trail."""

from __future__ import annotations

import pytest

from skp.domain.admission import Standing
from skp.domain.organisation import ContactRole, Login, RequestKind
from skp.domain.roles import Module, Role
from skp.errors import NotFound, SchemaInvalid
from skp.organisations import Organisations

ENERGIE, OTHER = "90000002", "90000009"


@pytest.fixture
def org(sessions, participants, clock):
    return Organisations(sessions, participants, clock)


@pytest.fixture
def units(participants):
    noord = participants.add(standing=Standing.ACTIVE,
                             name="Noord", role=Role.SE, modules=[Module.SCHULDREGELING],
                             kvk_nummer=ENERGIE, vestigingsnummer="000090000021")
    zuid = participants.add(standing=Standing.ACTIVE,
                            name="Zuid", role=Role.SE, modules=[Module.SCHULDREGELING],
                            kvk_nummer=ENERGIE, vestigingsnummer="000090000022")
    other = participants.add(standing=Standing.ACTIVE,
                             name="Ander", role=Role.SE, modules=[Module.SCHULDREGELING],
                             kvk_nummer=OTHER)
    return noord, zuid, other


def test_an_employee_is_registered_once_and_linked_by_the_administrator(org, units):
    noord, _, other = units
    first = org.sign_in(Login(ENERGIE, "p-1", None, False))
    assert org.sign_in(Login(ENERGIE, "p-1", None, False)).id == first.id
    assert org.sign_in(Login(OTHER, "p-1", None, False)).id != first.id  # per organisation
    assert first.display_name == "" and first.units == frozenset()
    assert org.name(ENERGIE, first.id, "  Bram   Jansen ").display_name == "Bram Jansen"
    with pytest.raises(SchemaInvalid):
        org.name(ENERGIE, first.id, " ")
    assert org.link(ENERGIE, "admin", first.id, noord.id, True).units == {noord.id}
    assert org.link(ENERGIE, "admin", first.id, noord.id, False).units == frozenset()
    for wrong in ((ENERGIE, first.id, other.id), (OTHER, first.id, noord.id)):
        with pytest.raises(NotFound):
            org.link(wrong[0], "admin", wrong[1], wrong[2], True)
    assert [u.name for u in org.units(ENERGIE)] == ["Noord", "Zuid"]
    assert [u.name for u in org.units(ENERGIE, "000090000022")] == ["Zuid"]


def test_the_administrators_data_stays_in_its_organisation(org, units):
    noord, _, other = units
    org.add_bank_account(ENERGIE, "admin", noord.id, "NL91 ABNA 0417 1643 00", "Energie BV")
    with pytest.raises(ValueError, match="al bij deze"):
        org.add_bank_account(ENERGIE, "admin", noord.id, "NL91ABNA0417164300", "Energie BV")
    with pytest.raises(ValueError, match="geen geldig IBAN"):
        org.add_bank_account(ENERGIE, "admin", noord.id, "NL00", "Energie BV")
    with pytest.raises(NotFound):
        org.add_bank_account(ENERGIE, "admin", other.id, "NL91ABNA0417164300", "X")
    (account,) = org.bank_accounts(ENERGIE, noord.id)
    with pytest.raises(NotFound):
        org.remove_bank_account(OTHER, "admin", account.id)
    assert org.remove_bank_account(ENERGIE, "admin", account.id) == noord.id
    org.add_contact(ENERGIE, "admin", name="Anna", email="anna@example.nl", phone="0301234567",
                    role=ContactRole.BEHEER)
    (contact,) = org.contacts(ENERGIE)
    assert org.contacts(OTHER) == []
    with pytest.raises(NotFound):
        org.remove_contact(OTHER, "admin", contact.id)
    org.subscribe(ENERGIE, "admin", noord.id, " Team@Example.nl ", True)
    org.subscribe(ENERGIE, "admin", noord.id, "team@example.nl", True)
    assert [s.email for s in org.subscriptions(ENERGIE, noord.id)] == ["team@example.nl"]
    actions = [a for _, _, a, _ in org.audit_trail(ENERGIE)]
    assert actions.count("iban.add") == 1 and "iban.remove" in actions
    assert all("NL91" not in str(event) and "anna@" not in str(event)
               for event in org.audit_trail())


def test_an_address_is_subscribed_to_new_messages_reminders_or_both(org, units):
    noord, zuid, other = units
    org.subscribe(ENERGIE, "admin", noord.id, "team@example.nl", True)
    org.subscribe(ENERGIE, "admin", noord.id, "herinnering@example.nl", True,
                  new_messages=False)
    assert [(s.email, s.new_messages, s.reminders) for s in org.subscriptions(
        ENERGIE, noord.id)] == [("herinnering@example.nl", False, True),
                                ("team@example.nl", True, True)]
    org.subscribe(ENERGIE, "admin", noord.id, "TEAM@example.nl", True, reminders=False)
    assert [(s.new_messages, s.reminders) for s in org.subscriptions(ENERGIE, noord.id)
            if s.email == "team@example.nl"] == [(True, False)]
    with pytest.raises(ValueError, match="kies nieuwe berichten"):
        org.subscribe(ENERGIE, "admin", noord.id, "x@example.nl", True, new_messages=False,
                      reminders=False)
    assert org.subscriptions(ENERGIE, zuid.id) == []
    with pytest.raises(NotFound):
        org.subscriptions(ENERGIE, other.id)
    org.subscribe(ENERGIE, "admin", noord.id, "team@example.nl", False)
    assert [s.email for s in org.subscriptions(ENERGIE, noord.id)] == ["herinnering@example.nl"]


def test_requests_are_answered_by_the_operator(org, units, participants):
    noord, _, _ = units
    admin = org.sign_in(Login(ENERGIE, "p-admin", None, True))
    extension = org.request(ENERGIE, admin.id, noord.id, RequestKind.EXTENSION, "28")
    with pytest.raises(ValueError, match="al ingediend"):
        org.request(ENERGIE, admin.id, noord.id, RequestKind.EXTENSION, "28")
    module = org.request(ENERGIE, admin.id, noord.id, RequestKind.MODULE, "betalingsregeling")
    assert {r.id for r in org.requests(state="open")} == {extension.id, module.id}
    assert org.decide(extension.id, approve=True).state == "approved"
    assert participants.get(noord.id).extension_days == 28
    refused = org.decide(module.id, approve=False, reason="eerst een proefaansluiting")
    assert (refused.state, refused.reason) == ("refused", "eerst een proefaansluiting")
    assert Module.BETALINGSREGELING not in participants.get(noord.id).modules
    with pytest.raises(SchemaInvalid, match="already"):
        org.decide(module.id, approve=True)
    assert org.requests(OTHER) == [] and len(org.requests(ENERGIE)) == 2


def test_the_operator_lists_and_answers_requests_on_the_command_line(org, units, monkeypatch,
                                                                     sessions, participants,
                                                                     keyring, clock):
    from click.testing import CliRunner

    from skp.cli import cli
    from skp.config import Settings
    from skp.hub import Hub

    noord, _, _ = units
    hub = Hub.build(Settings(), engine=sessions.kw["bind"], keyring=keyring, clock=clock)
    monkeypatch.setattr("skp.cli.State.hub", hub)
    admin = org.sign_in(Login(ENERGIE, "p-admin", None, True))
    first = org.request(ENERGIE, admin.id, noord.id, RequestKind.EXTENSION, "14")
    second = org.request(ENERGIE, admin.id, noord.id, RequestKind.MODULE, "betalingsregeling")

    def skp(*args, expect=0):
        result = CliRunner().invoke(cli, list(args))
        assert result.exit_code == expect, result.output
        assert "Traceback" not in result.output
        return result.output

    listed = skp("requests", "list")
    assert first.id in listed and second.id in listed and "extension 14 days" in listed
    assert "approved" in skp("requests", "approve", first.id)
    assert "refused" in skp("requests", "refuse", second.id, "--reason", "nog niet")
    assert skp("requests", "list") == "no open requests\n"
    assert "already" in skp("requests", "approve", first.id, expect=2)
    assert "no request" in skp("requests", "approve", "5b3f3c1e-8a0e-4d8e-9d7a-6b2c1f0e4a11",
                               expect=2)
    assert participants.get(noord.id).extension_days == 14
