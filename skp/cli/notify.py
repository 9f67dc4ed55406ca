"""``skp notify``: the e-mail notifications from the operator's side: a test mail through the
configured mail server, the outbox in counts, and a run now (for cron users and after an
outage). Addresses are never printed; the outbox is shown in counts only."""

from __future__ import annotations

import datetime as dt
import smtplib
import uuid
from email.utils import parseaddr

import click

from skp.cli import CliError, State, cli, pass_state
from skp.config import NotifySettings
from skp.errors import ConfigError
from skp.jobs import notify_job
from skp.mail import SmtpTransport, message
from skp.notifications import Notifier
from skp.store.notification import outbox
from skp.store.session import transaction

TEST_SUBJECT = "Testbericht van het Schuldenknooppunt"
TEST_BODY = ("Dit is een testbericht: de meldingen van het Schuldenknooppunt kunnen dit adres "
             "bereiken.\n")


@cli.group()
def notify() -> None:
    """E-mail notifications: a test mail, the outbox in counts, a run now."""


def _settings(state: State) -> NotifySettings:
    settings = state.settings.notify
    if not settings.enabled:
        raise CliError("notifications are off: set SKP_SMTP_HOST and SKP_NOTIFY_FROM "
                       "(docs/operations.md, \"E-mail notifications\")")
    return settings


def _server(settings: NotifySettings) -> str:
    return f"{settings.smtp_host}:{settings.port} ({settings.smtp_security})"


@notify.command("test")
@click.argument("address")
@pass_state
def test(state: State, address: str) -> None:
    """Send a test mail to ADDRESS through the configured mail server (no message content,
    no unit): whether the server, its TLS and the login work."""
    settings = _settings(state)
    if "@" not in parseaddr(address)[1]:
        raise CliError("give one e-mail address, e.g. beheer@example.nl")
    msg = message(settings.sender or "", address, TEST_SUBJECT, TEST_BODY,
                  state.hub.clock.now(), uuid.uuid4().hex)
    try:
        with SmtpTransport(settings).connect() as connection:
            connection.send_message(msg, to_addrs=[address])
    except smtplib.SMTPRecipientsRefused as exc:
        (code, _), = exc.recipients.values()
        raise CliError(f"{_server(settings)} refused the address ({code})") from exc
    except smtplib.SMTPException as exc:
        said = getattr(exc, "smtp_code", None)
        raise CliError(f"{_server(settings)} did not take the mail: {type(exc).__name__}"
                       + (f" {said}" if said is not None else "")) from exc
    except OSError as exc:
        raise CliError(f"{_server(settings)} cannot be reached: "
                       f"{exc.strerror or type(exc).__name__}") from exc
    except ConfigError as exc:
        raise CliError(str(exc)) from exc
    state.say(f"{_server(settings)} accepted the test mail", smtp=_server(settings))


@notify.command("status")
@pass_state
def status(state: State) -> None:
    """The outbox in counts: mails waiting (and their failed attempts), and how the mails of
    the hub's life ended, by kind."""
    hub = state.hub
    with transaction(hub.sessions, read_only=True) as session:
        box = outbox(session)
    age = "-" if box.oldest is None else (
        f"{(hub.clock.now() - box.oldest) // dt.timedelta(seconds=1)} s")
    state.say(f"waiting: {box.pending} (oldest {age} old, {box.attempts} failed attempts)",
              pending=box.pending, failed_attempts=box.attempts)
    for (kind, outcome), count in sorted(box.outcomes.items()):
        state.say(f"{kind:<9} {outcome:<8} {count}", kind=kind, outcome=outcome, count=count)


@notify.command("run")
@pass_state
def run(state: State) -> None:
    """Decide what is due and send the waiting mails now, as the scheduler does."""
    settings = _settings(state)
    hub = state.hub
    notifier = Notifier(hub.sessions, hub.settings, hub.clock, SmtpTransport(settings))
    result = notify_job(hub, notifier)
    if result is None:
        click.echo("another process is sending notifications right now; nothing done")
        return
    state.say(f"decided {result.decided}, sent {result.sent}, refused {result.refused}, "
              f"stale {result.stale}, failed attempts {result.failed}",
              decided=result.decided, sent=result.sent, refused=result.refused,
              stale=result.stale, failed=result.failed)
    if result.failed:
        raise CliError(f"{_server(settings)} did not take every mail; the rest waits for the "
                       "next run (the log says why)")
