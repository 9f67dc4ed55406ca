"""What the CSV exchange's parts share: the mailbox, the database, the clock; the file type."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from skp.clock import Clock
from skp.domain import csvlayout
from skp.domain.catalogue import MessageType, lookup
from skp.domain.roles import Module
from skp.errors import NotFound
from skp.mailbox import Mailbox


@dataclass(frozen=True)
class CsvFile:
    """A file to hand to the browser."""

    filename: str
    content: bytes


class ExchangeBase:
    """The exchange's dependencies, given through its constructor."""

    def __init__(self, sessions: sessionmaker[Session], mailbox: Mailbox, clock: Clock) -> None:
        self._sessions = sessions
        self._mailbox = mailbox
        self._clock = clock


def csv_type(module: Module, type_code: str, *, received: bool) -> MessageType:
    """The type, for a download (``received``) or an upload; NotFound when there is none or
    it cannot be sent as CSV."""
    try:
        mt = lookup(module, type_code)
    except KeyError:
        raise NotFound(f"module {module} has no message type {type_code}") from None
    if not received and not csvlayout.sendable(mt):
        raise NotFound(f"{type_code} cannot be sent as CSV: it needs a document")
    return mt

