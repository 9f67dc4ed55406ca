"""The PKCS#11 key store on SoftHSM2: a token of the test run's own (SOFTHSM2_CONF points at a
temporary configuration), never the system's tokens."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pkcs11
import pytest
from click.testing import CliRunner
from pkcs11 import Attribute, KeyType, ObjectClass
from pkcs11.exceptions import AttributeSensitive, KeyUnextractable, UserAlreadyLoggedIn
from sqlalchemy import select

from skp.cli import cli
from skp.config import KeyStoreKind, Pkcs11Settings, Settings
from skp.domain.catalogue import lookup
from skp.domain.epochs import GRACE
from skp.domain.examples import example_body
from skp.domain.roles import Module, Role
from skp.errors import IntegrityError
from skp.keystore import KeyStore, epochs, open_key_store
from skp.keystore.pkcs11 import Pkcs11KeyStore
from skp.mailbox import Mailbox
from skp.sealing import MemoryKeyRing
from skp.store.db import make_engine, migrate
from skp.store.models import Message
from tests.conftest import MONDAY
from tests.helpers import require, send

SR = Module.SCHULDREGELING
MB = Module.MELDINGEN_BEWINDVOERING
LIBRARY = Path("/usr/lib/softhsm/libsofthsm2.so")
LABEL = "skp-test"
PIN = "4711-test"


@pytest.fixture(scope="session")
def token(tmp_path_factory):
    """A SoftHSM2 token in a temporary directory; the library reads SOFTHSM2_CONF once."""
    require(shutil.which("softhsm2-util") is not None and LIBRARY.exists(),
            "SoftHSM2 (Debian softhsm2)")
    where = tmp_path_factory.mktemp("softhsm")
    (where / "tokens").mkdir()
    conf = where / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {where / 'tokens'}\nobjectstore.backend = file\n"
                    "log.level = ERROR\n")
    before = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", LABEL,  # noqa: S603, S607
                    "--pin", PIN, "--so-pin", "so-" + PIN], check=True, capture_output=True)
    (where / "pin").write_text(PIN + "\n")
    yield Pkcs11Settings(library=LIBRARY, token_label=LABEL, pin_file=where / "pin")
    if before is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = before


def objects(token):
    """The secret keys on the token, through a session of the test's own (a login holds for
    every session of the process: closing one that logged in logs them all out)."""
    found = pkcs11.lib(str(token.library)).get_token(token_label=LABEL)
    try:
        session = found.open(user_pin=PIN, rw=True)
    except UserAlreadyLoggedIn:
        session = found.open(rw=True)
    return session, list(session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY}))


@pytest.fixture
def store(token):
    session, keys = objects(token)
    for key in keys:  # each test starts from an empty token
        key.destroy()
    session.close()
    store = Pkcs11KeyStore.open(token, now=MONDAY)
    assert isinstance(store, KeyStore)
    return store


def test_settings_choose_the_hsm(token):
    settings = Settings(key_store=KeyStoreKind.PKCS11, pkcs11=token)
    assert isinstance(open_key_store(settings), Pkcs11KeyStore)


def test_send_fetch_confirm_through_the_hsm(store, sessions, settings, clock, people):
    mailbox = Mailbox(sessions, store, settings, clock)
    document = b"%PDF-1.7 " * 20_000
    melding = {**example_body(lookup(MB, "MeldingStartBewind"), sender_role=Role.BEWINDVOERDER),
               "Beschikking": document}
    receipt = send(mailbox, people.bewind, people.se, MB, "MeldingStartBewind", body=melding)
    with sessions() as session:
        row = session.get(Message, receipt.message_id)
        assert row.kek_id == store.current_id and len(row.wrapped_key) == 40
    # Another key ring cannot open it: the data key is wrapped by the HSM's KEK only.
    with pytest.raises(IntegrityError):
        Mailbox(sessions, MemoryKeyRing.generate(store.current_id), settings, clock).fetch(
            people.se.id, receipt.message_id)
    delivery = mailbox.fetch(people.se.id, receipt.message_id)
    assert delivery.body["Beschikking"].read() == document
    assert not mailbox.confirm(people.se.id, receipt.message_id).repeated


def test_rotation_and_epoch_destruction_in_the_hsm(store, sessions, settings, clock, people):
    mailbox = Mailbox(sessions, store, settings, clock)
    first = store.current_id
    early = send(mailbox, people.shv, people.se, SR, "Kennisgeving").message_id

    # Rotation for a compromise: a new KEK now, every data key re-wrapped by the HSM.
    second = store.create(clock.now()).kek_id
    assert store.current_id == second != first
    assert mailbox.rewrap_keys() == 1
    clock.advance(GRACE + dt.timedelta(seconds=1))
    done = epochs.turn(store, sessions, settings, clock.now())
    assert done.destroyed == (first,) and done.created is None
    assert first not in {e.kek_id for e in store.epochs()}
    assert mailbox.fetch(people.se.id, early).info.id == early

    # A day later a new epoch; once the old one's content is confirmed and the grace is
    # over, its KEK is destroyed on the token.
    clock.advance(dt.timedelta(days=1))
    assert epochs.turn(store, sessions, settings, clock.now()).created is not None
    mailbox.confirm(people.se.id, early)
    clock.advance(GRACE + dt.timedelta(seconds=1))
    assert epochs.turn(store, sessions, settings, clock.now()).destroyed == (second,)
    session, keys = objects(store_token(store))
    assert [key.label for key in keys] == [store.current_id]
    session.close()
    with sessions() as s:
        assert s.scalars(select(Message.kek_id).where(Message.kek_id.is_not(None))).all() == []


def store_token(store):
    return Pkcs11Settings(library=LIBRARY, token_label=LABEL)


def store_wrapped(token):
    """A data key wrapped by the token's current KEK, through a store of its own."""
    other = Pkcs11KeyStore.open(token)
    return other.wrap(b"k" * 32)[1]


