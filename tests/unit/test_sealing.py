from __future__ import annotations

import base64
import dataclasses
import json
import stat

import pytest

from skp.errors import ConfigError, IntegrityError
from skp.sealing import (
    MemoryKeyRing,
    Sealed,
    associated_data,
    create_keyring_file,
    load_keyring,
    open_sealed,
    rewrap,
    rotate_keyring_file,
    seal,
)

PLAINTEXT = b"<Saldoverzoek><BSN>123456782</BSN><Bedrag>1234.56</Bedrag></Saldoverzoek>"
METADATA = {
    "message_id": "9f0c2d4e-1111-4c6b-9a43-0d1e2f3a4b5c",
    "module": "saldo",
    "type": "Saldoverzoek",
    "sender": "c0ffee00-0000-4000-8000-000000000001",
    "recipient": "c0ffee00-0000-4000-8000-000000000002",
    "version": 1,
    "conversation": None,
}


def flip(data: bytes, index: int = 0) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


@pytest.fixture
def ring():
    return MemoryKeyRing.generate()


@pytest.fixture
def sealed(ring):
    return seal(PLAINTEXT, associated_data(METADATA), ring)


def test_round_trip(ring, sealed):
    assert sealed.kek_id == ring.current_id
    assert open_sealed(sealed, associated_data(METADATA), ring) == PLAINTEXT


def test_round_trip_empty_plaintext(ring):
    ad = associated_data({})
    assert open_sealed(seal(b"", ad, ring), ad, ring) == b""


def test_associated_data_is_canonical():
    shuffled = dict(reversed(list(METADATA.items())))
    assert associated_data(shuffled) == associated_data(METADATA)
    assert associated_data({"b": None, "a": 1}) == b'{"a":1,"b":null}'


def test_each_seal_uses_fresh_key_and_nonce(ring, sealed):
    again = seal(PLAINTEXT, associated_data(METADATA), ring)
    assert again.nonce != sealed.nonce
    assert again.ciphertext != sealed.ciphertext
    assert ring.unwrap(again.kek_id, again.wrapped_key) != ring.unwrap(
        sealed.kek_id, sealed.wrapped_key
    )


def test_plaintext_never_appears_in_sealed(sealed):
    for field in dataclasses.fields(Sealed):
        value = getattr(sealed, field.name)
        raw = value.encode() if isinstance(value, str) else value
        assert PLAINTEXT not in raw
        assert b"123456782" not in raw
    assert b"123456782" not in repr(sealed).encode()


@pytest.mark.parametrize("field", ["nonce", "ciphertext", "wrapped_key"])
@pytest.mark.parametrize("index", [0, -1])
def test_tampered_bytes_fail(ring, sealed, field, index):
    tampered = dataclasses.replace(sealed, **{field: flip(getattr(sealed, field), index)})
    with pytest.raises(IntegrityError) as info:
        open_sealed(tampered, associated_data(METADATA), ring)
    assert "123456782" not in str(info.value)


@pytest.mark.parametrize("field", ["nonce", "ciphertext", "wrapped_key"])
def test_truncated_bytes_fail(ring, sealed, field):
    tampered = dataclasses.replace(sealed, **{field: getattr(sealed, field)[:-1]})
    with pytest.raises(IntegrityError):
        open_sealed(tampered, associated_data(METADATA), ring)


@pytest.mark.parametrize("name", sorted(METADATA))
def test_altered_metadata_fails(ring, sealed, name):
    altered = dict(METADATA)
    altered[name] = "something else" if METADATA[name] is not None else "set"
    with pytest.raises(IntegrityError):
        open_sealed(sealed, associated_data(altered), ring)


def test_dropped_or_added_metadata_field_fails(ring, sealed):
    dropped = {k: v for k, v in METADATA.items() if k != "conversation"}
    with pytest.raises(IntegrityError):
        open_sealed(sealed, associated_data(dropped), ring)
    with pytest.raises(IntegrityError):
        open_sealed(sealed, associated_data({**METADATA, "extra": 1}), ring)


def test_sealed_from_another_ring_fails(sealed):
    other = MemoryKeyRing.generate(sealed.kek_id)  # same id, different KEK
    with pytest.raises(IntegrityError):
        open_sealed(sealed, associated_data(METADATA), other)
    with pytest.raises(IntegrityError):
        open_sealed(sealed, associated_data(METADATA), MemoryKeyRing.generate())


def test_unknown_kek_id_fails(ring, sealed):
    with pytest.raises(IntegrityError, match="unknown KEK id"):
        open_sealed(dataclasses.replace(sealed, kek_id="kek-nope"), associated_data(METADATA), ring)


