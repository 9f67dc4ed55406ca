"""What goes wrong around the command line ends in one line and exit 2, never a traceback; and a
database that is missing, not SQLite or never migrated is named as such, with nothing created."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from skp import pki
from skp.cli import cli
from skp.errors import Unavailable
from skp.keystore.file import create_keyring_file
from skp.store.db import make_engine, make_sessions, migrate
from skp.store.session import transaction
from tests.conftest import postgres_schema

SKP = Path(sys.executable).parent / "skp"


@pytest.fixture
def env(tmp_path):
    create_keyring_file(tmp_path / "kek.json")
    pki.init_dev(tmp_path / "certs")
    return {"SKP_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.sqlite3'}",
            "SKP_KEK_FILE": str(tmp_path / "kek.json"),
            "SKP_TLS_CERT": str(tmp_path / "certs" / "server.pem"),
            "SKP_TLS_KEY": str(tmp_path / "certs" / "server.key"),
            "SKP_TLS_CLIENT_CA": str(tmp_path / "certs" / "ca.pem")}


def one_line_exit_2(output: str) -> str:
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), output
    return lines[0]


def run(env, *args, **extra):
    result = CliRunner().invoke(cli, [str(a) for a in args], env={**env, **extra})
    assert result.exit_code == 2, result.output
    return one_line_exit_2(result.output)


def serve(env, **extra):
    """`skp serve` in a process of its own; its one line of output."""
    done = subprocess.run([SKP, "serve"], env={**os.environ, **env, **extra},  # noqa: S603
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    return one_line_exit_2(done.stderr)


@pytest.fixture
def migrated(env):
    result = CliRunner().invoke(cli, ["migrate"], env=env)
    assert result.exit_code == 0, result.output
    return env


def test_a_taken_port(migrated):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = serve(migrated, SKP_BIND_PORT=str(port))
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in line
    assert "SKP_BIND_PORT" in line


def test_a_bad_server_certificate(migrated, tmp_path):
    line = serve(migrated, SKP_TLS_CERT=str(tmp_path / "certs" / "ca.key"))
    assert f"the server certificate {tmp_path / 'certs' / 'ca.key'}" in line
    assert "SKP_TLS_CERT" in line


def test_a_bad_client_ca(migrated, tmp_path):
    (tmp_path / "garbage.pem").write_text("not a certificate\n")
    line = serve(migrated, SKP_TLS_CLIENT_CA=str(tmp_path / "garbage.pem"))
    assert "the client CA bundle" in line and "SKP_TLS_CLIENT_CA" in line


def test_a_file_that_is_not_sqlite(env, tmp_path):
    (tmp_path / "notes.txt").write_bytes(b"these are notes, not a database\n" * 200)
    url = f"sqlite:///{tmp_path / 'notes.txt'}"
    for command in (["purge"], ["participants", "list"], ["migrate"]):
        line = run(env, *command, SKP_DATABASE_URL=url)
        assert "not a database" in line, command
    assert serve(env, SKP_DATABASE_URL=url).endswith("check SKP_DATABASE_URL")


def test_purge_with_an_unreachable_database(env):
    line = run(env, "purge", SKP_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:9/test")
    assert "cannot use the database postgresql+psycopg://postgres@127.0.0.1:9/test" in line
    assert "Connection refused" in line


def test_wsdl_export_to_a_folder_it_cannot_create(migrated, tmp_path):
    (tmp_path / "a-file").write_text("")
    line = run(migrated, "wsdl", "export", "--out", tmp_path / "a-file" / "wsdl")
    assert line == f"Error: {tmp_path / 'a-file' / 'wsdl'}: Not a directory"


def test_a_wrong_sqlite_path_says_so_and_creates_nothing(env, tmp_path):
    missing = tmp_path / "typo" / "hub.sqlite3"
    url = f"sqlite:///{missing}"
    for command in (["purge"], ["participants", "list"], ["health"], ["keys", "rotate"]):
        line = run(env, *command, SKP_DATABASE_URL=url)
        assert f"there is no SQLite database at {missing}" in line, command
        assert "skp migrate" in line
    assert "there is no SQLite database" in serve(env, SKP_DATABASE_URL=url)
    assert not missing.parent.exists()


@pytest.fixture
def empty_schema(pg_url):
    """A PostgreSQL schema of its own, never migrated."""
    with postgres_schema("skp_empty") as url:
        yield url


def test_a_never_migrated_database_says_run_migrate(env, tmp_path, empty_schema):
    (tmp_path / "empty.sqlite3").touch()
    for url in (f"sqlite:///{tmp_path / 'empty.sqlite3'}", empty_schema):
        line = run(env, "participants", "list", SKP_DATABASE_URL=url)
        assert line.endswith("has no skp schema: run `skp migrate`"), line


def test_an_engine_creates_no_file_and_migrate_creates_it_0600(tmp_path):
    path = tmp_path / "new" / "hub.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    with pytest.raises(Unavailable), transaction(make_sessions(engine)):
        pass
    assert not path.exists()
    old = os.umask(0o022)  # the usual umask, under which a new file is 0644
    try:
        migrate(engine)
    finally:
        os.umask(old)
        engine.dispose()
    files = [path, path.with_name("hub.sqlite3-wal"), path.with_name("hub.sqlite3-shm")]
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect():  # WAL and shared memory exist while a connection is open
        for file in files:
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    engine.dispose()

