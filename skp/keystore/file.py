"""The file key store: the KEKs in a JSON file outside the database (``SKP_KEK_FILE``).

The file is ``{"current": "<id>", "keys": {"<id>": "<base64 of 32 bytes>"}, "created":
{"<id>": "<ISO 8601 instant>"}}``, mode 0600, always written whole to a temporary file and
moved into place with ``os.replace``, under an exclusive lock on ``<file>.lock`` so the
scheduler of a running hub and ``skp keys`` never lose each other's change. A file without
``created`` (written by an older version) counts its KEKs as created when the file was last
written, which is when the older ones stopped being current.

A running hub holds a :class:`FileKeyStore`: it looks at the file's modification time, size
and inode before each use and reads it again when they changed, and also when asked to unwrap
with a KEK id it does not know, so a new epoch or a rotation by another process needs no
restart. Destroying a KEK removes it from the file; the disk blocks of the file's older
versions are the file system's to reuse (docs/operations.md: keep the file on tmpfs or an
encrypted volume, or use an HSM). No message here contains key material.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from skp.domain.epochs import Epoch
from skp.errors import ConfigError
from skp.sealing import MemoryKeyRing

log = logging.getLogger(__name__)


class FileKeyStore:
    """The KEKs of the key file at ``path``, kept up to date with the file (module docstring).

    A file that cannot be read or parsed at start raises ConfigError; later, while it is being
    replaced or when an edit broke it, the KEKs read last stay in use (and a warning is logged).
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._stamp = _stamp(path)
        self._ring = load_keyring(path)

    def _fresh(self, *, force: bool = False) -> MemoryKeyRing:
        try:
            stamp = _stamp(self._path)
        except OSError:
            return self._ring
        if stamp != self._stamp or force:
            with self._lock:
                if stamp != self._stamp or force:
                    try:
                        self._ring = load_keyring(self._path)
                    except ConfigError as exc:
                        log.warning("KEK file not reloaded: %s", exc.message)
                    else:
                        if stamp != self._stamp:
                            log.info("KEK file reloaded", extra={"kek": self._ring.current_id})
                    self._stamp = stamp
        return self._ring

    @property
    def current_id(self) -> str:
        return self._fresh().current_id

    @property
    def kek_ids(self) -> tuple[str, ...]:
        return self._fresh().kek_ids

    def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        return self._fresh().wrap(data_key)

    def unwrap(self, kek_id: str, wrapped: bytes) -> bytes:
        ring = self._fresh()
        if kek_id not in ring.kek_ids:  # a rotation within the file's timestamp resolution
            ring = self._fresh(force=True)
        return ring.unwrap(kek_id, wrapped)

    def epochs(self) -> list[Epoch]:
        return self._fresh().epochs()

    def create(self, now: dt.datetime) -> Epoch:
        with _locked(self._path):
            ring = load_keyring(self._path)
            epoch = ring.create(now)
            _write(self._path, ring)
        self._fresh()
        return epoch

    def destroy(self, kek_id: str) -> None:
        with _locked(self._path):
            ring = load_keyring(self._path)
            if kek_id == ring.current_id:
                raise ConfigError(f"KEK {kek_id} is the current one and is not destroyed")
            ring.destroy(kek_id)
            _write(self._path, ring)
        self._fresh()

    def __repr__(self) -> str:
        return f"FileKeyStore({str(self._path)!r}, {self._ring!r})"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold the exclusive lock of the key file at ``path`` (on ``<file>.lock``, which stays)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _stamp(path: Path) -> tuple[int, int, int]:
    status = path.stat()
    return status.st_mtime_ns, status.st_size, status.st_ino


def _fix_hint(path: Path) -> str:
    return f"set SKP_KEK_FILE to the key file, or create {path} with `skp keys init`"


def load_keyring(path: Path) -> MemoryKeyRing:
    """Read the key file at ``path``; raise ConfigError if it is missing or malformed."""
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"KEK file {path} cannot be read ({exc.strerror}); "
                          f"{_fix_hint(path)}") from exc
    try:
        doc = json.loads(raw)
        keys = {str(kek_id): base64.b64decode(value, validate=True)
                for kek_id, value in doc["keys"].items()}
        written = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
        created = {kek_id: written for kek_id in keys}
        for kek_id, instant in doc.get("created", {}).items():
            created[str(kek_id)] = _aware(dt.datetime.fromisoformat(instant))
        return MemoryKeyRing(keys, doc["current"], created)
    # The underlying errors are not shown: their text could echo parts of the file.
    except (ValueError, KeyError, TypeError, AttributeError, OSError, binascii.Error) as exc:
        raise ConfigError(
            f"KEK file {path} is malformed: expected JSON "
            '{"current": "<id>", "keys": {"<id>": "<base64 of 32 bytes>"}}; '
            f"{_fix_hint(path)}"
        ) from exc


def _aware(instant: dt.datetime) -> dt.datetime:
    if instant.tzinfo is None:
        raise ValueError("a creation time without a time zone")
    return instant


def create_keyring_file(path: Path, now: dt.datetime | None = None) -> MemoryKeyRing:
    """Write a new key file with one fresh KEK created at ``now`` (default: the system clock's
    now); refuse to overwrite an existing file."""
    with _locked(path):
        if path.exists():
            raise ConfigError(f"KEK file {path} already exists; it is not overwritten because "
                              "that would make all sealed content unreadable")
        ring = MemoryKeyRing.generate(created_at=now)
        _write(path, ring)
    return ring


def rotate_keyring_file(path: Path) -> MemoryKeyRing:
    """Add a fresh KEK to the key file and make it current; old KEKs are kept."""
    with _locked(path):
        ring = load_keyring(path).with_new_key()
        _write(path, ring)
    return ring


def _write(path: Path, ring: MemoryKeyRing) -> None:
    doc = {
        "current": ring.current_id,
        "keys": {kek_id: base64.b64encode(kek).decode("ascii")
                 for kek_id, kek in ring.material().items()},
        "created": {e.kek_id: e.created_at.isoformat() for e in ring.epochs()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file with mode 0600; os.replace makes the swap atomic.
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        tmp.chmod(0o600)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
