"""Log formats: JSON lines in production, one readable line in development."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging

import pytest

from skp import logs
from skp.config import Environment

REQUEST = {"request_id": "a" * 32, "participant": "0b6e1f5e-0000-4000-8000-000000000001",
           "path": "/schuldregeling", "operation": "Ping", "message_id": None,
           "outcome": "ok", "status": 200, "duration_ms": 1.25}


@pytest.fixture
def root():
    """Restore the root logger's handlers and level after configure()."""
    logger = logging.getLogger()
    handlers, level = list(logger.handlers), logger.level
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)


def emit(environment, *records, level="INFO"):
    stream = io.StringIO()
    logs.configure(environment, level, stream=stream)
    for logger, lvl, message, extra in records:
        logging.getLogger(logger).log(lvl, message, extra=extra)
    return stream.getvalue()


def test_production_writes_one_json_object_per_line(root):
    out = emit(Environment.PRODUCTION,
               ("skp.request", logging.INFO, "request", REQUEST),
               ("skp.mailbox", logging.WARNING, "two\nlines", {}))
    lines = out.splitlines()
    assert len(lines) == 2
    request, other = (json.loads(line) for line in lines)
    assert {k: request[k] for k in ("level", "logger", "message")} == {
        "level": "INFO", "logger": "skp.request", "message": "request"}
    assert {k: request[k] for k in REQUEST} == REQUEST
    stamp = dt.datetime.fromisoformat(request["timestamp"])
    assert stamp.utcoffset() == dt.timedelta(0)
    assert other["message"] == "two\nlines"
    assert "exc_info" not in other


def test_json_carries_the_stack_of_an_exception(root):
    stream = io.StringIO()
    logs.configure("production", stream=stream)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("skp.test").exception("failed", extra={"request_id": "r1"})
    entry = json.loads(stream.getvalue())
    assert entry["request_id"] == "r1"
    assert entry["exc_info"].startswith("Traceback")
    assert "ValueError" in entry["exc_info"]


def test_json_writes_values_it_cannot_encode_as_text(root):
    out = emit("production", ("skp", logging.INFO, "x", {"when": dt.date(2026, 11, 23)}))
    assert json.loads(out)["when"] == "2026-11-23"


def test_development_is_one_readable_line_with_the_extra_fields(root):
    out = emit(Environment.DEVELOPMENT, ("skp.request", logging.INFO, "request", REQUEST))
    assert out.count("\n") == 1
    line = out.rstrip("\n")
    assert " INFO " in line
    assert " skp.request request " in line
    for key in ("request_id", "participant", "operation", "outcome", "duration_ms"):
        assert f"{key}={REQUEST[key]}" in line
    assert "message_id=-" in line


def test_development_quotes_values_with_spaces():
    record = logging.LogRecord("skp", logging.INFO, __file__, 1, "msg", None, None)
    record.reason = "two words"
    assert logs.ConsoleFormatter().format(record).endswith('reason="two words"')


def test_level_filters_and_a_second_configure_replaces_the_first(root):
    first, second = io.StringIO(), io.StringIO()
    logs.configure("development", "WARNING", stream=first)
    logs.configure("production", "INFO", stream=second)
    logging.getLogger("skp").debug("quiet")
    logging.getLogger("skp").info("heard")
    assert first.getvalue() == ""
    assert [json.loads(line)["message"] for line in second.getvalue().splitlines()] == ["heard"]
    assert sum(isinstance(h.formatter, logs.JsonFormatter) for h in root.handlers) == 1


def test_an_unknown_environment_is_refused(root):
    with pytest.raises(ValueError, match="staging"):
        logs.configure("staging")


def test_records_logged_during_a_request_carry_its_id():
    stream = io.StringIO()
    handler = logs.configure("production", stream=stream)
    try:
        token = logs.current_request.set("abc123")
        logging.getLogger("skp.mailbox").info("sent message=%s", "m-1")
        logs.current_request.reset(token)
        logging.getLogger("skp.mailbox").info("outside")
    finally:
        logging.getLogger().removeHandler(handler)
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["request_id"] == "abc123"
    assert "request_id" not in outside


def test_a_client_chosen_value_is_bounded_and_its_control_characters_escaped():
    assert logs.bounded("Ping") == "Ping"
    assert logs.bounded("a\x1b[31mb\r\nc\x00") == "a\\x1b[31mb\\r\\nc\\x00"
    assert logs.bounded("x" * 1000) == "x" * 100 + "…"
    assert len(logs.bounded("\x01" * 1000, 50)) == 51
