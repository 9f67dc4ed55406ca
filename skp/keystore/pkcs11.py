"""The PKCS#11 key store: KEKs generated inside an HSM that never leave it.

Each KEK is an AES-256 secret key object on the token, made by the HSM with ``CKA_TOKEN``,
``CKA_SENSITIVE`` and ``CKA_WRAP``/``CKA_UNWRAP`` true and ``CKA_EXTRACTABLE``,
``CKA_ENCRYPT`` and ``CKA_DECRYPT`` false: it can wrap and unwrap keys and do nothing else, and
no one, the operator included, can read it out. Its ``CKA_LABEL`` is the KEK id and its
``CKA_ID`` the epoch's start (ISO 8601). A data key is wrapped with ``CKM_AES_KEY_WRAP_PAD``
(RFC 5649) inside the HSM: it enters as a session object that exists only for that call, and
an unwrapped data key leaves the HSM the same way, to seal or open content in the hub.
Destroying a KEK is ``C_DestroyObject``.

The same code serves SoftHSM2, a network HSM or a cloud HSM: all it needs is the vendor's
PKCS#11 library (``SKP_PKCS11_LIBRARY``), the token label and a file with the user PIN. One
PKCS#11 session per process is shared by its threads under a lock; the list of KEKs is read
again every few seconds and whenever a KEK id is unknown, so a new epoch made by another
process is taken up without a restart. Errors name the token and the operation, never a key.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import Any

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import PKCS11Error, UserAlreadyLoggedIn

from skp.config import Pkcs11Settings
from skp.domain.epochs import Epoch, ordered
from skp.errors import ConfigError, IntegrityError, Unavailable
from skp.sealing import new_kek_id

log = logging.getLogger(__name__)

#: Seconds a process trusts its list of KEKs before it reads the token again.
REFRESH_SECONDS = 5.0
MECHANISM = Mechanism.AES_KEY_WRAP_PAD
#: What every KEK is: a token object that wraps and unwraps and cannot be read out.
KEK_TEMPLATE = {
    Attribute.TOKEN: True, Attribute.PRIVATE: True, Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False, Attribute.MODIFIABLE: False,
    Attribute.WRAP: True, Attribute.UNWRAP: True,
    Attribute.ENCRYPT: False, Attribute.DECRYPT: False,
    Attribute.SIGN: False, Attribute.VERIFY: False,
}
#: A data key on its way in or out: a session object, gone when the call is over.
_DATA_KEY = {Attribute.TOKEN: False, Attribute.SENSITIVE: False, Attribute.EXTRACTABLE: True}


class Pkcs11KeyStore:
    """A :class:`~skp.keystore.KeyStore` on a PKCS#11 token (module docstring)."""

    def __init__(self, session: Any, token_label: str) -> None:
        self._session = session
        self._token = token_label
        self._lock = threading.RLock()
        self._keys: dict[str, tuple[Any, dt.datetime]] = {}
        self._current = ""
        self._read_at = -REFRESH_SECONDS
        self._refresh(force=True)

    @classmethod
    def open(cls, settings: Pkcs11Settings, now: dt.datetime | None = None) -> Pkcs11KeyStore:
        """Log in to the token; on a token without KEKs, have the HSM make the first."""
        if settings.library is None or settings.pin_file is None:
            raise ConfigError("SKP_KEY_STORE=pkcs11 needs SKP_PKCS11_LIBRARY and "
                              "SKP_PKCS11_PIN_FILE")
        try:
            pin = settings.pin_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"SKP_PKCS11_PIN_FILE {settings.pin_file} cannot be read "
                              f"({exc.strerror})") from exc
        try:
            token = pkcs11.lib(str(settings.library)).get_token(token_label=settings.token_label)
            try:
                session = token.open(user_pin=pin, rw=True)
            except UserAlreadyLoggedIn:  # a login holds for all of a process's sessions
                session = token.open(rw=True)
        except (PKCS11Error, RuntimeError, OSError) as exc:
            raise ConfigError(f"cannot log in to the PKCS#11 token {settings.token_label!r} "
                              f"with {settings.library} ({type(exc).__name__}): check "
                              "SKP_PKCS11_LIBRARY, SKP_PKCS11_TOKEN and SKP_PKCS11_PIN_FILE"
                              ) from exc
        store = cls(session, settings.token_label)
        if not store._keys:
            epoch = store.create(now or dt.datetime.now(dt.UTC))
            log.info("kek created", extra={"kek": epoch.kek_id, "token": settings.token_label})
        return store

    def _refresh(self, *, force: bool = False) -> None:
        if not force and time.monotonic() - self._read_at < REFRESH_SECONDS:
            return
        with self._lock:
            keys: dict[str, tuple[Any, dt.datetime]] = {}
            for key in self._session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY,
                                                  Attribute.KEY_TYPE: KeyType.AES}):
                label = key.label or ""
                if not label.startswith("kek-"):
                    continue  # another application's key on a shared token
                try:
                    created = dt.datetime.fromisoformat(bytes(key.id).decode("ascii"))
                except (ValueError, UnicodeDecodeError):
                    log.warning("KEK object without its creation time skipped",
                                extra={"kek": label})
                    continue
                keys[label] = (key, created)
            self._keys = keys
            chain = ordered([Epoch(k, c) for k, (_, c) in keys.items()], "")
            self._current = chain[-1].kek_id if chain else ""
            self._read_at = time.monotonic()

    @property
    def current_id(self) -> str:
        self._refresh()
        return self._current

    def epochs(self) -> list[Epoch]:
        self._refresh()
        return [Epoch(kek_id, created) for kek_id, (_, created) in self._keys.items()]

    def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        try:
            self._refresh()
            with self._lock:
                kek_id = self._current
                kek, _ = self._keys[kek_id]
                carrier = self._session.create_object({
                    Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.KEY_TYPE: KeyType.AES,
                    Attribute.VALUE: data_key, **_DATA_KEY})
                try:
                    return kek_id, bytes(kek.wrap_key(carrier, mechanism=MECHANISM))
                finally:
                    carrier.destroy()
        except PKCS11Error as exc:  # nothing was stored: the sender may repeat
            raise Unavailable(f"the HSM (token {self._token!r}) did not wrap a data key "
                              f"({type(exc).__name__}); nothing was changed") from exc

    def unwrap(self, kek_id: str, wrapped: bytes) -> bytes:
        self._refresh(force=kek_id not in self._keys)
        with self._lock:
            entry = self._keys.get(kek_id)
            if entry is None:
                raise IntegrityError(f"sealed content failed to open: unknown KEK id "
                                     f"{kek_id!r}")
            try:
                data_key = entry[0].unwrap_key(ObjectClass.SECRET_KEY, KeyType.AES, wrapped,
                                               mechanism=MECHANISM, store=False,
                                               template=_DATA_KEY)
            except PKCS11Error as exc:
                raise IntegrityError("sealed content failed to open: its wrapped key does "
                                     "not unwrap") from exc
            try:
                return bytes(data_key[Attribute.VALUE])
            finally:
                data_key.destroy()

    def create(self, now: dt.datetime) -> Epoch:
        kek_id = new_kek_id()
        with self._lock:
            self._refresh(force=True)
            # The newest KEK is the current one: a new one must be newer, even on a clock
            # that stands still (or went back).
            newest = max((created for _, created in self._keys.values()), default=None)
            if newest is not None and now <= newest:
                now = newest + dt.timedelta(microseconds=1)
            self._session.generate_key(KeyType.AES, 256, label=kek_id,
                                       id=now.isoformat().encode("ascii"), store=True,
                                       template=KEK_TEMPLATE)
            self._refresh(force=True)
        return Epoch(kek_id, now)

    def destroy(self, kek_id: str) -> None:
        with self._lock:
            self._refresh(force=True)
            if kek_id == self._current:
                raise ConfigError(f"KEK {kek_id} is the current one and is not destroyed")
            entry = self._keys.get(kek_id)
            if entry is not None:
                entry[0].destroy()
            self._refresh(force=True)

    def __repr__(self) -> str:
        return f"Pkcs11KeyStore(token={self._token!r}, kek_ids={tuple(self._keys)!r})"
