"""What the browser tests do on every page: log in through the broker as a person would, run
axe-core (WCAG 2.1 AA) and keep a screenshot."""

from __future__ import annotations

import re

from tests.portal.conftest import ACCOUNTS, OP, SCREENSHOTS

AXE = OP / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def check(page, name: str) -> None:
    """No axe-core violation of impact serious or critical on the page; a screenshot of it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
                           WCAG_AA)
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
           for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"{name}: {bad}"


def log_in(page, portal_url: str, who: str) -> None:
    """From the portal's login page through the broker's login page, back to the portal."""
    page.goto(f"{portal_url}/inloggen")
    page.get_by_role("link", name="Inloggen met eHerkenning").click()
    page.get_by_label("Account").select_option(label=ACCOUNTS[who]["label"])
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(re.compile(re.escape(portal_url) + r"/.*"))


def log_out(page, portal_url: str) -> None:
    """Out of the portal and, at the broker, out of eHerkenning too."""
    page.get_by_role("button", name=re.compile("Uitloggen")).click()
    page.get_by_role("button", name="Uitloggen").click()  # the broker asks to confirm
    page.wait_for_url(f"{portal_url}/uitgelogd")
