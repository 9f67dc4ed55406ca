"""`skp keys rotate` beside a running hub: the hub takes up the new KEK without a restart, and
no KEK that a stored key still uses can be retired."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import uuid
from pathlib import Path

from skp.client import Client, Identity
from skp.demo import CAST
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import Module
from skp.keystore import file as keyfile
from tests.system.serving import SKP, make_run, make_run_env

MODULE = Module.SCHULDREGELING


def skp(state: Path, *args: str, expect: int = 0) -> str:
    done = subprocess.run([SKP, *args], env=make_run_env(state, 8443),  # noqa: S603
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == expect, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout + done.stderr


def kek_of(state: Path, message_id: str) -> str:
    with sqlite3.connect(state / "skp.sqlite3") as db:
        (kek,) = db.execute("SELECT kek_id FROM message WHERE id = ?",  # a Uuid: hex
                            (uuid.UUID(message_id).hex,)).fetchone()
    return str(kek)


def test_a_running_hub_takes_up_a_rotated_kek(tmp_path):
    with make_run(tmp_path) as hub:
        shv, se = (Client(hub.url, MODULE, Identity(hub.certs / f"{d.slug}.pem",
                                                    hub.certs / f"{d.slug}.key",
                                                    hub.certs / "ca.pem"))
                   for d in CAST[:2])

        def send() -> str:
            receipt = shv.send("Kennisgeving", example_body(lookup(MODULE, "Kennisgeving")),
                               recipient=CAST[1].id, kenmerk=f"K-{uuid.uuid4().hex[:12]}",
                               conversation=str(uuid.uuid4()))
            return str(receipt["BerichtId"])

        first_kek = json.loads((tmp_path / "kek.json").read_text())["current"]
        before = send()
        assert kek_of(tmp_path, before) == first_kek

        out = skp(tmp_path, "keys", "rotate")
        second_kek = json.loads((tmp_path / "kek.json").read_text())["current"]
        assert f"new key-encryption key {second_kek}; re-wrapped 1 data keys" in out
        assert kek_of(tmp_path, before) == second_kek
        se.fetch(before)  # the hub unwraps with a KEK it did not have at start
        after = send()
        assert kek_of(tmp_path, after) == second_kek  # and wraps with it

        # A file rotated without the re-wrap (as when copying a new file to the hosts): the
        # old KEK still wraps a stored key and is not retired.
        third_kek = keyfile.rotate_keyring_file(tmp_path / "kek.json").current_id
        latest = send()
        assert kek_of(tmp_path, latest) == third_kek
        assert f"{second_kek}  wraps 2 data keys" in skp(tmp_path, "keys", "list")
        out = skp(tmp_path, "keys", "retire", second_kek, expect=2)
        assert f"2 stored data keys are wrapped by {second_kek}" in out
        assert "skp keys rewrap" in out
        assert "is the current one" in skp(tmp_path, "keys", "retire", third_kek, expect=2)
        assert "re-wrapped 2 data keys" in skp(tmp_path, "keys", "rewrap")
        for old in (first_kek, second_kek):
            assert f"destroyed key-encryption key {old}" in skp(tmp_path, "keys", "retire", old)
        assert set(json.loads((tmp_path / "kek.json").read_text())["keys"]) == {third_kek}
        for message_id in (before, after, latest):
            metadata, _ = se.fetch(message_id)
            assert metadata["BerichtId"] == message_id
