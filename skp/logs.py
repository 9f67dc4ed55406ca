"""Log output: one JSON object per line in production, one readable line in development.

Both formats show every field a record carries in ``extra`` (request_id, participant,
operation, message_id, outcome, duration_ms, ...). The formatters print what records contain;
skp never puts content in a record (see skp/server/ and skp/mailbox/), so neither do they.
Standard library only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from contextvars import ContextVar
from typing import IO, Any

from skp.config import Environment

#: The id of the request being handled, added to every record logged while handling it.
current_request: ContextVar[str | None] = ContextVar("skp_request_id", default=None)

#: Attributes every LogRecord has; anything else came in through ``extra``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "taskName"}


def bounded(value: str, limit: int = 100) -> str:
    """``value`` fit for a log line: control characters escaped (``\\x1b``), at most
    ``limit`` characters, the cut marked with an ellipsis. For a value a client chose (a path,
    a SOAPAction): it never reaches the log raw or whole."""
    escaped = value[: limit + 1].encode("unicode_escape").decode("ascii") if not (
        value[: limit + 1].isprintable()) else value[: limit + 1]
    return escaped if len(escaped) <= limit else escaped[:limit] + "…"


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a record was given through ``extra``, in the order given."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


def _timestamp(record: logging.LogRecord) -> str:
    return dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp (ISO 8601, UTC), level, logger, message, the
    ``extra`` fields, and ``exc_info``/``stack_info`` as formatted text when present."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in extra_fields(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class ConsoleFormatter(logging.Formatter):
    """``<time> <LEVEL> <logger> <message> key=value ...`` on one line; a stack, if any,
    follows on the lines below."""

    def format(self, record: logging.LogRecord) -> str:
        parts = [_timestamp(record), f"{record.levelname:<7}", record.name, record.getMessage()]
        parts += [f"{key}={_value(value)}" for key, value in extra_fields(record).items()]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


def _value(value: Any) -> str:
    if value is None:
        return "-"
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if not text or any(
        c.isspace() or c in '"=' for c in text) else text


def formatter(environment: Environment | str) -> logging.Formatter:
    """The formatter for ``environment``: JSON in production, one readable line otherwise."""
    if Environment(environment) is Environment.PRODUCTION:
        return JsonFormatter()
    return ConsoleFormatter()


class _SkpHandler(logging.StreamHandler[IO[str]]):
    """The handler :func:`configure` installs; marked so a second call replaces it."""

    def emit(self, record: logging.LogRecord) -> None:
        request_id = current_request.get()
        if request_id is not None and not hasattr(record, "request_id"):
            record.request_id = request_id
        super().emit(record)


def configure(environment: Environment | str, level: int | str = "INFO", *,
              stream: IO[str] | None = None) -> logging.Handler:
    """Send all logging to ``stream`` (default stderr) in the format of ``environment``.

    Replaces the handler an earlier call installed and leaves other handlers alone. Returns
    the handler.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _SkpHandler)]:
        root.removeHandler(old)
    handler = _SkpHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(formatter(environment))
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    # APScheduler reports every job run at INFO; skp.jobs logs the purges that matter.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Alembic announces its dialect whenever the schema version is read (skp.store.db).
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return handler
