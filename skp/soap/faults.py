"""SOAP faults: every error the caller sees, with a stable code and a request id.

One table maps what can go wrong to a fault: an :class:`~skp.errors.SkpError` keeps its own
code and message; spyne's own faults (schema validation, unknown operation, bad request) are
mapped to skp codes with a message that never repeats the offending value; anything else is
``Server.Error`` with only the request id. No stack trace, SQL or content reaches a fault.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree
from spyne import Fault

from skp.errors import SkpError

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"

#: spyne's fault codes and what the caller is told instead.
_SPYNE_FAULTS: dict[str, tuple[str, str]] = {
    "Client.SchemaValidationError": ("Client.SchemaInvalid",
                                     "the request does not match the service's XML schema"),
    "Client.ValidationError": ("Client.SchemaInvalid",
                               "a value in the request does not match the XML schema"),
    "Client.XMLSyntaxError": ("Client.SchemaInvalid", "the request is not well-formed XML"),
    "Client.ResourceNotFound": ("Client.UnknownOperation",
                                "the service has no such operation; see its WSDL"),
    "Client.MethodNotFound": ("Client.UnknownOperation",
                              "the service has no such operation; see its WSDL"),
    "Client.SoapError": ("Client.SchemaInvalid", "the request is not a SOAP 1.1 envelope"),
    "Client.RequestTooLong": ("Client.TooLarge", "the request is larger than the maximum"),
    "Client.RequestNotAllowed": ("Client.SchemaInvalid",
                                 "send a SOAP request with POST and Content-Type text/xml"),
}


@dataclass(frozen=True)
class SoapFault:
    """What a fault says: code, message, request id and the hub message id if any."""

    code: str
    message: str
    request_id: str
    message_id: str | None = None

    def envelope(self) -> bytes:
        """The SOAP 1.1 fault envelope."""
        env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
        fault = etree.SubElement(etree.SubElement(env, f"{{{SOAP_ENV}}}Body"),
                                 f"{{{SOAP_ENV}}}Fault")
        etree.SubElement(fault, "faultcode").text = f"soap:{self.code}"
        etree.SubElement(fault, "faultstring").text = self.message
        detail = etree.SubElement(fault, "detail")
        etree.SubElement(detail, "RequestId").text = self.request_id
        if self.message_id:
            etree.SubElement(detail, "BerichtId").text = self.message_id
        return etree.tostring(env, xml_declaration=True, encoding="utf-8")


class SkpFault(Fault):  # type: ignore[misc]  # spyne has no type information
    """A spyne Fault raised from an SkpError inside a service function."""

    def __init__(self, error: SkpError) -> None:
        super().__init__(faultcode=error.code, faultstring=error.message)
        self.error = error


class UnexpectedFault(Fault):  # type: ignore[misc]  # spyne has no type information
    """Any other exception from an operation; its message is never shown."""

    def __init__(self, original: Exception) -> None:
        super().__init__(faultcode="Server.Error", faultstring="internal error")
        self.original = original


def translate(error: BaseException, request_id: str) -> SoapFault:
    """The fault the caller gets for ``error``."""
    if isinstance(error, SkpFault):
        error = error.error
    if isinstance(error, SkpError):
        return SoapFault(error.code, error.message, request_id, error.message_id)
    if isinstance(error, Fault):
        code, message = _SPYNE_FAULTS.get(str(error.faultcode), ("Server.Error", ""))
        if code != "Server.Error":
            return SoapFault(code, message, request_id)
    return SoapFault("Server.Error", f"an internal error occurred; quote request id "
                     f"{request_id} to the hub's operator", request_id)
