"""The integrator samples in examples/ against a hub started by `make run`.

Each sample pings as the demo debt service, finds a demo creditor in the address book
(ZoekDeelnemers), sends it a Kennisgeving, and as that creditor lists, fetches and confirms it
and is refused a second fetch (reading the fault's detail as the WSDL declares it), printing
one ``step: key=value ...`` line per step. The Python sample always runs. The others need their
toolchain: PHP with the soap extension, ``node``/``npm``, a JDK with ``wsimport`` and the JAX-WS
RI, mono's ``wsdl``/``mcs`` and ``openssl``; without it they are skipped, except when ``CI`` is
set, where they fail (.ci/run installs them). The C# sample runs against a hub with a
development PKI of RSA keys, which mono needs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from skp.demo import CAST
from tests.helpers import require
from tests.system.serving import ROOT, make_run

EXAMPLES = ROOT / "examples"
SHV = next(demo.id for demo in CAST if demo.slug == "shv")
NOORD = next(demo.id for demo in CAST if demo.slug == "energie-noord")
STEPS = ["ping", "found", "sent", "listed", "fetched", "confirmed", "refused"]


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with make_run(tmp_path_factory.mktemp("samples-hub")) as running:
        yield running


@pytest.fixture(scope="module")
def rsa_hub(tmp_path_factory):
    """`make run` on a development PKI of RSA keys (`skp pki init-dev --key rsa`)."""
    state = tmp_path_factory.mktemp("samples-rsa-hub")
    subprocess.run([str(Path(sys.executable).parent / "skp"), "pki", "init-dev",  # noqa: S603
                    "--dir", str(state / "certs"), "--key", "rsa"], check=True,
                   capture_output=True, timeout=120)
    with make_run(state) as running:
        yield running


def _php_has_soap() -> bool:
    if shutil.which("php") is None:
        return False
    modules = subprocess.run(["php", "-m"], capture_output=True, text=True,  # noqa: S607
                             check=False).stdout
    return "soap" in modules.lower().split()


def python_sample():
    return [sys.executable, "client.py"]


def php_sample():
    require(_php_has_soap(), "php with the soap extension (apt-get install php-cli php-soap)")
    return ["php", "client.php"]


def node_sample():
    directory = EXAMPLES / "node"
    require(shutil.which("node") is not None, "node (apt-get install nodejs npm)")
    if not (directory / "node_modules" / "soap").is_dir():
        require(shutil.which("npm") is not None, "npm (apt-get install npm)")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=directory,  # noqa: S607
                       check=True, capture_output=True, timeout=300)
    return ["node", "client.js"]


def java_sample():
    require(all(shutil.which(tool) for tool in ("wsimport", "javac", "java"))
            and JAXWS_RUNTIME.exists(), "a JDK and the JAX-WS RI (apt-get install "
            "openjdk-17-jdk-headless jaxws)")
    return ["./run.sh"]


def csharp_sample():
    require(all(shutil.which(tool) for tool in ("wsdl", "mcs", "mono", "openssl")),
            "mono with wsdl and mcs, and openssl (apt-get install mono-devel openssl)")
    return ["./run.sh"]


JAXWS_RUNTIME = Path("/usr/share/java/jaxws-rt.jar")  # examples/java/run.sh: JAXWS_CLASSPATH


@pytest.mark.parametrize(("folder", "command", "pki"), [
    ("python", python_sample, "hub"), ("php", php_sample, "hub"),
    ("node", node_sample, "hub"), ("java", java_sample, "hub"),
    ("csharp", csharp_sample, "rsa_hub")])
def test_sample_sends_and_receives_a_kennisgeving(request, folder, command, pki):
    hub = request.getfixturevalue(pki)
    # The hub's URL as argument, the certificates through SKP_CERTS (docs/integrators.md).
    result = subprocess.run([*command(), hub.url], cwd=EXAMPLES / folder,  # noqa: S603
                            env={**os.environ, "SKP_CERTS": str(hub.certs)},
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    steps = _steps(result.stdout)
    assert list(steps) == STEPS, result.stdout

    assert steps["ping"] == {"DeelnemerId": SHV, "Rol": "SHV_FASE2"}
    assert steps["found"] == {"DeelnemerId": NOORD, "Rol": "SE", "GebruiktBsn": "false"}
    sent, listed = steps["sent"], steps["listed"]
    assert sent.pop("UiterlijkOphalenOp")
    assert sent.pop("Kenmerk").startswith("SAMPLE-")
    message_id = sent["BerichtId"]
    assert sent == {"BerichtId": message_id, "Herhaald": "false"}
    assert int(listed.pop("Achterstand")) >= 1
    assert listed == {"BerichtId": message_id, "Berichttype": "Kennisgeving", "Status": "queued"}
    assert steps["fetched"] == {"BerichtId": message_id, "Berichttype": "Kennisgeving",
                                "Status": "fetched", "Afzender": SHV}
    assert steps["confirmed"] == {"BerichtId": message_id, "Status": "confirmed"}
    # The fault's detail, read as each stack reads the WSDL's fault element.
    assert steps["refused"].pop("Code") == "Client.InvalidState"
    assert re.fullmatch("[0-9a-f]{32}", steps["refused"].pop("RequestId"))
    assert steps["refused"] == {}
    # Metadata only: none of the body's names reaches the output.
    assert "Voorbeeld" not in result.stdout
    assert "Schuldhulp" not in result.stdout


def test_samples_use_a_fresh_kenmerk_and_conversation_each_run(hub):
    """Two runs are two messages: a fixed Kenmerk would return the first receipt again."""
    runs = [subprocess.run([*python_sample(), hub.url], cwd=EXAMPLES / "python",  # noqa: S603
                           env={**os.environ, "SKP_CERTS": str(hub.certs)},
                           capture_output=True, text=True, timeout=120, check=True)
            for _ in range(2)]
    first, second = (_steps(run.stdout)["sent"] for run in runs)
    assert first["Kenmerk"] != second["Kenmerk"]
    assert first["BerichtId"] != second["BerichtId"]


def test_sample_exits_non_zero_when_a_step_fails(hub, tmp_path):
    """A CA that did not sign the hub's certificate: the TLS handshake fails, so does the run."""
    certs = tmp_path / "certs"
    shutil.copytree(hub.certs, certs)
    (certs / "ca.pem").write_bytes((hub.certs / "shv.pem").read_bytes())
    result = subprocess.run([*python_sample(), hub.url], cwd=EXAMPLES / "python",  # noqa: S603
                            env={**os.environ, "SKP_CERTS": str(certs)},
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    assert "ping:" not in result.stdout
    assert "error:" in result.stderr


def _steps(stdout: str) -> dict[str, dict[str, str]]:
    """``step: key=value key=value`` lines as {step: {key: value}}, in order."""
    steps = {}
    for line in stdout.splitlines():
        step, _, rest = line.partition(": ")
        steps[step] = dict(pair.split("=", 1) for pair in rest.split())
    return steps
