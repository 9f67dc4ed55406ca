"""`skp notify` against a real SMTP server on 127.0.0.1 (aiosmtpd with STARTTLS): a test mail,
the outbox in counts and a run now; refusals in one line, and never an address printed."""

from __future__ import annotations

import datetime as dt
import functools

import pytest
import trustme

from skp.clock import FrozenClock
from skp.config import Settings
from skp.domain.admission import Standing
from skp.domain.roles import ROLE_MODULES, Module, Role
from skp.hub import Hub
from skp.organisations import Organisations
from tests.functional.smtp import SmtpServer, write_ca
from tests.helpers import send

ADDRESS = "beheer@energie.example"


@pytest.fixture
def ca():
    return trustme.CA()


@pytest.fixture
def smtp(ca):
    with SmtpServer(ca) as server:
        yield server


@pytest.fixture
def mail(smtp, ca, tmp_path):
    """The environment of a hub whose notifications go to ``smtp``."""
    return {"SKP_SMTP_HOST": "127.0.0.1", "SKP_SMTP_PORT": str(smtp.port),
            "SKP_SMTP_CA": str(write_ca(ca, tmp_path / "smtp-ca.pem")),
            "SKP_NOTIFY_FROM": "Schuldenknooppunt <noreply@skp.example>"}


def test_a_test_mail_goes_through_the_configured_server(migrated, mail, smtp):
    said = migrated("notify", "test", ADDRESS, **mail)
    assert said == f"127.0.0.1:{smtp.port} (starttls) accepted the test mail\n"
    (received,) = smtp.mails()
    assert received.rcpt_tos == (ADDRESS,)
    assert received.message["Subject"] == "Testbericht van het Schuldenknooppunt"
    assert received.message["Auto-Submitted"] == "auto-generated"


def test_a_test_mail_that_does_not_go_through_is_one_line_without_the_address(
        migrated, mail, smtp):
    smtp.refused_addresses.add(ADDRESS)
    refused = migrated("notify", "test", ADDRESS, expect=2, **mail)
    assert refused == f"Error: 127.0.0.1:{smtp.port} (starttls) refused the address (550)\n"
    smtp.refused_addresses.clear()
    smtp.answer = "451 4.3.0 try again later"
    later = migrated("notify", "test", ADDRESS, expect=2, **mail)
    assert later.startswith("Error: ") and "SMTPDataError 451" in later
    smtp.stop()
    down = migrated("notify", "test", ADDRESS, expect=2, **mail)
    assert down.startswith(f"Error: 127.0.0.1:{smtp.port} (starttls) cannot be reached")
    for output in (refused, later, down):
        assert ADDRESS not in output and output.count("\n") == 1
    assert migrated("notify", "test", "geen adres", expect=2, **mail) == (
        "Error: give one e-mail address, e.g. beheer@example.nl\n")


def test_without_a_mail_server_test_and_run_are_refused_and_status_still_counts(migrated):
    for command in (("test", ADDRESS), ("run",)):
        refused = migrated("notify", *command, expect=2)
        assert refused.startswith("Error: notifications are off: set SKP_SMTP_HOST")
    assert migrated("notify", "status") == "waiting: 0 (oldest - old, 0 failed attempts)\n"


def test_a_run_now_decides_and_sends_and_the_status_counts_it(migrated, env, mail, smtp):
    assert migrated("notify", "run", **mail) == (
        "decided 0, sent 0, refused 0, stale 0, failed attempts 0\n")
    hub = Hub.build(Settings.from_env({**env, **mail}),
                    clock=FrozenClock(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)))
    add = functools.partial(hub.participants.add, standing=Standing.ACTIVE)
    shv = add(name="Gemeente Voorbeeld", role=Role.SHV_FASE2,
              modules=ROLE_MODULES[Role.SHV_FASE2])
    se = add(name="Energie Noord", role=Role.SE, modules=ROLE_MODULES[Role.SE])
    hub.participants.update(se.id, kvk_nummer="90000002")
    Organisations(hub.sessions, hub.participants, hub.clock).subscribe(
        "90000002", "admin", se.id, ADDRESS, True)
    send(hub.mailbox, shv, se, Module.SCHULDREGELING, "Kennisgeving")
    hub.engine.dispose()

    smtp.stop()  # decided, but the mail server is down: the run says so and fails
    failed = migrated("notify", "run", expect=2, **mail)
    assert failed.startswith("decided 1, sent 0, refused 0, stale 0, failed attempts 1\n"
                             f"Error: 127.0.0.1:{smtp.port} (starttls) did not take every mail")
    status = migrated("notify", "status", **mail)
    assert status.startswith("waiting: 1 (oldest ") and "1 failed attempts" in status
    assert "new       failed   1" in status
    smtp.start()
    assert migrated("notify", "run", **mail) == (
        "decided 0, sent 1, refused 0, stale 0, failed attempts 0\n")
    assert [m.rcpt_tos for m in smtp.mails()] == [(ADDRESS,)]
    assert migrated("notify", "status", **mail) == (
        "waiting: 0 (oldest - old, 0 failed attempts)\nnew       failed   1\n"
        "new       sent     1\n")
