"""E-mail notifications against a real SMTP server on 127.0.0.1 (aiosmtpd, STARTTLS with a
trustme certificate), on SQLite and PostgreSQL, with messages sent through the real mailbox and
a frozen clock: one mail per interval with the right counts, the reminder on its morning, no
content in any mail, an outage followed by recovery sending each mail once, and two schedulers
racing sending once."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

import pytest
from sqlalchemy import select, text

from skp import scheduler
from skp.config import NotifySettings, PortalSettings, Settings, SmtpSecurity
from skp.domain.roles import Module
from skp.hub import Hub
from skp.jobs import NOTIFY_LOCK, notify_job
from skp.mail import SmtpTransport
from skp.notifications import Notifier
from skp.organisations import Organisations
from skp.store.notification import NotificationMail
from tests.functional.smtp import PASSWORD, USER, Received, SmtpServer, write_ca
from tests.helpers import send, send_every_type

PORTAL = "https://portaal.skp.example"
SENDER = "Schuldenknooppunt <noreply@skp.example>"
#: Free text of every message body; it must never reach a mail.
CANARY = "CANARY-zq7x"
#: What the example bodies hold besides the canary: a BSN, an amount, a date.
SECRETS = (CANARY, "123456782", "125.50", "125,50", "2026-01-15")
INTERVAL = dt.timedelta(hours=1)


@pytest.fixture
def smtp(ca):  # ca: the module's CA (tests/functional/conftest.py)
    with SmtpServer(ca) as server:
        yield server


def _settings(server: SmtpServer, ca_path, **notify) -> Settings:
    values = {"smtp_host": "127.0.0.1", "smtp_port": server.port, "smtp_ca": ca_path,
              "sender": SENDER, "interval": INTERVAL, **notify}
    return Settings(notify=NotifySettings(**values), portal=PortalSettings(public_url=PORTAL))


@pytest.fixture
def hub(engine, keyring, clock, smtp, ca, tmp_path, sessions):
    return Hub.build(_settings(smtp, write_ca(ca, tmp_path / "ca.pem")), engine=engine,
                     keyring=keyring, clock=clock)


def _notifier(hub: Hub) -> Notifier:
    return Notifier(hub.sessions, hub.settings, hub.clock, SmtpTransport(hub.settings.notify))


@pytest.fixture
def notifier(hub):
    return _notifier(hub)


@pytest.fixture
def org(hub):
    return Organisations(hub.sessions, hub.participants, hub.clock)


def _subscribe(org, unit, email, **kinds):
    org.subscribe(unit.kvk_nummer, "admin", unit.id, email, True, **kinds)


def _kvk(hub, unit, kvk):
    hub.participants.update(unit.id, kvk_nummer=kvk)
    return hub.participants.get(unit.id)


def _no_content(mails: list[Received]) -> None:
    for mail in mails:
        decoded = mail.raw.decode("utf-8", "replace") + mail.text
        for secret in SECRETS:
            assert secret not in decoded


def _decided_while_the_server_is_down(notifier, smtp, clock) -> None:
    """A run with the mail server down: the mails due are decided, none is sent."""
    smtp.stop()
    clock.advance(dt.timedelta(minutes=1))
    assert notifier.run().failed == 1


def _counts(mail: Received) -> dict[str, int]:
    lines = [line[2:] for line in mail.text.splitlines() if line.startswith("- ")]
    return {title: int(n) for title, n in (line.rsplit(": ", 1) for line in lines)}


def test_new_messages_one_mail_per_interval_with_the_counts_per_type(hub, notifier, org, people,
                                                                     smtp, clock):
    se = _kvk(hub, people.se, "90000002")
    _subscribe(org, se, "Team@Energie.example")
    _subscribe(org, se, "herinneringen@energie.example", new_messages=False)
    mailbox = hub.mailbox
    for _ in range(2):
        send(mailbox, people.shv, se, Module.SCHULDREGELING, "Saldoverzoek", text=CANARY)
    send(mailbox, people.shv, se, Module.SCHULDREGELING, "Kennisgeving", text=CANARY)
    send(mailbox, people.shv, people.se2, Module.SCHULDREGELING, "Kennisgeving", text=CANARY)

    assert notifier.run().decided == 0  # within the settling time of the window
    clock.advance(dt.timedelta(minutes=1))
    result = notifier.run()
    assert (result.decided, result.sent, result.failed) == (1, 1, 0)
    (first,) = smtp.mails()
    assert first.rcpt_tos == ("team@energie.example",)
    assert first.message["To"] == "undisclosed-recipients:;"
    assert first.message["From"] == SENDER
    assert first.message["Subject"] == f"3 nieuwe berichten voor {se.name}"
    assert _counts(first) == {"Saldoverzoek (Schuldregeling)": 2,
                              "Kennisgeving (Schuldregeling)": 1}
    assert f"{PORTAL}/eenheid/{se.id}/berichten" in first.text

    # Within the interval: nothing, however much arrives; after it, only what is new.
    send(mailbox, people.shv, se, Module.SCHULDREGELING, "Saldoverzoek", text=CANARY)
    clock.advance(dt.timedelta(minutes=30))
    assert notifier.run().sent == 0
    fetched = send(mailbox, people.shv, se, Module.SCHULDREGELING, "Kennisgeving", text=CANARY)
    mailbox.fetch(se.id, fetched.message_id)  # fetched before the notice: not new any more
    clock.advance(dt.timedelta(minutes=31))
    assert notifier.run().sent == 1
    assert len(smtp.mails()) == 2
    assert _counts(smtp.mails()[1]) == {"Saldoverzoek (Schuldregeling)": 1}
    assert smtp.mails()[1].message["Subject"] == f"1 nieuw bericht voor {se.name}"

    clock.advance(2 * INTERVAL)  # nothing new: no mail
    assert notifier.run().decided == 0
    assert len(smtp.mails()) == 2
    _no_content(smtp.mails())
    assert b"skp_notifications_sent_total{kind=\"new\"} 2.0" in hub.metrics.render()[0]


def test_the_reminder_comes_on_the_morning_of_the_last_working_day(hub, notifier, org, people,
                                                                    smtp, clock):
    se = _kvk(hub, people.se, "90000002")
    _subscribe(org, se, "herinneringen@energie.example", new_messages=False)
    # Monday 23 November 2026: the deadline is the end of Friday 27 November (4 working days).
    for _ in range(3):
        receipt = send(hub.mailbox, people.shv, se, Module.SCHULDREGELING, "Saldoverzoek",
                       text=CANARY)
    send(hub.mailbox, people.shv, se, Module.SCHULDREGELING, "Kennisgeving", text=CANARY)
    hub.mailbox.fetch(se.id, receipt.message_id)
    hub.mailbox.confirm(se.id, receipt.message_id)  # confirmed: does not expire
    clock.advance(dt.timedelta(days=1))  # Tuesday: a message of a later deadline
    send(hub.mailbox, people.shv, se, Module.SCHULDREGELING, "Kennisgeving", text=CANARY)

    for instant in ("2026-11-26T12:00:00+01:00", "2026-11-27T07:59:59+01:00"):
        clock.set(dt.datetime.fromisoformat(instant))
        assert notifier.run().decided == 0, instant
    clock.set(dt.datetime.fromisoformat("2026-11-27T08:00:00+01:00"))
    assert notifier.run().sent == 1
    clock.set(dt.datetime.fromisoformat("2026-11-27T16:00:00+01:00"))
    assert notifier.run().decided == 0  # once a day
    (reminder,) = smtp.mails()
    assert reminder.rcpt_tos == ("herinneringen@energie.example",)
    assert reminder.message["Subject"] == (
        f"Herinnering: 3 berichten voor {se.name} verlopen na vrijdag 27 november 2026")
    assert _counts(reminder) == {"Saldoverzoek (Schuldregeling)": 2,
                                 "Kennisgeving (Schuldregeling)": 1}
    assert f"{PORTAL}/eenheid/{se.id}/berichten" in reminder.text

    # The Tuesday message's last working day is Monday 30 November.
    clock.set(dt.datetime.fromisoformat("2026-11-28T09:00:00+01:00"))
    assert notifier.run().decided == 0
    clock.set(dt.datetime.fromisoformat("2026-11-30T09:00:00+01:00"))
    assert notifier.run().sent == 1
    assert _counts(smtp.mails()[1]) == {"Kennisgeving (Schuldregeling)": 1}
    _no_content(smtp.mails())


def test_colleagues_get_one_mail_without_seeing_each_others_address(hub, notifier, org, people,
                                                                    smtp, clock):
    se = _kvk(hub, people.se, "90000002")
    for address in ("anna@energie.example", "bram@energie.example"):
        _subscribe(org, se, address)
    send(hub.mailbox, people.shv, se, Module.SCHULDREGELING, "Kennisgeving", text=CANARY)
    clock.advance(dt.timedelta(minutes=1))
    assert notifier.run().sent == 1
    (mail,) = smtp.mails()
    assert sorted(mail.rcpt_tos) == ["anna@energie.example", "bram@energie.example"]
    headers = mail.raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    assert b"anna@" not in headers and b"bram@" not in headers


def test_no_mail_holds_content_of_any_message_type(hub, notifier, org, people, smtp, clock):
    every = [people.shv, people.shv1, people.overig, people.se, people.se2, people.se_bsn,
             people.bewind, people.kredietbank, people.wsk]
    for n, unit in enumerate(every):
        unit = _kvk(hub, unit, f"9000001{n}")
        _subscribe(org, unit, f"unit{n}@example.nl")
    send_every_type(hub.mailbox, people, text=CANARY)
    clock.advance(dt.timedelta(minutes=1))
    result = notifier.run()
    assert result.sent == result.decided > 3 and result.failed == 0
    clock.set(dt.datetime.fromisoformat("2026-11-27T08:30:00+01:00"))
    assert notifier.run().sent == result.sent  # the reminders of the same units
    mails = smtp.mails()
    assert len(mails) == 2 * result.sent
    _no_content(mails)
    total = sum(sum(_counts(m).values()) for m in mails[:result.sent])
    with hub.sessions() as session:
        assert total == session.scalar(text("SELECT count(*) FROM message"))


def test_an_smtp_outage_then_recovery_sends_each_mail_once(hub, notifier, org, people, smtp,
                                                          clock, caplog):
    caplog.set_level(logging.DEBUG)
    se = _kvk(hub, people.se, "90000002")
    se2 = _kvk(hub, people.se2, "90000002")
    _subscribe(org, se, "noord@energie.example")
    _subscribe(org, se2, "zuid@energie.example")
    send(hub.mailbox, people.shv, se, Module.SCHULDREGELING, "Kennisgeving", text=CANARY)
    send(hub.mailbox, people.shv, se2, Module.SCHULDREGELING, "Kennisgeving", text=CANARY)
    clock.advance(dt.timedelta(minutes=1))

    smtp.stop()  # the server is down
    result = notifier.run()
    assert (result.decided, result.sent, result.failed) == (2, 0, 1)
    smtp.start()
    smtp.answer = "451 4.3.0 try again later"  # up, but refusing for now
    clock.advance(dt.timedelta(minutes=1))
    assert (notifier.run().sent, notifier.run().failed) == (0, 1)
    metrics = hub.metrics.render()[0]
    assert b"skp_notifications_pending 2.0" in metrics
    assert b"skp_notification_failures_total{kind=\"new\"} 3.0" in metrics

    smtp.answer = None  # recovered
    clock.advance(dt.timedelta(minutes=1))
    assert notifier.run().sent == 2
    for _ in range(3):
        clock.advance(dt.timedelta(minutes=1))
        assert notifier.run() .sent == 0
    assert sorted(m.rcpt_tos for m in smtp.mails()) == [("noord@energie.example",),
                                                       ("zuid@energie.example",)]
    assert len({m.message["Message-ID"] for m in smtp.mails()}) == 2
    metrics = hub.metrics.render()[0]
    assert b"skp_notifications_pending 0.0" in metrics
    assert b"skp_notifications_sent_total{kind=\"new\"} 2.0" in metrics
    ours = [r for r in caplog.records if r.name.startswith("skp")]
    logged = " ".join(f"{r.getMessage()} {vars(r)}" for r in ours)
    assert "notification sent" in logged and "SMTPDataError 451" in logged
    assert "@" not in logged  # ids and counts, never addresses


def test_a_refused_address_is_not_retried_and_a_stale_mail_not_sent(hub, notifier, org, people,
                                                                   smtp, clock):
    se = _kvk(hub, people.se, "90000002")
    _subscribe(org, se, "bestaat-niet@energie.example")
    smtp.refused_addresses.add("bestaat-niet@energie.example")
    send(hub.mailbox, people.shv, se, Module.SCHULDREGELING, "Kennisgeving", text=CANARY)
    clock.advance(dt.timedelta(minutes=1))
    result = notifier.run()
    assert (result.sent, result.refused, result.failed) == (0, 1, 0)
    assert notifier.run().refused == 0

    se2 = _kvk(hub, people.se2, "90000002")
    _subscribe(org, se2, "zuid@energie.example")
    send(hub.mailbox, people.shv, se2, Module.SCHULDREGELING, "Kennisgeving", text=CANARY)
    _decided_while_the_server_is_down(notifier, smtp, clock)
    smtp.start()
    clock.advance(dt.timedelta(days=2))  # a notice of new messages two days late: dropped
    assert notifier.run().stale == 1
    assert smtp.mails() == []
    assert b'skp_notifications_dropped_total{kind="new",reason="stale"} 1.0' in (
        hub.metrics.render()[0])


def test_an_address_unsubscribed_after_the_decision_gets_nothing(hub, notifier, org, people,
                                                                 smtp, clock):
    se = _kvk(hub, people.se, "90000002")
    _subscribe(org, se, "blijft@energie.example")
    _subscribe(org, se, "vertrekt@energie.example")
    _subscribe(org, se, "alleen-herinneringen@energie.example")
    send(hub.mailbox, people.shv, se, Module.SCHULDREGELING, "Kennisgeving", text=CANARY)
    _decided_while_the_server_is_down(notifier, smtp, clock)  # for all three
    org.subscribe(se.kvk_nummer, "admin", se.id, "vertrekt@energie.example", False)
    _subscribe(org, se, "alleen-herinneringen@energie.example", new_messages=False)
    smtp.start()
    clock.advance(dt.timedelta(minutes=1))
    assert notifier.run().sent == 1
    assert [m.rcpt_tos for m in smtp.mails()] == [("blijft@energie.example",)]

    se2 = _kvk(hub, people.se2, "90000003")
    _subscribe(org, se2, "enige@energie.example")
    send(hub.mailbox, people.shv, se2, Module.SCHULDREGELING, "Kennisgeving", text=CANARY)
    _decided_while_the_server_is_down(notifier, smtp, clock)
    org.subscribe(se2.kvk_nummer, "admin", se2.id, "enige@energie.example", False)
    smtp.start()
    clock.advance(dt.timedelta(minutes=1))
    assert notifier.run().stale == 1  # nobody left to tell: dropped, not sent
    assert len(smtp.mails()) == 1


def test_two_schedulers_racing_send_once(engine, keyring, clock, hub, org, people, smtp):
    other = Hub.build(hub.settings, engine=engine, keyring=keyring, clock=clock)
    notifiers = [(hub, _notifier(hub)), (other, _notifier(other))]
    units = [_kvk(hub, unit, "90000002") for unit in (people.se, people.se2, people.se_bsn)]
    for n, unit in enumerate(units):
        _subscribe(org, unit, f"unit{n}@energie.example")
    for round_ in range(3):
        for unit in units:
            send(hub.mailbox, people.shv, unit, Module.SCHULDREGELING, "Saldoverzoek",
                 text=CANARY)
        clock.advance(INTERVAL + dt.timedelta(minutes=1))
        barrier = threading.Barrier(len(notifiers))
        results = []

        def race(pair, barrier=barrier, results=results):
            barrier.wait()
            results.append(notify_job(*pair))

        threads = [threading.Thread(target=race, args=(pair,)) for pair in notifiers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # A run that lost the race, or ran after the winner, sends nothing.
        assert sum(r.sent for r in results if r is not None) == len(units), round_
        assert len(smtp.mails()) == len(units) * (round_ + 1)
    if engine.dialect.name == "postgresql":
        with engine.connect() as holder:
            holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": NOTIFY_LOCK})
            assert notify_job(*notifiers[0]) is None
            holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": NOTIFY_LOCK})
            holder.commit()
    with hub.sessions() as session:
        states = session.scalars(select(NotificationMail.state)).all()
    assert states == ["sent"] * len(units) * 3


def test_starttls_is_required_and_a_password_implicit_tls_and_a_local_relay_work(
        engine, keyring, clock, sessions, ca, tmp_path, people):
    ca_path = write_ca(ca, tmp_path / "ca.pem")
    plain = SmtpServer(ca, starttls=False)  # offers no STARTTLS: nothing goes in clear
    login = SmtpServer(ca, auth=True)  # STARTTLS, then AUTH
    implicit = SmtpServer(ca, implicit_tls=True)
    servers = (plain, login, implicit)
    for server in servers:
        server.start()
    try:
        hub = Hub.build(_settings(plain, ca_path), engine=engine, keyring=keyring, clock=clock)
        org = Organisations(hub.sessions, hub.participants, hub.clock)
        se = _kvk(hub, people.se, "90000002")
        _subscribe(org, se, "noord@energie.example")
        send(hub.mailbox, people.shv, se, Module.SCHULDREGELING, "Kennisgeving", text=CANARY)
        clock.advance(dt.timedelta(minutes=1))
        assert _notifier(hub).run().failed == 1
        assert plain.mails() == []

        password = tmp_path / "smtp-password"
        password.write_text("wrong\n")
        hub = Hub.build(_settings(login, ca_path, smtp_user=USER, smtp_password_file=password),
                        engine=engine, keyring=keyring, clock=clock)
        assert _notifier(hub).run().failed == 1  # login refused: retried
        password.write_text(PASSWORD + "\n")  # read at each connection
        assert _notifier(hub).run().sent == 1
        assert len(login.mails()) == 1

        send(hub.mailbox, people.shv, se, Module.SCHULDREGELING, "Kennisgeving", text=CANARY)
        clock.advance(INTERVAL + dt.timedelta(minutes=1))
        hub = Hub.build(_settings(implicit, ca_path, smtp_security=SmtpSecurity.TLS),
                        engine=engine, keyring=keyring, clock=clock)
        assert _notifier(hub).run().sent == 1
        assert len(implicit.mails()) == 1

        send(hub.mailbox, people.shv, se, Module.SCHULDREGELING, "Kennisgeving", text=CANARY)
        clock.advance(INTERVAL + dt.timedelta(minutes=1))
        hub = Hub.build(_settings(plain, None, smtp_security=SmtpSecurity.NONE),
                        engine=engine, keyring=keyring, clock=clock)  # a relay on this machine
        assert _notifier(hub).run().sent == 1
        assert len(plain.mails()) == 1
    finally:
        for server in servers:
            server.stop()


def test_the_scheduler_runs_the_notifications_when_an_smtp_host_is_set(hub, org, people, smtp,
                                                                      clock):
    se = _kvk(hub, people.se, "90000002")
    _subscribe(org, se, "noord@energie.example")
    send(hub.mailbox, people.shv, se, Module.SCHULDREGELING, "Kennisgeving", text=CANARY)
    clock.advance(dt.timedelta(minutes=1))
    jobs = scheduler.start(hub)
    try:
        assert jobs.get_job("notify").trigger.interval == dt.timedelta(seconds=60)
        deadline = time.monotonic() + 10
        while not smtp.mails():
            assert time.monotonic() < deadline, "the first notification run did not send"
            time.sleep(0.05)
    finally:
        jobs.shutdown(wait=True)
    assert len(smtp.mails()) == 1


def test_without_an_smtp_host_the_scheduler_has_no_notification_job(engine, keyring, clock,
                                                                    sessions):
    jobs = scheduler.start(Hub.build(Settings(), engine=engine, keyring=keyring, clock=clock))
    try:
        assert jobs.get_job("notify") is None
    finally:
        jobs.shutdown(wait=True)


def test_deciding_twice_at_once_records_one_mail_without_the_lock(hub, org, people, smtp, clock):
    # The leader lock keeps runs apart; the outbox's unique key (unit, kind, window) alone also
    # keeps a decision from being recorded twice.
    se = _kvk(hub, people.se, "90000002")
    _subscribe(org, se, "noord@energie.example")
    send(hub.mailbox, people.shv, se, Module.SCHULDREGELING, "Kennisgeving", text=CANARY)
    clock.advance(dt.timedelta(minutes=1))
    notifiers = [_notifier(hub) for _ in range(4)]
    barrier = threading.Barrier(len(notifiers))
    decided: list[int] = []

    def decide(notifier):
        barrier.wait()
        decided.append(notifier.decide(clock.now()))

    threads = [threading.Thread(target=decide, args=(n,)) for n in notifiers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(decided) == [0, 0, 0, 1]
    assert notifiers[0].deliver(clock.now()).sent == 1
    assert len(smtp.mails()) == 1


def test_a_crash_after_the_server_accepted_sends_that_mail_again_with_its_message_id(
        hub, notifier, org, people, smtp, clock, monkeypatch):
    # The documented window: accepted by the server, not yet marked sent in the database.
    se = _kvk(hub, people.se, "90000002")
    _subscribe(org, se, "noord@energie.example")
    send(hub.mailbox, people.shv, se, Module.SCHULDREGELING, "Kennisgeving", text=CANARY)
    clock.advance(dt.timedelta(minutes=1))
    finish = Notifier._finish

    def crash(self, mail, state, now):
        raise SystemExit("the process dies here")

    monkeypatch.setattr(Notifier, "_finish", crash)
    with pytest.raises(SystemExit):
        notifier.run()
    monkeypatch.setattr(Notifier, "_finish", finish)
    assert notifier.run().sent == 1
    assert notifier.run().sent == 0
    first, again = smtp.mails()
    assert first.message["Message-ID"] == again.message["Message-ID"]
