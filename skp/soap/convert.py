"""Between spyne objects and the mailbox's plain body trees, guided by the catalogue."""

from __future__ import annotations

import binascii
import datetime as dt
from decimal import Decimal
from typing import Any

from skp.domain.fields import Field, Kind
from skp.domain.validation import Body
from skp.soap.types import ModuleTypes


def to_body(fields: tuple[Field, ...], obj: Any) -> Body:
    """A spyne body object as a plain tree (the mailbox validates and normalises it)."""
    body: Body = {}
    for f in fields:
        value = getattr(obj, f.name, None)
        if value is None:
            continue
        body[f.name] = [_in(f, v) for v in value] if f.repeated else _in(f, value)
    return body


def _in(f: Field, value: Any) -> Any:
    if f.kind in (Kind.GROUP, Kind.CHOICE):
        return to_body(f.children, value)
    if f.kind is Kind.DOCUMENT:
        return b"".join(value)  # spyne hands a ByteArray over as a sequence of chunks
    return value


def from_body(types: ModuleTypes, cls: Any, fields: tuple[Field, ...], body: Body) -> Any:
    """A stored body tree as an instance of the generated spyne class ``cls``."""
    values = {}
    for f in fields:
        if f.name in body:
            value = body[f.name]
            values[f.name] = ([_out(types, f, v) for v in value] if f.repeated
                              else _out(types, f, value))
    return cls(**values)


def _out(types: ModuleTypes, f: Field, value: Any) -> Any:
    match f.kind:
        case Kind.GROUP | Kind.CHOICE:
            return from_body(types, types.group(f), f.children, value)
        case Kind.DATE:
            return dt.date.fromisoformat(value)
        case Kind.AMOUNT | Kind.PERCENTAGE:
            return Decimal(value)
        case Kind.DOCUMENT:
            # Not base64.b64decode: it would first copy the text into bytes.
            return [binascii.a2b_base64(value)]
    return value
