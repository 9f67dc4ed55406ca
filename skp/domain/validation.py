"""Validation of a message's header and body against the catalogue.

A validated body is a plain JSON-ready tree: dates as ISO strings, amounts as decimal strings
with two places, documents as base64 text. Errors name the field path, never its value.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from skp.domain import matching
from skp.domain.catalogue import MessageType
from skp.domain.fields import Field, Kind
from skp.domain.roles import MODULE_INFO, Module, Role
from skp.errors import SchemaInvalid

Body = dict[str, Any]
#: Checks a document given as ``value`` at field path ``where``; returns what the body holds.
DocumentCheck = Callable[[Any, str], Any]

_KENMERK = re.compile(r"[!-~]{1,64}")  # printable ASCII without spaces
_MAX_AMOUNT = Decimal("100000000000")
_MAX_INTEGER = 999_999_999
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Header:
    """The routing header of a message, as the sender gives it."""

    kenmerk: str
    ontvanger: str
    conversatie_referentienummer: str
    cross_referentienummer: str | None = None
    versie: str | None = None


def validate_header(module: Module, header: Header) -> Header:
    """Check ``header`` and return it with canonical UUIDs and the version filled in."""
    if not _KENMERK.fullmatch(header.kenmerk or ""):
        raise SchemaInvalid("Kenmerk must be 1 to 64 printable characters without spaces")
    version = MODULE_INFO[module].version
    if header.versie not in (None, version):
        raise SchemaInvalid(f"this Versie is not supported by module {module}; use {version}")
    cross = header.cross_referentienummer
    return replace(
        header,
        ontvanger=_uuid("Ontvanger", header.ontvanger),
        conversatie_referentienummer=_uuid("ConversatieReferentienummer",
                                           header.conversatie_referentienummer),
        cross_referentienummer=None if cross in (None, "") else _uuid(
            "CrossReferentienummer", cross),
        versie=version,
    )


def validate_body(mt: MessageType, body: Mapping[str, Any], sender_role: Role, *,
                  document: DocumentCheck | None = None) -> Body:
    """Check ``body`` against ``mt`` as sent by a ``sender_role``; return the normalised tree.

    ``document(value, where)`` checks a document and returns what the tree holds for it; by
    default its base64 text (:func:`_document`). The mailbox passes its own, which stores the
    document apart and returns a reference (skp.attachments).
    """
    result = _fields(mt.fields, body, "", document or _document)
    for _, error in _whole(mt, result, sender_role):
        raise error
    return result


def problems(mt: MessageType, body: Mapping[str, Any], sender_role: Role
             ) -> list[tuple[str, SchemaInvalid]]:
    """Every error :func:`validate_body` would raise one at a time, each with the path of the
    field it is about (``Klant/Achternaam``, ``Vorderingen[0]/Openstaand``; a rule over the
    whole body names its field too: ``OngematchteSchulden``): for a form that shows them all
    at once. The rules over the whole body are checked once its fields are valid. Empty when
    the body is valid; documents are checked as :func:`validate_body` does by default."""
    found: list[tuple[str, SchemaInvalid]] = []
    result = _fields(mt.fields, body, "", _document, found)
    if not found:
        found.extend(_whole(mt, result, sender_role))
    return found


def _whole(mt: MessageType, result: Body, sender_role: Role
           ) -> Iterator[tuple[str, SchemaInvalid]]:
    """The errors of the rules over the body as a whole (attachments by role, matching), each
    with the path of the field it is about."""
    for role, name in mt.required_by_role:
        if role == sender_role and name not in result:
            yield name, SchemaInvalid(f"as {role} you must attach {name} to {mt.code}")
    if mt.code == "SaldoverzoekAntwoord":
        try:
            matching.check_antwoord(result)
        except SchemaInvalid as exc:
            yield "OngematchteSchulden", exc


def _uuid(name: str, raw: str | None) -> str:
    try:
        return str(uuid.UUID(str(raw)))
    except ValueError as exc:
        raise SchemaInvalid(f"{name} must be a UUID") from exc


def map_documents(fields: tuple[Field, ...], body: Mapping[str, Any],
                  change: Callable[[Any], Any]) -> Body:
    """A copy of the validated ``body`` with each document value ``v`` as ``change(v)``."""
    result = dict(body)
    for f in fields:
        if f.name not in body or f.kind not in (Kind.GROUP, Kind.CHOICE, Kind.DOCUMENT):
            continue

        def one(value: Any, f: Field = f) -> Any:
            return change(value) if f.kind is Kind.DOCUMENT else map_documents(
                f.children, value, change)

        value = body[f.name]
        result[f.name] = [one(v) for v in value] if f.repeated else one(value)
    return result


def _fields(fields: tuple[Field, ...], data: Any, path: str, document: DocumentCheck,
            found: list[tuple[str, SchemaInvalid]] | None = None) -> Body:
    """The group's fields checked; with ``found``, each field's error is added to it and the
    check goes on with the next field."""
    if not isinstance(data, Mapping):
        raise SchemaInvalid(f"{path or 'body'} must be a group of fields")
    known = {f.name for f in fields}
    unknown = sorted(str(k)[:40] for k in data if k not in known)
    if unknown:
        raise SchemaInvalid(f"{path or 'body'} has unknown field(s) {', '.join(unknown[:5])}")
    result: Body = {}
    for f in fields:
        where = f"{path}/{f.name}" if path else f.name
        try:
            _field(f, data.get(f.name), where, document, found, result)
        except SchemaInvalid as exc:
            if found is None:
                raise
            found.append((where, exc))
    return result


def _field(f: Field, value: Any, where: str, document: DocumentCheck,
           found: list[tuple[str, SchemaInvalid]] | None, result: Body) -> None:
    if value is None or (f.repeated and isinstance(value, list | tuple) and not value):
        if f.required:
            raise SchemaInvalid(f"field {where} is required")
        return
    if f.hub_only:
        raise SchemaInvalid(f"field {where} is set by the hub, not by the sender")
    if not f.repeated:
        result[f.name] = _value(f, value, where, document, found)
        return
    if not isinstance(value, list | tuple):
        raise SchemaInvalid(f"field {where} must be a list")
    items = []
    for i, item in enumerate(value):
        try:
            items.append(_value(f, item, f"{where}[{i}]", document, found))
        except SchemaInvalid as exc:
            if found is None:
                raise
            found.append((f"{where}[{i}]", exc))
    result[f.name] = items


def _value(f: Field, value: Any, where: str, document: DocumentCheck,
           found: list[tuple[str, SchemaInvalid]] | None = None) -> Any:
    match f.kind:
        case Kind.GROUP:
            return _fields(f.children, value, where, document, found)
        case Kind.CHOICE:
            before = 0 if found is None else len(found)
            chosen = _fields(f.children, value, where, document, found)
            if found is not None and len(found) > before:
                return chosen
            if len(chosen) != 1:
                names = " or ".join(c.name for c in f.children)
                raise SchemaInvalid(f"field {where} needs exactly one of {names}")
            return chosen
        case Kind.TEXT:
            if not isinstance(value, str) or not value.strip():
                raise SchemaInvalid(f"field {where} must be non-empty text")
            if f.max_length is not None and len(value) > f.max_length:
                raise SchemaInvalid(f"field {where} is longer than {f.max_length} characters")
            if f.pattern is not None and not re.fullmatch(f.pattern, value):
                raise SchemaInvalid(f"field {where} does not have the required format")
            return value
        case Kind.CODE:
            if value not in f.choices:
                raise SchemaInvalid(f"field {where} must be one of {', '.join(f.choices)}")
            return value
        case Kind.DATE:
            return _date(value, where)
        case Kind.AMOUNT | Kind.PERCENTAGE:
            return _decimal(f, value, where)
        case Kind.INTEGER:
            if isinstance(value, bool) or not isinstance(value, int) or not (
                    0 <= value <= _MAX_INTEGER):
                raise SchemaInvalid(f"field {where} must be a whole number from 0 to "
                                    f"{_MAX_INTEGER}")
            return value
        case Kind.BOOLEAN:
            if not isinstance(value, bool):
                raise SchemaInvalid(f"field {where} must be true or false")
            return value
        case Kind.DOCUMENT:
            return document(value, where)
    raise AssertionError(f.kind)  # pragma: no cover - every kind is handled above


def _date(value: Any, where: str) -> str:
    if isinstance(value, dt.datetime):
        raise SchemaInvalid(f"field {where} must be a date without time")
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
            raise ValueError("not YYYY-MM-DD")
        return dt.date.fromisoformat(value).isoformat()
    except ValueError as exc:
        raise SchemaInvalid(f"field {where} must be a date (YYYY-MM-DD)") from exc


def _decimal(f: Field, value: Any, where: str) -> str:
    if isinstance(value, bool | float):
        raise SchemaInvalid(f"field {where} must be a decimal number, not a float")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise SchemaInvalid(f"field {where} must be a decimal number") from exc
    exponent = number.as_tuple().exponent
    if not number.is_finite() or not isinstance(exponent, int) or exponent < -2:
        raise SchemaInvalid(f"field {where} must have at most 2 decimals")
    upper = Decimal(100) if f.kind is Kind.PERCENTAGE else _MAX_AMOUNT
    if not Decimal(0) <= number <= upper:
        raise SchemaInvalid(f"field {where} must be between 0 and {upper}")
    return str(number.copy_abs().quantize(Decimal("0.01")))  # no "-0.00"


def _document(value: Any, where: str) -> str:
    """A document as canonical base64 text; valid text comes back as the same object.

    A document can be megabytes: its decoded bytes are only checked, and the text is
    encoded anew only if its last group has stray bits (``QR==`` for ``QQ==``).
    """
    if isinstance(value, bytes | bytearray):
        if not value:
            raise SchemaInvalid(f"field {where} must not be empty")
        return base64.b64encode(value).decode("ascii")
    text = str(value)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SchemaInvalid(f"field {where} must be a base64-encoded document") from exc
    if not data:
        raise SchemaInvalid(f"field {where} must not be empty")
    last = data[-(len(data) % 3 or 3):]  # the bytes of the last four characters
    if base64.b64encode(last).decode("ascii") != text[-4:]:
        return base64.b64encode(data).decode("ascii")
    return text
