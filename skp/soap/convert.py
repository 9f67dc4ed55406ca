"""Between spyne objects and the mailbox's plain body trees, guided by the catalogue.

Documents never pass through spyne whole: in a request, the XML reader has already handed a
document's text to the request's :class:`~skp.attachments.Spool` and left a placeholder, which
becomes the spooled document here; in an answer, a document becomes a placeholder that
:class:`~skp.soap.answer.Answer` replaces with the document as the answer is sent.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from skp.attachments import Spool
from skp.domain.fields import Field, Kind
from skp.domain.validation import Body
from skp.soap.answer import Answer
from skp.soap.types import ModuleTypes


def to_body(fields: tuple[Field, ...], obj: Any, spool: Spool) -> Body:
    """A spyne body object as a plain tree (the mailbox validates and normalises it), its
    documents as the documents of ``spool`` their placeholders name."""
    body: Body = {}
    for f in fields:
        value = getattr(obj, f.name, None)
        if value is None:
            continue
        body[f.name] = ([_in(f, v, spool) for v in value] if f.repeated
                        else _in(f, value, spool))
    return body


def _in(f: Field, value: Any, spool: Spool) -> Any:
    if f.kind in (Kind.GROUP, Kind.CHOICE):
        return to_body(f.children, value, spool)
    if f.kind is Kind.DOCUMENT:
        return spool.document(b"".join(value))  # spyne hands a ByteArray over in chunks
    return value


def from_body(types: ModuleTypes, cls: Any, fields: tuple[Field, ...], body: Body,
              answer: Answer) -> Any:
    """A fetched body tree as an instance of the generated spyne class ``cls``; its documents
    are placeholders ``answer`` knows."""
    values = {}
    for f in fields:
        if f.name in body:
            value = body[f.name]
            values[f.name] = ([_out(types, f, v, answer) for v in value] if f.repeated
                              else _out(types, f, value, answer))
    return cls(**values)


def _out(types: ModuleTypes, f: Field, value: Any, answer: Answer) -> Any:
    match f.kind:
        case Kind.GROUP | Kind.CHOICE:
            return from_body(types, types.group(f), f.children, value, answer)
        case Kind.DATE:
            return dt.date.fromisoformat(value)
        case Kind.AMOUNT | Kind.PERCENTAGE:
            return Decimal(value)
        case Kind.DOCUMENT:
            return [answer.placeholder(value)]
    return value
