"""A real SMTP server on 127.0.0.1 (aiosmtpd) for the notification tests: STARTTLS or implicit
TLS with a trustme certificate, optional AUTH, and switches to stop it or have it refuse."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "skp-hub", "correct horse battery staple"


@dataclass(frozen=True)
class Received:
    """One mail as the server got it: the envelope and the raw bytes."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def text(self) -> str:
        body = self.message.get_body(("plain",))
        assert body is not None
        return str(body.get_content())


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        await asyncio.sleep(self._server.delay)
        if self._server.answer is not None:
            return self._server.answer
        with self._server.lock:
            self._server.received.append(Received(
                envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.original_content)))
        return "250 OK"

    async def handle_RCPT(self, _server: Any, _session: Any, envelope: Any, address: str,
                          _options: Any) -> str:
        if address in self._server.refused_addresses:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def _authenticate(_server: Any, _session: Any, _envelope: Any, _mechanism: str,
                  data: Any) -> AuthResult:
    ok = (isinstance(data, LoginPassword) and data.login == USER.encode()
          and data.password == PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


class SmtpServer:
    """aiosmtpd in a thread of its own on 127.0.0.1; :meth:`stop` and :meth:`start` again on the
    same port make an outage."""

    def __init__(self, ca: trustme.CA, *, implicit_tls: bool = False, auth: bool = False,
                 starttls: bool = True) -> None:
        self.received: list[Received] = []
        self.lock = threading.Lock()
        #: When set, every DATA is answered with it instead of being accepted (e.g. a 451).
        self.answer: str | None = None
        self.refused_addresses: set[str] = set()
        #: Seconds the server takes to answer each DATA: a slow server widens every race.
        self.delay = 0.0
        self.implicit_tls = implicit_tls
        self.auth = auth
        self.starttls = starttls
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self._tls)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._controller: Controller | None = None

    def start(self) -> None:
        kwargs: dict[str, Any] = {"server_hostname": "localhost"}
        if self.implicit_tls:
            kwargs["ssl_context"] = self._tls
        elif self.starttls:
            kwargs.update(tls_context=self._tls, require_starttls=True)
        if self.auth:
            kwargs.update(authenticator=_authenticate, auth_required=True)
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                                      **kwargs)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def mails(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def __enter__(self) -> SmtpServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def write_ca(ca: trustme.CA, path: Path) -> Path:
    ca.cert_pem.write_to_path(path)
    return path
