"""The participant register's rules: names of 1 to 200 characters, KvK 8 and vestiging 12 digits."""

from __future__ import annotations

import pytest

from skp.domain.register import kvk_nummer, participant_name, vestigingsnummer


@pytest.mark.parametrize("name", ["A", "  Energie BV, unit Noord  ", "x" * 200, "Bewind & Co"])
def test_names_that_fit(name):
    assert participant_name(name) == name.strip()


@pytest.mark.parametrize("name", ["", "   ", "x" * 201, "Energie\nBV", "tab\there"])
def test_names_that_do_not(name):
    with pytest.raises(ValueError, match="participant's name"):
        participant_name(name)


def test_kvk_nummer_is_8_digits():
    assert kvk_nummer("01234567") == "01234567"
    assert kvk_nummer(" 12345678 ") == "12345678"
    # "\uff11" is a fullwidth 1: a digit to str.isdigit, not to the Handelsregister
    for bad in ("abc", "1234567", "123456789", "1234567a", "\uff11" * 8, ""):
        with pytest.raises(ValueError, match="exactly 8 digits"):
            kvk_nummer(bad)


def test_vestigingsnummer_is_12_digits():
    assert vestigingsnummer("000012345678") == "000012345678"
    for bad in ("12", "0000123456789", "00001234567x", ""):
        with pytest.raises(ValueError, match="exactly 12 digits"):
            vestigingsnummer(bad)
