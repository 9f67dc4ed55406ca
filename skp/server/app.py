"""The hub's WSGI application: dispatch, caller identity, limits, request log.

Routes: ``POST /<module>`` (SOAP), ``GET /<module>?wsdl``, ``GET /deelnemers`` (the published
participant list, skp.published), ``GET /healthz``, ``GET /metrics``.
Every SOAP and WSDL request must come from a registered, active participant: the TLS handshake
verified the client certificate against the CA bundle, and its SHA-256 fingerprint must be
registered, unexpired and unrevoked. Behind a TLS-terminating proxy (``SKP_TRUSTED_PROXIES``) the
certificate is read from a header, accepted only from those proxy addresses.

``/healthz`` and ``/metrics`` are for monitoring: they need only what the TLS handshake (or the
trusted proxy) already demands, a client certificate issued by our client CA, not a registered
participant; a monitoring system therefore needs a CA-issued certificate of its own. They show
metadata only (counts, latencies, fault codes, participant ids), never content. Because the
metrics list every recipient's backlog, ``/metrics`` answers only clients from the networks in
``SKP_METRICS_CLIENTS`` (default: this machine).

Every request is logged on one line (logger ``skp.request``) and measured in the hub's metrics:
its duration by operation (the SOAPAction or the route) and its fault code, if any.

The server is cheroot (see docs/server.md for why; skp.server.listener wires it): it verifies
client certificates in the handshake, hands the peer certificate to the application, serves many
requests at once from a thread pool and keeps connections alive. Only ``?wsdl`` serves the WSDL
snapshot; any other query string is ``Client.BadRequest``, and spyne never builds a WSDL of its
own. Of the requests its threads have read, at most ``SKP_ACTIVE_REQUESTS`` are worked on at
once (identity lookup and SOAP handling, on one database connection); reading a body and writing
an answer take no turn, so a slow client holds up no one (docs/server.md).

A request is parsed as it is read (skp.xmlsafe.read); its documents are decoded and sealed on
the way into a spool (skp.attachments), and an answer's documents are opened and encoded a
segment at a time as it is sent (skp.soap.answer): a document is never held whole.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import ssl
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from io import BytesIO
from typing import Any
from urllib.parse import unquote

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from spyne.server.wsgi import WsgiApplication

from skp import logs, published, xmlsafe
from skp.acceptance import observer
from skp.attachments import Spool
from skp.domain.catalogue import message_types
from skp.domain.fields import documents
from skp.domain.roles import Module
from skp.domain.verdicts import DROPPED
from skp.errors import AuthenticationError, BadRequest, RequestTimeout, SkpError, TooLarge
from skp.hub import Hub
from skp.participants import ParticipantInfo
from skp.server import head
from skp.soap.answer import Answer
from skp.soap.documents import wsdl_document
from skp.soap.faults import SoapFault, translate
from skp.soap.service import RETRY_AFTER, build_application
from skp.store.session import one_connection

log = logging.getLogger("skp.request")
# spyne logs faults with their text, which may quote request content; skp logs itself.
logging.getLogger("spyne").setLevel(logging.CRITICAL + 1)

StartResponse = Callable[..., Any]
SOAP_TYPE = "text/xml; charset=utf-8"


class SoapWsgi(WsgiApplication):  # type: ignore[misc]  # spyne has no type information
    """spyne's WSGI application with skp's faults: stable codes, request id, no content."""

    def is_wsdl_request(self, req_env: dict[str, Any]) -> bool:
        """Never: the hub serves its WSDL snapshot itself. spyne would build a WSDL with the
        request's Host as the address and cache it for every later caller."""
        return False

    def handle_error(self, p_ctx: Any, others: Any, error: Any,
                     start_response: StartResponse) -> Iterable[bytes]:
        environ = p_ctx.transport.req_env
        fault = translate(error, environ["skp.request_id"], self.app.tns)
        environ["skp.outcome"] = fault.code
        if fault.code == "Server.Error":
            _log_unexpected(fault.request_id, error)
        p_ctx.close()
        return _fault_response(fault, start_response)


def _log_unexpected(request_id: str, error: BaseException) -> None:
    """Log where an unexpected error happened: its type and stack, never its message,
    which could quote content."""
    cause = getattr(error, "original", None) or error.__cause__ or error
    stack = "".join(traceback.format_tb(cause.__traceback__))
    log.error("unexpected %s in request %s\n%s", type(cause).__name__, request_id, stack)


def _fault_response(fault: SoapFault, start_response: StartResponse,
                    status: str = "500 Internal Server Error", *,
                    close: bool = False) -> list[bytes]:
    """A fault goes with HTTP 500 (WS-I BP 1.1 R1126), also for a request too large, so that
    every SOAP stack reads it; only a request that is not readable HTTP gets its own status
    (:func:`_status`). ``close`` ends the connection after it, as any status but 500 does:
    the rest of such a request may be unread, so the connection cannot carry another."""
    body = fault.envelope()
    headers = [("Content-Type", SOAP_TYPE), ("Content-Length", str(len(body))),
               ("X-Request-Id", fault.request_id)]
    if close or not status.startswith("500"):
        headers.append(("Connection", "close"))
    start_response(status, headers)
    return [body]


class HubApp:
    """The WSGI application of the hub."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.settings = hub.settings
        self.soap: dict[str, SoapWsgi] = {}
        self.wsdl: dict[str, bytes] = {}
        #: By module: the names of the elements that hold documents, and the most documents a
        #: message has (no document field repeats: tests/unit/domain/test_catalogue.py).
        self._documents = {module.value: frozenset(
            f.name for mt in message_types(module) for f in documents(mt.fields))
            for module in Module}
        self._most_documents = {module.value: max(
            len(list(documents(mt.fields))) for mt in message_types(module))
            for module in Module}
        for module in Module:
            app = build_application(module)
            self.soap[module.value] = SoapWsgi(
                app, max_content_length=self.settings.max_request_bytes)
            self.wsdl[module.value] = wsdl_document(app, f"{self.settings.public_url}/{module}")
        self._proxies = frozenset(self.settings.trusted_proxies)
        self._header = "HTTP_" + self.settings.client_cert_header.upper().replace("-", "_")
        self._cas: list[x509.Certificate] | None = None
        self._metrics_networks = [ipaddress.ip_network(n) for n in self.settings.metrics_clients]
        self._turns = threading.BoundedSemaphore(self.settings.active_requests)
        #: A certificate once known to be issued by our CA is not checked again (the CA
        #: bundle is read once).
        self._proxied_certificate = functools.lru_cache(maxsize=_KNOWN_CERTIFICATES)(
            self._issued_by_our_ca)

    def __call__(self, environ: dict[str, Any],
                 start_response: StartResponse) -> Iterable[bytes]:
        request_id = uuid.uuid4().hex
        environ["skp.request_id"] = request_id
        environ["skp.hub"] = self.hub
        started = time.perf_counter()
        status: list[str] = []
        context = logs.current_request.set(request_id)

        def remember(code: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            status.append(code)
            headers = [h for h in headers if h[0] != "X-Request-Id"]
            headers.append(("X-Request-Id", request_id))
            if RETRY_AFTER in environ:  # a refusal by the send rate: when to send again
                headers.append(("Retry-After", str(environ[RETRY_AFTER])))
            return start_response(code, headers, *exc)

        try:
            return self._dispatch(environ, remember)
        except Exception as exc:
            if status:  # the answer has begun: cheroot closes the connection
                raise
            # Whatever failed, the caller gets a fault with the request id, never a bare 500.
            environ["skp.outcome"] = "Server.Error"
            _log_unexpected(request_id, exc)
            service = self.soap.get(environ.get("PATH_INFO", "").strip("/"))
            fault = translate(exc, request_id, service.app.tns if service else None)
            return _fault_response(fault, remember)
        finally:
            duration = time.perf_counter() - started
            participant = environ.get("skp.participant")
            outcome = environ.get("skp.outcome", "ok")
            log.info(
                "request", extra={
                    "request_id": request_id,
                    "participant": participant.id if participant else None,
                    "path": logs.bounded(environ.get("PATH_INFO", "")),
                    "operation": logs.bounded(
                        environ.get("HTTP_SOAPACTION", "").strip('"')) or None,
                    "message_id": environ.get("skp.message_id"),
                    "outcome": outcome,
                    "status": int(status[0].split()[0]) if status else None,
                    "duration_ms": round(duration * 1000, 2),
                })
            self.hub.metrics.observe_request(_operation(environ), duration,
                                             None if outcome == "ok" else outcome)
            if observer.RUN in environ:  # a participant in acceptance: the judge sees it
                self.hub.acceptance.observer.record(environ, outcome)
            logs.current_request.reset(context)
            spool = environ.get("skp.spool")
            if spool is not None:
                spool.close()

    def _dispatch(self, environ: dict[str, Any],
                  start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "").strip("/")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "healthz":
            return self._health(start_response)
        if path == "metrics":
            if not self._metrics_client(environ.get("REMOTE_ADDR", "")):
                start_response("403 Forbidden", [("Content-Type", "text/plain")])
                return [b"/metrics is open to the networks in SKP_METRICS_CLIENTS only"]
            body, content_type = self.hub.metrics.render()
            start_response("200 OK", [("Content-Type", content_type),
                                      ("Content-Length", str(len(body)))])
            return [body]
        if path == "deelnemers" and method == "GET":
            return self._participant_list(environ, start_response)
        if path not in self.soap:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no such service; the services are " +
                    ", ".join(f"/{m}" for m in self.soap).encode()]
        query = environ.get("QUERY_STRING", "")
        wsdl = method == "GET" and query.lower() == "wsdl"
        try:
            unread: SkpError | None = None
            if method == "POST":
                if not _small(environ):  # parsed only for a known caller: see _EAGER_BYTES
                    try:
                        with self._turns, one_connection(self.hub.engine):
                            environ["skp.participant"] = self._identify(environ)
                    except SkpError:  # dropped unparsed, after its turn, so the client hears
                        xmlsafe.drain(environ["wsgi.input"], self.settings.max_request_bytes)
                        raise
                try:  # before its turn: a slow client holds up no one
                    self._read(environ, path)
                except SkpError as exc:
                    unread = exc  # told once the caller is known: no access comes first
            # One turn and one database connection for the identity lookup and the operation.
            with self._turns, one_connection(self.hub.engine):
                if "skp.participant" not in environ:
                    environ["skp.participant"] = self._identify(environ)
                if unread is not None:
                    raise unread
                if query and not wsdl:
                    raise BadRequest("the only query string is ?wsdl, with GET")
                if wsdl:
                    body = self.wsdl[path]
                    start_response("200 OK", [("Content-Type", SOAP_TYPE),
                                              ("Content-Length", str(len(body)))])
                    return [body]
                answered: list[tuple[str, list[tuple[str, str]]]] = []
                body = b"".join(self.soap[path](
                    environ, lambda status, headers, *_: answered.append((status, headers))))
                if self._drops(environ, answered[0][0]):
                    # The lost receipt of acceptance: committed, and the connection closes
                    # without the answer (skp.server.listener reads the marker).
                    environ["skp.outcome"] = DROPPED
                    start_response("200 OK", [(head.DROP_ANSWER, "1")])
                    return []
            return _answer(environ, start_response, *answered[0], body)
        except SkpError as exc:  # spyne answers the operation's own errors as faults
            fault = translate(exc, environ["skp.request_id"], self.soap[path].app.tns)
            environ["skp.outcome"] = fault.code
            return _fault_response(fault, start_response, _status(exc),
                                   close=isinstance(exc, TooLarge))

    def _drops(self, environ: dict[str, Any], status: str) -> bool:
        """Whether to drop this answer on purpose: a new message was committed from a
        participant whose acceptance step asks for a lost receipt."""
        run = environ.get(observer.RUN)
        return bool(run and status.startswith("200") and not environ.get(observer.REPEATED)
                    and str(environ.get(observer.OPERATION, "")).startswith("Verstuur")
                    and self.hub.acceptance.observer.drop(run))

    def _participant_list(self, environ: dict[str, Any],
                          start_response: StartResponse) -> list[bytes]:
        """The address book as a page, for a registered caller (as ZoekDeelnemers)."""
        try:
            with self._turns, one_connection(self.hub.engine):
                environ["skp.participant"] = self._identify(environ)
                body = published.as_html(published.records(self.hub.addressbook))
        except SkpError as exc:
            fault = translate(exc, environ["skp.request_id"], None)
            environ["skp.outcome"] = fault.code
            start_response("403 Forbidden" if fault.code == "Client.Authentication" else
                           "503 Service Unavailable", [("Content-Type", "text/plain")])
            return [f"{fault.code}: {fault.message} (request {fault.request_id})".encode()]
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                  ("Content-Length", str(len(body))),
                                  ("Cache-Control", "no-store")])
        return [body]

    def _metrics_client(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._metrics_networks)

    def _health(self, start_response: StartResponse) -> list[bytes]:
        try:
            healthy = self.hub.healthy()
        except SkpError:
            healthy = False
        start_response("200 OK" if healthy else "503 Service Unavailable",
                       [("Content-Type", "text/plain")])
        return [b"ok" if healthy else b"database unavailable"]

    def _read(self, environ: dict[str, Any], path: str) -> None:
        """Parse the request as it is read, up to the limit, its documents into a spool."""
        spool = environ["skp.spool"] = Spool(max_documents=self._most_documents[path])
        environ["skp.envelope"] = xmlsafe.read(
            environ["wsgi.input"], declared_length=environ.get("CONTENT_LENGTH"),
            limit=self.settings.max_request_bytes, documents=self._documents[path], sink=spool)
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = BytesIO(), "0"  # spyne reads it

    def _identify(self, environ: dict[str, Any]) -> ParticipantInfo:
        pem = environ.get("SSL_CLIENT_CERT")
        if environ.get("REMOTE_ADDR") in self._proxies and environ.get(self._header):
            pem = self._proxied_certificate(unquote(environ[self._header]))
        if not pem:
            raise AuthenticationError("a client certificate is required")
        return self.hub.participants.identify(_fingerprint(pem))

    def _issued_by_our_ca(self, pem: str) -> str:
        """A certificate a trusted proxy passed on: it must be issued by our client CA."""
        try:
            cert = x509.load_pem_x509_certificate(pem.encode())
        except ValueError as exc:
            raise AuthenticationError("the proxy passed an unreadable certificate") from exc
        if self._cas is None:
            self._cas = x509.load_pem_x509_certificates(self.settings.tls_client_ca.read_bytes())
        for ca in self._cas:
            try:
                cert.verify_directly_issued_by(ca)
            except (InvalidSignature, ValueError, TypeError):
                continue  # not this CA: try the next
            return pem
        raise AuthenticationError("the client certificate is not issued by a trusted CA")


#: How many client certificates a process remembers the fingerprint (and, behind a proxy, the
#: issuer check) of: every registered one, on any register this hub is meant for.
_KNOWN_CERTIFICATES = 4096


@functools.lru_cache(maxsize=_KNOWN_CERTIFICATES)
def _fingerprint(pem: str) -> str:
    """The SHA-256 fingerprint of a PEM certificate, as the register holds it."""
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


#: A body up to this size is parsed before its caller is looked up, so that one turn covers the
#: lookup and the operation; a larger one only after a lookup in a turn of its own, so that
#: no unknown, revoked or deactivated certificate gets more than this parsed.
_EAGER_BYTES = 64 * 1024


def _status(error: SkpError) -> str:
    """The HTTP status of a fault: 500 (SOAP 1.1), unless the request is not readable HTTP."""
    if isinstance(error, BadRequest):
        return "400 Bad Request"
    if isinstance(error, RequestTimeout):
        return "408 Request Timeout"
    return "500 Internal Server Error"


def _small(environ: dict[str, Any]) -> bool:
    declared: str = environ.get("CONTENT_LENGTH") or ""
    return declared.isdigit() and int(declared) <= _EAGER_BYTES


def _answer(environ: dict[str, Any], start_response: StartResponse, status: str,
            headers: list[tuple[str, str]], body: bytes) -> Iterable[bytes]:
    """spyne's answer as it is sent: with its documents written in (skp.soap.answer)."""
    answer: Answer | None = environ.get("skp.answer")
    if not answer or not status.startswith("200"):
        start_response(status, headers)
        return [body]
    start_response(status, [(name, str(answer.length(body)))
                            if name.lower() == "content-length" else (name, value)
                            for name, value in headers])
    return answer.pieces(body)


def _operation(environ: dict[str, Any]) -> str:
    """The metrics' operation label: the route, or the SOAPAction of a SOAP call (which the
    metrics bound to the known operations)."""
    path: str = environ.get("PATH_INFO", "").strip("/")
    if path in ("healthz", "metrics", "deelnemers"):
        return path
    if environ.get("REQUEST_METHOD", "GET") == "GET" and (
            environ.get("QUERY_STRING", "").lower() == "wsdl"):
        return "wsdl"
    action: str = environ.get("HTTP_SOAPACTION", "")
    return action.strip().strip('"')
