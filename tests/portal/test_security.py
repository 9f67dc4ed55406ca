"""The portal's web security, through Flask's test client over the real app and database:
headers and cookie flags on every route, CSRF, who may open what, session lifetimes, and the
development login only in development."""

from __future__ import annotations

import datetime as dt

import pytest

from skp.config import Environment, PortalSettings, Settings
from skp.hub import Hub
from skp.portal import create_app
from skp.portal.sessions import COOKIE
from tests.portal.conftest import BASE, NOORD, ZUID, logged_in, token

HEADERS = {
    "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains"}
def routes(app):
    """Every GET route with its arguments filled in."""
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.endpoint != "static":
            yield rule.rule.replace("<participant_id>", NOORD.id)


def test_every_route_has_the_security_headers(app, hub):
    anna = logged_in(app, "energie-beheer")
    for path in [*routes(app), "/static/portal.css", "/bestaat-niet"]:
        answer = anna.get(path, base_url=BASE)
        for name, value in HEADERS.items():
            assert answer.headers.get(name) == value, (path, name)
        policy = answer.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        answer.close()


def test_the_session_cookie(app):
    client = app.test_client()
    answer = client.post("/inloggen/ontwikkeling", base_url=BASE,
                         data={"csrf_token": token(client), "persona": "energie-noord"})
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert flag in cookie
    assert "Domain" not in cookie and "Expires" not in cookie


def test_a_login_gives_a_new_session(app):
    client = app.test_client()
    token(client)
    before = client.get_cookie(COOKIE, domain="localhost").value
    client.post("/inloggen/ontwikkeling", base_url=BASE,
                data={"csrf_token": token(client), "persona": "energie-noord"})
    assert client.get_cookie(COOKIE, domain="localhost").value != before


def test_a_form_without_its_token_is_refused_and_changes_nothing(app, hub):
    anna = logged_in(app, "energie-beheer")
    answer = anna.post(f"/organisatie/eenheid/{NOORD.id}", base_url=BASE,
                       data={"action": "iban", "iban-iban": "NL91ABNA0417164300",
                             "iban-tenaamstelling": "Energie BV"})
    assert answer.status_code == 400
    assert "Formulier verlopen" in answer.get_data(as_text=True)
    assert hub.organisations.bank_accounts("90000002", NOORD.id) == []
    assert anna.post("/uitloggen", base_url=BASE).status_code == 400


def test_nobody_reaches_another_units_or_organisations_data(app, hub):
    anna = logged_in(app, "energie-beheer")
    hub.organisations.add_bank_account("90000002", "x", NOORD.id, "NL91ABNA0417164300",
                                       "Energie BV")
    (account,) = hub.organisations.bank_accounts("90000002", NOORD.id)
    bram = logged_in(app, "energie-noord")
    bram_id = hub.organisations.employees("90000002")[-1].id
    hub.organisations.link("90000002", "x", bram_id, NOORD.id, True)
    chris = logged_in(app, "energie-zuid")  # same organisation, no unit of his own
    dewi = logged_in(app, "gemeente-beheer")  # another organisation's administrator
    emre = logged_in(app, "gemeente")  # another organisation's employee
    secret = ("NL91", "ABNA", NOORD.name, "Energie BV")
    assert bram.get(f"/eenheid/{NOORD.id}", base_url=BASE).status_code == 200
    assert anna.get(f"/organisatie/eenheid/{NOORD.id}", base_url=BASE).status_code == 200
    forbidden = [
        (chris, "GET", f"/eenheid/{NOORD.id}", 404), (bram, "GET", f"/eenheid/{ZUID.id}", 404),
        (emre, "GET", f"/eenheid/{NOORD.id}", 404), (dewi, "GET", f"/eenheid/{NOORD.id}", 404),
        (bram, "GET", "/organisatie/", 403),
        (chris, "GET", f"/organisatie/eenheid/{NOORD.id}", 403),
        (dewi, "GET", f"/organisatie/eenheid/{NOORD.id}", 404),
        (dewi, "POST", f"/organisatie/eenheid/{NOORD.id}", 404),
        (dewi, "POST", f"/organisatie/medewerker/{bram_id}", 404),
        (dewi, "POST", f"/organisatie/rekening/{account.id}/verwijderen", 404),
        (dewi, "POST", f"/organisatie/eenheid/{NOORD.id}/meldingen/verwijderen", 404),
        (emre, "POST", f"/organisatie/rekening/{account.id}/verwijderen", 403),
    ]
    for client, method, path, status in forbidden:
        data = {"csrf_token": token(client, "/")} if method == "POST" else None
        answer = client.open(path, method=method, data=data, base_url=BASE)
        assert answer.status_code == status, (method, path)
        body = answer.get_data(as_text=True)
        assert not any(s in body for s in secret), (method, path)
    assert dewi.get("/organisatie/", base_url=BASE).status_code == 200
    assert NOORD.name not in dewi.get("/organisatie/", base_url=BASE).get_data(as_text=True)
    assert len(hub.organisations.bank_accounts("90000002", NOORD.id)) == 1
    assert hub.organisations.employee("90000002", bram_id).units == {NOORD.id}


