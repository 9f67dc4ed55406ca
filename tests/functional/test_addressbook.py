"""The address book over the participant register, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

import pytest

from skp.addressbook import AddressBook, Entry, Search
from skp.domain.addressbook import PUBLIC_FIELDS
from skp.domain.admission import Standing
from skp.domain.roles import Module, Role
from skp.errors import NotFound, SchemaInvalid

SR = Module.SCHULDREGELING


@pytest.fixture
def book(sessions):
    return AddressBook(sessions)


def names(found):
    return [e.name for e in found.entries]


def test_search_by_name_ignores_case_and_accents(book, participants, people):
    participants.add(standing=Standing.ACTIVE,
                     name="Énergie Lumière SA", role=Role.SE, modules=[SR])
    found = book.search(Search(SR, name="ENERGIE"))
    assert names(found) == ["Energie BV, unit Noord", "Energie BV, unit Zuid",
                            "Énergie Lumière SA"]
    assert found.next_after is None
    assert names(book.search(Search(SR, name="lumiere"))) == ["Énergie Lumière SA"]


def test_like_wildcards_in_a_name_are_literal(book, participants, people):
    participants.add(standing=Standing.ACTIVE, name="100% Incasso", role=Role.SE, modules=[SR])
    assert names(book.search(Search(SR, name="0%"))) == ["100% Incasso"]
    assert names(book.search(Search(SR, name="_"))) == []


def test_an_entry_holds_the_public_fields_and_what_it_may_receive(book, people):
    entry = book.entry(people.se_bsn.id, SR)
    assert entry == Entry(people.se_bsn.id, "Belastingdienst", None, None, Role.SE,
                          tuple(sorted(people.se_bsn.modules)), True, entry.receives)
    assert "KennisgevingPubliek" in entry.receives and "Kennisgeving" not in entry.receives
    assert "Saldoverzoek" in entry.receives and "SaldoverzoekAntwoord" not in entry.receives
    assert len(dataclasses.fields(Entry)) == len(PUBLIC_FIELDS)


def test_filters(book, participants, people):
    participants.add(standing=Standing.ACTIVE, name="Woningcorporatie", role=Role.SE, modules=[SR],
                     kvk_nummer="12345678", vestigingsnummer="000012345678")
    assert names(book.search(Search(SR, kvk_nummer="12345678"))) == ["Woningcorporatie"]
    assert names(book.search(Search(SR, vestigingsnummer="000012345678"))) == [
        "Woningcorporatie"]
    assert set(names(book.search(Search(SR, role=Role.SHV_FASE2)))) == {
        "Gemeente Voorbeeld SHV", "Kredietbank Voorbeeld"}
    assert names(book.search(Search(Module.WAARBORGFONDS))) == [
        "Gemeente Voorbeeld SHV", "Kredietbank Voorbeeld", "Waarborgfonds"]


def test_only_active_participants_with_the_module(book, participants, people):
    participants.deactivate(people.se2.id)
    participants.disable_module(people.se.id, SR)
    found = names(book.search(Search(SR, name="energie")))
    assert found == []
    assert names(book.search(Search(Module.BETALINGSREGELING, name="energie"))) == [
        "Energie BV, unit Noord"]
    for gone in (people.se2.id, people.se.id):
        with pytest.raises(NotFound):
            book.entry(gone, SR)


def test_paging_returns_every_entry_once(book, participants, people):
    for i in range(7):
        participants.add(standing=Standing.ACTIVE,
                         name=f"Schuldeiser {i % 3}", role=Role.SE, modules=[SR])
    everyone = names(book.search(Search(SR, limit=500)))
    seen, after = [], None
    while True:
        page = book.search(Search(SR, limit=3, after=after))
        seen.extend(page.entries)
        after = page.next_after
        if after is None:
            break
    assert [e.name for e in seen] == everyone
    assert len({e.id for e in seen}) == len(seen) == len(everyone)


def test_hidden_participants_are_never_shown(sessions, people):
    book = AddressBook(sessions, hidden=[people.se.id])
    assert names(book.search(Search(SR, name="energie"))) == ["Energie BV, unit Zuid"]
    with pytest.raises(NotFound):
        book.entry(people.se.id, SR)


def test_bad_input(book, people):
    with pytest.raises(SchemaInvalid):
        book.entry("not-a-uuid", SR)
    with pytest.raises(SchemaInvalid):
        book.search(Search(SR, limit=0))
    with pytest.raises(NotFound):
        book.search(Search(SR, after="5b3f3c1e-8a0e-4d8e-9d7a-6b2c1f0e4a11"))


@pytest.mark.parametrize("running", [True, False])
def test_test_partners_are_listed_only_where_the_hub_runs_them(engine, sessions, keyring,
                                                               clock, running):
    from skp.config import Settings
    from skp.hub import Hub
    from skp.partner import PARTNERS, ensure_partners

    hub = Hub.build(Settings(test_partner=running), engine=engine, keyring=keyring,
                    clock=clock)
    ensure_partners(hub.participants)
    listed = {e.id for e in hub.addressbook.search(Search(SR, name="testpartner")).entries}
    expected = {p.id for p in PARTNERS if SR in hub.participants.get(p.id).modules}
    assert expected and listed == (expected if running else set())
