"""Raw SOAP envelopes for the benchmarks, built once by zeep from the checked-in WSDL.

A benchmark client posts bytes with ``requests`` so that it measures the hub, not a SOAP
client: each envelope is rendered once with placeholders, which a request replaces.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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
_BERICHT_ID = re.compile(rb"BerichtId>([0-9a-f-]{36})<")


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


def headers(operation: str) -> dict[str, str]:
    return {"SOAPAction": f'"{operation}"', "Content-Type": "text/xml; charset=utf-8"}


def message_ids(answer: bytes) -> list[str]:
    """Every BerichtId in an answer, in order."""
    return [m.decode() for m in _BERICHT_ID.findall(answer)]
