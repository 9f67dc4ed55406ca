"""The employee's start page: the business units they work for, or whom to ask."""

from __future__ import annotations

from flask import Blueprint, g, render_template

from skp.domain.organisation import ContactRole
from skp.domain.roles import MODULE_INFO
from skp.portal.access import login_required, my_unit, my_units, organisations

blueprint = Blueprint("home", __name__)


@blueprint.get("/")
@login_required
def index() -> str:
    units = my_units(g.user)
    administrators = [c for c in organisations().contacts(g.user.kvk_nummer)
                      if c.role == ContactRole.BEHEER]
    return render_template("home/index.html", units=units, administrators=administrators)


@blueprint.get("/eenheid/<participant_id>")
@login_required
def unit(participant_id: str) -> str:
    """One of the employee's business units."""
    found = my_unit(g.user, participant_id)
    return render_template("home/unit.html", unit=found,
                           modules=[MODULE_INFO[m].title for m in sorted(found.modules)])
