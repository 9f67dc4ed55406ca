"""Mijn organisatie: the administrator (logged in with "Schuldenknooppunt Beheer") links
employees to business units, enters the units' IBANs and notification addresses, keeps the
contact persons, and asks the operator for a module or a longer deadline. The hub's own staff
cannot enter IBANs: only the organisation does, here."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse
from wtforms import SelectChoice

from skp.domain.organisation import ContactRole, RequestKind, formatted_iban
from skp.domain.roles import MODULE_INFO, Module, may_enable
from skp.errors import NotFound
from skp.portal.access import admin_required, hub, organisations
from skp.portal.forms import ContactForm, IbanForm, NotifyForm, RequestForm, sentence

blueprint = Blueprint("organisation", __name__, url_prefix="/organisatie")


@blueprint.get("/")
@admin_required
def overview() -> str:
    return _overview(ContactForm())


def _overview(form: ContactForm) -> str:
    """Mijn organisatie, with ``form`` for a new contact person."""
    org = organisations()
    kvk = g.user.kvk_nummer
    units = org.units(kvk, g.user.vestiging)
    return render_template(
        "organisation/overview.html", units=units, employees=org.employees(kvk),
        contacts=org.contacts(kvk), roles={r.value: r.label for r in ContactRole},
        requests=[r for r in org.requests(kvk) if r.participant_id in {u.id for u in units}],
        names={u.id: u.name for u in units}, module_titles=_titles(), form=form)


@blueprint.post("/medewerker/<employee_id>")
@admin_required
def links(employee_id: str) -> BaseResponse:
    """Set the business units an employee works for (a checkbox per unit)."""
    org = organisations()
    kvk = g.user.kvk_nummer
    wanted = set(request.form.getlist("eenheid"))
    units = {u.id for u in org.units(kvk, g.user.vestiging)}
    if not wanted <= units:
        abort(404)
    try:
        employee = org.employee(kvk, employee_id)
    except NotFound:
        abort(404)
    for unit in units:
        if (unit in wanted) != (unit in employee.units):
            org.link(kvk, g.user.employee_id, employee.id, unit, unit in wanted)
    flash(f"De bedrijfseenheden van {employee.display_name or 'de medewerker'} zijn opgeslagen.")
    return redirect(url_for(".overview") + "#medewerkers")


@blueprint.route("/eenheid/<participant_id>", methods=["GET", "POST"])
@admin_required
def unit(participant_id: str) -> str | BaseResponse:
    """Bewerken: a business unit's IBANs, notification addresses and requests."""
    org = organisations()
    kvk = g.user.kvk_nummer
    try:
        found = org.unit(kvk, participant_id)
    except NotFound:
        abort(404)
    if g.user.vestiging and found.vestigingsnummer != g.user.vestiging:
        abort(404)
    iban_form, notify_form, request_form = (
        IbanForm(prefix="iban"), NotifyForm(prefix="notify"), RequestForm(prefix="request"))
    request_form.module.choices = [SelectChoice(m.value, MODULE_INFO[m].title) for m in Module
                                   if may_enable(found.role, m) and m not in found.modules]
    here = url_for(".unit", participant_id=found.id)
    action = request.form.get("action")
    if action == "iban" and iban_form.validate_on_submit():
        try:
            org.add_bank_account(kvk, g.user.employee_id, found.id, iban_form.iban.data or "",
                                 iban_form.tenaamstelling.data or "")
        except ValueError as exc:
            iban_form.iban.errors = [sentence(str(exc))]
        else:
            flash("Het IBAN is opgeslagen.")
            return redirect(here + "#rekeningen")
    elif action == "notify" and notify_form.validate_on_submit():
        kinds = notify_form.meldingen.data or []
        org.subscribe(kvk, g.user.employee_id, found.id, notify_form.email.data or "", True,
                      new_messages="new" in kinds, reminders="reminder" in kinds)
        flash("Het e-mailadres krijgt voortaan de gekozen meldingen.")
        return redirect(here + "#meldingen")
    elif action == "request" and request_form.validate_on_submit():
        kind = RequestKind(request_form.soort.data)
        value = request_form.module.data if kind is RequestKind.MODULE else (
            request_form.dagen.data)
        try:
            org.request(kvk, g.user.employee_id, found.id, kind, value or "")
        except ValueError as exc:
            request_form.soort.errors = [sentence(str(exc))]
        else:
            flash("Uw aanvraag is verstuurd naar de beheerder van het Schuldenknooppunt.")
            return redirect(here + "#aanvragen")
    elif action is not None and action not in ("iban", "notify", "request"):
        abort(400)
    now = hub().clock.now()
    return render_template(
        "organisation/unit.html", unit=found, iban_form=iban_form, notify_form=notify_form,
        standing=hub().participants.get(found.id).standing, now=now,
        run=hub().acceptance.runs.latest(found.id), outcomes=_OUTCOMES,
        request_form=request_form,
        accounts=[(a, formatted_iban(a.iban)) for a in org.bank_accounts(kvk, found.id)],
        subscriptions=org.subscriptions(kvk, found.id),
        requests=[r for r in org.requests(kvk) if r.participant_id == found.id],
        module_titles=_titles())


@blueprint.post("/rekening/<account_id>/verwijderen")
@admin_required
def remove_account(account_id: str) -> BaseResponse:
    try:
        unit_id = organisations().remove_bank_account(g.user.kvk_nummer, g.user.employee_id,
                                                      account_id)
    except NotFound:
        abort(404)
    flash("Het IBAN is verwijderd.")
    return redirect(url_for(".unit", participant_id=unit_id) + "#rekeningen")


@blueprint.post("/eenheid/<participant_id>/meldingen/verwijderen")
@admin_required
def unsubscribe(participant_id: str) -> BaseResponse:
    try:
        organisations().subscribe(g.user.kvk_nummer, g.user.employee_id, participant_id,
                                  request.form.get("email", ""), False)
    except NotFound:
        abort(404)
    flash("Het e-mailadres krijgt geen meldingen meer.")
    return redirect(url_for(".unit", participant_id=participant_id) + "#meldingen")


@blueprint.post("/contactpersonen")
@admin_required
def add_contact() -> str | BaseResponse:
    form = ContactForm()
    if not form.validate_on_submit():
        return _overview(form)
    organisations().add_contact(g.user.kvk_nummer, g.user.employee_id,
                                name=form.naam.data or "", email=form.email.data or "",
                                phone=form.telefoon.data or "", role=ContactRole(form.rol.data))
    flash("De contactpersoon is toegevoegd.")
    return redirect(url_for(".overview") + "#contactpersonen")


@blueprint.post("/contactpersoon/<contact_id>/verwijderen")
@admin_required
def remove_contact(contact_id: str) -> BaseResponse:
    try:
        organisations().remove_contact(g.user.kvk_nummer, g.user.employee_id, contact_id)
    except NotFound:
        abort(404)
    flash("De contactpersoon is verwijderd.")
    return redirect(url_for(".overview") + "#contactpersonen")


#: The lifecycle states and the outcomes of acceptance, as the page says them.
_OUTCOMES = {
    "registered": "aangemeld, nog niet geaccepteerd", "in_acceptance": "in acceptatie",
    "accepted": "geaccepteerd, wacht op activering", "active": "actief",
    "deactivated": "gedeactiveerd", "running": "loopt", "passed": "geslaagd",
    "failed": "niet geslaagd", "pending": "nog niet begonnen", "waiting": "wacht op u",
}


def _titles() -> dict[str, str]:
    return {m.value: MODULE_INFO[m].title for m in Module}