def test_the_kek_cannot_leave_the_hsm(store, token):
    session, keys = objects(token)
    [kek] = keys
    assert kek.label == store.current_id
    assert kek[Attribute.EXTRACTABLE] is False and kek[Attribute.NEVER_EXTRACTABLE] is True
    assert kek[Attribute.SENSITIVE] is True and kek[Attribute.ALWAYS_SENSITIVE] is True
    assert kek[Attribute.ENCRYPT] is False and kek[Attribute.DECRYPT] is False
    with pytest.raises(AttributeSensitive):
        kek[Attribute.VALUE]  # the attempt is the test
    # An export wrapped by a key of the operator's own is refused too.
    exporter = session.generate_key(KeyType.AES, 256, store=False,
                                    template={Attribute.WRAP: True})
    with pytest.raises(KeyUnextractable):
        exporter.wrap_key(kek)
    session.close()


def test_skp_keys_rotate_with_the_hsm(store, token, tmp_path, people):
    database = tmp_path / "skp.sqlite3"
    engine = make_engine(f"sqlite:///{database}")
    migrate(engine)
    engine.dispose()
    env = {"SKP_DATABASE_URL": f"sqlite:///{database}", "SKP_KEY_STORE": "pkcs11",
           "SKP_PKCS11_LIBRARY": str(token.library), "SKP_PKCS11_TOKEN": LABEL,
           "SKP_PKCS11_PIN_FILE": str(token.pin_file)}
    first = store.current_id
    result = CliRunner().invoke(cli, ["keys", "rotate"], env=env)
    assert result.exit_code == 0, result.output
    assert "re-wrapped 0 data keys" in result.output
    result = CliRunner().invoke(cli, ["keys", "list"], env=env)
    assert f"{first}  wraps 0 data keys" in result.output and "(current)" in result.output
    result = CliRunner().invoke(cli, ["keys", "retire", first], env=env)
    assert result.exit_code == 0, result.output
    session, keys = objects(token)
    assert first not in {key.label for key in keys} and len(keys) == 1
    session.close()
    # This process's store sees the other's changes within a few seconds, and at once when
    # asked to unwrap with a KEK it does not know.
    assert store.unwrap(keys[0].label, store_wrapped(token)) == b"k" * 32
