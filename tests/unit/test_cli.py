"""The ``skp`` command line, through click's CliRunner."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import create_engine, inspect

from skp.cli import cli


def run(args, env, cwd):
    """Invoke ``skp`` with only ``env`` as SKP_* settings; relative paths land in ``cwd``."""
    env = {"SKP_DATABASE_URL": f"sqlite:///{cwd / 'hub.sqlite3'}",
           "SKP_KEK_FILE": str(cwd / "kek.json"), **env}
    return CliRunner().invoke(cli, args, env=env)


def test_migrate_creates_database_and_kek(tmp_path):
    db, kek = tmp_path / "hub.sqlite3", tmp_path / "keys" / "kek.json"
    env = {"SKP_DATABASE_URL": f"sqlite:///{db}", "SKP_KEK_FILE": str(kek)}
    first = run(["migrate"], env, tmp_path)
    assert first.exit_code == 0, first.output
    assert "created key-encryption key" in first.output
    assert set(inspect(create_engine(f"sqlite:///{db}")).get_table_names()) >= {
        "participant", "certificate", "message", "claim_context", "alembic_version"}
    assert json.loads(kek.read_text())["current"] in first.output
    second = run(["migrate"], env, tmp_path)
    assert second.exit_code == 0
    assert "created" not in second.output


def test_bad_setting_exits_2_with_the_fix(tmp_path):
    result = run(["migrate"], {"SKP_WORKING_DAYS": "vier"}, tmp_path)
    assert result.exit_code == 2
    assert "SKP_WORKING_DAYS" in result.output
    assert "Traceback" not in result.output


def test_production_refuses_to_invent_a_kek(tmp_path):
    env = {"SKP_ENVIRONMENT": "production", "SKP_KEK_FILE": str(tmp_path / "missing.json"),
           "SKP_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.sqlite3'}"}
    result = run(["migrate"], env, tmp_path)
    assert result.exit_code == 2
    assert "provision it" in result.output
    assert not (tmp_path / "missing.json").exists()


def test_every_command_has_help(tmp_path):
    for args in (["--help"], ["migrate", "--help"]):
        result = run(args, {}, tmp_path)
        assert result.exit_code == 0
        assert "Usage" in result.output
