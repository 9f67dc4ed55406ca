"""A recipient's backlog of many sealed messages, written fast with PostgreSQL COPY.

Every row is a message as :meth:`skp.mailbox.Mailbox.send` would store it: a validated
Kennisgeving body sealed with :func:`skp.sealing.seal` under a fresh data key, bound to the
row's own metadata (id, module, type, sender, recipient, Kenmerk, ...) through the associated
data. So each row is sealed on its own, and the mailbox opens it as any other message.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Engine

from skp import sealing
from skp.domain.calendar import WorkingDayCalendar
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.lifecycle import State
from skp.domain.retention import fetch_deadline
from skp.domain.roles import MODULE_INFO, Module, Role
from skp.domain.validation import validate_body
from skp.mailbox.content import aad as _aad  # the mailbox's binding: a fetch proves the rows

MODULE = Module.SCHULDREGELING
TYPE = "Kennisgeving"
COLUMNS = ("id", "module", "type_code", "sender_id", "recipient_id", "kenmerk",
           "conversation_id", "cross_reference_id", "version", "state", "size", "received_at",
           "deadline_at", "nonce", "ciphertext", "wrapped_key", "kek_id")
CHUNK = 20_000


@dataclass(frozen=True)
class _Row:
    """The fields of a message that ``skp.mailbox.content.aad`` binds the content to."""

    id: str
    module: Module
    type_code: str
    sender_id: str
    recipient_id: str
    kenmerk: str
    conversation_id: str
    cross_reference_id: str | None
    version: str
    received_at: dt.datetime
    size: int


@dataclass
class Filled:
    rows: int = 0
    seal_seconds: float = 0.0
    copy_seconds: float = 0.0


def payload() -> bytes:
    """The stored form of the example Kennisgeving (validated, compact JSON)."""
    mt = lookup(MODULE, TYPE)
    content = validate_body(mt, example_body(mt), Role.SHV_FASE2)
    return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def deadline(received_at: dt.datetime) -> dt.datetime:
    return fetch_deadline(received_at, calendar=WorkingDayCalendar(), working_days=4)


def _rows(sender: str, recipient: str, count: int, first: dt.datetime, tag: str,
          keyring: sealing.KeyRing, filled: Filled) -> Iterator[list[tuple[object, ...]]]:
    """Chunks of sealed rows, each received one microsecond after the one before."""
    content, version = payload(), MODULE_INFO[MODULE].version
    due = deadline(first + dt.timedelta(microseconds=count))
    conversation = str(uuid.uuid4())
    for start in range(0, count, CHUNK):
        began, chunk = time.perf_counter(), list[tuple[object, ...]]()
        for i in range(start, min(start + CHUNK, count)):
            row = _Row(str(uuid.uuid4()), MODULE, TYPE, sender, recipient, f"{tag}-{i}",
                       conversation, None, version, first + dt.timedelta(microseconds=i),
                       len(content))
            sealed = sealing.seal(content, _aad(row), keyring)  # type: ignore[arg-type]
            chunk.append((row.id, MODULE.value, TYPE, sender, recipient, row.kenmerk,
                          conversation, None, version, State.QUEUED.value, row.size,
                          row.received_at, due, sealed.nonce, sealed.ciphertext,
                          sealed.wrapped_key, sealed.kek_id))
        filled.seal_seconds += time.perf_counter() - began
        yield chunk


def fill(engine: Engine, keyring: sealing.KeyRing, *, sender: str, recipient: str,
         count: int, first: dt.datetime, tag: str) -> Filled:
    """Queue ``count`` sealed messages from ``sender`` for ``recipient`` (PostgreSQL COPY),
    received from ``first`` on; the time spent sealing and copying."""
    filled = Filled()
    copy_sql = f"COPY message ({', '.join(COLUMNS)}) FROM STDIN"
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        for chunk in _rows(sender, recipient, count, first, tag, keyring, filled):
            began = time.perf_counter()
            with raw.cursor() as cursor, cursor.copy(copy_sql) as copy:  # type: ignore[union-attr]
                for row in chunk:
                    copy.write_row(row)
            raw.commit()  # type: ignore[union-attr]
            filled.copy_seconds += time.perf_counter() - began
            filled.rows += len(chunk)
    return filled
