"""The mail server the notifications go out through: one SMTP connection at a time.

:class:`SmtpTransport` connects as ``SKP_SMTP_*`` says: STARTTLS (never falling back to plain
when the server does not offer it), TLS from the first byte, or plain to a relay on the same
machine; the TLS context is skp.tls's (TLS 1.2 or newer, the server's certificate and host name
verified). The password is read from its file at each connection, so a new one needs no
restart. Errors are smtplib's and the socket's (:class:`smtplib.SMTPException`,
:class:`OSError`), and :class:`~skp.errors.ConfigError` for an unreadable password file.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from skp.config import NotifySettings, SmtpSecurity
from skp.errors import ConfigError
from skp.tls import mail_client_context


def message(sender: str, to: str, subject: str, body: str, when: dt.datetime,
            key: str) -> EmailMessage:
    """A plain-text mail of the hub from ``sender``, dated ``when``, with the Message-ID
    ``<key@…>`` in the sender's domain (every attempt to send one mail carries the same) and
    marked auto-generated. ``to`` is the header only: whom it reaches, the envelope says."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = email.utils.format_datetime(when)
    domain = email.utils.parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    msg["Message-ID"] = f"<{key}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    msg.set_content(body)
    return msg


class MailConnection(Protocol):
    def send_message(self, msg: EmailMessage, *,
                     to_addrs: list[str]) -> dict[str, tuple[int, bytes]]:
        """Send ``msg`` to ``to_addrs``; the addresses the server refused (the others it
        accepted)."""
        ...


class MailTransport(Protocol):
    def connect(self) -> AbstractContextManager[MailConnection]:
        """An open, authenticated connection to the mail server."""
        ...


class SmtpTransport:
    """The mail server of ``SKP_SMTP_*`` (see the module docstring)."""

    def __init__(self, settings: NotifySettings) -> None:
        if settings.smtp_host is None:
            raise ConfigError("SKP_SMTP_HOST is not set: notifications are off")
        self._settings = settings
        self._host = settings.smtp_host
        self._context: ssl.SSLContext | None = (
            None if settings.smtp_security is SmtpSecurity.NONE
            else mail_client_context(settings.smtp_ca))

    @contextmanager
    def connect(self) -> Iterator[MailConnection]:
        s = self._settings
        timeout = s.smtp_timeout.total_seconds()
        smtp: smtplib.SMTP
        if s.smtp_security is SmtpSecurity.TLS:
            smtp = smtplib.SMTP_SSL(self._host, s.port, timeout=timeout, context=self._context)
        else:
            smtp = smtplib.SMTP(self._host, s.port, timeout=timeout)
        try:
            if s.smtp_security is SmtpSecurity.STARTTLS:
                smtp.starttls(context=self._context)  # SMTPNotSupportedError if it cannot
            if s.smtp_user is not None and s.smtp_password_file is not None:
                smtp.login(s.smtp_user, _password(s.smtp_password_file))
            yield smtp
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


def _password(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"the SMTP password file {path} does not read ({exc.strerror}): "
                          "check SKP_SMTP_PASSWORD_FILE") from exc
