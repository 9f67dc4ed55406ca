"""The command line through click's CliRunner, on a SQLite file and a KEK file of the test's."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from skp.cli import cli

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def env(tmp_path):
    return {"SKP_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.sqlite3'}",
            "SKP_KEK_FILE": str(tmp_path / "kek.json")}


@pytest.fixture
def skp(env):
    """``skp(*args, expect=0, **env)``: the command's output; never a traceback."""
    def run(*args, expect=0, **extra):
        result = CliRunner().invoke(cli, [str(a) for a in args], env={**env, **extra})
        assert "Traceback" not in result.output
        assert result.exit_code == expect, result.output
        return result.output

    return run


@pytest.fixture
def migrated(skp):
    skp("migrate")
    return skp