def test_rotation_rewraps_without_touching_ciphertext(ring, sealed):
    rotated = ring.with_new_key()
    assert rotated.current_id != ring.current_id
    assert set(rotated.kek_ids) == {ring.current_id, rotated.current_id}
    # Old data still opens before the rewrap: the old KEK is kept.
    assert open_sealed(sealed, associated_data(METADATA), rotated) == PLAINTEXT

    kek_id, wrapped = rewrap(sealed.wrapped_key, sealed.kek_id, rotated)
    assert kek_id == rotated.current_id
    assert wrapped != sealed.wrapped_key
    moved = dataclasses.replace(sealed, kek_id=kek_id, wrapped_key=wrapped)
    assert moved.ciphertext == sealed.ciphertext
    assert moved.nonce == sealed.nonce
    assert open_sealed(moved, associated_data(METADATA), rotated) == PLAINTEXT

    # The old ring does not know the new KEK.
    with pytest.raises(IntegrityError):
        open_sealed(moved, associated_data(METADATA), ring)
    # Re-wrapping what is already current changes nothing.
    assert rewrap(wrapped, kek_id, rotated) == (kek_id, wrapped)


def test_rewrap_of_unknown_kek_fails(ring, sealed):
    with pytest.raises(IntegrityError):
        rewrap(sealed.wrapped_key, "kek-gone", ring.with_new_key())


def test_with_new_key_keeps_original_ring_unchanged(ring):
    before = ring.current_id
    ring.with_new_key("kek-two")
    assert ring.current_id == before
    assert ring.kek_ids == (before,)
    with pytest.raises(ValueError, match="already"):
        ring.with_new_key(before)


def test_memory_ring_rejects_bad_keys():
    with pytest.raises(ValueError, match="32 bytes"):
        MemoryKeyRing({"k": b"short"}, "k")
    with pytest.raises(ValueError, match="not among"):
        MemoryKeyRing({"k": bytes(32)}, "other")


def test_repr_shows_no_key_material():
    kek = bytes(range(32))
    ring = MemoryKeyRing({"kek-1": kek}, "kek-1")
    assert "kek-1" in repr(ring)
    assert repr(kek) not in repr(ring)
    assert base64.b64encode(kek).decode() not in repr(ring)


def test_key_file_round_trip(tmp_path):
    path = tmp_path / "keys" / "kek.json"
    created = create_keyring_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = load_keyring(path)
    assert loaded.current_id == created.current_id
    sealed = seal(PLAINTEXT, b"ad", created)
    assert open_sealed(sealed, b"ad", loaded) == PLAINTEXT

    rotated = rotate_keyring_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    reloaded = load_keyring(path)
    assert reloaded.current_id == rotated.current_id != created.current_id
    assert set(reloaded.kek_ids) == {created.current_id, rotated.current_id}
    assert open_sealed(sealed, b"ad", reloaded) == PLAINTEXT
    doc = json.loads(path.read_text())
    assert doc["current"] == rotated.current_id
    assert all(len(base64.b64decode(v)) == 32 for v in doc["keys"].values())
    assert [p.name for p in path.parent.iterdir()] == ["kek.json"]  # no temp files left


def test_create_refuses_to_overwrite(tmp_path):
    path = tmp_path / "kek.json"
    create_keyring_file(path)
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="already exists"):
        create_keyring_file(path)
    assert path.read_bytes() == before


def test_missing_file_is_a_config_error(tmp_path):
    path = tmp_path / "absent.json"
    with pytest.raises(ConfigError) as info:
        load_keyring(path)
    message = str(info.value)
    assert str(path) in message
    assert "SKP_KEK_FILE" in message
    assert "skp keys init" in message


SECRET = base64.b64encode(b"S" * 32).decode()


@pytest.mark.parametrize(
    "content",
    [
        "",
        "not json " + SECRET,
        json.dumps([SECRET]),
        json.dumps({"keys": {"kek-1": SECRET}}),
        json.dumps({"current": "kek-2", "keys": {"kek-1": SECRET}}),
        json.dumps({"current": "kek-1", "keys": {"kek-1": SECRET[:-4]}}),
        json.dumps({"current": "kek-1", "keys": {"kek-1": SECRET + "!"}}),
        json.dumps({"current": "kek-1", "keys": {"kek-1": 42}}),
        json.dumps({"current": ["kek-1"], "keys": {"kek-1": SECRET}}),
        json.dumps({"current": "kek-1", "keys": [SECRET]}),
    ],
)
def test_malformed_file_is_a_config_error_without_key_material(tmp_path, content):
    path = tmp_path / "kek.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_keyring(path)
    message = str(info.value)
    assert str(path) in message
    assert "SKP_KEK_FILE" in message
    assert SECRET[:8] not in message


def test_rotate_missing_file_is_a_config_error(tmp_path):
    path = tmp_path / "kek.json"
    with pytest.raises(ConfigError):
        rotate_keyring_file(path)
    assert not path.exists()
