"""What docs/operations.md says of SKP_DATABASE_URL on PostgreSQL: a schema of its own through
``options=-csearch_path``, and ``application_name`` naming the hub's connections."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from skp.cli import cli
from skp.keystore.file import create_keyring_file
from skp.store.db import make_engine
from tests.conftest import PG_URL

pytestmark = pytest.mark.postgres


@pytest.fixture
def schema(pg_url):  # pg_url: skips (or fails in CI) without PostgreSQL
    name = f"skp_docs_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    yield name
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    admin.dispose()


def test_a_schema_of_its_own_and_named_connections(schema, tmp_path):
    docs = (Path(__file__).parents[2] / "docs" / "operations.md").read_text()
    assert "?options=-csearch_path%3Dskp&application_name=skp-hub-1" in docs
    url = f"{PG_URL}?options=-csearch_path%3D{schema}&application_name=skp-hub-{schema}"
    create_keyring_file(tmp_path / "kek.json")
    env = {"SKP_DATABASE_URL": url, "SKP_KEK_FILE": str(tmp_path / "kek.json")}
    result = CliRunner().invoke(cli, ["migrate"], env=env)
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["participants", "add", "--name", "SE", "--role", "SE"],
                                env=env)
    assert result.exit_code == 0, result.output

    engine = make_engine(url)
    admin = make_engine(PG_URL)
    try:
        with admin.connect() as conn:
            tables = set(conn.execute(text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                {"s": schema}).scalars())
            assert {"participant", "message", "alembic_version"} <= tables
            assert conn.execute(text(
                f'SELECT count(*) FROM "{schema}".participant')).scalar() == 1
            with engine.connect() as hub:
                assert hub.execute(text("SELECT current_schema()")).scalar() == schema
                assert conn.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = :n"),
                    {"n": f"skp-hub-{schema}"}).scalar() == 1
    finally:
        engine.dispose()
        admin.dispose()
