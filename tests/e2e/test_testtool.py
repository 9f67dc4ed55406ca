"""`skp testtool run` against a real hub with the test partner, and against a broken one."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from skp import partner as tp
from skp.cli import cli
from skp.client import Identity
from skp.partner import TestPartner, ensure_partners
from skp.testtool import As, Run

WSDL = Path(__file__).parents[2] / "wsdl"


@pytest.fixture
def partner(hub, people):
    ensure_partners(hub.participants)
    worker, stop = TestPartner(hub.mailbox), threading.Event()

    def loop():
        while not stop.wait(0.1):
            worker.work()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=10)


@pytest.mark.parametrize(("role", "who"), [(As.SHV, "shv"), (As.SE, "se"),
                                           (As.KREDIETBANK, "kredietbank")])
def test_every_routine_passes(role, who, server, pki, partner):
    person = pki.people[who]
    lines = []
    run = Run(server, Identity(person.cert, person.key, pki.ca_file), role, wsdl_dir=WSDL,
              wait=20, say=lines.append)
    assert run.run(), "\n".join(lines)
    assert len(run.results) >= 5
    report = etree.fromstring(run.junit())
    assert report.get("failures") == "0"
    assert int(report.get("tests")) == len(run.results)
    cases = [(case.get("classname"), case.get("name")) for case in report.iter("testcase")]
    assert len(set(cases)) == len(cases), "JUnit test names repeat"
    assert any("fault Client.NotAllowed" in line for line in lines)


def test_a_broken_operation_fails_with_a_clear_report(server, hub, pki, partner,
                                                      monkeypatch, tmp_path):
    confirm = hub.mailbox.confirm

    def broken(recipient_id, message_id):
        if recipient_id in {p.id for p in tp.PARTNERS}:
            return confirm(recipient_id, message_id)
        raise RuntimeError("BevestigOntvangst is broken on purpose")

    monkeypatch.setattr(hub.mailbox, "confirm", broken)
    person = pki.people["kredietbank"]
    report = tmp_path / "report.xml"
    result = CliRunner().invoke(cli, [
        "testtool", "run", "--url", server, "--cert", str(person.cert), "--key",
        str(person.key), "--ca", str(pki.ca_file), "--as", "kredietbank", "--wsdl-dir",
        str(WSDL), "--report", str(report), "--wait", "5"])
    assert result.exit_code == 1, result.output
    assert "[PASS] waarborgfonds: connectivity: Ping" in result.output
    assert "[FAIL] waarborgfonds: send AanvraagBorgstelling" in result.output
    assert "unexpected fault Server.Error" in result.output
    suite = etree.fromstring(report.read_bytes())
    assert int(suite.get("failures")) >= 1
    failure = suite.find(".//failure")
    assert "Server.Error" in failure.get("message")
