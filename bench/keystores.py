"""Wrap and unwrap of a data key per key store: the file store (in the hub's memory) and the
PKCS#11 store on SoftHSM2 (a token in a temporary directory of its own), and the time of one
SQLite WAL checkpoint after a burst of confirmed messages.

    .venv/bin/python bench/keystores.py [--rounds 2000]
    .venv/bin/python bench/keystores.py --smoke   # 50 rounds: that it runs
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import tempfile
import time
from pathlib import Path

from harness import ms, out

from skp.config import Pkcs11Settings
from skp.keystore import KeyStore
from skp.keystore.file import FileKeyStore, create_keyring_file
from skp.store.db import checkpoint, make_engine, migrate

SOFTHSM = Path("/usr/lib/softhsm/libsofthsm2.so")


def rate(store: KeyStore, rounds: int) -> tuple[float, float]:
    """Wraps and unwraps a second."""
    keys = [secrets.token_bytes(32) for _ in range(rounds)]
    start = time.perf_counter()
    wrapped = [store.wrap(key) for key in keys]
    wrapping = time.perf_counter() - start
    start = time.perf_counter()
    for kek_id, blob in wrapped:
        store.unwrap(kek_id, blob)
    return rounds / wrapping, rounds / (time.perf_counter() - start)


def softhsm(where: Path) -> KeyStore:
    from skp.keystore.pkcs11 import Pkcs11KeyStore

    (where / "tokens").mkdir()
    (where / "softhsm2.conf").write_text(f"directories.tokendir = {where / 'tokens'}\n"
                                         "objectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(where / "softhsm2.conf")
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "bench",  # noqa: S607
                    "--pin", "1234", "--so-pin", "5678"], check=True, capture_output=True)
    (where / "pin").write_text("1234")
    return Pkcs11KeyStore.open(Pkcs11Settings(SOFTHSM, "bench", where / "pin"))


def wal_checkpoint(where: Path, rows: int) -> float:
    """Seconds of one TRUNCATE checkpoint after ``rows`` 4 KB rows were written and deleted."""
    engine = make_engine(f"sqlite:///{where / 'bench.sqlite3'}")
    migrate(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE blob (id INTEGER PRIMARY KEY, data BLOB)")
        conn.exec_driver_sql("INSERT INTO blob (data) SELECT randomblob(4096) FROM "
                             "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                             "WHERE i < ?) SELECT i FROM n)", (rows,))
        conn.exec_driver_sql("DELETE FROM blob")
    start = time.perf_counter()
    checkpoint(engine)
    seconds = time.perf_counter() - start
    engine.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--smoke", action="store_true", help="50 rounds")
    args = parser.parse_args()
    if args.smoke:
        args.rounds = 50
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        create_keyring_file(where / "kek.json")
        wraps, unwraps = rate(FileKeyStore(where / "kek.json"), args.rounds)
        out(f"file store:      {wraps:9.0f} wraps/s  {unwraps:9.0f} unwraps/s")
        if SOFTHSM.exists():
            wraps, unwraps = rate(softhsm(where), args.rounds)
            out(f"PKCS#11 SoftHSM2:{wraps:9.0f} wraps/s  {unwraps:9.0f} unwraps/s")
        else:
            out("PKCS#11 store: not measured, SoftHSM2 is not installed (Debian softhsm2)")
        for rows in (1_000, 10_000):
            out(f"WAL checkpoint (TRUNCATE) after {rows} 4 KB rows written and deleted: "
                f"{ms(wal_checkpoint(where, rows))}")
            (where / "bench.sqlite3").unlink()


if __name__ == "__main__":
    main()
