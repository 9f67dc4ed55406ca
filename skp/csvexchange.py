"""CSV down- and upload of a business unit's messages, for the portal (docs/csv.md).

A download records every waiting message of one type: which messages, when and by whom
(``csv_download``); its file fetches them through the mailbox (the call SOAP's HaalBerichtOp
makes), again and again until the download is confirmed, which confirms exactly those
messages as SOAP's BevestigOntvangst does, or until its messages' deadline. An upload of one
or more files is read and checked whole — every cell, then every message by the mailbox's own
checks — and sent all or none in one transaction (:meth:`skp.mailbox.Mailbox.send_many`).
Downloads and confirmations are written to the audit trail. Nothing here logs content.

An uploaded row without a Kenmerk gets one derived from the unit, the file's SHA-256 and the
row's line, so the same file uploaded again sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from skp.clock import Clock
from skp.domain import csvlayout
from skp.domain.calendar import AMSTERDAM
from skp.domain.catalogue import MessageType, lookup, message_types
from skp.domain.explain import explain
from skp.domain.roles import Module
from skp.domain.validation import Header
from skp.errors import BatchRefused, InvalidState, NotFound, SkpError
from skp.mailbox import MAX_PAGE, Delivery, Mailbox, MessageInfo, Outgoing, Receipt
from skp.organisations import _audit
from skp.participants import ParticipantInfo
from skp.store.downloads import CsvDownload, CsvDownloadMessage
from skp.store.models import Message
from skp.store.session import transaction

log = logging.getLogger("skp.csv")

#: The largest file an upload takes, and how many files at once.
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_FILES = 5
_KENMERKEN = uuid.UUID("0c5f1c8e-2d4b-5a55-9a41-3f6e0b7d2c19")


@dataclass(frozen=True)
class Waiting:
    """A message type the unit has waiting messages of."""

    module: Module
    type_code: str
    title: str
    count: int


@dataclass(frozen=True)
class DownloadInfo:
    """A recorded download not yet confirmed."""

    id: str
    module: Module
    type_code: str
    title: str
    messages: int
    created_at: str
    expires_at: str
    replies: tuple[MessageType, ...]


@dataclass(frozen=True)
class CsvFile:
    """A file to hand to the browser."""

    filename: str
    content: bytes


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


class CsvExchange:
    """CSV files of one unit's messages, over the mailbox."""

    def __init__(self, sessions: sessionmaker[Session], mailbox: Mailbox, clock: Clock) -> None:
        self._sessions = sessions
        self._mailbox = mailbox
        self._clock = clock

    # --- download -------------------------------------------------------------------------

    def waiting(self, unit: ParticipantInfo) -> list[Waiting]:
        """The types the unit has waiting messages of, with how many."""
        found = []
        for module in sorted(unit.modules):
            for mt in message_types(module):
                if unit.role in mt.recipients:
                    page = self._mailbox.list_pending(unit.id, module, type_code=mt.code,
                                                      limit=1)
                    if page.backlog:
                        found.append(Waiting(module, mt.code, mt.title, page.backlog))
        return found

    def download(self, unit: ParticipantInfo, employee_id: str, module: Module,
                 type_code: str) -> str | None:
        """Record a download of every message of the type now waiting; its id, or None when
        nothing is waiting. Its file is :meth:`file`."""
        mt = _sendable_type(module, type_code, received=True)
        waiting: list[MessageInfo] = []
        after = None
        while True:
            page = self._mailbox.list_pending(unit.id, module, type_code=mt.code,
                                              limit=MAX_PAGE, after=after)
            waiting += page.items
            after = page.next_after
            if after is None:
                break
        if not waiting:
            return None
        now = self._clock.now()
        download = CsvDownload(
            id=str(uuid.uuid4()), participant_id=unit.id, employee_id=employee_id,
            module=module.value, type_code=mt.code, created_at=now,
            expires_at=max(info.deadline for info in waiting))
        with transaction(self._sessions) as session:
            session.add(download)
            session.flush()
            session.add_all(CsvDownloadMessage(download_id=download.id, message_id=info.id)
                            for info in waiting)
            _audit(session, now, employee_id, unit.kvk_nummer, "csv.download",
                   f"{download.id} {mt.code} {len(waiting)}")
        log.info("csv download", extra={"download": download.id, "recipient": unit.id,
                                        "type": mt.code, "count": len(waiting)})
        return download.id

    def file(self, unit: ParticipantInfo, employee_id: str, download_id: str) -> CsvFile:
        """The download's messages, fetched through the mailbox (as far as still waiting);
        InvalidState once it is confirmed or past its deadline."""
        download, ids = self._download(unit.id, download_id)
        mt = lookup(Module(download.module), download.type_code)
        deliveries = self._fetch(unit.id, ids)
        if not deliveries:
            raise InvalidState("de berichten van deze download wachten niet meer")
        with transaction(self._sessions) as session:
            _audit(session, self._clock.now(), employee_id, unit.kvk_nummer, "csv.file",
                   f"{download.id} {len(deliveries)}")
        return _received_file(mt, deliveries)

    def confirm(self, unit: ParticipantInfo, employee_id: str, download_id: str) -> int:
        """Confirm exactly the download's messages (the mailbox's confirm, as SOAP's
        BevestigOntvangst); how many were confirmed now."""
        download, ids = self._download(unit.id, download_id)
        confirmed = 0
        for message_id in ids:
            try:
                confirmed += not self._mailbox.confirm(unit.id, message_id).repeated
            except (InvalidState, NotFound):
                continue  # expired or purged meanwhile: nothing left to confirm
        now = self._clock.now()
        with transaction(self._sessions) as session:
            row = session.get(CsvDownload, download.id, with_for_update=True)
            if row is not None and row.confirmed_at is None:
                row.confirmed_at = now
            _audit(session, now, employee_id, unit.kvk_nummer, "csv.confirm",
                   f"{download.id} {confirmed}")
        log.info("csv confirmed", extra={"download": download.id, "recipient": unit.id,
                                         "count": confirmed})
        return confirmed

    def open_downloads(self, unit: ParticipantInfo) -> list[DownloadInfo]:
        """The unit's downloads not yet confirmed nor past their deadline, newest first."""
        now = self._clock.now()
        with transaction(self._sessions, read_only=True) as session:
            rows = session.scalars(
                select(CsvDownload).where(CsvDownload.participant_id == unit.id,
                                          CsvDownload.confirmed_at.is_(None),
                                          CsvDownload.expires_at > now)
                .order_by(CsvDownload.created_at.desc()).limit(50)).all()
            counts = {r.id: len(_message_ids(session, r.id)) for r in rows}
        result = []
        for row in rows:
            mt = lookup(Module(row.module), row.type_code)
            replies = tuple(r for r in message_types(mt.module)
                            if mt.code in r.answers and unit.role in r.senders
                            and csvlayout.sendable(r))
            result.append(DownloadInfo(row.id, mt.module, mt.code, mt.title, counts[row.id],
                                       _when(row.created_at), _when(row.expires_at), replies))
        return result

    def answer_file(self, unit: ParticipantInfo, download_id: str, reply_code: str) -> CsvFile:
        """An upload file of ``reply_code`` with one row per message of the download, each
        answering it (its CrossReferentienummer set), the answer's own columns empty."""
        download, ids = self._download(unit.id, download_id)
        module = Module(download.module)
        reply = _sendable_type(module, reply_code, received=False)
        if download.type_code not in reply.answers or unit.role not in reply.senders:
            raise NotFound(f"{reply_code} does not answer {download.type_code}")
        rows = [{"Module": module.value, "Berichttype": reply.code,
                 "CrossReferentienummer": message_id} for message_id in ids]
        return CsvFile(f"{reply.code}-antwoorden.csv",
                       csvlayout.write(csvlayout.template_columns(reply), rows))

    def _download(self, unit_id: str, download_id: str) -> tuple[CsvDownload, list[str]]:
        key = _canonical(download_id)
        with transaction(self._sessions, read_only=True) as session:
            row = None if key is None else session.get(CsvDownload, key)
            if row is None or row.participant_id != unit_id:
                raise NotFound("deze download bestaat niet voor deze eenheid")
            if row.confirmed_at is not None:
                raise InvalidState("deze download is al bevestigd")
            if row.expires_at <= self._clock.now():
                raise InvalidState("de termijn van de berichten van deze download is voorbij")
            session.expunge(row)
            return row, _message_ids(session, row.id)

    def _fetch(self, unit_id: str, ids: Sequence[str]) -> list[Delivery]:
        deliveries = []
        for message_id in ids:
            try:
                deliveries.append(self._mailbox.fetch(unit_id, message_id))
            except (InvalidState, NotFound):
                continue  # confirmed or expired since it was listed
        return deliveries

    # --- upload ---------------------------------------------------------------------------

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
            outgoing = self._header(unit, mt, row, digest, header, problem)
            if body.errors or outgoing is None:
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


