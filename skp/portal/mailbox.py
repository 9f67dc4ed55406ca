"""The mailbox of a business unit: the waiting messages, a message's page with its content,
documents and conversation, confirming, answering and sending new messages.

The views call the same Mailbox service as SOAP: the listing is ``Berichtenlijst``
(list_pending, keyset paging), opening a message is ``HaalBerichtOp`` (fetch), confirming is
``BevestigOntvangst`` (confirm) and sending is ``Verstuur…`` (send, with the hub's
zero-amount expansion of a non-matched Saldoverzoek antwoord). A message is opened only by an
employee of its recipient unit; opening its content, downloading a document, confirming and
sending are written to the audit trail. Pages that show content are never cached (every
portal answer is ``no-store``: skp.portal.security).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, cast

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse
from wtforms import SelectChoice

from skp.addressbook import Search
from skp.attachments import Document
from skp.domain import dutch, labels
from skp.domain.addressbook import MAX_ENTRIES
from skp.domain.calendar import WorkingDayCalendar
from skp.domain.catalogue import MessageType, lookup, message_types
from skp.domain.explain import refusal
from skp.domain.fields import Kind
from skp.domain.lifecycle import State
from skp.domain.retention import on_last_working_day
from skp.domain.roles import MODULE_INFO, Module
from skp.domain.validation import Header, problems
from skp.errors import (
    InvalidState,
    NotFound,
    SchemaInvalid,
    SkpError,
)
from skp.mailbox import LogQuery, MessageInfo, Page
from skp.participants import ParticipantInfo
from skp.portal.access import hub, login_required, my_unit, my_units, organisations
from skp.portal.bodyform import LINE, body_of, change_lines, explain, form_class
from skp.portal.forms import MessageForm, NewMessageForm
from skp.portal.security import attachment

blueprint = Blueprint("mailbox", __name__, url_prefix="/eenheid/<participant_id>")
log = logging.getLogger("skp.portal")

#: Messages per page of the listing.
PAGE_SIZE = 50
STATES = {State.QUEUED: "Nieuw", State.FETCHED: "Geopend", State.CONFIRMED: "Bevestigd",
          State.EXPIRED: "Verlopen"}


@blueprint.context_processor
def _helpers() -> dict[str, Any]:
    return {"label": labels.label, "shown": labels.shown, "when": dutch.moment,
            "until": dutch.until, "states": STATES, "Kind": Kind, "title": _title,
            "working_days": hub().settings.working_days}


def _title(module: Module, type_code: str) -> str:
    try:
        return lookup(module, type_code).title
    except KeyError:
        return type_code


@blueprint.get("/berichten")
@login_required
def listing(participant_id: str) -> str:
    """The unit's waiting messages of one module, oldest first, a page at a time."""
    unit = my_unit(g.user, participant_id)
    modules = sorted(unit.modules)
    module = next((m for m in modules if m.value == request.args.get("module")), None)
    page: Page | None = None
    if module is None:  # the first module with waiting messages, its first page
        for candidate in modules:
            page = hub().mailbox.list_pending(unit.id, candidate, limit=PAGE_SIZE)
            if page.items:
                module = candidate
                break
        else:
            module, page = (modules[0], page) if modules else (None, None)
    if module is None:
        return render_template("mailbox/listing.html", unit=unit, units=my_units(g.user),
                               modules=[], module=None, types=[], type_code=None, page=None,
                               rows=[])
    types = [mt for mt in message_types(module) if unit.role in mt.recipients]
    type_code = next((mt.code for mt in types if mt.code == request.args.get("type")), None)
    after = request.args.get("na") or None
    if page is None or type_code is not None or after is not None:
        try:
            page = hub().mailbox.list_pending(unit.id, module, type_code=type_code,
                                              limit=PAGE_SIZE, after=after)
        except NotFound:
            abort(404)
    now, calendar, names = hub().clock.now(), _calendar(), _Names(module)
    rows = [(m, names.of(m.sender_id), on_last_working_day(m.deadline, now, calendar=calendar))
            for m in page.items]
    return render_template("mailbox/listing.html", unit=unit, units=my_units(g.user),
                           modules=[(m, MODULE_INFO[m].title) for m in modules], module=module,
                           types=types, type_code=type_code, page=page, rows=rows)