def test_sessions_end_after_15_idle_minutes_and_after_8_hours(app, hub):
    client = logged_in(app, "energie-noord")
    assert client.get("/", base_url=BASE).status_code == 200
    hub.clock.advance(dt.timedelta(minutes=14))
    assert client.get("/", base_url=BASE).status_code == 200
    hub.clock.advance(dt.timedelta(minutes=16))
    assert client.get("/", base_url=BASE).headers["Location"] == "/inloggen"
    client = logged_in(app, "energie-noord")
    for _ in range(40):  # busy all day, a request every quarter of an hour
        hub.clock.advance(dt.timedelta(minutes=14, seconds=59))
        answer = client.get("/", base_url=BASE)
        if answer.status_code != 200:
            break
    assert answer.headers["Location"] == "/inloggen"
    assert hub.clock.now() - dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC) > dt.timedelta(hours=8)


def test_logout_ends_the_session(app):
    client = logged_in(app, "energie-noord")
    answer = client.post("/uitloggen", base_url=BASE, data={"csrf_token": token(client, "/")})
    assert answer.headers["Location"] == "/uitgelogd"
    assert client.get("/", base_url=BASE).headers["Location"] == "/inloggen"


def test_the_development_login_is_refused_in_production(engine, sessions, keyring, tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(b"s" * 32)
    hub = Hub.build(Settings(environment=Environment.PRODUCTION,
                             portal=PortalSettings(secret_file=secret)),
                    engine=engine, keyring=keyring)
    app = create_app(hub)
    client = app.test_client()
    page = client.get("/inloggen", base_url=BASE).get_data(as_text=True)
    assert "demo-medewerker" not in page and "csrf_token" not in page
    app.config["WTF_CSRF_ENABLED"] = False  # so that the view itself is what refuses
    answer = client.post("/inloggen/ontwikkeling", base_url=BASE,
                         data={"persona": "energie-beheer"})
    assert answer.status_code == 404
    assert hub.organisations.employees("90000002") == []


def test_production_needs_the_portal_secret(engine, sessions, keyring, tmp_path):
    from skp.errors import ConfigError

    hub = Hub.build(Settings(environment=Environment.PRODUCTION,
                             portal=PortalSettings(secret_file=tmp_path / "none")),
                    engine=engine, keyring=keyring)
    with pytest.raises(ConfigError, match="SKP_PORTAL_SECRET_FILE"):
        create_app(hub)
    assert not (tmp_path / "none").exists()


def test_the_purge_deletes_ended_sessions(app, hub):
    from skp.jobs import purge_job
    from skp.store.organisation import PortalSession
    from skp.store.session import transaction

    stale = logged_in(app, "energie-noord")
    hub.clock.advance(dt.timedelta(minutes=16))
    fresh = logged_in(app, "energie-zuid")
    assert purge_job(hub) is not None
    with transaction(hub.sessions, read_only=True) as session:
        assert session.query(PortalSession).count() == 1
    assert fresh.get("/", base_url=BASE).status_code == 200
    assert stale.get("/", base_url=BASE).headers["Location"] == "/inloggen"