def _sendable_type(module: Module, type_code: str, *, received: bool) -> MessageType:
    try:
        mt = lookup(module, type_code)
    except KeyError:
        raise NotFound(f"module {module} has no message type {type_code}") from None
    if not received and not csvlayout.sendable(mt):
        raise NotFound(f"{type_code} cannot be sent as CSV: it needs a document")
    return mt


def _received_file(mt: MessageType, deliveries: Sequence[Delivery]) -> CsvFile:
    slots = csvlayout.slots_needed(mt, (d.body for d in deliveries))
    columns = csvlayout.received_columns(mt, slots)
    rows = [{**_received_routing(d.info), **csvlayout.flatten(mt, d.body)} for d in deliveries]
    return CsvFile(f"{mt.code}-{mt.module.value}.csv", csvlayout.write(columns, rows))


def _received_routing(info: MessageInfo) -> dict[str, str]:
    return {"Module": info.module.value, "Berichttype": info.type_code, "BerichtId": info.id,
            "Afzender": info.sender_id, "ConversatieReferentienummer": info.conversation_id,
            "CrossReferentienummer": info.cross_reference_id or "",
            "OntvangenOp": _when(info.received_at), "UiterlijkOphalenOp": _when(info.deadline)}


def _when(at: dt.datetime) -> str:
    return at.astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M")


def _message_ids(session: Session, download_id: str) -> list[str]:
    return list(session.scalars(
        select(CsvDownloadMessage.message_id)
        .join(Message, Message.id == CsvDownloadMessage.message_id)
        .where(CsvDownloadMessage.download_id == download_id)
        .order_by(Message.received_at, Message.id)))


def _canonical(raw: str) -> str | None:
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        return None
