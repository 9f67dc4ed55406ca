"""A participant that is not active yet reaches only the test partners, and only they reach
it; the address book shows it to no one. On SQLite and PostgreSQL."""

from __future__ import annotations

import types

import pytest

from skp import partner as tp
from skp.addressbook import AddressBook, Search
from skp.domain import admission
from skp.domain.admission import Standing
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import ROLE_MODULES, Module, Role
from skp.errors import BatchRefused, NotAllowed, NotFound, UnknownRecipient
from skp.mailbox import Outgoing
from skp.partner import TestPartner, ensure_partners
from skp.store.session import transaction
from tests.helpers import header, send

SR = Module.SCHULDREGELING
NOT_YET_ACTIVE = (Standing.REGISTERED, Standing.IN_ACCEPTANCE, Standing.ACCEPTED)


@pytest.fixture
def partners(participants, mailbox):
    ensure_partners(participants)
    return TestPartner(mailbox)


def newcomer(participants, sessions, standing, role=Role.SHV_FASE2, name="Nieuwe Gemeente"):
    """A participant of ``role`` in ``standing``, the way it gets there."""
    info = participants.add(name=name, role=role, modules=ROLE_MODULES[role])
    with transaction(sessions) as session:
        if standing is not Standing.REGISTERED:
            participants.move(session, info.id, admission.start_run)
        if standing is Standing.ACCEPTED:
            participants.move(session, info.id, lambda s: admission.finish_run(s, True))
    info = participants.get(info.id)
    assert info.standing is standing
    return info


def pending(mailbox, who, module=SR):
    return mailbox.list_pending(who.id, module).items


@pytest.mark.parametrize("standing", NOT_YET_ACTIVE)
def test_a_newcomer_cannot_send_to_an_active_participant(mailbox, participants, sessions,
                                                         people, standing):
    shv = newcomer(participants, sessions, standing)
    with pytest.raises(NotAllowed) as refused:
        send(mailbox, shv, people.se, SR, "Kennisgeving")
    assert refused.value.code == "Client.NotAllowed"
    assert "test partners" in str(refused.value)
    assert pending(mailbox, people.se) == []


@pytest.mark.parametrize("standing", NOT_YET_ACTIVE)
def test_to_an_active_sender_a_newcomer_does_not_exist_yet(mailbox, participants, sessions,
                                                           people, standing):
    se = newcomer(participants, sessions, standing, role=Role.SE, name="Nieuwe Schuldeiser")
    ghost = types.SimpleNamespace(id="5f1b8b9e-0000-4000-8000-000000000000")
    faults = []
    for recipient in (se, ghost):
        with pytest.raises(UnknownRecipient) as refused:
            send(mailbox, people.shv, recipient, SR, "Kennisgeving")
        faults.append(str(refused.value).replace(recipient.id, "<id>"))
    assert faults[0] == faults[1]  # the same as for an id nobody has
    assert pending(mailbox, se) == []


def test_newcomers_do_not_reach_each_other(mailbox, participants, sessions):
    shv = newcomer(participants, sessions, Standing.ACCEPTED)
    se = newcomer(participants, sessions, Standing.REGISTERED, role=Role.SE,
                  name="Nieuwe Schuldeiser")
    with pytest.raises(UnknownRecipient):
        send(mailbox, shv, se, SR, "Kennisgeving")


def test_a_batch_to_an_active_participant_is_refused_whole(mailbox, participants, sessions,
                                                           people, partners):
    shv = newcomer(participants, sessions, Standing.IN_ACCEPTANCE)
    body = example_body(lookup(SR, "Kennisgeving"))
    with pytest.raises(BatchRefused) as refused:
        mailbox.send_many(shv.id, [Outgoing(SR, "Kennisgeving", header(tp.SE), body),
                                   Outgoing(SR, "Kennisgeving", header(people.se), body)])
    [(index, error)] = refused.value.failures
    assert (index, type(error)) == (1, NotAllowed)
    assert pending(mailbox, people.se) == [] and pending(mailbox, tp.SE) == []


