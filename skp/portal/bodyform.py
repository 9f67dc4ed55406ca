"""Forms generated from the catalogue: one per message type, to answer or to send a message.

Each body field becomes a form field (a group a fieldset, a repeated group lines that can be
added and removed, a choice a radio group with its options), labelled by
:mod:`skp.domain.labels`. The form holds no rules of its own: :func:`body_of` turns what was
typed into a body (Dutch amounts and dates read), :func:`skp.domain.validation.problems`
checks it, and :func:`explain` puts each problem, in Dutch (:mod:`skp.domain.explain`), next
to its field. The form carries
its own Kenmerk, made when it is first shown, so a double submit sends once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import (
    Field as FormInput,
)
from wtforms import (
    FieldList,
    Form,
    FormField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)

from skp.domain.catalogue import MessageType
from skp.domain.dutch import parse_date, parse_decimal, parse_whole, parse_yes_no
from skp.domain.explain import sentence
from skp.domain.fields import BSN, POSTCODE, Field, Kind
from skp.domain.labels import code_label, label
from skp.domain.validation import Body
from skp.errors import SchemaInvalid
from skp.portal.forms import MessageForm, NewMessageForm

OPTIONAL = " (niet verplicht)"
#: The name of the radio group that picks a choice's option.
CHOSEN = "keuze"
#: The submit buttons that add or remove a line instead of sending.
LINE = "regel"


@functools.cache
def form_class(mt: MessageType, new: bool) -> type[MessageForm]:
    """The form of message type ``mt``: a new message (with a recipient) or an answer."""
    base = NewMessageForm if new else MessageForm
    return type(f"{mt.code}Form", (base,), _inputs(mt.fields))


def _inputs(fields: tuple[Field, ...]) -> dict[str, Any]:
    return {f.name: _input(f) for f in fields if not f.hub_only}


def _input(f: Field) -> Any:
    text = label(f.name) + ("" if f.required else OPTIONAL)
    if f.kind in (Kind.GROUP, Kind.CHOICE):
        legend = label(f.name) if f.required or f.repeated else text
        one: Any = FormField(_group_class(f.children) if f.kind is Kind.GROUP
                             else _choice_class(f), label=legend)
    else:
        one = _leaf(f, text)
    if f.repeated:
        return FieldList(one, label=label(f.name), min_entries=1)
    return one


@functools.cache
def _group_class(children: tuple[Field, ...]) -> type[Form]:
    return type("Group", (Form,), _inputs(children))


@functools.cache
def _choice_class(f: Field) -> type[Form]:
    options = [SelectChoice(c.name, label(c.name)) for c in f.children]
    if not f.required:
        options.insert(0, SelectChoice("", "Geen"))
    inputs = {CHOSEN: RadioField("Wat vult u in?", choices=options, validate_choice=False,
                                 default=None if f.required else "")}
    inputs.update(_inputs(f.children))
    return type("Choice", (Form,), inputs)


def _leaf(f: Field, text: str) -> Any:
    match f.kind:
        case Kind.TEXT:
            kind = TextAreaField if (f.max_length or 0) >= 1000 else StringField
            return kind(text, description=_hint(f))
        case Kind.CODE:
            return SelectField(text, validate_choice=False, choices=[
                SelectChoice("", "Kies…"), *(SelectChoice(c, code_label(c)) for c in f.choices)])
        case Kind.BOOLEAN:
            return SelectField(text, validate_choice=False, choices=[
                SelectChoice("", "Kies…"), SelectChoice("ja", "Ja"), SelectChoice("nee", "Nee")])
        case Kind.DATE:
            return StringField(text, render_kw={"type": "date"},
                               description="Bijvoorbeeld 15-01-2026.")
        case Kind.AMOUNT:
            return StringField(text, render_kw={"inputmode": "decimal"},
                               description="In euro, bijvoorbeeld 1.234,56.")
        case Kind.PERCENTAGE:
            return StringField(text, render_kw={"inputmode": "decimal"},
                               description="Van 0 tot 100, bijvoorbeeld 12,5.")
        case Kind.INTEGER:
            return StringField(text, render_kw={"inputmode": "numeric"})
        case Kind.DOCUMENT:
            return FileField(text, render_kw={"accept": "application/pdf"},
                             description="Een PDF-bestand.")
    raise AssertionError(f.kind)  # pragma: no cover - groups are handled by _input


def _hint(f: Field) -> str | None:
    return {BSN: "9 cijfers.", POSTCODE: "Bijvoorbeeld 1234 AB."}.get(f.pattern or "")


# --- what was typed, as a body ----------------------------------------------------------------

@dataclass(frozen=True)
class Place:
    """Where a body path is on the form: the input that shows its error, the field's
    definition and how the error summary names it."""

    target: FormInput
    field: Field | None
    name: str


@dataclass
class Typed:
    """A form's body, and where each of its paths is on the form."""

    body: Body
    places: dict[str, Place]


