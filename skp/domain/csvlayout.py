"""The CSV layout of every message type, generated from the catalogue (docs/csv.md).

One row per message; one column per field, named by its path: ``Kenmerk``, ``Klant.Achternaam``,
``Vorderingen.1.Openstaand``. A repeated field or group gets numbered slots from 1: a template
has :data:`SLOTS` of them, a download as many as its longest message needs, and an upload may
have any number (empty slots are skipped). Documents are not part of the CSV layout.

Cells are written for Excel as Dutch users have it: UTF-8 with a byte order mark, ``;`` between
cells, amounts and percentages with a decimal comma and no thousands separator (``1234,50``),
dates as ``dd-mm-jjjj``, yes/no as ``ja``/``nee``. An upload also takes ISO dates
(``jjjj-mm-dd``), a decimal point, ``1.234,50``, and files Excel saved as Windows-1252 (the
notations are :mod:`skp.domain.dutch`'s).

A cell whose text starts with ``= + - @``, a tab, a carriage return or ``'`` is written with a
``'`` in front, so that a spreadsheet shows it as text instead of running it as a formula; an
upload takes one leading ``'`` off again, so the value comes back as it was.

Pure: bytes and dicts in, bytes and dicts out; no files, no clock.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from skp.domain import dutch
from skp.domain.catalogue import MessageType, attaches
from skp.domain.fields import Field, Kind

#: Numbered slots per repeated field in a template and at least in a download.
SLOTS = 10
DELIMITER = ";"
BOM = "\ufeff"
#: The columns that say which message type a row is: the same in every row of a file.
TYPE_COLUMNS = ("Module", "Berichttype")
#: The routing columns of a downloaded (received) message, in this order.
RECEIVED_COLUMNS = ("BerichtId", "Afzender", "ConversatieReferentienummer",
                    "CrossReferentienummer", "OntvangenOp", "UiterlijkOphalenOp")
#: The routing column of a download of a type that may carry documents: how many the message
#: has. The documents are not in the file; confirming the download deletes them too.
DOCUMENTS_COLUMN = "Bijlagen"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


class CsvFileError(ValueError):
    """A file that cannot be read as CSV at all; ``line`` where it went wrong. The message is
    Dutch and names no content."""

    def __init__(self, message: str, line: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class CellError:
    """What is wrong with one cell (``column`` a column name) or a whole row (``column``
    None), in Dutch, without the cell's content."""

    column: str | None
    message: str


# --- the layout ---------------------------------------------------------------------------


def sent_routing(mt: MessageType) -> tuple[str, ...]:
    """The routing columns of a message the unit sends: ``Kenmerk`` (optional: derived when
    empty), ``Ontvanger`` and ``ConversatieReferentienummer`` unless the type is only ever a
    reply (then both come from the message answered), ``CrossReferentienummer`` for replies."""
    columns = ["Kenmerk"]
    if not mt.is_reply or mt.reply_optional:
        columns += ["Ontvanger", "ConversatieReferentienummer"]
    if mt.is_reply:
        columns.append("CrossReferentienummer")
    return tuple(columns)


def received_routing(mt: MessageType) -> tuple[str, ...]:
    """The routing columns of a downloaded message of ``mt``: :data:`RECEIVED_COLUMNS`, and
    :data:`DOCUMENTS_COLUMN` when the type may carry documents."""
    return (*RECEIVED_COLUMNS, DOCUMENTS_COLUMN) if attaches(mt) else RECEIVED_COLUMNS


def body_columns(fields: tuple[Field, ...], *, received: bool = False,
                 slots: Mapping[str, int] | None = None, prefix: str = "") -> list[str]:
    """The body columns of ``fields``; ``received`` adds the fields only the hub sets.
    ``slots`` maps a repeated field's column prefix (``Vorderingen``) to its slot count."""
    columns: list[str] = []
    for f in fields:
        if f.kind is Kind.DOCUMENT or (f.hub_only and not received):
            continue
        name = f"{prefix}{f.name}"
        names = ([f"{name}.{i}" for i in range(1, (slots or {}).get(name, SLOTS) + 1)]
                 if f.repeated else [name])
        for each in names:
            if f.kind in (Kind.GROUP, Kind.CHOICE):
                columns += body_columns(f.children, received=received, slots=slots,
                                        prefix=f"{each}.")
            else:
                columns.append(each)
    return columns


def template_columns(mt: MessageType) -> list[str]:
    """The header of an upload of ``mt``: what an empty template holds."""
    return [*TYPE_COLUMNS, *sent_routing(mt), *body_columns(mt.fields)]