@pytest.mark.parametrize("standing", NOT_YET_ACTIVE)
def test_a_newcomer_and_the_test_partners_reach_each_other(mailbox, participants, sessions,
                                                           partners, standing):
    shv = newcomer(participants, sessions, standing)
    sent = send(mailbox, shv, tp.SE, SR, "Kennisgeving")
    assert partners.work() == 1
    [answer] = pending(mailbox, shv)
    assert (answer.type_code, answer.sender_id) == ("KennisgevingAntwoord", tp.SE.id)
    assert answer.cross_reference_id == sent.message_id
    # the partner debt counsellor starts a conversation with a creditor under test
    se = newcomer(participants, sessions, standing, role=Role.SE, name="Nieuwe Schuldeiser")
    send(mailbox, se, tp.SHV, SR, "StatusberichtSe")
    partners.work()
    assert {i.type_code for i in pending(mailbox, se)} == {"Kennisgeving", "Saldoverzoek"}


def test_once_active_a_participant_reaches_and_is_reached_by_everyone(
        mailbox, participants, sessions, people):
    shv = newcomer(participants, sessions, Standing.ACCEPTED)
    se = newcomer(participants, sessions, Standing.REGISTERED, role=Role.SE,
                  name="Nieuwe Schuldeiser")
    shv = participants.activate(shv.id)
    se = participants.activate(se.id, without_acceptance=True)
    send(mailbox, shv, people.se, SR, "Kennisgeving")
    send(mailbox, people.shv, se, SR, "Kennisgeving")
    send(mailbox, shv, se, SR, "Kennisgeving")
    assert len(pending(mailbox, people.se)) == 1 and len(pending(mailbox, se)) == 2


def test_a_deactivated_participant_is_unknown_again(mailbox, participants, people):
    participants.deactivate(people.se.id)
    with pytest.raises(UnknownRecipient):
        send(mailbox, people.shv, people.se, SR, "Kennisgeving")


def ids(found):
    return {e.id for e in found.entries}


@pytest.mark.parametrize("standing", NOT_YET_ACTIVE)
def test_the_address_book_lists_only_active_participants(participants, sessions, people,
                                                         partners, standing):
    book = AddressBook(sessions)
    se = newcomer(participants, sessions, standing, role=Role.SE, name="Energie Nieuw")
    active = {p.id for p in participants.all()
              if p.standing is Standing.ACTIVE and SR in p.modules}
    partner_ids = {tp.SE.id, tp.SHV.id}  # the partners in module Schuldregeling
    assert partner_ids <= active and se.id not in active
    for viewer in (None, people.shv.party, participants.get(tp.SHV.id).party):
        assert ids(book.search(Search(SR, limit=500), viewer)) == active
        assert se.id not in ids(book.search(Search(SR, name="Nieuw"), viewer))
        with pytest.raises(NotFound):
            book.entry(se.id, SR, viewer)
    assert se.id not in ids(book.search(Search(SR, name="Nieuw")))


@pytest.mark.parametrize("standing", NOT_YET_ACTIVE)
def test_a_newcomer_finds_only_the_test_partners(participants, sessions, people, partners,
                                                 standing):
    book = AddressBook(sessions)
    shv = newcomer(participants, sessions, standing).party
    assert ids(book.search(Search(SR, limit=500), shv)) == {tp.SE.id, tp.SHV.id}
    assert ids(book.search(Search(Module.WAARBORGFONDS, limit=500), shv)) == {tp.WSK.id,
                                                                              tp.SHV.id}
    assert ids(book.search(Search(SR, name="energie"), shv)) == set()
    assert book.entry(tp.SE.id, SR, shv).name == tp.SE.name
    with pytest.raises(NotFound):
        book.entry(people.se.id, SR, shv)


def test_a_newcomer_finds_no_one_when_the_hub_runs_no_test_partners(participants, sessions,
                                                                    people, partners):
    book = AddressBook(sessions, hidden=[p.id for p in tp.PARTNERS])
    shv = newcomer(participants, sessions, Standing.REGISTERED).party
    assert book.search(Search(SR, limit=500), shv).entries == []


def test_once_active_a_participant_is_in_everyones_book(participants, sessions, people,
                                                        partners):
    book = AddressBook(sessions)
    se = newcomer(participants, sessions, Standing.ACCEPTED, role=Role.SE,
                  name="Energie Nieuw")
    se = participants.activate(se.id)
    assert se.id in ids(book.search(Search(SR, name="Nieuw"), people.shv.party))
    assert book.entry(se.id, SR).id == se.id
    assert people.shv.id in ids(book.search(Search(SR, limit=500), se.party))
