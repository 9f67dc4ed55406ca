"""Column types shared by the models, the canonical form of the ids they key on, and reading
by many of them."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import DateTime, Dialect, TypeDecorator


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC datetime on every backend (SQLite keeps no time zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: pass an aware datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if not isinstance(value, dt.datetime):
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def canonical_id(raw: str) -> str | None:
    """The canonical form of a hub id (a participant's or a message's); None when it is not a
    UUID."""
    try:
        return str(uuid.UUID(raw))
    except (ValueError, TypeError, AttributeError):
        return None


#: Values bound in one statement that reads by many keys: well within every driver's limit.
CHUNK = 1000


def chunks(values: Sequence[str]) -> Iterator[list[str]]:
    """The distinct ``values``, sorted, :data:`CHUNK` at a time."""
    unique = sorted(set(values))
    for start in range(0, len(unique), CHUNK):
        yield unique[start:start + CHUNK]
