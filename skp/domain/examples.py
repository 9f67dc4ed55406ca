"""Example bodies generated from the catalogue: valid for every message type.

Used by tests, the demo and the integrators' test tool, so they always match the definitions.
"""

from __future__ import annotations

import base64
from typing import Any

from skp.domain import matching
from skp.domain.catalogue import MessageType
from skp.domain.fields import BSN, POSTCODE, Field, Kind
from skp.domain.roles import Role
from skp.domain.validation import Body

_PATTERN_SAMPLES = {BSN: "123456782", POSTCODE: "1234 AB", r"[1-9][0-9]{3}": "1234"}
_SAMPLE_PDF = base64.b64encode(b"%PDF-1.4\n% skp example document\n").decode("ascii")


def example_body(mt: MessageType, *, full: bool = False, text: str = "Voorbeeld",
                 sender_role: Role | None = None) -> Body:
    """A valid body for ``mt``: required fields only, or every field a sender may set.

    ``text`` fills free-text fields (cut to their maximum length); ``sender_role`` adds the
    attachments that role must send. A full Saldoverzoek antwoord is a non-matched one.
    """
    body = _group(mt.fields, full, text)
    for role, name in mt.required_by_role:
        if role == sender_role:
            body[name] = _field(mt.field(name), full, text)
    if mt.code == matching.REPLY and "OngematchteSchulden" in body:
        body["Matching"] = "NIET_GEMATCHT"
    return body


def _group(fields: tuple[Field, ...], full: bool, text: str) -> Body:
    return {f.name: _field(f, full, text) for f in fields
            if (f.required or full) and not f.hub_only}


def _field(f: Field, full: bool, text: str) -> Any:
    value = _value(f, full, text)
    return [value] if f.repeated else value


def _value(f: Field, full: bool, text: str) -> Any:
    match f.kind:
        case Kind.GROUP:
            return _group(f.children, full, text)
        case Kind.CHOICE:
            first = f.children[0]
            return {first.name: _field(first, full, text)}
        case Kind.TEXT:
            if f.pattern is not None:
                return _PATTERN_SAMPLES[f.pattern]
            return text[: f.max_length]
        case Kind.CODE:
            return f.choices[0]
        case Kind.DATE:
            return "2026-01-15"
        case Kind.AMOUNT:
            return "125.50"
        case Kind.PERCENTAGE:
            return "40.00"
        case Kind.INTEGER:
            return 3
        case Kind.BOOLEAN:
            return True
        case Kind.DOCUMENT:
            return _SAMPLE_PDF
    raise AssertionError(f.kind)  # pragma: no cover
