"""Logging in and out: eHerkenning through a broker over OpenID Connect (authorization code
with PKCE, state and nonce: Authlib), and in development a login as a demo employee.

The broker's ID token carries the claims :func:`skp.domain.organisation.login` reads; a login
below EH3, for another service or without the claims is refused and written to the audit
trail. Logging out ends the session here and at the broker (its end_session_endpoint).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from authlib.integrations.requests_client import OAuth2Session
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    session,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from skp.config import Environment, Settings
from skp.demo import DEV_EMPLOYEES
from skp.domain.organisation import MINIMUM_ASSURANCE, ClaimNames, Login, login
from skp.errors import LoginRefused
from skp.portal.access import User, login_required, organisations
from skp.portal.forms import DevLoginForm, NameForm
from skp.portal.sessions import ServerSession

blueprint = Blueprint("auth", __name__)


def init(app: Flask, settings: Settings) -> None:
    """Register the broker with Authlib when one is configured."""
    portal = settings.portal
    app.extensions["skp.settings"] = settings
    app.extensions["skp.claims"] = ClaimNames(
        portal.claim_legal_subject, portal.claim_acting_subject, portal.claim_vestiging,
        portal.claim_service, portal.claim_assurance)
    if portal.oidc_issuer is None:
        return
    secret = (portal.oidc_client_secret_file.read_text().strip()
              if portal.oidc_client_secret_file else None)
    oauth = OAuth(app)
    broker = oauth.register(  # type: ignore[no-untyped-call]  # untyped in its stubs
        "broker", client_id=portal.oidc_client_id, client_secret=secret,
        server_metadata_url=f"{portal.oidc_issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid", "code_challenge_method": "S256",
                       "token_endpoint_auth_method": "client_secret_basic" if secret
                       else "none"})
    broker.client_cls = _session_trusting(portal.oidc_ca)
    app.extensions["skp.broker"] = broker


def _session_trusting(ca: Path | None) -> type[OAuth2Session]:
    """Authlib's requests session, trusting only ``ca`` (or the system's CAs), never the
    environment's bundle."""

    class BrokerSession(OAuth2Session):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.trust_env = False
            if ca is not None:
                self.verify = str(ca)

    return BrokerSession


def _settings() -> Settings:
    settings: Settings = current_app.extensions["skp.settings"]
    return settings


def _broker() -> Any:
    return current_app.extensions.get("skp.broker")


def _development() -> bool:
    return _settings().environment is Environment.DEVELOPMENT


def _start(who: Login, id_token: str | None, name: str | None = None) -> BaseResponse:
    """A new session (new token) for the employee of ``who``; ``name`` is the name of a new
    employee that the development login knows already."""
    employee = organisations().sign_in(who)
    if name and not employee.display_name:
        employee = organisations().name(who.kvk_nummer, employee.id, name)
    session.clear()
    assert isinstance(session, ServerSession)  # noqa: S101 - the portal's session interface
    session.regenerate()
    session["user"] = User(employee.id, who.kvk_nummer, who.administrator, who.vestiging,
                           employee.display_name).as_session()
    if id_token:
        session["id_token"] = id_token
    return redirect(url_for("auth.welcome") if not employee.display_name
                    else url_for("home.index"))


@blueprint.get("/inloggen")
def login_page() -> str:
    form = DevLoginForm()
    return render_template("auth/login.html", broker=_broker() is not None,
                           development=_development(), form=form)


@blueprint.get("/inloggen/eherkenning")
def start() -> BaseResponse:
    broker = _broker()
    if broker is None:
        abort(404)
    # acr_values asks the broker for EH3 or higher; the answer's acr is checked all the same.
    return broker.authorize_redirect(  # type: ignore[no-any-return]
        f"{_settings().portal.public_url}/inloggen/terug", acr_values=MINIMUM_ASSURANCE)


@blueprint.get("/inloggen/terug")
def callback() -> BaseResponse | tuple[str, int]:
    broker = _broker()
    if broker is None:
        abort(404)
    try:
        token = broker.authorize_access_token()
    except OAuthError:
        return render_template("auth/refused.html", reason="Het inloggen is afgebroken of "
                               "mislukt. Probeer het opnieuw."), 400
    portal = _settings().portal
    claims = token.get("userinfo") or {}
    try:
        who = login(claims, current_app.extensions["skp.claims"],
                    portal_service=portal.portal_service, beheer_service=portal.beheer_service)
    except LoginRefused as refused:
        organisations().refused(_kvk(claims), refused.reason)
        return render_template("auth/refused.html", reason=refused.message), 403
    return _start(who, token.get("id_token"))


def _kvk(claims: dict[str, Any]) -> str | None:
    value = claims.get(current_app.extensions["skp.claims"].legal_subject)
    return value if isinstance(value, str) and value.isdigit() and len(value) == 8 else None


@blueprint.post("/inloggen/ontwikkeling")
def development_login() -> BaseResponse:
    """Log in as a demo employee: development only (404 in production)."""
    if not _development():
        abort(404)
    form = DevLoginForm()
    if not form.validate_on_submit():
        abort(400)
    persona = next(p for p in DEV_EMPLOYEES if p.key == form.persona.data)
    return _start(persona.login, None, persona.name)


@blueprint.route("/welkom", methods=["GET", "POST"])
@login_required
def welcome() -> str | BaseResponse:
    """At the first login: the name the employee goes by."""
    form = NameForm()
    if form.validate_on_submit():
        employee = organisations().name(g.user.kvk_nummer, g.user.employee_id,
                                        form.naam.data or "")
        session["user"] = {**session["user"], "name": employee.display_name}
        return redirect(url_for("home.index"))
    return render_template("auth/welcome.html", form=form)


@blueprint.post("/uitloggen")
def logout() -> BaseResponse:
    id_token = session.get("id_token")
    session.clear()
    broker = _broker()
    if broker is not None and id_token:
        end = broker.load_server_metadata().get("end_session_endpoint")
        if end:
            return redirect(f"{end}?" + urlencode({
                "id_token_hint": id_token, "client_id": _settings().portal.oidc_client_id,
                "post_logout_redirect_uri": f"{_settings().portal.public_url}/uitgelogd"}))
    return redirect(url_for("auth.logged_out"))


@blueprint.get("/uitgelogd")
def logged_out() -> str:
    return render_template("auth/logged_out.html")
