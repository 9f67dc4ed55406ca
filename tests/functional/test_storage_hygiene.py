"""SQLite keeps nothing deleted: no confirmed content in the WAL or free pages after the next
checkpoint, and the database files are the hub's alone (mode 0600)."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from skp.attachments import SPOOL_MEMORY_BYTES, Spool
from skp.clock import FrozenClock
from skp.config import Settings
from skp.domain.admission import Standing
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import ROLE_MODULES, Module, Role
from skp.hub import Hub
from skp.jobs import checkpoint_job, purge_job
from skp.keystore.file import FileKeyStore, create_keyring_file
from skp.store.db import make_engine, migrate
from skp.store.models import Message, MessageSegment
from tests.conftest import MONDAY
from tests.helpers import send

SR = Module.SCHULDREGELING
MB = Module.MELDINGEN_BEWINDVOERING
CANARY = "CANARY-wal-5d1e-Pietersen"


@pytest.fixture
def hub(tmp_path):
    path = tmp_path / "skp.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    create_keyring_file(tmp_path / "kek.json", MONDAY)
    settings = Settings(database_url=f"sqlite:///{path}", kek_file=tmp_path / "kek.json")
    hub = Hub.build(settings, engine=engine, keyring=FileKeyStore(tmp_path / "kek.json"),
                    clock=FrozenClock(MONDAY))
    yield hub
    engine.dispose()


def add(hub, name, role):
    return hub.participants.add(standing=Standing.ACTIVE,
                                name=name, role=role, modules=ROLE_MODULES[role])


def files(hub):
    path = hub.engine.url.database
    return [f"{path}{suffix}" for suffix in ("", "-wal", "-shm")]


def raw(hub):
    data = b""
    for name in files(hub)[:2]:
        try:
            with open(name, "rb") as f:  # noqa: PTH123 - read as the operator would
                data += f.read()
        except FileNotFoundError:
            pass
    return data


def sealed_bytes(hub, message_id):
    """Pieces of what a message leaves in the database: ciphertext, wrapped key, segments."""
    with hub.sessions() as session:
        row = session.get(Message, message_id)
        pieces = [row.ciphertext[:48], row.ciphertext[-48:], row.wrapped_key]
        pieces += [data[1000:1048] for data in session.scalars(
            select(MessageSegment.data).where(MessageSegment.message_id == message_id))]
    return pieces


def test_confirmed_content_leaves_the_wal_and_the_file_at_the_next_checkpoint(hub):
    shv, se, bewind = (add(hub, "Gemeente", Role.SHV_FASE2), add(hub, "Energie", Role.SE),
                       add(hub, "Bewind", Role.BEWINDVOERDER))
    mailbox = hub.mailbox
    plain = send(mailbox, shv, se, SR, "Kennisgeving", text=CANARY).message_id
    document = CANARY.encode() * 5_000  # about 144 KB: several segments and overflow pages
    melding = {**example_body(lookup(MB, "MeldingStartBewind"), sender_role=Role.BEWINDVOERDER),
               "Beschikking": document}
    attached = send(mailbox, bewind, se, MB, "MeldingStartBewind", body=melding).message_id
    kept = send(mailbox, shv, se, SR, "Kennisgeving", text=CANARY).message_id
    gone = sealed_bytes(hub, plain) + sealed_bytes(hub, attached)
    assert len(gone) > 6
    # What the test looks for is there before: the WAL holds the sealed rows.
    assert all(piece in raw(hub) for piece in gone)

    for message_id in (plain, attached):
        mailbox.fetch(se.id, message_id)
        mailbox.confirm(se.id, message_id)
    assert checkpoint_job(hub) is True

    wal = files(hub)[1]
    with open(wal, "rb") as f:  # noqa: PTH123
        assert f.read() == b""  # truncated
    data = raw(hub)
    assert CANARY.encode() not in data
    for piece in gone:
        assert piece not in data
    # The pending message is still there, and still opens.
    assert sealed_bytes(hub, kept)[2] in data
    assert CANARY in str(mailbox.fetch(se.id, kept).body)


def test_the_purge_checkpoints_what_it_expired(hub):
    shv, se = add(hub, "Gemeente", Role.SHV_FASE2), add(hub, "Energie", Role.SE)
    expiring = send(hub.mailbox, shv, se, SR, "Kennisgeving", text=CANARY).message_id
    gone = sealed_bytes(hub, expiring)
    hub.clock.advance(dt.timedelta(days=10))
    assert purge_job(hub).expired == 1
    data = raw(hub)
    for piece in gone:
        assert piece not in data


def test_database_files_are_private(hub, tmp_path):
    add(hub, "Gemeente", Role.SHV_FASE2)  # a write: the WAL and shared-memory files exist
    for name in files(hub):
        assert stat.S_IMODE(Path(name).stat().st_mode) == 0o600, name
    # A database copied in with the wrong mode is narrowed at the next connection.
    database = tmp_path / "skp.sqlite3"
    database.chmod(0o644)
    hub.engine.dispose()
    add(hub, "Energie", Role.SE)
    assert stat.S_IMODE(database.stat().st_mode) == 0o600


def test_a_document_spooled_to_disk_is_private():
    with Spool() as spool:
        spool._file.write(b"\0" * (SPOOL_MEMORY_BYTES + 1))  # past memory: a file on disk
        assert spool._file._rolled
        assert stat.S_IMODE(os.fstat(spool._file.fileno()).st_mode) == 0o600
