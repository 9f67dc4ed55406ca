"""Envelope encryption at rest (design.md §5).

Each call to :func:`seal` draws a fresh 256-bit data key (or takes the one given) and a fresh
12-byte nonce, encrypts with AES-256-GCM and binds the ciphertext to its metadata through the
associated data (build it with :func:`associated_data`), so a row swapped in the database fails
to open. The data key is wrapped (RFC 3394 AES key wrap) by a key-encryption key (KEK) held by
a :class:`KeyRing`, which lives outside the database; the row stores :class:`Sealed` and the
KEK id. A message's body and its documents share one data key, each with its own nonce.

Documents are sealed as a stream: :class:`SealingStream` gives the same ciphertext as
``AESGCM.encrypt`` with the 16-byte tag kept apart. Opening verifies the tag over every
segment first and only then decrypts, in a second pass, so no plaintext is released unverified.

API::

    associated_data(fields) -> bytes
    new_data_key() -> bytes
    seal(plaintext, associated, keyring, data_key=None) -> Sealed
    open_sealed(sealed, associated, keyring) -> bytes        IntegrityError if anything altered
    unwrap_key(sealed, keyring) -> bytes                      the data key, to open several items
    open_with_key(data_key, nonce, ciphertext, associated) -> bytes
    rewrap(wrapped_key, kek_id, keyring) -> (kek_id, wrapped) KEK rotation; ciphertext untouched

    SealingStream(data_key, associated)   .nonce, update(data) -> ciphertext, finish() -> tag
    OpenedStream(data_key, nonce, tag, associated, segments)  verified; iterate to decrypt

    KeyRing                  Protocol: current_id, wrap, unwrap (skp.keystore adds epochs)
    MemoryKeyRing            in-memory KEKs; generate(), with_new_key(), without(); also the
                             in-memory twin of a key store (create, destroy, epochs)

Where the KEKs live (a file, an HSM) and when they are created and destroyed is
:mod:`skp.keystore`'s. Only ``cryptography`` primitives are used. No message here contains
plaintext or key material.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import AEADDecryptionContext, Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from skp.domain.epochs import Epoch
from skp.errors import IntegrityError

KEK_BYTES = 32
DATA_KEY_BYTES = 32
NONCE_BYTES = 12
_OPEN_FAILED = "sealed content failed to open: it or its metadata was altered"


@dataclass(frozen=True)
class Sealed:
    """What the store keeps for one sealed content: all of it is needed to open it."""

    nonce: bytes
    ciphertext: bytes
    wrapped_key: bytes
    kek_id: str


class KeyRing(Protocol):
    """Holds the KEKs: wraps data keys with the current one, unwraps with any known one."""

    @property
    def current_id(self) -> str: ...

    def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        """Wrap ``data_key`` with the current KEK; return ``(kek_id, wrapped)``."""
        ...

    def unwrap(self, kek_id: str, wrapped: bytes) -> bytes:
        """Return the data key; raise IntegrityError if ``kek_id`` is unknown or unwrap fails."""
        ...


def new_kek_id() -> str:
    """A short random KEK id such as ``kek-3f9a0c1d2b4e5f60``."""
    return f"kek-{secrets.token_hex(8)}"


class MemoryKeyRing:
    """A KeyRing over 32-byte KEKs in memory. ``with_new_key`` and ``without`` return a new
    ring; ``create`` and ``destroy`` change this one (the in-memory twin of a key store)."""

    def __init__(self, keys: Mapping[str, bytes], current_id: str,
                 created: Mapping[str, dt.datetime] | None = None) -> None:
        if current_id not in keys:
            raise ValueError(f"current KEK id {current_id!r} is not among the keys")
        for kek_id, kek in keys.items():
            if len(kek) != KEK_BYTES:
                raise ValueError(f"KEK {kek_id!r} is not {KEK_BYTES} bytes long")
        self._keys = dict(keys)
        self._current_id = current_id
        now = dt.datetime.now(dt.UTC)
        self._created = {kek_id: (created or {}).get(kek_id, now) for kek_id in keys}

    @classmethod
    def generate(cls, kek_id: str | None = None, *,
                 created_at: dt.datetime | None = None) -> MemoryKeyRing:
        """A ring with one fresh random KEK, created at ``created_at`` (default: now)."""
        kek_id = kek_id or new_kek_id()
        return cls({kek_id: secrets.token_bytes(KEK_BYTES)}, kek_id,
                   None if created_at is None else {kek_id: created_at})

    def with_new_key(self, kek_id: str | None = None) -> MemoryKeyRing:
        """A ring with a fresh KEK added and made current; the old KEKs stay for unwrap."""
        kek_id = kek_id or new_kek_id()
        if kek_id in self._keys:
            raise ValueError(f"KEK id {kek_id!r} is already in the ring")
        return MemoryKeyRing({**self._keys, kek_id: secrets.token_bytes(KEK_BYTES)}, kek_id,
                             {**self._created, kek_id: dt.datetime.now(dt.UTC)})

    def epochs(self) -> list[Epoch]:
        """Every KEK with its creation time."""
        return [Epoch(kek_id, self._created[kek_id]) for kek_id in self._keys]

    def create(self, now: dt.datetime) -> Epoch:
        """Add a fresh KEK created at ``now`` and make it current."""
        kek_id = new_kek_id()
        self._keys[kek_id] = secrets.token_bytes(KEK_BYTES)
        self._created[kek_id] = now
        self._current_id = kek_id
        return Epoch(kek_id, now)

    def destroy(self, kek_id: str) -> None:
        """Forget KEK ``kek_id`` (not the current one); unknown ids are ignored."""
        if kek_id == self._current_id:
            raise ValueError(f"KEK {kek_id!r} is the current one")
        self._keys.pop(kek_id, None)
        self._created.pop(kek_id, None)

    def material(self) -> Mapping[str, bytes]:
        """The KEKs themselves, for the key file that stores them (skp.keystore.file)."""
        return dict(self._keys)

    @property
    def current_id(self) -> str:
        return self._current_id

    @property
    def kek_ids(self) -> tuple[str, ...]:
        """Every KEK id in the ring, current one included."""
        return tuple(self._keys)

    def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        return self._current_id, aes_key_wrap(self._keys[self._current_id], data_key)

    def unwrap(self, kek_id: str, wrapped: bytes) -> bytes:
        kek = self._keys.get(kek_id)
        if kek is None:
            raise IntegrityError(f"sealed content failed to open: unknown KEK id {kek_id!r}")
        try:
            return aes_key_unwrap(kek, wrapped)
        except (InvalidUnwrap, ValueError) as exc:
            raise IntegrityError(_OPEN_FAILED) from exc

    def __repr__(self) -> str:
        # Never show key material, not even in a traceback or a debugger.
        return f"MemoryKeyRing(current_id={self._current_id!r}, kek_ids={self.kek_ids!r})"


def associated_data(fields: Mapping[str, str | int | None]) -> bytes:
    """Canonical bytes of the metadata a ciphertext is bound to (sorted keys, compact JSON)."""
    return json.dumps(dict(fields), sort_keys=True, separators=(",", ":")).encode("utf-8")


def new_data_key() -> bytes:
    """A fresh random 256-bit data key."""
    return AESGCM.generate_key(bit_length=256)


def seal(plaintext: bytes, associated: bytes, keyring: KeyRing,
         data_key: bytes | None = None) -> Sealed:
    """Encrypt ``plaintext`` under ``data_key`` (a fresh one if None), bound to ``associated``.

    The nonce is fresh and random on every call, so one data key may seal many contents.
    """
    data_key = new_data_key() if data_key is None else _checked_key(data_key)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, associated)
    kek_id, wrapped_key = keyring.wrap(data_key)
    return Sealed(nonce=nonce, ciphertext=ciphertext, wrapped_key=wrapped_key, kek_id=kek_id)


def unwrap_key(sealed: Sealed, keyring: KeyRing) -> bytes:
    """The data key of ``sealed``; raise IntegrityError if it does not unwrap."""
    return keyring.unwrap(sealed.kek_id, sealed.wrapped_key)


def open_sealed(sealed: Sealed, associated: bytes, keyring: KeyRing) -> bytes:
    """Decrypt ``sealed``; raise IntegrityError if it, its key or ``associated`` was altered."""
    return open_with_key(unwrap_key(sealed, keyring), sealed.nonce, sealed.ciphertext, associated)


def open_with_key(data_key: bytes, nonce: bytes, ciphertext: bytes, associated: bytes) -> bytes:
    """Decrypt with an unwrapped data key; raise IntegrityError if anything was altered."""
    try:
        return AESGCM(data_key).decrypt(nonce, ciphertext, associated)
    except (InvalidTag, ValueError) as exc:  # ValueError: a nonce or key of the wrong length
        raise IntegrityError(_OPEN_FAILED) from exc


def _checked_key(data_key: bytes) -> bytes:
    if len(data_key) != DATA_KEY_BYTES:
        raise ValueError(f"a data key is {DATA_KEY_BYTES} bytes long")
    return data_key


class SealingStream:
    """AES-256-GCM over content that arrives in pieces, under a fresh random nonce.

    The concatenated ``update`` results plus ``finish()`` equal ``AESGCM.encrypt`` output.
    """

    def __init__(self, data_key: bytes, associated: bytes) -> None:
        self.nonce = os.urandom(NONCE_BYTES)
        cipher = Cipher(algorithms.AES(_checked_key(data_key)), modes.GCM(self.nonce))
        self._encryptor = cipher.encryptor()
        self._encryptor.authenticate_additional_data(associated)

    def update(self, data: bytes | bytearray | memoryview) -> bytes:
        """The ciphertext of ``data``, of the same length."""
        return self._encryptor.update(data)

    def finish(self) -> bytes:
        """End the content; return its 16-byte tag. No update may follow."""
        self._encryptor.finalize()  # GCM holds nothing back: this returns b""
        return self._encryptor.tag


class OpenedStream:
    """Ciphertext segments whose tag was verified at construction; iterate to decrypt.

    Raises IntegrityError, before any plaintext exists, if a segment was altered, reordered
    or left out, or the key, nonce, tag or associated data is wrong. Each iteration decrypts
    anew, one segment at a time, and checks the tag again at its end.
    """

    def __init__(self, data_key: bytes, nonce: bytes, tag: bytes, associated: bytes,
                 segments: Sequence[bytes]) -> None:
        self._args = (data_key, nonce, associated)
        self._tag = tag
        self._segments = segments
        try:
            check = self._decryptor()
            for segment in segments:
                check.update(segment)  # the plaintext is thrown away unseen
            check.finalize_with_tag(tag)
        except (InvalidTag, ValueError) as exc:  # ValueError: a key, nonce or tag too short
            raise IntegrityError(_OPEN_FAILED) from exc

    def _decryptor(self) -> AEADDecryptionContext:
        data_key, nonce, associated = self._args
        decryptor = Cipher(algorithms.AES(_checked_key(data_key)), modes.GCM(nonce)).decryptor()
        decryptor.authenticate_additional_data(associated)
        return decryptor

    def __iter__(self) -> Iterator[bytes]:
        decryptor = self._decryptor()
        for segment in self._segments:
            yield decryptor.update(segment)
        try:
            decryptor.finalize_with_tag(self._tag)
        except InvalidTag as exc:  # the segments changed after they were verified
            raise IntegrityError(_OPEN_FAILED) from exc


def rewrap(wrapped_key: bytes, kek_id: str, keyring: KeyRing) -> tuple[str, bytes]:
    """Move a wrapped data key to the current KEK; return ``(kek_id, wrapped)`` to store."""
    if kek_id == keyring.current_id:
        return kek_id, wrapped_key
    return keyring.wrap(keyring.unwrap(kek_id, wrapped_key))
