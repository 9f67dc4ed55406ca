from __future__ import annotations

import base64
import dataclasses
import json
import os
import stat

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from skp.errors import ConfigError, IntegrityError
from skp.keystore.file import FileKeyStore, create_keyring_file, load_keyring, rotate_keyring_file
from skp.sealing import (
    MemoryKeyRing,
    OpenedStream,
    Sealed,
    SealingStream,
    associated_data,
    new_data_key,
    open_sealed,
    open_with_key,
    rewrap,
    seal,
    unwrap_key,
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
    # no temp files left; the lock file stays
    assert sorted(p.name for p in path.parent.iterdir()) == ["kek.json", "kek.json.lock"]


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


# --- a given data key, and streams ---------------------------------------------------------

AD = associated_data({"message": "m-1", "document": 0})
CONTENT = os.urandom(10_000)


def test_seal_with_given_data_key(ring):
    key = new_data_key()
    assert len(key) == 32
    first = seal(b"body", AD, ring, data_key=key)
    second = seal(PLAINTEXT, AD, ring, data_key=key)
    assert unwrap_key(first, ring) == unwrap_key(second, ring) == key
    assert first.nonce != second.nonce
    assert open_sealed(first, AD, ring) == b"body"
    assert open_with_key(key, second.nonce, second.ciphertext, AD) == PLAINTEXT
    with pytest.raises(IntegrityError):
        open_with_key(key, second.nonce, second.ciphertext, associated_data({}))
    with pytest.raises(IntegrityError):
        open_with_key(new_data_key(), second.nonce, second.ciphertext, AD)
    with pytest.raises(ValueError, match="32 bytes"):
        seal(b"body", AD, ring, data_key=key[:16])


def sealed_stream(pieces, key, ad=AD):
    stream = SealingStream(key, ad)
    ciphertext = b"".join(stream.update(piece) for piece in pieces)
    return stream.nonce, ciphertext, stream.finish()


@pytest.mark.parametrize("sizes", [[], [0], [10_000], [1, 2, 3, 9994], [4096, 0, 5904]])
def test_sealing_stream_equals_aesgcm(sizes):
    key = new_data_key()
    data = CONTENT[: sum(sizes)]
    pieces, at = [], 0
    for size in sizes:
        pieces.append(data[at : at + size])
        at += size
    stream = SealingStream(key, AD)
    parts = [stream.update(piece) for piece in pieces]
    assert [len(part) for part in parts] == sizes
    tag = stream.finish()
    assert len(stream.nonce) == 12
    assert len(tag) == 16
    assert b"".join(parts) + tag == AESGCM(key).encrypt(stream.nonce, data, AD)


def test_each_stream_has_a_fresh_nonce():
    key = new_data_key()
    assert SealingStream(key, AD).nonce != SealingStream(key, AD).nonce


def split(data, sizes):
    out, at = [], 0
    for size in sizes:
        out.append(data[at : at + size])
        at += size
    out.append(data[at:])
    return out


def test_opened_stream_round_trip_over_uneven_segments():
    key = new_data_key()
    nonce, ciphertext, tag = sealed_stream([CONTENT[:5], CONTENT[5:]], key)
    segments = split(ciphertext, [1, 4095, 0, 17])
    pieces = list(OpenedStream(key, nonce, tag, AD, segments))
    assert [len(piece) for piece in pieces] == [len(segment) for segment in segments]
    assert b"".join(pieces) == CONTENT
    opened = OpenedStream(key, nonce, tag, AD, segments)
    assert b"".join(opened) == b"".join(opened) == CONTENT  # decrypts anew each time


def test_opened_stream_of_nothing():
    key = new_data_key()
    nonce, ciphertext, tag = sealed_stream([], key)
    assert ciphertext == b""
    assert list(OpenedStream(key, nonce, tag, AD, [])) == []


def _altered(case, key, nonce, segments, tag):
    """The arguments of OpenedStream with one thing changed."""
    a, b, c = segments
    return {
        "tampered byte": (key, nonce, tag, AD, [a, flip(b, 7), c]),
        "tampered last byte": (key, nonce, tag, AD, [a, b, flip(c, -1)]),
        "wrong tag": (key, nonce, flip(tag, 3), AD, segments),
        "short tag": (key, nonce, tag[:8], AD, segments),
        "wrong nonce": (key, flip(nonce), tag, AD, segments),
        "wrong aad": (key, nonce, tag, associated_data({"message": "m-1", "document": 1}),
                      segments),
        "wrong key": (new_data_key(), nonce, tag, AD, segments),
        "short key": (key[:16], nonce, tag, AD, segments),
        "swapped segments": (key, nonce, tag, AD, [b, a, c]),
        "missing segment": (key, nonce, tag, AD, [a, b]),
        "missing first segment": (key, nonce, tag, AD, [b, c]),
        "extra segment": (key, nonce, tag, AD, [a, b, c, b"x"]),
    }[case]


@pytest.mark.parametrize("case", [
    "tampered byte", "tampered last byte", "wrong tag", "short tag", "wrong nonce", "wrong aad",
    "wrong key", "short key", "swapped segments", "missing segment", "missing first segment",
    "extra segment",
])
def test_opened_stream_refuses_at_call_time(case):
    key = new_data_key()
    nonce, ciphertext, tag = sealed_stream([CONTENT], key)
    segments = [ciphertext[:3000], ciphertext[3000:6000], ciphertext[6000:]]
    args = _altered(case, key, nonce, segments, tag)
    with pytest.raises(IntegrityError) as info:
        OpenedStream(*args)  # no iteration: the refusal comes before any plaintext
    assert CONTENT[:8].hex() not in str(info.value)


def test_segments_changed_after_verification_fail_at_the_end():
    key = new_data_key()
    nonce, ciphertext, tag = sealed_stream([CONTENT], key)
    segments = [ciphertext[:5000], ciphertext[5000:]]
    pieces = iter(OpenedStream(key, nonce, tag, AD, segments))
    segments[1] = flip(segments[1])
    next(pieces)
    with pytest.raises(IntegrityError):
        list(pieces)


def test_a_file_keyring_follows_its_file(tmp_path, caplog):
    path = tmp_path / "kek.json"
    first = create_keyring_file(path).current_id
    ring = FileKeyStore(path)
    sealed = seal(PLAINTEXT, associated_data(METADATA), ring)
    assert sealed.kek_id == first
    second = rotate_keyring_file(path).current_id
    assert ring.current_id == second
    assert seal(PLAINTEXT, associated_data(METADATA), ring).kek_id == second
    assert open_sealed(sealed, associated_data(METADATA), ring) == PLAINTEXT

    # An edit the file's stamp does not show: an unknown KEK id reads the file again.
    doc = json.loads(path.read_text())
    third = "kek-" + "0" * 16  # as long as the id it replaces
    doc["keys"] = {third if k == first else k: v for k, v in doc["keys"].items()}
    status = path.stat()
    with path.open("r+") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert path.stat().st_size == status.st_size
    moved = Sealed(sealed.nonce, sealed.ciphertext, sealed.wrapped_key, third)
    assert open_sealed(moved, associated_data(METADATA), ring) == PLAINTEXT

    path.write_text("{broken")  # a broken edit: the KEKs read last stay in use
    assert ring.current_id == second
    assert "KEK file not reloaded" in caplog.text
