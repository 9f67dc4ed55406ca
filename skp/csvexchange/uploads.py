"""Uploads: one or more CSV files read and checked whole, then sent all or none in one
transaction (Mailbox.send_many); a row without a Kenmerk gets one derived from the unit, the
file's SHA-256 and its line, so the same file sent again sends nothing twice."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from skp.csvexchange.base import ExchangeBase
from skp.domain import csvlayout, validation
from skp.domain.catalogue import MessageType, lookup
from skp.domain.explain import explain
from skp.domain.roles import Module
from skp.domain.validation import Header
from skp.errors import BatchRefused, NotFound, SkpError
from skp.mailbox import Outgoing, Receipt
from skp.organisations import _audit
from skp.participants import ParticipantInfo
from skp.store.session import transaction

log = logging.getLogger("skp.csv")

#: The largest file an upload takes, and how many files at once.
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_FILES = 5
_KENMERKEN = uuid.UUID("0c5f1c8e-2d4b-5a55-9a41-3f6e0b7d2c19")


@dataclass(frozen=True)
class Problem:
    """What is wrong in an uploaded file, in Dutch; ``line`` and ``column`` (its name) and
    ``letter`` (as the spreadsheet shows it) where known."""

    file: str
    line: int | None
    column: str | None
    letter: str | None
    text: str


@dataclass(frozen=True)
class UploadResult:
    """What an upload sent (nothing when there are problems), and what was wrong."""

    receipts: list[Receipt]
    problems: list[Problem]

    @property
    def repeated(self) -> int:
        return sum(1 for r in self.receipts if r.repeated)


class Uploads(ExchangeBase):
    """The upload side of the CSV exchange."""

    def upload(self, unit: ParticipantInfo, files: Sequence[tuple[str, bytes]],
               employee_id: str | None = None) -> UploadResult:
        """Check every file whole, then send all their messages or none (see the module
        docstring); the problems found, each by file, line and column. What ``employee_id``
        sent is written to the audit trail."""
        problems: list[Problem] = []
        batch: list[Outgoing] = []
        origins: list[_Origin] = []
        if not files:
            problems.append(Problem("", None, None, None, "kies een of meer .csv-bestanden"))
        if len(files) > MAX_FILES:
            problems.append(Problem("", None, None, None,
                                    f"stuur hoogstens {MAX_FILES} bestanden tegelijk"))
        for name, data in files[:MAX_FILES]:
            self._read_file(unit, name, data, problems, batch, origins)
        receipts: list[Receipt] = []
        try:
            receipts = self._mailbox.send_many(unit.id, batch, dry_run=bool(problems))
        except BatchRefused as refused:
            for index, error in refused.failures:
                problems.append(origins[index].problem(error))
        if problems:
            log.info("csv upload refused", extra={"sender": unit.id, "files": len(files),
                                                  "problems": len(problems)})
            return UploadResult([], sorted(problems, key=_order))
        log.info("csv upload", extra={"sender": unit.id, "files": len(files),
                                      "count": len(receipts)})
        result = UploadResult(receipts, [])
        if employee_id is not None:
            with transaction(self._sessions) as session:
                _audit(session, self._clock.now(), employee_id, unit.kvk_nummer, "csv.upload",
                       f"{unit.id} {len(receipts) - result.repeated} {result.repeated}")
        return result

    def _read_file(self, unit: ParticipantInfo, name: str, data: bytes,
                   problems: list[Problem], batch: list[Outgoing],
                   origins: list[_Origin]) -> None:
        def problem(line: int | None, text: str, column: str | None = None,
                    header: Sequence[str] = ()) -> None:
            problems.append(Problem(name, line, column, _letter(header, column), text))

        if not name.lower().endswith(".csv"):
            problem(None, "alleen bestanden met de extensie .csv kunnen worden verstuurd")
            return
        if len(data) > MAX_FILE_BYTES:
            problem(None, "het bestand is groter dan 4 MB")
            return
        try:
            header, rows = csvlayout.read(data)
        except csvlayout.CsvFileError as exc:
            problem(exc.line, exc.message)
            return
        if not rows:
            problem(2, "het bestand heeft geen regels met berichten")
            return
        digest = hashlib.sha256(data).hexdigest()
        mt: MessageType | None = None
        for row in rows:
            typed = self._row_type(unit, row, header, problem)
            if typed is None:
                continue
            if mt is None:
                mt = typed
                known = {*csvlayout.TYPE_COLUMNS, *csvlayout.sent_routing(mt)}
                for column in header:
                    if column and column not in known and csvlayout.locate(mt.fields,
                                                                           column) is None:
                        problem(1, "deze kolom hoort niet bij dit berichttype", column, header)
            elif typed != mt:
                problem(row.line, "alle regels van een bestand moeten hetzelfde berichttype "
                                  "hebben", "Berichttype", header)
                continue
            routing = set(csvlayout.TYPE_COLUMNS) | set(csvlayout.sent_routing(mt))
            body = csvlayout.unflatten(mt, {c: v for c, v in row.cells.items()
                                            if c not in routing
                                            and csvlayout.locate(mt.fields, c) is not None})
            for error in body.errors:
                problem(row.line, error.message, error.column, header)
            invalid = _invalid(mt, unit, body)
            for column, text in invalid:
                problem(row.line, text, column, header)
            outgoing = self._header(unit, mt, row, digest, header, problem)
            if body.errors or invalid or outgoing is None:
                continue
            batch.append(Outgoing(mt.module, mt.code, outgoing, body.body))
            origins.append(_Origin(name, row.line, header, body))

    def _row_type(self, unit: ParticipantInfo, row: csvlayout.Row, header: Sequence[str],
                  problem: _Report) -> MessageType | None:
        raw_module, code = (row.cells.get(c, "").strip() for c in csvlayout.TYPE_COLUMNS)
        try:
            module = Module(raw_module)
        except ValueError:
            problem(row.line, "moet een module zijn, zoals schuldregeling", "Module", header)
            return None
        try:
            mt = lookup(module, code)
        except KeyError:
            problem(row.line, "is geen berichttype van deze module", "Berichttype", header)
            return None
        if unit.role not in mt.senders or module not in unit.modules:
            problem(row.line, "uw eenheid mag dit berichttype niet versturen", "Berichttype",
                    header)
            return None
        if not csvlayout.sendable(mt):
            problem(row.line, "dit berichttype heeft een bijlage nodig; verstuur het met het "
                              "formulier", "Berichttype", header)
            return None
        return mt

    def _header(self, unit: ParticipantInfo, mt: MessageType, row: csvlayout.Row,
                digest: str, header: Sequence[str], problem: _Report) -> Header | None:
        cells = {c: row.cells.get(c, "").strip() for c in csvlayout.sent_routing(mt)}
        kenmerk = cells["Kenmerk"] or str(uuid.uuid5(_KENMERKEN,
                                                     f"{unit.id}:{digest}:{row.line}"))
        cross = cells.get("CrossReferentienummer") or None
        recipient = cells.get("Ontvanger", "")
        conversation = cells.get("ConversatieReferentienummer", "")
        if cross is not None:
            try:
                original = self._mailbox.message(cross)
            except NotFound:
                original = None
            if original is None or original.recipient_id != unit.id:
                problem(row.line, "verwijst niet naar een bericht in de postbus van deze "
                                  "eenheid", "CrossReferentienummer", header)
                return None
            recipient = recipient or original.sender_id
            conversation = conversation or original.conversation_id
        elif mt.is_reply and not mt.reply_optional:
            problem(row.line, "is verplicht: het id van het bericht dat u beantwoordt",
                    "CrossReferentienummer", header)
            return None
        if not recipient:
            problem(row.line, "is verplicht: het deelnemer-id van de ontvanger", "Ontvanger",
                    header)
            return None
        conversation = conversation or str(uuid.uuid5(_KENMERKEN, f"{unit.id}:{kenmerk}"))
        return Header(kenmerk, recipient, conversation, cross)


def _invalid(mt: MessageType, unit: ParticipantInfo, body: csvlayout.Unflattened
             ) -> list[tuple[str, str]]:
    """Every problem the validator finds in the row's body, as (column, Dutch text): all at
    once, not one per upload. A field whose cell could not be read is told by its cell error
    only, not again as missing."""
    unread = [error.column for error in body.errors if error.column is not None]
    found = []
    for path, error in validation.problems(mt, body.body, unit.role):
        column = body.column(path)
        if not any(column == c or c.startswith(f"{column}.") for c in unread):
            found.append((column, explain(error).text))
    return found


class _Report(Protocol):
    """How the row checks report a problem."""

    def __call__(self, line: int | None, text: str, column: str | None = None,
                 header: Sequence[str] = ()) -> None: ...


@dataclass(frozen=True)
class _Origin:
    """Where a message of the batch came from, to name the cell of a refusal."""

    file: str
    line: int
    header: Sequence[str]
    body: csvlayout.Unflattened

    def problem(self, error: SkpError) -> Problem:
        explained = explain(error)
        where = explained.where
        column = None
        if where is not None:
            column = where if where in _ROUTING else self.body.column(where)
            if column not in self.header and where in ("Ontvanger",
                                                       "ConversatieReferentienummer"):
                column = "CrossReferentienummer" if (
                    "CrossReferentienummer" in self.header) else column
        return Problem(self.file, self.line, column, _letter(self.header, column),
                       explained.text)


_ROUTING = {"Kenmerk", "Ontvanger", "ConversatieReferentienummer", "CrossReferentienummer"}


def _letter(header: Sequence[str], column: str | None) -> str | None:
    """The spreadsheet letter of ``column``, or of the first column under it (a group)."""
    if column is None:
        return None
    for index, name in enumerate(header):
        if name == column or name.startswith(f"{column}."):
            return csvlayout.excel_column(index)
    return None


def _order(problem: Problem) -> tuple[str, int, int, str]:
    """By file, line and column (B before AA)."""
    letter = problem.letter or ""
    return problem.file, problem.line or 0, len(letter), letter