@blueprint.get("/berichten/<message_id>")
@login_required
def message(participant_id: str, message_id: str) -> str:
    """A message: its content (opened for this unit: the mailbox's fetch), its documents, its
    conversation, and what can be done with it."""
    unit = my_unit(g.user, participant_id)
    info = _received(unit, message_id)
    body: dict[str, Any] | None = None
    if info.state.has_content:
        try:
            delivery = hub().mailbox.fetch(unit.id, info.id)
        except InvalidState:  # expired or confirmed meanwhile: its content is gone
            info = hub().mailbox.message(info.id).at(hub().clock.now())
        else:
            info, body = delivery.info, delivery.body
            organisations().message_event(g.user.kvk_nummer, g.user.employee_id,
                                          "message.open", info.id)
    mt = lookup(info.module, info.type_code)
    conversation = [m for m in hub().mailbox.logbook(unit.id, LogQuery(
        module=info.module, conversation_id=info.conversation_id, limit=100)) if m.id != info.id]
    names = _Names(info.module)
    return render_template(
        "mailbox/message.html", unit=unit, info=info, mt=mt, body=body,
        sender=names.of(info.sender_id), conversation=conversation, names=names,
        replies=_replies(unit, info) if body is not None or info.state is State.CONFIRMED
        else [], download_url=lambda where: url_for(
            ".document", participant_id=unit.id, message_id=info.id, where=where),
        last_day=info.state.has_content and on_last_working_day(
            info.deadline, hub().clock.now(), calendar=_calendar()))


@blueprint.get("/berichten/<message_id>/document/<path:where>")
@login_required
def document(participant_id: str, message_id: str, where: str) -> Response:
    """A document of the message, streamed as a download and never cached."""
    unit = my_unit(g.user, participant_id)
    info = _received(unit, message_id)
    try:
        delivery = hub().mailbox.fetch(unit.id, info.id)
    except InvalidState:
        abort(404)
    value: Any = delivery.body
    for step in where.split("/"):
        if isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        elif isinstance(value, dict) and step in value:
            value = value[step]
        else:
            abort(404)
    if not isinstance(value, Document):
        abort(404)
    organisations().message_event(g.user.kvk_nummer, g.user.employee_id, "message.document",
                                  info.id)
    name = where.rsplit("/", 1)[-1]
    return attachment(value.chunks(), f"{name}.pdf", "application/pdf")


@blueprint.post("/berichten/<message_id>/bevestigen")
@login_required
def confirm(participant_id: str, message_id: str) -> BaseResponse:
    """Confirm receipt (BevestigOntvangst): the hub deletes the content."""
    unit = my_unit(g.user, participant_id)
    info = _received(unit, message_id)
    here = url_for(".message", participant_id=unit.id, message_id=info.id)
    try:
        hub().mailbox.confirm(unit.id, info.id)
    except InvalidState:
        flash("Dit bericht kan niet meer worden bevestigd: het is verlopen, of nog niet "
              "geopend.")
        return redirect(here)
    organisations().message_event(g.user.kvk_nummer, g.user.employee_id, "message.confirm",
                                  info.id)
    flash(f"Het bericht {_title(info.module, info.type_code)} is bevestigd; het "
          "Schuldenknooppunt heeft de inhoud verwijderd.")
    return redirect(url_for(".listing", participant_id=unit.id, module=info.module.value))


@blueprint.route("/berichten/<message_id>/antwoord/<type_code>", methods=["GET", "POST"])
@login_required
def reply(participant_id: str, message_id: str, type_code: str) -> str | BaseResponse:
    """Answer a message with one of the reply types the catalogue allows for it."""
    unit = my_unit(g.user, participant_id)
    info = _received(unit, message_id)
    mt = next((r for r in _replies(unit, info) if r.code == type_code), None)
    if mt is None:
        abort(404)
    form = form_class(mt, False)()
    back = url_for(".message", participant_id=unit.id, message_id=info.id)
    return _compose(unit, mt, form, recipient=info.sender_id,
                    conversation=info.conversation_id, cross_reference=info.id, back=back,
                    original=info, recipient_name=_Names(info.module).of(info.sender_id))


@blueprint.route("/nieuw", methods=["GET", "POST"])
@login_required
def new(participant_id: str) -> str | BaseResponse:
    """A new message: first its type, then its recipient (from the address book) and body."""
    unit = my_unit(g.user, participant_id)
    sendable = {f"{mt.module.value}/{mt.code}": mt for m in sorted(unit.modules)
                for mt in message_types(m)
                if unit.role in mt.senders and (not mt.is_reply or mt.reply_optional)}
    mt = sendable.get(request.values.get("soort", ""))
    if mt is None:
        return render_template("mailbox/choose.html", unit=unit, sendable=sendable,
                               modules={m: MODULE_INFO[m].title for m in Module})
    form = cast(NewMessageForm, form_class(mt, True)())
    search = request.args.get("zoek", "").strip()[:200]
    found = hub().addressbook.search(Search(mt.module, name=search or None, limit=MAX_ENTRIES),
                                     unit.party)
    entries = [e for e in found.entries if mt.code in e.receives and e.id != unit.id]
    form.ontvanger.choices = [SelectChoice("", "Kies…"),
                              *(SelectChoice(e.id, e.name) for e in entries)]
    recipient = form.ontvanger.data or ""
    if request.method == "POST" and recipient not in {e.id for e in entries}:
        recipient = _recipient(mt, unit, recipient)  # chosen before a narrower search
    kenmerk = form.ensure_kenmerk()
    return _compose(unit, mt, form, recipient=recipient,
                    conversation=str(uuid.uuid5(uuid.NAMESPACE_URL, f"skp:{kenmerk}")),
                    cross_reference=None, back=url_for(".new", participant_id=unit.id),
                    soort=f"{mt.module.value}/{mt.code}", search=search,
                    more=found.next_after is not None)


