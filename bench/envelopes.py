"""Raw SOAP envelopes for the benchmarks, built once by zeep from the checked-in WSDL.

A benchmark client posts bytes over a plain keep-alive connection so that it measures the
hub, not a SOAP client: each envelope is rendered once with placeholders, and split once at the
one a request fills in (:class:`Template`); of an answer only the few elements a check needs
are read, with lxml.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zeep
from lxml import etree

from skp.client import for_zeep
from skp.domain.catalogue import lookup
from skp.domain.roles import Module

WSDL = Path(__file__).resolve().parents[1] / "wsdl"
#: Placeholders a request replaces (valid values, so the template itself is schema-valid).
KENMERK = "KENMERK-PLACEHOLDER"
RECIPIENT = "00000000-0000-4000-8000-00000000beef"
CONVERSATION = "00000000-0000-4000-8000-00000000c0de"
MESSAGE_ID = "00000000-0000-4000-8000-0000000000a1"
#: Answers come from the hub under test; still, no entity or network access while parsing.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


class Envelopes:
    """The envelopes of one module's operations."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self._zeep = zeep.Client(str(WSDL / f"{module.value}.wsdl"))

    def build(self, operation: str, **arguments: Any) -> bytes:
        element = self._zeep.create_message(self._zeep.service, operation, **arguments)
        return bytes(etree.tostring(element, xml_declaration=True, encoding="utf-8"))

    def send(self, type_code: str, body: Mapping[str, Any]) -> bytes:
        """``Verstuur<type_code>`` with ``body`` (as the mailbox and example_body write it);
        KENMERK, RECIPIENT and CONVERSATION are placeholders."""
        header = {"Kenmerk": KENMERK, "Ontvanger": RECIPIENT,
                  "ConversatieReferentienummer": CONVERSATION}
        return self.build(f"Verstuur{type_code}", Header=header,
                          Bericht=for_zeep(lookup(self.module, type_code), body))

    def listing(self) -> bytes:
        return self.build("Berichtenlijst")

    def fetch(self) -> bytes:
        """HaalBerichtOp of MESSAGE_ID (a placeholder)."""
        return self.build("HaalBerichtOp", BerichtId=MESSAGE_ID)

    def confirm(self) -> bytes:
        """BevestigOntvangst of MESSAGE_ID (a placeholder)."""
        return self.build("BevestigOntvangst", BerichtId=MESSAGE_ID)

    def ping(self) -> bytes:
        return self.build("Ping", Tekst="bench")


@dataclass(frozen=True)
class Template:
    """An envelope split at its one placeholder: a request is ``head + value + tail``."""

    head: bytes
    tail: bytes

    @classmethod
    def of(cls, envelope: bytes, placeholder: str) -> Template:
        parts = envelope.split(placeholder.encode())
        if len(parts) != 2:
            raise ValueError(f"{placeholder} occurs {len(parts) - 1} times, not once")
        return cls(parts[0], parts[1])

    def fill(self, value: str) -> bytes:
        return b"".join((self.head, value.encode(), self.tail))


@functools.cache
def headers(operation: str) -> dict[str, str]:
    """The HTTP headers of a SOAP call of ``operation`` (one dict per operation, shared)."""
    return {"SOAPAction": f'"{operation}"', "Content-Type": "text/xml; charset=utf-8"}


def message_ids(answer: bytes) -> list[str]:
    """Every BerichtId element's text in an answer, in document order."""
    return [element.text or "" for element in
            etree.fromstring(answer, _PARSER).iter("{*}BerichtId")]


def fault_code(answer: bytes) -> str:
    """The faultcode of a SOAP fault, ``-`` if the answer holds none (or is no XML)."""
    try:
        root = etree.fromstring(answer, _PARSER)
    except etree.XMLSyntaxError:
        return "-"
    code = next(root.iter("{*}faultcode"), None)
    return (code.text or "-") if code is not None else "-"
