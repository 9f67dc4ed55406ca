"""Acceptance in the browser: a unit's page under Mijn organisatie shows its lifecycle state,
its latest run, what is awaited with the time left, and the findings; the run's HTML report
(skp acceptance report --html) is an accessible page too. axe-core runs on both."""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect

from skp.acceptance.report import html
from skp.domain.acceptance import Routine
from skp.domain.admission import Standing
from skp.jobs import acceptance_job
from skp.store.acceptance import RunState
from skp.store.session import transaction
from tests.portal.browser import check, log_in
from tests.portal.conftest import NOORD


def test_the_unit_page_and_the_report_show_the_run(organisations, page, browser, tmp_path):
    portal = organisations
    hub = portal.hub
    with transaction(hub.sessions) as session:  # the unit as newly registered, not yet active
        hub.participants.move(session, NOORD.id, lambda _: Standing.REGISTERED)
    run = hub.acceptance.runs.start(NOORD.id, [Routine.ROBUSTNESS])
    acceptance_job(hub)

    log_in(page, portal.url, "anna")
    page.get_by_label("Uw naam").fill("Anna de Vries")
    page.get_by_role("button", name="Opslaan").click()
    page.goto(f"{portal.url}/organisatie/eenheid/{NOORD.id}")
    section = page.get_by_role("region", name="Aansluiting en acceptatie")
    expect(section).to_contain_text("Status van de aansluiting: in acceptatie")
    expect(section).to_contain_text("loopt")
    expect(section.get_by_role("heading", name="Wat het Schuldenknooppunt nu van uw systeem "
                                                "verwacht")).to_be_visible()
    expect(section).to_contain_text("Resterende tijd: 15 minuten 0 seconden")
    expect(section.get_by_role("cell", name="wacht op u")).to_be_visible()
    check(page, "eenheid-acceptatie")

    while acceptance_job(hub):  # nobody answers: every step fails at its limit
        portal.clock.set(portal.clock.now() + dt.timedelta(minutes=16))
    finished = hub.acceptance.runs.get(run.id)
    assert finished.state is RunState.FAILED
    # The clock moved past the session's idle time: log in again, in a fresh context.
    context = browser.new_context(ignore_https_errors=True, bypass_csp=True, locale="nl-NL")
    page = context.new_page()
    log_in(page, portal.url, "anna")
    page.goto(f"{portal.url}/organisatie/eenheid/{NOORD.id}")
    section = page.get_by_role("region", name="Aansluiting en acceptatie")
    expect(section).to_contain_text("Status van de aansluiting: aangemeld, nog niet "
                                    "geaccepteerd")
    expect(section).to_contain_text("niet geslaagd")
    expect(section.get_by_role("listitem").first).to_contain_text("expected")
    check(page, "eenheid-acceptatie-niet-geslaagd")

    report = tmp_path / "run.html"
    report.write_bytes(html(finished, portal.clock.now()))
    page.goto(report.as_uri())
    expect(page.get_by_role("heading", name="Acceptance run: failed", level=1)).to_be_visible()
    table = page.get_by_role("table", name="Steps of the routine robustness")
    expect(table.get_by_role("row")).to_have_count(1 + len(finished.steps))
    expect(table.get_by_role("cell", name="failed").first).to_be_visible()
    check(page, "acceptatie-rapport")
    context.close()
