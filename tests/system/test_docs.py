"""docs/integrators.md against what it describes: every participant id it names is on the hub
`make run` starts (the demo participants answer Ping with it over mTLS; the test partners are
in its register), and every operation it names is in the WSDLs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from lxml import etree

from tests.system.serving import ROOT, make_run, make_run_env

DOC = (ROOT / "docs" / "integrators.md").read_text()
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
#: The rows of the table of participants: name | `role` | `id` | `certs/<name>.pem` or not.
ROWS = re.findall(rf"^\| ([^|]+) \| `(\w+)` \| `({UUID})` \| ([^|]+) \|$", DOC, re.MULTILINE)
WSDL = "http://schemas.xmlsoap.org/wsdl/"
PING = (b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        b'<Ping xmlns="urn:skp:schuldregeling:2.0"/></soap:Body></soap:Envelope>')


def operations(module: str) -> set[str]:
    tree = etree.parse(ROOT / "wsdl" / f"{module}.wsdl")
    return {op.get("name") for op in tree.iterfind(f"{{{WSDL}}}portType/{{{WSDL}}}operation")}


MODULES = sorted(path.stem for path in (ROOT / "wsdl").glob("*.wsdl"))


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    state = tmp_path_factory.mktemp("docs-hub")
    with make_run(state) as running:
        yield running, state


def test_the_doc_names_participants_only_in_its_table():
    assert len(ROWS) == 8
    assert sorted(set(re.findall(UUID, DOC))) == sorted(row[2] for row in ROWS)


def test_every_participant_the_doc_names_is_on_the_hub(hub):
    running, state = hub
    skp = Path(sys.executable).parent / "skp"
    env = make_run_env(state, int(running.url.rsplit(":", 1)[1]))
    listed = subprocess.run([str(skp), "participants", "list"], env=env,  # noqa: S603
                            capture_output=True, text=True, timeout=60, check=True).stdout
    register = {line.split()[0]: line.split()[1] for line in listed.splitlines()}
    for name, role, participant_id, certificate in ROWS:
        assert register.get(participant_id) == role, (name, participant_id)
        found = re.fullmatch(r"`certs/([\w-]+)\.pem`", certificate.strip())
        if found is None:
            assert certificate.strip() == "test partner"
            continue
        session = requests.Session()
        session.trust_env = False
        session.verify = str(running.certs / "ca.pem")
        session.cert = (str(running.certs / f"{found[1]}.pem"),
                        str(running.certs / f"{found[1]}.key"))
        answer = session.post(f"{running.url}/schuldregeling", data=PING, timeout=30,
                              headers={"Content-Type": "text/xml; charset=utf-8"})
        assert answer.status_code == 200, answer.text
        ping = etree.fromstring(answer.content)
        ns = {"t": "urn:skp:schuldregeling:2.0"}
        assert ping.findtext(".//t:DeelnemerId", namespaces=ns) == participant_id, name
        assert ping.findtext(".//t:Rol", namespaces=ns) == role, name


def test_every_operation_the_doc_names_is_in_the_wsdls():
    everywhere = set.intersection(*(operations(m) for m in MODULES))
    anywhere = set.union(*(operations(m) for m in MODULES))
    table = DOC.partition("## Operations of every module\n\n")[2].partition("\n\n")[0]
    common = re.findall(r"^\| `(\w+)[(`]", table, re.MULTILINE)
    assert {"Berichtenlijst", "HaalBerichtOp", "Ping"} <= set(common)
    assert set(common) - everywhere == set()
    named = set(re.findall(r"\bVerstuur[A-Z]\w*", DOC))
    assert "VerstuurKennisgeving" in named
    assert named - anywhere == set()