def body_of(form: Form, mt: MessageType) -> Typed:
    """The body typed into ``form``: blank fields left out, blank lines dropped, required
    groups kept (even empty) so that the validation names their fields."""
    typed = Typed({}, {})
    typed.body = _group(form, mt.fields, "", "", typed)
    return typed


def _group(form: Form, fields: tuple[Field, ...], path: str, context: str,
           typed: Typed) -> Body:
    out: Body = {}
    for f in fields:
        if f.hub_only:
            continue
        where = f"{path}/{f.name}" if path else f.name
        name = f"{context}{label(f.name)}"
        element = form[f.name]
        if not f.repeated:
            value = _item(f, element, where, name, typed)
            if value is not None:
                out[f.name] = value
            continue
        typed.places[where] = Place(element, f, name)
        items: list[Any] = []
        for number, entry in enumerate(element.entries, start=1):
            index = f"{where}[{len(items)}]"
            value = _item(f, entry, index, f"{name}, regel {number}"
                          if f.kind in (Kind.GROUP, Kind.CHOICE) else name, typed)
            if value is not None:
                items.append(value)
        if items:
            out[f.name] = items
    return out


def _item(f: Field, element: Any, where: str, name: str, typed: Typed) -> Any:
    if f.kind is Kind.GROUP:
        typed.places[where] = Place(_first(element), f, name)
        value = _group(element.form, f.children, where, f"{name}: ", typed)
        return value if value or (f.required and not f.repeated) else None
    if f.kind is Kind.CHOICE:
        chosen = element.form[CHOSEN]
        typed.places[where] = Place(chosen, f, name)
        option = next((c for c in f.children if c.name == chosen.data), None)
        if option is None:
            return {} if f.required else None
        inner = _item(replace(option, required=True), element.form[option.name],
                      f"{where}/{option.name}", f"{name}: {label(option.name)}", typed)
        return {option.name: inner}
    typed.places[where] = Place(element, f, name)
    return _leaf_value(f, element.data)


def _first(element: Any) -> FormInput:
    """The first input of a group, where an error about the whole group is shown."""
    while isinstance(element, FormField | FieldList):
        element = next(iter(element))
    return element


def _leaf_value(f: Field, data: Any) -> Any:
    if f.kind is Kind.DOCUMENT:
        if isinstance(data, FileStorage) and data.filename:
            content = data.read()
            return content or None
        return None
    if f.kind is Kind.BOOLEAN:
        return _read(parse_yes_no, data) if data else None
    text = (data or "").strip() if isinstance(data, str) else ""
    if not text:
        return None
    match f.kind:
        case Kind.AMOUNT | Kind.PERCENTAGE:
            return _read(parse_decimal, text)
        case Kind.DATE:
            return _read(parse_date, text)
        case Kind.INTEGER:
            return _read(parse_whole, text)
    return text


def _read(parse: Callable[[str], Any], text: str) -> Any:
    """``text`` read in Dutch notation; text that is no amount, date, whole number or yes/no
    stays as typed, so that the validation names it."""
    try:
        return parse(text)
    except ValueError:
        return text


# --- the validation's problems, next to their fields ---------------------------------------

def explain(typed: Typed, problems: list[tuple[str, SchemaInvalid]]) -> list[tuple[str, str, str]]:
    """Put each problem's Dutch message on its field's input (its first problem only); the
    error summary's lines: (input id, what the field is called, message)."""
    summary = []
    for path, error in problems:
        place = _place(typed, path)
        if place is None or place.target.errors:
            continue
        message = sentence(place.field, error.message)
        place.target.errors = [message]
        summary.append((place.target.id, place.name, message))
    return summary


def _place(typed: Typed, path: str) -> Place | None:
    while path:
        if path in typed.places:
            return typed.places[path]
        cut = max(path.rfind("/"), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None


# --- lines added and removed -------------------------------------------------------------------

def lists(form: Form) -> Iterator[FieldList]:
    """Every list of lines on ``form``, at any depth."""
    for element in form:
        if isinstance(element, FieldList):
            yield element
            for entry in element.entries:
                if isinstance(entry, FormField):
                    yield from lists(entry.form)
        elif isinstance(element, FormField):
            yield from lists(element.form)


def change_lines(form: Form, action: str) -> bool:
    """Add a line (``bij:<list>``) or remove one (``weg:<line>``); whether ``action`` named
    a list or line of ``form``."""
    verb, _, name = action.partition(":")
    for found in lists(form):
        if verb == "bij" and found.name == name:
            found.append_entry()
            return True
        if verb == "weg":
            for entry in found.entries:
                if entry.name == name:
                    found.entries.remove(entry)
                    if not found.entries:
                        found.append_entry()
                    return True
    return False