def _recipient(mt: MessageType, unit: ParticipantInfo, participant_id: str) -> str:
    """``participant_id`` when the address book lists it as a recipient of ``mt``; else ""."""
    try:
        entry = hub().addressbook.entry(participant_id, mt.module, unit.party)
    except (NotFound, SchemaInvalid):
        return ""
    return entry.id if mt.code in entry.receives and entry.id != unit.id else ""


def _compose(unit: ParticipantInfo, mt: MessageType, form: MessageForm, *, recipient: str,
             conversation: str, cross_reference: str | None, back: str,
             **shown: Any) -> str | BaseResponse:
    """Show the form; on a submit, add or remove a line, or check the whole body and send it
    (once: the form's Kenmerk)."""
    kenmerk = form.ensure_kenmerk()
    summary: list[tuple[str | None, str, str]] = []
    if request.method == "POST":
        form.validate()  # the CSRF token; the body's rules are the catalogue's
        action = request.form.get(LINE)
        if action is not None:
            if not change_lines(form, action):
                abort(400)
        else:
            typed = body_of(form, mt)
            summary.extend(explain(typed, problems(mt, typed.body, unit.role)))
            if isinstance(form, NewMessageForm) and not recipient:
                form.ontvanger.errors = ["Kies een ontvanger."]
                summary.insert(0, (form.ontvanger.id, "Ontvanger", "Kies een ontvanger."))
            if not summary:
                sent = _send(unit, mt, Header(kenmerk, recipient, conversation, cross_reference),
                             typed.body)
                if isinstance(sent, str):
                    summary.append((None, "", sent))
                else:
                    return sent
    return render_template("mailbox/compose.html", unit=unit, mt=mt, form=form,
                           summary=summary, back=back, **shown)


def _send(unit: ParticipantInfo, mt: MessageType, header: Header,
          body: dict[str, Any]) -> BaseResponse | str:
    """Send; the listing to go back to, or why the hub refused (nothing was sent)."""
    try:
        receipt = hub().mailbox.send(unit.id, mt.module, mt.code, header, body)
    except SkpError as exc:
        log.info("portal send refused", extra={"service": mt.module.value, "type": mt.code,
                                               "sender": unit.id, "code": exc.code})
        return _refusal(exc)
    organisations().message_event(g.user.kvk_nummer, g.user.employee_id, "message.send",
                                  receipt.message_id)
    flash(f"Het bericht {mt.title} is {'al ' if receipt.repeated else ''}verstuurd. "
          f"De ontvanger kan het ophalen tot en met {dutch.until(receipt.deadline)}.")
    return redirect(url_for(".listing", participant_id=unit.id, module=mt.module.value))


def _refusal(exc: SkpError) -> str:
    why = refusal(exc)
    if why is not None:
        return why + " Er is niets verstuurd."
    return "Het versturen is niet gelukt. Er is niets verstuurd; probeer het opnieuw."


def _received(unit: ParticipantInfo, message_id: str) -> MessageInfo:
    """The metadata of a message in the unit's mailbox, of a module it has; 404 otherwise."""
    try:
        info = hub().mailbox.message(message_id)
    except NotFound:
        abort(404)
    if info.recipient_id != unit.id or info.module not in unit.modules:
        abort(404)
    return info.at(hub().clock.now())


def _replies(unit: ParticipantInfo, info: MessageInfo) -> list[MessageType]:
    """The reply types the unit may send to the message."""
    return [mt for mt in message_types(info.module)
            if info.type_code in mt.answers and unit.role in mt.senders]


def _calendar() -> WorkingDayCalendar:
    return WorkingDayCalendar(hub().settings.extra_non_working_days)


class _Names:
    """The address book's names of participants, each looked up once."""

    def __init__(self, module: Module) -> None:
        self._module = module
        self._names: dict[str, str | None] = {}

    def of(self, participant_id: str) -> str | None:
        if participant_id not in self._names:
            try:
                name: str | None = hub().addressbook.entry(participant_id, self._module).name
            except NotFound:
                name = None
            self._names[participant_id] = name
        return self._names[participant_id]
