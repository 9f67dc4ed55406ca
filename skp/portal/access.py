"""Who is logged in, and what they may open: every view goes through these checks.

The logged-in user is in the server-side session: the employee's id, the organisation (KvK),
whether they logged in as its administrator (the "Schuldenknooppunt Beheer" service), and the
branch their login is restricted to, if any. A business unit is theirs to open only when it
belongs to their organisation (and branch) and the administrator linked them to it; anything
else is 404, so nobody learns what exists outside their organisation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from flask import abort, current_app, g, redirect, request, session, url_for

from skp.errors import NotFound
from skp.hub import Hub
from skp.organisations import Organisations
from skp.participants import ParticipantInfo

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class User:
    employee_id: str
    kvk_nummer: str
    administrator: bool
    vestiging: str | None
    name: str

    def as_session(self) -> dict[str, Any]:
        return {"employee": self.employee_id, "kvk": self.kvk_nummer,
                "admin": self.administrator, "vestiging": self.vestiging, "name": self.name}

    @classmethod
    def of(cls, values: dict[str, Any]) -> User:
        return cls(values["employee"], values["kvk"], values["admin"], values["vestiging"],
                   values["name"])


def hub() -> Hub:
    return cast(Hub, current_app.extensions["skp.hub"])


def organisations() -> Organisations:
    return hub().organisations


def current_user() -> User | None:
    values = session.get("user")
    return None if values is None else User.of(values)


def login_required(view: F) -> F:
    """The view needs a logged-in employee with a name (``g.user``)."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None:
            return redirect(url_for("auth.login_page"))
        if not user.name and request.endpoint != "auth.welcome":
            return redirect(url_for("auth.welcome"))
        g.user = user
        return view(*args, **kwargs)

    return cast(F, checked)


def admin_required(view: F) -> F:
    """The view is for the organisation's administrator only (403 for other employees)."""

    @functools.wraps(view)
    @login_required
    def checked(*args: Any, **kwargs: Any) -> Any:
        if not g.user.administrator:
            abort(403)
        return view(*args, **kwargs)

    return cast(F, checked)


def my_units(user: User) -> list[ParticipantInfo]:
    """The business units ``user`` works for: those of the organisation (and branch) the
    administrator linked them to. The administrator manages every unit, but works for the
    ones they linked themselves to, as everyone."""
    units = organisations().units(user.kvk_nummer, user.vestiging)
    linked = organisations().employee(user.kvk_nummer, user.employee_id).units
    return [unit for unit in units if unit.id in linked]


def my_unit(user: User, participant_id: str) -> ParticipantInfo:
    """One of :func:`my_units`; 404 otherwise."""
    try:
        unit = organisations().unit(user.kvk_nummer, participant_id)
    except NotFound:
        abort(404)
    if unit.id not in {u.id for u in my_units(user)}:
        abort(404)
    return unit
