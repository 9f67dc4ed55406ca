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
#: The element of a fault's detail, in the namespace of the module's service, which every
#: operation's ``wsdl:fault`` declares (skp.soap.types), and its children in order; the last
#: is there only where a hub message is involved.
FAULT_ELEMENT = "Fout"
FAULT_FIELDS = ("Code", "Melding", "RequestId", "BerichtId")

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
    #: The namespace of the service's fault element; None outside a module's service.
    namespace: str | None = None

    def envelope(self) -> bytes:
        """The SOAP 1.1 fault envelope; its detail holds the service's fault element."""
        nsmap = {"soap": SOAP_ENV} | ({"fout": self.namespace} if self.namespace else {})
        env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap=nsmap)
        fault = etree.SubElement(etree.SubElement(env, f"{{{SOAP_ENV}}}Body"),
                                 f"{{{SOAP_ENV}}}Fault")
        etree.SubElement(fault, "faultcode").text = f"soap:{self.code}"
        etree.SubElement(fault, "faultstring").text = self.message
        qualified = f"{{{self.namespace}}}" if self.namespace else ""
        element = etree.SubElement(etree.SubElement(fault, "detail"),
                                   qualified + FAULT_ELEMENT)
        values = (self.code, self.message, self.request_id, self.message_id)
        for name, value in zip(FAULT_FIELDS, values, strict=True):
            if value:
                etree.SubElement(element, qualified + name).text = value
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


def translate(error: BaseException, request_id: str,
              namespace: str | None) -> SoapFault:
    """The fault the caller gets for ``error`` from the service of ``namespace``."""
    if isinstance(error, SkpFault):
        error = error.error
    if isinstance(error, SkpError):
        return SoapFault(error.code, error.message, request_id, error.message_id, namespace)
    if isinstance(error, Fault):
        code, message = _SPYNE_FAULTS.get(str(error.faultcode), ("Server.Error", ""))
        if code != "Server.Error":
            return SoapFault(code, message, request_id, namespace=namespace)
    return SoapFault("Server.Error", f"an internal error occurred; quote request id "
                     f"{request_id} to the hub's operator", request_id, namespace=namespace)
