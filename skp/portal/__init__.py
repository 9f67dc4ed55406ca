"""The web portal: organisations without a system link log in with eHerkenning, and their
administrator links employees to business units and manages the organisation's data.

A Flask application (:func:`create_app`) with a blueprint per area: ``auth`` (login through the
eHerkenning broker over OpenID Connect, a development login, logout), ``home`` (the employee's
business units), ``mailbox`` (a unit's messages: read, confirm, answer, send), ``csv`` (a
unit's CSV down- and upload) and ``organisation`` ("Mijn organisatie", for the
administrator). It calls the
same services as the SOAP side; sessions live in the database; every form carries a CSRF
token; every answer carries the security headers of :mod:`skp.portal.security`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError, CSRFProtect

from skp.config import Environment, Settings
from skp.errors import ConfigError
from skp.hub import Hub
from skp.portal import auth, csv, home, mailbox, organisation
from skp.portal.security import content_security_policy, secure
from skp.portal.sessions import DatabaseSessions


def create_app(hub: Hub) -> Flask:
    """The portal over ``hub``'s services."""
    settings = hub.settings
    app = Flask(__name__)
    app.secret_key = _secret(settings)
    app.config.update(
        MAX_CONTENT_LENGTH=4 * 1024 * 1024, WTF_CSRF_TIME_LIMIT=None,  # the session bounds it
        # Browsers send no Referer (Referrer-Policy: no-referrer) and a POST's Origin is then
        # "null": the token in the server-side session and the SameSite cookie carry CSRF.
        WTF_CSRF_SSL_STRICT=False,
        SESSION_COOKIE_SECURE=True, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        TEMPLATES_AUTO_RELOAD=False)
    app.extensions["skp.hub"] = hub
    app.session_interface = DatabaseSessions(hub.sessions, hub.clock)
    app.before_request(csv.allow_upload)  # before the CSRF check, which reads the form
    CSRFProtect(app)
    auth.init(app, settings)
    app.register_blueprint(auth.blueprint)
    app.register_blueprint(home.blueprint)
    app.register_blueprint(organisation.blueprint)
    app.register_blueprint(mailbox.blueprint)
    app.register_blueprint(csv.blueprint)
    policy = content_security_policy(settings.portal.oidc_issuer)
    app.after_request(lambda response: secure(response, policy))

    @app.errorhandler(CSRFError)
    def csrf_refused(_: CSRFError) -> tuple[str, int]:
        return render_template("error.html", title="Formulier verlopen",
                               text="Dit formulier is verlopen of niet van deze site. Open de "
                                    "pagina opnieuw en probeer het nog eens."), 400

    for code, title, text in (
            (403, "Geen toegang", "U heeft geen toegang tot deze pagina."),
            (404, "Niet gevonden", "Deze pagina bestaat niet, of hoort niet bij uw "
                                   "organisatie."),
            (413, "Te groot", "Wat u verstuurde is te groot.")):
        app.register_error_handler(code, _handler(code, title, text))
    return app


def _handler(code: int, title: str, text: str) -> Callable[[Exception], tuple[str, int]]:
    def handle(_: Exception) -> tuple[str, int]:
        return render_template("error.html", title=title, text=text), code

    return handle


def _secret(settings: Settings) -> bytes:
    """The key that signs the forms' CSRF tokens, from its file; invented once in
    development, required in production (every portal process must have the same one)."""
    path: Path = settings.portal.secret_file
    if not path.exists():
        if settings.environment is Environment.PRODUCTION:
            raise ConfigError(f"the portal's secret file {path} does not exist; create one "
                              "(e.g. `head -c 32 /dev/urandom > file`, mode 0600) and set "
                              "SKP_PORTAL_SECRET_FILE")
        path.parent.mkdir(parents=True, exist_ok=True)
        # Published whole or not at all: the worker processes of `skp serve` start at once,
        # and the first one's secret must be every one's.
        draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        draft.touch(mode=0o600)
        try:
            draft.write_bytes(secrets.token_bytes(32))
            with contextlib.suppress(FileExistsError):  # another process was first
                os.link(draft, path)
        finally:
            draft.unlink()
    secret = path.read_bytes()
    if len(secret) < 32:
        raise ConfigError(f"the portal's secret file {path} holds fewer than 32 bytes")
    return secret
