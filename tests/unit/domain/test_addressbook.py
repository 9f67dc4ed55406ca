"""The address book's pure rules."""

from __future__ import annotations

import pytest

from skp.domain.addressbook import DEFAULT_ENTRIES, MAX_ENTRIES, folded, page_size, receivable
from skp.domain.catalogue import message_types
from skp.domain.roles import Module, Role
from skp.errors import SchemaInvalid

SR = Module.SCHULDREGELING


@pytest.mark.parametrize(("name", "query"), [
    ("Énergie BV", "energie"), ("ENERGIE  bv", "energie bv"),
    ("Gemeente 's-Hertogenbosch", "s-hertogenbosch"),
    ("Ærø Øresund", "ærø"), ("Straße", "strasse"),
])
def test_names_match_without_accents_or_case(name, query):
    assert folded(query) in folded(name)


def test_a_creditor_receives_the_kennisgeving_that_fits_its_bsn():
    without, with_bsn = receivable(SR, Role.SE, False), receivable(SR, Role.SE, True)
    assert "Kennisgeving" in without and "KennisgevingPubliek" not in without
    assert "KennisgevingPubliek" in with_bsn and "Kennisgeving" not in with_bsn
    assert set(without) - {"Kennisgeving"} == set(with_bsn) - {"KennisgevingPubliek"}


def test_receivable_types_are_those_the_catalogue_lets_the_role_receive():
    for module in Module:
        for role in Role:
            expected = {mt.code for mt in message_types(module) if role in mt.recipients}
            assert set(receivable(module, role, False)) | set(
                receivable(module, role, True)) == expected
    assert receivable(Module.WAARBORGFONDS, Role.SE, False) == ()


def test_page_size():
    assert page_size(None) == DEFAULT_ENTRIES
    assert page_size(1) == 1 and page_size(MAX_ENTRIES) == MAX_ENTRIES
    for wrong in (0, -1, MAX_ENTRIES + 1):
        with pytest.raises(SchemaInvalid, match="Maximum is 1 to 500"):
            page_size(wrong)
