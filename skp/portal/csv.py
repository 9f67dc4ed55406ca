"""CSV down- and upload for a business unit (docs/csv.md): download the waiting messages of a
type, confirm the download, upload answers and new messages, empty templates per type.

The views are thin: they check the employee works for the unit (404 otherwise) and call
:class:`skp.csvexchange.CsvExchange`, which goes through the mailbox as SOAP does.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from skp.csvexchange import MAX_FILE_BYTES, MAX_FILES, CsvExchange, CsvFile, Problem
from skp.domain import csvlayout
from skp.domain.catalogue import lookup, message_types
from skp.domain.roles import MODULE_INFO, Module
from skp.errors import InvalidState, NotFound
from skp.participants import ParticipantInfo
from skp.portal.access import hub, login_required, my_unit
from skp.portal.security import attachment

blueprint = Blueprint("csv", __name__, url_prefix="/eenheid/<participant_id>/csv")

#: What an upload request may hold: the files, and a little for the form around them.
UPLOAD_REQUEST_BYTES = MAX_FILES * MAX_FILE_BYTES + 64 * 1024


def allow_upload() -> None:
    """Before the CSRF check reads the form: the upload takes up to :data:`MAX_FILES` files
    of 4 MB each (every other request keeps the portal's 4 MB)."""
    if request.endpoint == "csv.upload":
        request.max_content_length = UPLOAD_REQUEST_BYTES


def exchange() -> CsvExchange:
    portal_hub = hub()
    return CsvExchange(portal_hub.sessions, portal_hub.mailbox, portal_hub.clock)


@blueprint.get("/")
@login_required
def page(participant_id: str) -> str:
    return _page(my_unit(g.user, participant_id))


def _page(unit: ParticipantInfo, problems: list[Problem] | None = None) -> str:
    service = exchange()
    templates = [mt for module in sorted(unit.modules) for mt in message_types(module)
                 if unit.role in mt.senders and csvlayout.sendable(mt)]
    return render_template("csv/page.html", unit=unit, waiting=service.waiting(unit),
                           downloads=service.open_downloads(unit), templates=templates,
                           titles={m: MODULE_INFO[m].title for m in Module},
                           problems=problems or [], max_files=MAX_FILES)


@blueprint.post("/download")
@login_required
def download(participant_id: str) -> BaseResponse:
    """Record a download of every waiting message of one type; its file is on the page."""
    unit = my_unit(g.user, participant_id)
    module, type_code = _type(request.form.get("module", ""), request.form.get("type", ""))
    made = exchange().download(unit, g.user.employee_id, module, type_code)
    if made is None:
        flash("Er wachten geen berichten van dit type meer.")
        return redirect(url_for(".page", participant_id=unit.id))
    flash("De download staat klaar. Download het bestand en bevestig de download als u de "
          "berichten heeft verwerkt.")
    return redirect(url_for(".page", participant_id=unit.id) + f"#download-{made}")


@blueprint.get("/download/<download_id>/bestand")
@login_required
def download_file(participant_id: str, download_id: str) -> BaseResponse:
    """The download's file; again and again until it is confirmed or expired."""
    unit = my_unit(g.user, participant_id)
    try:
        return _attachment(exchange().file(unit, g.user.employee_id, download_id))
    except NotFound:
        abort(404)
    except InvalidState as exc:
        flash(f"Dit bestand is niet meer beschikbaar: {exc.message}.")
        return redirect(url_for(".page", participant_id=unit.id))


@blueprint.get("/download/<download_id>/antwoord/<reply_code>")
@login_required
def answer_file(participant_id: str, download_id: str, reply_code: str) -> BaseResponse:
    """An answer file for the download's messages: one row per message, to fill in."""
    unit = my_unit(g.user, participant_id)
    try:
        return _attachment(exchange().answer_file(unit, download_id, reply_code))
    except (NotFound, InvalidState):
        abort(404)


@blueprint.post("/download/<download_id>/bevestigen")
@login_required
def confirm(participant_id: str, download_id: str) -> BaseResponse:
    """Confirm the download: exactly its messages are confirmed in the mailbox."""
    unit = my_unit(g.user, participant_id)
    try:
        count = exchange().confirm(unit, g.user.employee_id, download_id)
    except NotFound:
        abort(404)
    except InvalidState as exc:
        flash(f"De download is niet bevestigd: {exc.message}.")
    else:
        flash(f"De download is bevestigd: {count} "
              f"{'bericht' if count == 1 else 'berichten'} bevestigd.")
    return redirect(url_for(".page", participant_id=unit.id))


@blueprint.post("/upload")
@login_required
def upload(participant_id: str) -> BaseResponse | tuple[str, int]:
    """Check the uploaded files whole, then send all their messages or none."""
    unit = my_unit(g.user, participant_id)
    files = []
    for storage in request.files.getlist("bestanden"):
        try:
            if storage.filename:  # a file field left empty has none
                files.append((storage.filename, storage.stream.read(MAX_FILE_BYTES + 1)))
        finally:
            storage.close()  # the parser spooled a large file to disk: close it now
    result = exchange().upload(unit, files, g.user.employee_id)
    if result.problems:
        return _page(unit, result.problems), 422
    sent = len(result.receipts) - result.repeated
    text = f"{sent} {'bericht' if sent == 1 else 'berichten'} verstuurd."
    if result.repeated:
        text += f" {result.repeated} waren al eerder verstuurd en zijn niet opnieuw verstuurd."
    flash(text)
    return redirect(url_for(".page", participant_id=unit.id))


@blueprint.get("/sjabloon/<module>/<type_code>")
@login_required
def template(participant_id: str, module: str, type_code: str) -> BaseResponse:
    """An empty upload file of one type: the header only."""
    my_unit(g.user, participant_id)
    found, code = _type(module, type_code)
    mt = lookup(found, code)
    if not csvlayout.sendable(mt):
        abort(404)
    return _attachment(CsvFile(f"{mt.code}-{found.value}-sjabloon.csv",
                               csvlayout.write(csvlayout.template_columns(mt), [])))


def _type(module: str, type_code: str) -> tuple[Module, str]:
    try:
        found = Module(module)
        lookup(found, type_code)
    except (ValueError, KeyError):
        abort(404)
    return found, type_code


def _attachment(file: CsvFile) -> BaseResponse:
    return attachment(file.content, file.filename, "text/csv")  # with charset=utf-8
