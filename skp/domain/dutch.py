"""Numbers, dates, yes/no and moments the Dutch way: read as people type them, written as
they read them. The one place for these notations; the form, the message page, the CSV files
and the notification mails use it.

Reading (:func:`parse_decimal`, :func:`parse_date`; also :func:`parse_whole`,
:func:`parse_yes_no`) takes what a Dutch person or spreadsheet
writes — ``1.234,56``, ``1234,56``, ``€ 1.234,56``, ``1234.56``; ``15-01-2026``, ``5-1-2026``
or ISO ``2026-01-15`` — and gives the text the catalogue's validation reads (``1234.56``,
``2026-01-15``), or a ValueError with a Dutch reason that never repeats the text.

Writing has two forms of an amount: :func:`decimal_cell` for a file (``1234,50``: a decimal
comma and no thousands separator, so that Excel reads it as a number) and :func:`euro` for a
page (``€ 1.234,50``). Dates are written as ``15-01-2026`` (:func:`day`) or, in a letter, as
``dinsdag 1 december 2026`` (:func:`long_day`); moments in Amsterdam time (:func:`moment`),
a deadline at midnight as the day before it ends (:func:`until`). Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from skp.domain.calendar import AMSTERDAM

_DUTCH_DATE = re.compile(r"([0-9]{1,2})-([0-9]{1,2})-([0-9]{4})")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
#: Points between groups of three digits, before an optional decimal comma.
_GROUPED = re.compile(r"-?[1-9][0-9]{0,2}(\.[0-9]{3})+(,[0-9]*)?")
_NOT_A_NUMBER = "moet een getal zijn met een decimale komma, zoals 1234,50"
_NOT_A_DATE = "moet een datum zijn als dd-mm-jjjj (of jjjj-mm-dd)"
_YES = {"ja", "j", "true", "waar", "1"}
_NO = {"nee", "n", "false", "onwaar", "0"}


def parse_decimal(text: str) -> str:
    """``1234,50``, ``1.234,50``, ``1.234``, ``1234.50`` or ``€ 1234,50`` as ``1234.50``.

    A point is a thousands separator where it groups digits by three (``1.234`` is 1234) and
    a decimal point otherwise (``1234.5``); with a decimal comma only grouping points may
    stand before it."""
    plain = text.replace("€", "").replace(" ", "").replace("\u00a0", "")
    if _GROUPED.fullmatch(plain):
        plain = plain.replace(".", "")
    elif "," in plain and "." in plain:
        raise ValueError(_NOT_A_NUMBER)
    plain = plain.replace(",", ".")
    try:
        number = Decimal(plain)
    except InvalidOperation:
        raise ValueError(_NOT_A_NUMBER) from None
    if not number.is_finite():
        raise ValueError(_NOT_A_NUMBER)
    return plain


def parse_date(text: str) -> str:
    """``dd-mm-jjjj`` (also ``d-m-jjjj``) or ``jjjj-mm-dd`` as ISO text."""
    dutch, iso = _DUTCH_DATE.fullmatch(text), _ISO_DATE.fullmatch(text)
    if dutch:
        day_, month, year = (int(part) for part in dutch.groups())
    elif iso:
        year, month, day_ = (int(part) for part in iso.groups())
    else:
        raise ValueError(_NOT_A_DATE)
    try:
        return dt.date(year, month, day_).isoformat()
    except ValueError:
        raise ValueError("is geen bestaande datum") from None


def parse_yes_no(text: str) -> bool:
    """``ja``/``nee`` (also ``j``/``n``, ``waar``/``onwaar``, ``true``/``false``, ``1``/``0``,
    in any case) as True or False."""
    if text.lower() in _YES:
        return True
    if text.lower() in _NO:
        return False
    raise ValueError("moet ja of nee zijn")


def yes_no_cell(value: bool) -> str:
    """A yes or no as a file's cell: ``ja`` or ``nee``."""
    return "ja" if value else "nee"


def decimal_cell(value: str | Decimal) -> str:
    """A validated decimal as a file's cell: ``1234,50`` (no thousands separator)."""
    return str(value).replace(".", ",")


def euro(amount: str | Decimal) -> str:
    """An amount as a page shows it: "€ 1.234,56"."""
    number = Decimal(str(amount)).quantize(Decimal("0.01"))
    return "€ " + f"{number:,.2f}".translate(str.maketrans(",.", ".,"))


def percentage(value: str | Decimal) -> str:
    """A percentage as a page shows it: "12,5 %"."""
    number = Decimal(str(value)).normalize()
    return f"{number:f}".replace(".", ",") + " %"


def day(value: str | dt.date) -> str:
    """A date (or its ISO text) as Dutch people write it: 15-01-2026."""
    date = value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
    return f"{date:%d-%m-%Y}"


_DAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
_MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
           "september", "oktober", "november", "december")


def long_day(value: dt.date) -> str:
    """A date written out, as in a letter: dinsdag 1 december 2026."""
    return f"{_DAYS[value.weekday()]} {value.day} {_MONTHS[value.month - 1]} {value.year}"


def moment(instant: dt.datetime) -> str:
    """A moment in Amsterdam time: 15-01-2026 14:30."""
    return f"{instant.astimezone(AMSTERDAM):%d-%m-%Y %H:%M}"


def until(deadline: dt.datetime) -> str:
    """A deadline, which is mostly the end of a day, as that last day: "07-12-2026 (einde van
    de dag)"; otherwise as a :func:`moment`."""
    local = deadline.astimezone(AMSTERDAM)
    if local.time() == dt.time(0):
        return f"{day(local.date() - dt.timedelta(days=1))} (einde van de dag)"
    return moment(deadline)


def parse_whole(text: str) -> int:
    """A whole number of at most 9 digits (``0`` to ``999999999``)."""
    if not re.fullmatch(r"[0-9]{1,9}", text):
        raise ValueError("moet een geheel getal zijn (alleen cijfers)")
    return int(text)


def yes_no(value: bool) -> str:
    """A yes or no: "Ja" or "Nee"."""
    return "Ja" if value else "Nee"
