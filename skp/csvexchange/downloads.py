"""Downloads: every waiting message of a type as one CSV file, recorded, fetched through the
mailbox, re-downloadable until confirmed (which confirms exactly its messages) or expired."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Row, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from skp.csvexchange.base import CsvFile, ExchangeBase, csv_type
from skp.domain import csvlayout
from skp.domain.catalogue import MessageType, lookup, message_types
from skp.domain.dutch import moment, until
from skp.domain.lifecycle import State
from skp.domain.roles import Module
from skp.errors import InvalidState, NotFound
from skp.mailbox import MAX_PAGE, Delivery, MessageInfo
from skp.mailbox.statements import IS_PENDING
from skp.organisations import _audit
from skp.participants import ParticipantInfo
from skp.store.downloads import CsvDownload, CsvDownloadMessage
from skp.store.models import Message
from skp.store.session import transaction

log = logging.getLogger("skp.csv")


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
    #: The ids of those of its messages that carry documents: not in the file, and deleted
    #: with the messages when the download is confirmed.
    with_documents: tuple[str, ...]


def forget(sessions: sessionmaker[Session], now: dt.datetime, retention: dt.timedelta) -> int:
    """Delete the records of downloads confirmed or expired longer than ``retention`` (the
    metadata retention) before ``now``; their count. The purge job runs it."""
    with transaction(sessions) as db:
        result = db.execute(delete(CsvDownload).where(
            func.coalesce(CsvDownload.confirmed_at, CsvDownload.expires_at) < now - retention))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class Downloads(ExchangeBase):
    """The download side of the CSV exchange."""

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
        mt = csv_type(module, type_code, received=True)
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
        deliveries = self._mailbox.fetch_many(unit.id, ids)  # those still waiting
        if not deliveries:
            raise InvalidState("de berichten van deze download wachten niet meer")
        with transaction(self._sessions) as session:
            _audit(session, self._clock.now(), employee_id, unit.kvk_nummer, "csv.file",
                   f"{download.id} {len(deliveries)}")
        return _received_file(mt, deliveries)

    def confirm(self, unit: ParticipantInfo, employee_id: str, download_id: str) -> int:
        """Confirm exactly the download's messages (the mailbox's confirm, as SOAP's
        BevestigOntvangst); how many were confirmed now. InvalidState, changing nothing, while
        one of them was never fetched: its file must be downloaded first."""
        download, ids = self._download(unit.id, download_id)
        now = self._clock.now()
        with transaction(self._sessions, read_only=True) as session:
            unfetched = _message_ids(session, download.id, waiting_at=now, queued=True)
        if unfetched:
            raise InvalidState("download eerst het bestand; daarna kunt u bevestigen")
        # Those expired, purged or confirmed meanwhile are left out: nothing left to confirm.
        confirmed = self._mailbox.confirm_many(unit.id, ids)
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
            waiting = {r.id: _messages(session, r.id, waiting_at=now) for r in rows}
        result = []
        for row in (r for r in rows if waiting[r.id]):  # all confirmed another way: done
            mt = lookup(Module(row.module), row.type_code)
            replies = tuple(r for r in message_types(mt.module)
                            if mt.code in r.answers and unit.role in r.senders
                            and csvlayout.sendable(r))
            messages = waiting[row.id]
            result.append(DownloadInfo(row.id, mt.module, mt.code, mt.title, len(messages),
                                       moment(row.created_at), until(row.expires_at), replies,
                                       tuple(m.message_id for m in messages if m.documents)))
        return result

    def answer_file(self, unit: ParticipantInfo, download_id: str, reply_code: str) -> CsvFile:
        """An upload file of ``reply_code`` with one row per message of the download, each
        answering it (its CrossReferentienummer set), the answer's own columns empty."""
        download, ids = self._download(unit.id, download_id)
        module = Module(download.module)
        reply = csv_type(module, reply_code, received=False)
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


def _received_file(mt: MessageType, deliveries: Sequence[Delivery]) -> CsvFile:
    slots = csvlayout.slots_needed(mt, (d.body for d in deliveries))
    columns = csvlayout.received_columns(mt, slots)
    rows = [{**_received_routing(d.info), **csvlayout.flatten(mt, d.body)} for d in deliveries]
    return CsvFile(f"{mt.code}-{mt.module.value}.csv", csvlayout.write(columns, rows))


def _received_routing(info: MessageInfo) -> dict[str, str]:
    return {"Module": info.module.value, "Berichttype": info.type_code, "BerichtId": info.id,
            "Afzender": info.sender_id, "ConversatieReferentienummer": info.conversation_id,
            "CrossReferentienummer": info.cross_reference_id or "",
            "OntvangenOp": moment(info.received_at),
            "UiterlijkOphalenOp": moment(info.deadline),
            csvlayout.DOCUMENTS_COLUMN: str(info.documents)}  # for the types that have it


def _message_ids(session: Session, download_id: str, *,
                 waiting_at: dt.datetime | None = None, queued: bool = False) -> list[str]:
    """The ids of :func:`_messages`."""
    return [m.message_id for m in _messages(session, download_id, waiting_at=waiting_at,
                                             queued=queued)]


def _messages(session: Session, download_id: str, *, waiting_at: dt.datetime | None = None,
              queued: bool = False) -> Sequence[Row[str, int]]:
    """The download's messages (``message_id``, and the number of ``documents`` each
    carries), oldest first; with ``waiting_at`` only those still waiting then (not
    confirmed, e.g. by SOAP or another download, nor past their deadline), and with
    ``queued`` too only those not yet fetched."""
    query = (select(CsvDownloadMessage.message_id, Message.documents)
             .join(Message, Message.id == CsvDownloadMessage.message_id)
             .where(CsvDownloadMessage.download_id == download_id))
    if waiting_at is not None:
        query = query.where(Message.state == State.QUEUED if queued else IS_PENDING,
                            Message.deadline_at > waiting_at)
    return session.execute(query.order_by(Message.received_at, Message.id)).all()


def _canonical(raw: str) -> str | None:
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        return None
