"""A small typed client for one module of a hub, on zeep over mutual TLS.

Used by the test tool, the demo and the end-to-end tests, and meant as a starting point for
integrators. Trust comes only from what is passed in (paths or an ``ssl.SSLContext``), never
from the environment (requests would otherwise let ``REQUESTS_CA_BUNDLE`` override it).
Faults come back as :class:`SkpFault` with the hub's stable code.
"""

from __future__ import annotations

import base64
import contextlib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import zeep
from requests.adapters import HTTPAdapter
from zeep.helpers import serialize_object
from zeep.transports import Transport

from skp.domain.catalogue import MessageType, lookup
from skp.domain.fields import Field, Kind
from skp.domain.roles import Module
from skp.soap.types import namespace


class SkpFault(Exception):
    """A SOAP fault from the hub: ``code`` such as ``Client.NotAllowed``."""

    def __init__(self, code: str, message: str, request_id: str | None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.request_id = request_id


@dataclass(frozen=True)
class Identity:
    """Where a participant's client certificate and the hub's CA are."""

    cert: Path
    key: Path
    ca: Path


def for_zeep(mt: MessageType, body: Mapping[str, Any]) -> dict[str, Any]:
    """A body as the mailbox and the examples write it, as zeep takes it: documents (base64
    text) as bytes, which zeep encodes itself."""
    return _for_zeep(mt.fields, body)


def _for_zeep(fields: tuple[Field, ...], data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        if f.name not in data:
            continue
        items = data[f.name] if f.repeated else [data[f.name]]
        if f.kind in (Kind.GROUP, Kind.CHOICE):
            items = [_for_zeep(f.children, item) for item in items]
        elif f.kind is Kind.DOCUMENT:
            items = [base64.b64decode(item) if isinstance(item, str) else item for item in items]
        out[f.name] = items if f.repeated else items[0]
    return out


class _ContextAdapter(HTTPAdapter):
    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)


def session_for(identity: Identity | ssl.SSLContext) -> requests.Session:
    """A requests session that presents the client certificate and trusts only the CA."""
    session = requests.Session()
    session.trust_env = False
    if isinstance(identity, ssl.SSLContext):
        session.mount("https://", _ContextAdapter(identity))
    else:
        session.verify = str(identity.ca)
        session.cert = (str(identity.cert), str(identity.key))
    return session


class Client:
    """One module's service at ``url`` (the hub's base address, e.g. https://localhost:8443).

    ``wsdl`` is a local WSDL file (for instance from the hub's ``wsdl/`` folder); without it
    the WSDL is fetched from the hub.
    """

    def __init__(self, url: str, module: Module, identity: Identity | ssl.SSLContext, *,
                 wsdl: Path | None = None, timeout: float = 30) -> None:
        self.module = module
        address = f"{url.rstrip('/')}/{module.value}"
        transport = Transport(session=session_for(identity), timeout=timeout,
                              operation_timeout=timeout)
        self._zeep = zeep.Client(str(wsdl) if wsdl else f"{address}?wsdl",
                                 transport=transport)
        title = "".join(part.capitalize() for part in module.value.split("-"))
        self._service = self._zeep.create_service(f"{{{namespace(module)}}}{title}", address)

    def close(self) -> None:
        """Close the connections this client keeps open to the hub."""
        self._zeep.transport.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, operation: str, **arguments: Any) -> Any:
        """Call ``operation``; the answer as plain dicts and lists."""
        try:
            answer = getattr(self._service, operation)(**arguments)
        except zeep.exceptions.Fault as fault:
            ns = namespace(self.module)  # the detail's Fout element is in the service's
            request_id = (fault.detail.findtext(f"{{{ns}}}Fout/{{{ns}}}RequestId")
                          if fault.detail is not None else None)
            raise SkpFault(str(fault.code).split(":")[-1], str(fault.message),
                           request_id) from fault
        return serialize_object(answer, dict)

    def ping(self, text: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self.call("Ping", Tekst=text)
        return result

    def send(self, type_code: str, body: dict[str, Any], *, recipient: str,
             kenmerk: str, conversation: str, cross_reference: str | None = None,
             ) -> dict[str, Any]:
        """Send a message; returns the receipt (BerichtId, OntvangenOp, UiterlijkOphalenOp)."""
        header = {"Kenmerk": kenmerk, "Ontvanger": recipient,
                  "ConversatieReferentienummer": conversation,
                  "CrossReferentienummer": cross_reference}
        with contextlib.suppress(KeyError):  # not a type of this module: the hub says so
            body = for_zeep(lookup(self.module, type_code), body)
        result: dict[str, Any] = self.call(f"Verstuur{type_code}", Header=header, Bericht=body)
        return result

    def list_pending(self, type_code: str | None = None, *, after: str | None = None,
                     maximum: int | None = None) -> dict[str, Any]:
        """The pending messages: {"Bericht": [...metadata], "Achterstand": n, "Volgende": id}."""
        result: dict[str, Any] = self.call("Berichtenlijst", Berichttype=type_code, Na=after,
                                           Maximum=maximum)
        return result

    def fetch(self, message_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(metadata, body) of a message in your mailbox."""
        answer = self.call("HaalBerichtOp", BerichtId=message_id)
        metadata = answer.pop("Metadata")
        return metadata, answer.get(metadata["Berichttype"]) or {}

    def confirm(self, message_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.call("BevestigOntvangst", BerichtId=message_id)
        return result

    def status(self, message_id: str | None = None, *,
               kenmerk: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self.call("Status", BerichtId=message_id, Kenmerk=kenmerk)
        return result

    def logbook(self, **criteria: Any) -> list[dict[str, Any]]:
        """Metadata of your own traffic; criteria as in LogboekFilter (Richting, …)."""
        result: list[dict[str, Any]] = self.call("Logboek", Filter=criteria or None) or []
        return result
