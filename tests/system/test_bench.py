"""Every script under bench/ runs in its smoke mode (seconds, tiny backlogs) and prints what
it exists to print; a module that is no script is used by one. The figures are not judged:
only that the benchmarks still run, so that they cannot break unnoticed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from skp import pki

ROOT = Path(__file__).parents[2]
BENCH = ROOT / "bench"
#: Each script with its smoke arguments and the lines its output must have.
SCRIPTS = {
    "run.py": (["--smoke"], ["ratio ops/ping: ", "(postgresql)", "(sqlite)",
                             "ratio workers 2/1: ", "ratio skp/spyne ping: ",
                             "ratio rss/message: ", "goal ops/ping (sqlite) >= 0.55: ",
                             "goal workers 2/1 (postgresql) >= 1.6: ", "ratio p99 ",
                             "[purge]"]),
    "servers.py": (["--smoke"], ["ping mTLS skp: ", "ping mTLS bare app: ",
                                 "Ping answered as the registered participant: True"]),
    "addressbook.py": (["--smoke"], ["SQLite     KvK number", "PostgreSQL KvK number"]),
    "quotas.py": (["--smoke"], ["[sqlite] on, at the limits", "[postgresql] on, at the limits",
                                "[in-process bucket]"]),
    "whatif.py": (["--smoke"], ["round 1 as is: ", "CPUs not pinned: "]),
    "spyneping.py": (["--smoke"], ["spyne Ping: HTTP 200, answered"]),
    "statements.py": (["--smoke"], ["PostgreSQL statements() + SELECT 1: ",
                                    "SQLite     first fetch, no such message"]),
    "pingcost.py": (["--smoke"], ["skp Ping, whole HubApp: ", "bare spyne Ping",
                                  "identity lookup", "request log line"]),
    "portal_mailbox.py": (["--smoke"], ["SQLite     first page (50)",
                                        "PostgreSQL first page (50)",
                                        "PostgreSQL a Saldoverzoek page after the middle"]),
    "keystores.py": (["--smoke"], ["file store: ", "PKCS#11 SoftHSM2: ",
                                   "WAL checkpoint (TRUNCATE) after 10000 4 KB rows"]),
    "csvfiles.py": (["--smoke"], ["sqlite: upload, sent all in one transaction",
                                  "postgresql: upload, sent all in one transaction",
                                  "postgresql: download of 20 Saldoverzoeken"]),
    "notifications.py": (["--smoke"], ["SQLite     decide 20 mails", "PostgreSQL decide 20 mails",
                                       "PostgreSQL a run with nothing due: "]),
    "acceptance.py": (["--smoke"], ["Berichtenlijst, in acceptance",
                                    "turn: judge the burst, end the run", "run passed"]),
}


def smoke(script: str, env: dict[str, str]) -> str:
    arguments, _ = SCRIPTS[script]
    done = subprocess.run([sys.executable, str(BENCH / script), *arguments],  # noqa: S603
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, f"{script} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done.stdout


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_every_script_runs_in_its_smoke_mode(script, pg_url, tmp_path):
    del pg_url  # fails or skips as every PostgreSQL test does
    certs = tmp_path / "certs"
    pki.init_dev(certs)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKP_")
           or k == "SKP_TEST_POSTGRES_URL"}
    env.update({"SKP_TLS_CERT": str(certs / "server.pem"),
                "SKP_TLS_KEY": str(certs / "server.key"),
                "SKP_TLS_CLIENT_CA": str(certs / "ca.pem")})
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    output = smoke(script, env)
    for expected in SCRIPTS[script][1]:
        assert expected in output, f"{script} no longer prints {expected!r}:\n{output}"
    for count in re.findall(r"(\d+) (?:errors|non-200)", output):
        assert count == "0", f"{script} counted errors:\n{output}"


def test_every_module_of_bench_is_a_script_or_used_by_one():
    modules = {path.stem for path in BENCH.glob("*.py")}
    used = set()
    for path in BENCH.glob("*.py"):
        used |= set(re.findall(r"^(?:from|import) (\w+)", path.read_text(), re.MULTILINE))
    scripts = {Path(name).stem for name in SCRIPTS}
    assert modules - scripts - used == set(), "a script under bench/ has no smoke run here"
