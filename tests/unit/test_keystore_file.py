"""The file key store's epochs: KEKs created and destroyed in the file, older files read."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import threading

import pytest

from skp.config import Settings
from skp.errors import ConfigError, IntegrityError
from skp.keystore import KeyStore, epochs
from skp.keystore.file import FileKeyStore, create_keyring_file, load_keyring
from skp.sealing import MemoryKeyRing

T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def test_create_and_destroy_change_the_file_and_every_store_on_it(tmp_path):
    path = tmp_path / "kek.json"
    first = create_keyring_file(path, T0).current_id
    store, other = FileKeyStore(path), FileKeyStore(path)
    assert isinstance(store, KeyStore)
    wrapped = store.wrap(b"d" * 32)
    second = store.create(T0 + dt.timedelta(days=1))
    assert other.current_id == second.kek_id  # another process sees it at its next use
    assert {(e.kek_id, e.created_at) for e in other.epochs()} == {
        (first, T0), (second.kek_id, T0 + dt.timedelta(days=1))}
    with pytest.raises(ConfigError, match="current"):
        store.destroy(second.kek_id)
    other.destroy(first)
    with pytest.raises(IntegrityError, match="unknown KEK"):
        store.unwrap(*wrapped)
    assert set(json.loads(path.read_text())["keys"]) == {second.kek_id}


def test_concurrent_changes_are_not_lost(tmp_path):
    path = tmp_path / "kek.json"
    create_keyring_file(path, T0)
    stores = [FileKeyStore(path) for _ in range(4)]
    threads = [threading.Thread(target=lambda s=s: [s.create(T0) for _ in range(5)])
               for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(load_keyring(path).kek_ids) == 21


def test_a_file_without_creation_times_counts_them_from_its_last_write(tmp_path):
    path = tmp_path / "kek.json"
    keys = {kek_id: base64.b64encode(kek_id[-1].encode() * 32).decode()
            for kek_id in ("kek-a", "kek-b")}
    path.write_text(json.dumps({"current": "kek-b", "keys": keys}))
    os.utime(path, (T0.timestamp(), T0.timestamp()))
    assert {e.created_at for e in load_keyring(path).epochs()} == {T0}


class Refusing(MemoryKeyRing):
    """A store that cannot change, like a read-only KEK file."""

    def create(self, now):
        raise PermissionError(13, "read-only")

    def destroy(self, kek_id):
        raise PermissionError(13, "read-only")


def test_a_store_that_cannot_change_is_logged_not_fatal(sessions, caplog):
    store = Refusing.generate(created_at=T0)
    caplog.set_level(logging.WARNING, logger="skp.keystore")
    result = epochs.turn(store, sessions, Settings(), T0 + dt.timedelta(days=2))
    assert result.created is None and result.destroyed == ()
    assert "kek not created: PermissionError" in caplog.text
