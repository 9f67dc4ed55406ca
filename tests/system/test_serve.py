"""`skp serve` as a process: in production every line it writes is JSON, the start-up line names
the public URL, and `--port` writes its port into the WSDL address or refuses."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import requests

from skp import pki
from skp.server import affinity
from tests.system.serving import SKP, cpus_of, free_port, stop, wait_for


@pytest.fixture
def env(tmp_path):
    certs = tmp_path / "certs"
    pki.init_dev(certs)
    env = {**os.environ, "SKP_DATABASE_URL": f"sqlite:///{tmp_path / 'skp.sqlite3'}",
           "SKP_KEK_FILE": str(tmp_path / "kek.json"),
           "SKP_TLS_CERT": str(certs / "server.pem"), "SKP_TLS_KEY": str(certs / "server.key"),
           "SKP_TLS_CLIENT_CA": str(certs / "ca.pem")}
    for name in ("SKP_BIND_PORT", "SKP_PUBLIC_URL", "SKP_ENVIRONMENT", "SKP_TEST_PARTNER"):
        env.pop(name, None)
    return env


def run(env, *args):
    return subprocess.run([SKP, *args], env=env, capture_output=True, text=True,  # noqa: S603
                          timeout=60, check=False)


def serving(env, tmp_path, *args):
    """Start `skp serve` with ``args``; (process, output file) once it serves."""
    log = tmp_path / f"serve-{len(list(tmp_path.glob('serve-*')))}.log"
    with log.open("wb") as out:
        process = subprocess.Popen([SKP, "serve", *args], env=env,  # noqa: S603
                                   stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    wait_for(process, log, b"skp serves", timeout=60)
    return process, log


def test_production_writes_json_on_every_line(env, tmp_path):
    env = {**env, "SKP_ENVIRONMENT": "production"}
    assert run(env, "keys", "init").returncode == 0
    migrated = run(env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    (line,) = (migrated.stdout + migrated.stderr).splitlines()
    assert json.loads(line)["message"].endswith("is up to date")
    refused = run(env, "participants", "add-demo")
    assert refused.returncode == 2 and refused.stdout == ""
    (line,) = refused.stderr.splitlines()
    assert json.loads(line)["level"] == "ERROR"
    assert json.loads(line)["message"] == ("participants add-demo is for development hubs "
                                           "only, and SKP_ENVIRONMENT is production")

    process, log = serving(env, tmp_path, "--port", "0")
    try:
        banner = next(json.loads(line) for line in log.read_text().splitlines()
                      if "skp serves" in line)
        session = requests.Session()
        session.trust_env = False
        session.verify = env["SKP_TLS_CLIENT_CA"]
        session.cert = (env["SKP_TLS_CERT"], env["SKP_TLS_KEY"])
        answer = session.get(f"https://{banner['listen']}/healthz", timeout=10)
        assert answer.status_code == 200
        wait_for(process, log, b'"message": "request"', timeout=10)
    finally:
        stop(process)
    records = [json.loads(line) for line in log.read_text().splitlines()]  # every line
    port = banner["listen"].rsplit(":", 1)[1]
    assert banner["public_url"] == f"https://localhost:{port}"
    request = next(r for r in records if r["message"] == "request")
    assert request["status"] == 200


def test_the_banner_names_the_public_url(env, tmp_path):
    port = free_port()
    env = {**env, "SKP_PUBLIC_URL": f"https://skp.example.nl:{port}",
           "SKP_BIND_PORT": str(port)}
    assert run(env, "migrate").returncode == 0
    process, log = serving(env, tmp_path)
    try:
        output = log.read_text()
    finally:
        stop(process)
    assert f"skp serves https://skp.example.nl:{port} (listening on 127.0.0.1:{port};" in output
    assert f"https://skp.example.nl:{port}/schuldregeling?wsdl" in output


def test_port_0_writes_the_chosen_port_into_the_wsdl_address(env, tmp_path):
    assert run(env, "migrate").returncode == 0
    process, log = serving(env, tmp_path, "--port", "0")
    try:
        found = re.search(r"skp serves https://localhost:(\d+) \(listening on 127\.0\.0\.1:(\d+)",
                          log.read_text())
    finally:
        stop(process)
    assert found is not None and found.group(1) == found.group(2) != "8443"


def test_port_is_refused_where_the_public_url_is_not_the_hubs(env):
    env = {**env, "SKP_PUBLIC_URL": "https://skp.example.nl", "SKP_BIND_PORT": "8443"}
    assert run(env, "migrate").returncode == 0
    done = run(env, "serve", "--port", "9443")
    assert done.returncode == 2
    assert done.stderr.startswith("Error: --port cannot tell the WSDL address: SKP_PUBLIC_URL "
                                  "(https://skp.example.nl) names another port than "
                                  "SKP_BIND_PORT (8443)")


@pytest.mark.parametrize("pinned", [True, False])
def test_serve_keeps_itself_on_one_cpu_unless_told_not_to(env, tmp_path, pinned):
    allowed = affinity.allowed()
    if len(allowed) < 2:
        pytest.skip("one CPU: pinned and not pinned cannot be told apart")
    env = {**env, "SKP_PIN_CPUS": "true" if pinned else "false"}
    assert run(env, "migrate").returncode == 0
    process, log = serving(env, tmp_path, "--port", "0")
    try:
        # Every thread: the server's pool, the front door, the scheduler, the database's.
        assert len(list(Path(f"/proc/{process.pid}/task").iterdir())) > 10
        masks = cpus_of(process.pid)
    finally:
        stop(process)
    if pinned:  # the one the system had it on
        ((cpu,),) = masks
        assert cpu in allowed
        assert f"; on CPU {cpu}; modules at" in log.read_text()
    else:
        assert masks == {frozenset(allowed)}
        assert "; on CPU" not in log.read_text()
