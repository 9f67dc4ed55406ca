"""Dutch notations: amounts and dates read as people and spreadsheets write them, into the
text the validation reads, and written for a page or for a file."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from skp.domain.dutch import (
    day,
    decimal_cell,
    euro,
    long_day,
    moment,
    parse_date,
    parse_decimal,
    parse_whole,
    parse_yes_no,
    percentage,
    until,
    yes_no,
    yes_no_cell,
)


@pytest.mark.parametrize(("typed", "expected"), [
    ("1.234,56", "1234.56"), ("€ 12,5", "12.5"), ("1234.56", "1234.56"), ("1.234", "1234"),
    ("12,345", "12.345"), ("1 000,00", "1000.00"), ("€\u00a01.234,56", "1234.56"),
    ("1.234.567,8", "1234567.8"), ("0.500", "0.500"), ("1234,5", "1234.5"), ("-1.234,5", "-1234.5"),
])
def test_an_amount_is_read_in_dutch_notation(typed, expected):
    assert parse_decimal(typed) == expected


@pytest.mark.parametrize("wrong", ["veel", "12,34,5", "1,234.5", "1.2.3,4", "NaN", "", "€"])
def test_what_is_no_amount_is_refused_without_repeating_it(wrong):
    with pytest.raises(ValueError, match="moet een getal zijn") as refused:
        parse_decimal(wrong)
    assert not wrong or wrong not in str(refused.value)


@pytest.mark.parametrize(("typed", "expected"), [
    ("15-01-2026", "2026-01-15"), ("5-1-2026", "2026-01-05"), ("2026-01-15", "2026-01-15"),
])
def test_a_date_is_read_as_dutch_or_iso(typed, expected):
    assert parse_date(typed) == expected


@pytest.mark.parametrize(("wrong", "reason"), [
    ("gisteren", "moet een datum zijn"), ("15/01/2026", "moet een datum zijn"),
    ("31-02-2026", "is geen bestaande datum"), ("2026-1-5", "moet een datum zijn"),
])
def test_what_is_no_date_is_refused_without_repeating_it(wrong, reason):
    with pytest.raises(ValueError, match=reason) as refused:
        parse_date(wrong)
    assert wrong not in str(refused.value)


@pytest.mark.parametrize(("amount", "expected"), [
    ("1234.56", "€ 1.234,56"), ("0.00", "€ 0,00"), ("1000000", "€ 1.000.000,00"),
    (Decimal("12.5"), "€ 12,50"),
])
def test_a_page_shows_amounts_in_euro_notation(amount, expected):
    assert euro(amount) == expected


def test_a_file_writes_amounts_without_thousands_separator_and_reads_them_back():
    for value in ("1234.50", "0.5", "1000000"):
        assert "." not in decimal_cell(value)
        assert parse_decimal(decimal_cell(value)) == value
        assert parse_decimal(euro(value)) == str(Decimal(value).quantize(Decimal("0.01")))


def test_dates_percentages_and_moments():
    assert day("2026-01-15") == day(dt.date(2026, 1, 15)) == "15-01-2026"
    assert parse_date(day("2026-01-15")) == "2026-01-15"
    assert percentage("12.50") == "12,5 %"
    assert long_day(dt.date(2026, 12, 1)) == "dinsdag 1 december 2026"
    assert moment(dt.datetime(2026, 7, 1, 12, 30, tzinfo=dt.UTC)) == "01-07-2026 14:30"
    assert moment(dt.datetime(2026, 1, 15, 12, 30, tzinfo=dt.UTC)) == "15-01-2026 13:30"


def test_yes_and_no():
    assert [parse_yes_no(t) for t in ("ja", "Nee", "J", "onwaar", "1", "TRUE")] == [
        True, False, True, False, True, True]
    with pytest.raises(ValueError, match="moet ja of nee zijn"):
        parse_yes_no("misschien")
    assert (yes_no_cell(True), yes_no(False)) == ("ja", "Nee")
    assert parse_yes_no(yes_no_cell(False)) is False


def test_a_deadline_at_midnight_is_the_day_before_it_ends():
    midnight = dt.datetime(2026, 12, 7, 23, tzinfo=dt.UTC)  # 00:00 on 8 December in Amsterdam
    assert until(midnight) == "07-12-2026 (einde van de dag)"
    assert until(midnight + dt.timedelta(minutes=30)) == "08-12-2026 00:30"


@pytest.mark.parametrize(("typed", "expected"), [("0", 0), ("12", 12), ("999999999", 999999999)])
def test_a_whole_number_is_read(typed, expected):
    assert parse_whole(typed) == expected


@pytest.mark.parametrize("wrong", ["1,5", "-1", "1000000000", "²", "", "12 "])
def test_what_is_no_whole_number_is_refused(wrong):
    with pytest.raises(ValueError, match="moet een geheel getal zijn"):
        parse_whole(wrong)
