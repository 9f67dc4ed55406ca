"""Shared fixtures: databases (a SQLite file and PostgreSQL), key ring, clock, services.

PostgreSQL tests use a schema of their own in the ``test`` database. When ``CI`` is set an
unreachable PostgreSQL fails the run; elsewhere those tests are skipped with the reason.
"""

from __future__ import annotations

import datetime as dt
import os

import psycopg
import pytest
from sqlalchemy.engine import make_url

from bench.harness import PG_URL, postgres_schema
from skp.clock import FrozenClock
from skp.config import Settings
from skp.domain.admission import Standing
from skp.domain.roles import Module, Role
from skp.mailbox import Mailbox
from skp.participants import Participants
from skp.sealing import MemoryKeyRing
from skp.store.db import make_engine, make_sessions, migrate
from tests.helpers import empty

#: Monday 23 November 2026, 10:00 in Amsterdam.
MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def _pg_problem() -> str | None:
    url = make_url(PG_URL)
    try:
        psycopg.connect(host=url.host, port=url.port or 5432, user=url.username,
                        dbname=url.database, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def pg_url():
    """The URL of a PostgreSQL schema of this test run's own (dropped at the end)."""
    problem = _pg_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {PG_URL} is unreachable and CI is set: {problem}")
        pytest.skip(f"PostgreSQL at {PG_URL} is unreachable: {problem}")
    with postgres_schema(f"skp_test_{os.getpid()}") as url:
        yield url


@pytest.fixture(scope="session")
def pg_engine(pg_url):
    engine = make_engine(pg_url, pool_size=10, max_overflow=10)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request, tmp_path_factory):
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "skp.sqlite3"
        engine = make_engine(f"sqlite:///{path}")
    else:
        engine = request.getfixturevalue("pg_engine")
    migrate(engine)
    yield engine
    if request.param == "sqlite":
        engine.dispose()


@pytest.fixture
def sessions(engine):
    yield make_sessions(engine)
    empty(engine)


@pytest.fixture
def clock():
    return FrozenClock(MONDAY)


@pytest.fixture
def keyring():
    return MemoryKeyRing.generate()


@pytest.fixture
def settings():
    return Settings()


@pytest.fixture
def participants(sessions, clock):
    return Participants(sessions, clock)


@pytest.fixture
def mailbox(sessions, keyring, settings, clock):
    return Mailbox(sessions, keyring, settings, clock)


@pytest.fixture
def people(participants):
    """One participant of each kind, with every module its role may have."""
    from skp.domain.roles import ROLE_MODULES

    def add(name, role, **kwargs):
        return participants.add(standing=Standing.ACTIVE,
                                name=name, role=role, modules=ROLE_MODULES[role], **kwargs)

    class People:
        shv = add("Gemeente Voorbeeld SHV", Role.SHV_FASE2)
        shv1 = add("Schuldhulp Fase 1", Role.SHV_FASE1)
        overig = add("Overige SHV", Role.SHV_OVERIG)
        se = add("Energie BV, unit Noord", Role.SE)
        se2 = add("Energie BV, unit Zuid", Role.SE)
        se_bsn = add("Belastingdienst", Role.SE, uses_bsn=True)
        bewind = add("Bewind & Co", Role.BEWINDVOERDER)
        kredietbank = add("Kredietbank Voorbeeld", Role.SHV_FASE2)
        wsk = add("Waarborgfonds", Role.WSK)

    return People


__all__ = ["MONDAY", "PG_URL", "Module", "postgres_schema"]
