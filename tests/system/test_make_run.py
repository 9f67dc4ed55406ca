"""`make run` on a fresh state: it sets everything up and serves; Ping answers over mTLS."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import requests

from skp.demo import CAST
from tests.system.serving import make_run, make_run_env

PING = (b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        b'<Ping xmlns="urn:skp:schuldregeling:2.0"><Tekst>rook</Tekst></Ping>'
        b"</soap:Body></soap:Envelope>")


def test_make_run_serves_ping_to_a_demo_participant(tmp_path):
    with make_run(tmp_path) as hub:
        assert b"added" in hub.output
        session = requests.Session()
        session.trust_env = False
        session.verify = str(hub.certs / "ca.pem")
        session.cert = (str(hub.certs / "shv.pem"), str(hub.certs / "shv.key"))
        response = session.post(f"{hub.url}/schuldregeling", data=PING,
                                headers={"Content-Type": "text/xml; charset=utf-8",
                                         "SOAPAction": '"Ping"'}, timeout=10)
        assert response.status_code == 200
        assert CAST[0].id.encode() in response.content
        assert b"rook" in response.content


def test_make_run_serves_the_portal_with_its_development_login(tmp_path):
    with make_run(tmp_path) as hub:
        session = requests.Session()
        session.trust_env = False
        session.verify = str(hub.certs / "ca.pem")
        page = session.get(f"{hub.portal}/inloggen", timeout=10)
        assert page.status_code == 200
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
        assert token and "demo-medewerker" in page.text
        home = session.post(f"{hub.portal}/inloggen/ontwikkeling", timeout=10,
                            data={"csrf_token": token.group(1), "persona": "energie-noord"})
        assert home.status_code == 200 and "Goedendag, Bram Jansen" in home.text
        assert f"the portal serves {hub.portal}".encode() in hub.log.read_bytes()


def test_demo_and_testtool_against_make_run_on_another_port(tmp_path):
    """`make run PORT=…` serves there and writes it into the WSDLs; `skp demo` and
    `skp testtool` find the hub through SKP_PUBLIC_URL, and the report goes to var/."""
    skp = str(Path(sys.executable).parent / "skp")
    with make_run(tmp_path, port_argument=True) as hub:
        port = int(hub.url.rsplit(":", 1)[1])
        assert f"skp serves https://localhost:{port} ".encode() in hub.output
        session = requests.Session()
        session.trust_env = False
        session.verify = str(hub.certs / "ca.pem")
        session.cert = (str(hub.certs / "shv.pem"), str(hub.certs / "shv.key"))
        wsdl = session.get(f"{hub.url}/schuldregeling?wsdl", timeout=10).content
        assert f'location="https://localhost:{port}/schuldregeling"'.encode() in wsdl

        env = make_run_env(tmp_path, port)  # SKP_PUBLIC_URL as `make run PORT=…` set it
        certs = str(hub.certs)
        demo = subprocess.run([skp, "demo", "--certs", certs], env=env,  # noqa: S603
                              capture_output=True, text=True, timeout=120, check=False)
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "the hub added 2 zero-amount lines" in demo.stdout
        assert "BetaalvoorstelAntwoord (confirmed)" in demo.stdout
        tool = subprocess.run(  # noqa: S603
            [skp, "testtool", "run", "--cert", f"{certs}/energie-noord.pem",
             "--key", f"{certs}/energie-noord.key", "--ca", f"{certs}/ca.pem", "--as", "se"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert tool.returncode == 0, tool.stdout + tool.stderr
        assert " 0 failed" in tool.stdout
        assert b'failures="0"' in (tmp_path / "var" / "testtool-report.xml").read_bytes()