def received_columns(mt: MessageType, slots: Mapping[str, int] | None = None) -> list[str]:
    """The header of a download of received messages of ``mt``."""
    return [*TYPE_COLUMNS, *received_routing(mt), *body_columns(mt.fields, received=True,
                                                                slots=slots)]


def sendable(mt: MessageType) -> bool:
    """Whether ``mt`` can be sent by CSV at all: not when it always needs a document."""
    return not any(f.kind is Kind.DOCUMENT and f.required for f in mt.fields)


def slots_needed(mt: MessageType, bodies: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Per repeated field, the slots ``bodies`` need (at least :data:`SLOTS`)."""
    needed: dict[str, int] = {}
    for body in bodies:
        for f, name, items in _present(mt.fields, body, ""):
            if f.repeated:
                needed[name] = max(needed.get(name, SLOTS), len(items))
    return needed


# --- body <-> cells -----------------------------------------------------------------------


def _present(fields: tuple[Field, ...], data: Mapping[str, Any],
             prefix: str) -> Iterator[tuple[Field, str, list[tuple[str, Any]]]]:
    """Every field ``data`` holds, at any depth, documents left out: the field, its column
    (or column prefix) name and its items, each with its column (``Vorderingen.2``)."""
    for f in fields:
        value = data.get(f.name)
        if value is None or f.kind is Kind.DOCUMENT:
            continue
        name = f"{prefix}{f.name}"
        items = ([(f"{name}.{i}", item) for i, item in enumerate(value, 1)] if f.repeated
                 else [(name, value)])
        yield f, name, items
        if f.kind in (Kind.GROUP, Kind.CHOICE):
            for each, item in items:
                yield from _present(f.children, item, f"{each}.")


def flatten(mt: MessageType, body: Mapping[str, Any]) -> dict[str, str]:
    """A validated body (as the mailbox holds it) as cells by column name; documents left
    out."""
    return {each: format_value(f, item) for f, _, items in _present(mt.fields, body, "")
            if f.kind not in (Kind.GROUP, Kind.CHOICE) for each, item in items}


@dataclass
class Unflattened:
    """A body read from cells, the cells that could not be read, and per repeated field
    (by column prefix) which slot each list item came from, to name the column of an error
    the validator reports by field path."""

    body: dict[str, Any]
    errors: list[CellError]
    slots: dict[str, list[int]] = field(default_factory=dict)

    def column(self, path: str) -> str:
        """The column of validator field path ``Vorderingen[0]/Openstaand``."""
        parts: list[str] = []
        for segment in path.split("/"):
            match = re.fullmatch(r"(.+)\[([0-9]+)\]", segment)
            if match is None:
                parts.append(segment)
                continue
            parts.append(match[1])
            taken = self.slots.get(".".join(parts), [])
            index = int(match[2])
            parts.append(str(taken[index] if index < len(taken) else index + 1))
        return ".".join(parts)


def unflatten(mt: MessageType, cells: Mapping[str, str]) -> Unflattened:
    """The body the non-empty ``cells`` (by body column name) describe; an unknown column or
    a value of the wrong kind is a :class:`CellError`, never a guess."""
    errors: list[CellError] = []
    tree: dict[Any, Any] = {}
    for column, raw in cells.items():
        value = raw.strip()
        if not value:
            continue
        located = locate(mt.fields, column)
        if located is None:
            errors.append(CellError(column, "deze kolom hoort niet bij dit berichttype"))
            continue
        f, keys = located
        try:
            parsed = parse_value(f, value if f.kind is not Kind.TEXT else raw)
        except ValueError as exc:
            errors.append(CellError(column, str(exc)))
            continue
        node = tree
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = parsed
    result = Unflattened({}, errors)
    result.body = _lists(mt.fields, tree, "", result.slots)
    return result


def locate(fields: tuple[Field, ...], column: str) -> tuple[Field, list[str | int]] | None:
    """The leaf field of body column ``column`` and its keys in the tree (slot numbers as
    ints); None when ``fields`` have no such column."""
    parts = column.split(".")
    keys: list[str | int] = []
    current: Field | None = None
    options = fields
    i = 0
    while i < len(parts):
        current = next((f for f in options if f.name == parts[i]), None)
        if current is None or current.kind is Kind.DOCUMENT or current.hub_only:
            return None
        keys.append(current.name)
        i += 1
        if current.repeated:
            if i >= len(parts) or not re.fullmatch(r"[1-9][0-9]{0,3}", parts[i]):
                return None
            keys.append(int(parts[i]))
            i += 1
        options = current.children
        if current.kind not in (Kind.GROUP, Kind.CHOICE):
            break
    if current is None or i != len(parts) or current.kind in (Kind.GROUP, Kind.CHOICE):
        return None
    return current, keys


def _lists(fields: tuple[Field, ...], tree: Mapping[str, Any], prefix: str,
           slots: dict[str, list[int]]) -> dict[str, Any]:
    """``tree`` with each repeated field's slots (``{2: …, 5: …}``) as a list in slot order."""
    out: dict[str, Any] = {}
    for f in fields:
        if f.name not in tree:
            continue
        name = f"{prefix}{f.name}"
        value = tree[f.name]

        def one(item: Any, where: str, f: Field = f) -> Any:
            if f.kind in (Kind.GROUP, Kind.CHOICE):
                return _lists(f.children, item, f"{where}.", slots)
            return item

        if f.repeated:
            taken = sorted(value)
            slots[name] = taken
            out[f.name] = [one(value[n], f"{name}.{n}") for n in taken]
        else:
            out[f.name] = one(value, name)
    return out


def format_value(f: Field, value: Any) -> str:
    """A validated value as its cell text."""
    match f.kind:
        case Kind.DATE:
            return dutch.day(str(value))
        case Kind.AMOUNT | Kind.PERCENTAGE:
            return dutch.decimal_cell(value)
        case Kind.BOOLEAN:
            return dutch.yes_no_cell(bool(value))
    return str(value)


def parse_value(f: Field, text: str) -> Any:
    """A cell's text as the validator takes the value; ValueError with a Dutch reason that
    does not repeat the text."""
    match f.kind:
        case Kind.DATE:
            return dutch.parse_date(text)
        case Kind.AMOUNT | Kind.PERCENTAGE:
            return dutch.parse_decimal(text)
        case Kind.INTEGER:
            return dutch.parse_whole(text)
        case Kind.BOOLEAN:
            return dutch.parse_yes_no(text)
    return text


# --- files --------------------------------------------------------------------------------


def guard(text: str) -> str:
    """A cell's text made safe for a spreadsheet (see the module docstring)."""
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def unguard(text: str) -> str:
    """The text :func:`guard` was given."""
    return text[1:] if text.startswith("'") else text


def write(columns: Sequence[str], rows: Iterable[Mapping[str, str]]) -> bytes:
    """A CSV file of ``rows`` (cells by column name) under the header ``columns``."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=DELIMITER, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([guard(row.get(column, "")) for column in columns])
    return (BOM + out.getvalue()).encode("utf-8")


@dataclass(frozen=True)
class Row:
    """One data row of a file: its first line number and its cells by column name."""

    line: int
    cells: dict[str, str]


def read(data: bytes) -> tuple[list[str], list[Row]]:
    """The header and the non-empty rows of a CSV file (cells unguarded); CsvFileError when
    it is not a ``;``-separated text file with a header of unique column names."""
    if data.startswith(BOM.encode("utf-8")):
        text = _decode(data, "utf-8-sig")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _decode(data, "cp1252")
    if "\x00" in text:
        raise CsvFileError("het bestand is geen tekstbestand")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=DELIMITER, strict=True)
    lines = _records(reader)
    first = next(lines, None)
    if first is None:
        raise CsvFileError("het bestand is leeg")
    header = [name.strip() for name in first[1]]
    if len(header) == 1 and "," in header[0]:
        raise CsvFileError("de kolommen moeten gescheiden zijn door een puntkomma (;)")
    seen: set[str] = set()
    for name in header:
        if name and name in seen:  # a spreadsheet may add empty columns at the end
            raise CsvFileError("een kolomnaam komt twee keer voor in de kopregel")
        seen.add(name)
    rows = []
    for line, cells in lines:
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
            raise CsvFileError("deze regel heeft meer cellen dan de kopregel kolommen", line)
        rows.append(Row(line, {name: unguard(cell) for name, cell in zip(header, cells,
                                                                        strict=False)}))
    return header, rows


def _records(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """Each record with the line it starts on."""
    start = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error:
            raise CsvFileError("deze regel is geen geldige CSV (let op aanhalingstekens)",
                               start) from None
        yield start, record
        start = reader.line_num + 1


def _decode(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise CsvFileError("het bestand is geen UTF-8- of Windows-1252-tekst") from None


def excel_column(index: int) -> str:
    """The spreadsheet letter of column ``index`` (0 is A, 26 is AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters
