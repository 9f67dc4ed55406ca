"""Every error skp raises on purpose, with a stable code.

The tree::

    SkpError                          base; ``code`` is stable, ``message`` tells what to do
    ├── ConfigError                   Server.Configuration   a setting is missing or wrong
    ├── ClientError                   Client.*               the caller can fix it
    │   ├── AuthenticationError       Client.Authentication  no, unknown, expired or revoked cert
    │   ├── NotAllowed                Client.NotAllowed      role may not send/receive this type
    │   │   └── ModuleNotEnabled      Client.ModuleNotEnabled  sender or recipient lacks the module
    │   ├── UnknownRecipient          Client.UnknownRecipient  no active participant with that id
    │   ├── SchemaInvalid             Client.SchemaInvalid   body or header does not fit the type
    │   ├── UnknownOperation          Client.UnknownOperation  the service has no such operation
    │   ├── MustUnderstand            MustUnderstand         a SOAP header block the hub lacks
    │   ├── TooLarge                  Client.TooLarge        message over the size limit
    │   ├── NotFound                  Client.NotFound        no such message for this caller
    │   ├── InvalidReply              Client.InvalidReply    reply does not answer a valid original
    │   ├── KenmerkConflict           Client.KenmerkConflict Kenmerk reused for another message
    │   ├── InvalidState              Client.InvalidState    operation not possible in this state
    │   ├── BadRequest                Client.BadRequest      the HTTP request itself is malformed
    │   ├── RequestTimeout            Client.Timeout         the request or answer moved too slowly
    │   ├── LoginRefused              Client.LoginRefused    a portal login the hub does not accept
    │   ├── BatchRefused              Client.BatchRefused    messages of a batch failed: none sent
    │   └── QuotaExceeded             (base of the two below)  a quota refused: retry later
    │       ├── RateLimited           Client.RateLimited     sender over its send rate
    │       └── MailboxFull           Client.MailboxFull     recipient's mailbox at its limit
    └── ServerError                   Server.*               ours; the caller may retry
        ├── Unavailable               Server.Unavailable     database unreachable: repeat later
        └── IntegrityError            Server.Integrity       sealed content failed to open

A :class:`QuotaExceeded` is the caller's to solve by waiting: nothing was stored, and the same
message with the same Kenmerk is accepted once the quota allows it.

Messages never contain payload content, names, BSNs or amounts: only metadata such as message
ids, types and participant ids. The SOAP layer maps ``code`` to the fault code one to one.
"""

from __future__ import annotations

from typing import ClassVar


class SkpError(Exception):
    """Base of every deliberate skp error."""

    code: ClassVar[str] = "Server.Error"

    def __init__(self, message: str, *, message_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.message_id = message_id

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ConfigError(SkpError):
    """A setting is missing or invalid; the message names the variable and the fix."""

    code = "Server.Configuration"


class ClientError(SkpError):
    """The caller made a mistake it can correct."""

    code = "Client.Error"


class AuthenticationError(ClientError):
    """The caller could not be identified as an active participant."""

    code = "Client.Authentication"


class NotAllowed(ClientError):
    """The sender's or recipient's role may not take part in this message type."""

    code = "Client.NotAllowed"


class ModuleNotEnabled(NotAllowed):
    """The sender or recipient does not have the module switched on."""

    code = "Client.ModuleNotEnabled"


class UnknownRecipient(ClientError):
    """The recipient id is not an active participant."""

    code = "Client.UnknownRecipient"


class SchemaInvalid(ClientError):
    """The header or body does not fit the message type's definition."""

    code = "Client.SchemaInvalid"


class UnknownOperation(ClientError):
    """The Body holds an element that is no operation of the service called."""

    code = "Client.UnknownOperation"


class MustUnderstand(ClientError):
    """A SOAP header block marked mustUnderstand, which the hub does not know (SOAP 1.1 4.4)."""

    code = "MustUnderstand"


class TooLarge(ClientError):
    """The message exceeds the configured maximum size."""

    code = "Client.TooLarge"


class NotFound(ClientError):
    """No message with that id or Kenmerk exists for this caller."""

    code = "Client.NotFound"


class InvalidReply(ClientError):
    """A reply does not reference a message it may answer, or a non-reply references one."""

    code = "Client.InvalidReply"


class KenmerkConflict(ClientError):
    """The sender reused a Kenmerk for a message with different routing metadata."""

    code = "Client.KenmerkConflict"


class InvalidState(ClientError):
    """The message is in a state that does not allow the operation."""

    code = "Client.InvalidState"


class BadRequest(ClientError):
    """The HTTP request is malformed or ambiguous (its head or its chunked framing); the
    connection is closed after the fault."""

    code = "Client.BadRequest"


class RequestTimeout(ClientError):
    """The request did not arrive (or its answer was not taken up) at the minimum rate; the
    connection is closed."""

    code = "Client.Timeout"


class LoginRefused(ClientError):
    """An eHerkenning login the portal does not accept: too low an assurance level, another
    service, missing claims. ``reason`` is a stable word for the audit trail; the message is
    for the person, in Dutch."""

    code = "Client.LoginRefused"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class BatchRefused(ClientError):
    """Some messages of a batch (Mailbox.send_many) were refused, so none was sent:
    ``failures`` holds each refused message's index and its error."""

    code = "Client.BatchRefused"

    def __init__(self, failures: list[tuple[int, SkpError]], count: int) -> None:
        super().__init__(f"{len(failures)} of {count} messages were refused; none was sent")
        self.failures = failures


class ServerError(SkpError):
    """Something on the hub's side failed; the caller may retry later."""

    code = "Server.Error"


class Unavailable(ServerError):
    """The database cannot be reached, or the connection broke: the message says whether
    nothing was changed or the outcome is unknown. Repeats are safe."""

    code = "Server.Unavailable"


class IntegrityError(ServerError):
    """Sealed content failed to open: it or its metadata was altered, or its key is missing."""

    code = "Server.Integrity"


class QuotaExceeded(ClientError):
    """A quota refused a new message; nothing was stored. Retry later with the same Kenmerk."""

    code = "Client.QuotaExceeded"


class RateLimited(QuotaExceeded):
    """The sender had as many messages accepted in the send window as it may."""

    code = "Client.RateLimited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        #: Whole seconds until the send window has room for another message.
        self.retry_after = retry_after


class MailboxFull(QuotaExceeded):
    """The recipient's mailbox in the module holds as many pending messages as it may."""

    code = "Client.MailboxFull"
