"""Key stores: where the key-encryption keys (KEKs) live, behind one interface.

A :class:`KeyStore` is a :class:`~skp.sealing.KeyRing` (wrap new data keys with the current
KEK, unwrap with any live one) that also creates and destroys KEKs, one per epoch
(:mod:`skp.domain.epochs`; the scheduler does both, :mod:`skp.keystore.epochs`). Two kinds,
chosen by ``SKP_KEY_STORE``:

- ``file`` (:class:`~skp.keystore.file.FileKeyStore`): the KEKs in a JSON file beside the hub
  (``SKP_KEK_FILE``, mode 0600); whoever reads the file and the database reads pending content.
- ``pkcs11`` (:class:`~skp.keystore.pkcs11.Pkcs11KeyStore`): the KEKs are generated inside an
  HSM, are marked sensitive and non-extractable, and wrap and unwrap happen in it.

:class:`~skp.sealing.MemoryKeyRing` is the in-memory twin. docs/operations.md ("Key stores")
says how to set each up and what an operator can and cannot do with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from skp.config import KeyStoreKind, Settings
from skp.domain.epochs import Epoch


@runtime_checkable
class KeyStore(Protocol):
    """A KeyRing whose KEKs come and go by epoch."""

    @property
    def current_id(self) -> str: ...

    def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        """Wrap ``data_key`` with the current KEK; return ``(kek_id, wrapped)``."""
        ...

    def unwrap(self, kek_id: str, wrapped: bytes) -> bytes:
        """Return the data key; raise IntegrityError if ``kek_id`` is unknown or unwrap fails."""
        ...

    def epochs(self) -> Sequence[Epoch]:
        """Every live KEK with its creation time."""
        ...

    def create(self, now: dt.datetime) -> Epoch:
        """Make a fresh KEK, created at ``now``, the current one."""
        ...

    def destroy(self, kek_id: str) -> None:
        """Destroy KEK ``kek_id`` for good (never the current one)."""
        ...


def open_key_store(settings: Settings) -> KeyStore:
    """The key store ``settings`` choose; raise ConfigError when it cannot be opened."""
    if settings.key_store is KeyStoreKind.PKCS11:
        from skp.keystore.pkcs11 import Pkcs11KeyStore

        return Pkcs11KeyStore.open(settings.pkcs11)
    from skp.keystore.file import FileKeyStore

    return FileKeyStore(settings.kek_file)
