"""Callers' identities kept by a server process (skp.identities), on SQLite and PostgreSQL.

``hub`` is the server process that keeps what it looked up; ``other`` stands for another
process on the same database (the CLI, another worker): a Participants of its own, whose
commits the first one does not see happen.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import trustme
from sqlalchemy import event, insert, select, update

from skp import identities
from skp.domain.admission import Standing
from skp.domain.roles import ROLE_MODULES, Module, Role
from skp.errors import AuthenticationError, NotAllowed, UnknownRecipient
from skp.identities import LEASE, Identities, Kept
from skp.mailbox import Mailbox
from skp.participants import Participants, fingerprint, load_certificate
from skp.store.db import make_sessions, resting
from skp.store.models import IdentityLease, Participant, RegisterVersion
from skp.store.session import statements
from tests.helpers import send, wait_until


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def hub(sessions, clock):
    participants = Participants(sessions, clock)
    yield participants
    participants.identities.stop()


@pytest.fixture
def other(engine, sessions, clock):
    return Participants(make_sessions(engine), clock)  # sessions of its own, as a process


@pytest.fixture
def caller(hub, ca):
    """A registered creditor: its fingerprint and id."""
    info = hub.add(standing=Standing.ACTIVE, name="Energie BV", role=Role.SE,
                   modules=ROLE_MODULES[Role.SE])
    pem = ca.issue_cert("se.skp.test").cert_chain_pems[0].bytes()
    hub.add_certificate(info.id, pem)
    return fingerprint(load_certificate(pem)), info.id


def watching(participants):
    participants.identities.start()
    wait_until(participants.identities.current, 5, "a lease")
    return participants


def lookups(engine, call):
    """The identity queries this thread ran for ``call()`` (the watch runs on its own)."""
    mine, ran = threading.get_ident(), []

    def count(_conn, _cursor, statement, *_):
        if threading.get_ident() == mine and "FROM participant" in statement:
            ran.append(statement)

    event.listen(resting(engine), "before_cursor_execute", count)
    try:
        call()
    finally:
        event.remove(resting(engine), "before_cursor_execute", count)
    return len(ran)


def test_a_watching_process_asks_the_database_once(engine, hub, caller):
    fp, participant_id = caller
    watching(hub)
    assert lookups(engine, lambda: hub.identify(fp)) == 1
    assert lookups(engine, lambda: hub.identify(fp)) == 0
    assert hub.identify(fp.upper()).id == participant_id


def test_a_process_that_does_not_watch_asks_every_time(engine, hub, caller):
    fp, _ = caller
    hub.identify(fp)
    assert lookups(engine, lambda: hub.identify(fp)) == 1


@pytest.mark.parametrize(("change", "refusal"), [
    (lambda other, fp, pid: other.revoke_certificate(fp), "revoked"),
    (lambda other, fp, pid: other.deactivate(pid), "not active"),
], ids=["revoked", "deactivated"])
def test_a_change_elsewhere_is_in_force_when_in_force_returns(hub, other, caller, change,
                                                               refusal):
    fp, participant_id = caller
    watching(hub).identify(fp)
    change(other, fp, participant_id)
    assert other.identities.in_force() == 0
    with pytest.raises(AuthenticationError, match=refusal):
        hub.identify(fp)


def test_a_change_made_by_hand_is_counted_by_the_database(engine, hub, other, caller):
    fp, participant_id = caller
    watching(hub).identify(fp)
    with engine.begin() as conn:
        before = conn.execute(select(RegisterVersion.version)).scalar_one()
        conn.execute(update(Participant).where(Participant.id == participant_id)
                     .values(extension_days=14))
        assert conn.execute(select(RegisterVersion.version)).scalar_one() > before
    assert other.identities.in_force() == 0
    assert hub.identify(fp).extension_days == 14


def test_a_change_through_the_process_itself_is_forgotten_at_its_commit(hub, caller):
    fp, participant_id = caller
    watching(hub).identify(fp)
    hub.set_extension(participant_id, 28)
    assert hub.identify(fp).extension_days == 28
    hub.deactivate(participant_id)
    with pytest.raises(AuthenticationError):
        hub.identify(fp)


def test_validity_in_time_is_checked_on_every_request(hub, ca, clock):
    now = dt.datetime.now(dt.UTC)
    clock.set(now)
    info = hub.add(standing=Standing.ACTIVE, name="Energie BV", role=Role.SE)
    pem = ca.issue_cert("se.skp.test", not_after=now + dt.timedelta(days=1)
                        ).cert_chain_pems[0].bytes()
    fp = hub.add_certificate(info.id, pem).fingerprint
    watching(hub).identify(fp)
    clock.advance(dt.timedelta(days=2))
    with pytest.raises(AuthenticationError, match="expired"):
        hub.identify(fp)


def test_a_lookup_begun_before_a_change_is_not_kept(sessions):
    watch = Identities(sessions)
    kept: Kept[str] = watch.kept()
    other: Kept[str] = watch.kept()
    watch.start()
    try:
        wait_until(watch.current, 5, "a lease")
        begun = watch.generation()
        watch.forget()
        kept.keep("fp", "looked up before", begun)
        assert kept.get("fp") is None
        kept.keep("fp", "looked up after", watch.generation())
        other.keep("fp", "another kind", watch.generation())
        assert (kept.get("fp"), other.get("fp")) == ("looked up after", "another kind")
        watch.forget()  # forgets every kind
        assert (kept.get("fp"), other.get("fp")) == (None, None)
        kept.keep("fp", "looked up again", watch.generation())
    finally:
        watch.stop()
    assert kept.get("fp") is None


def test_in_force_waits_for_a_current_lease_behind_the_register(sessions, other):
    with statements(sessions, read_only=False) as conn:
        version = conn.execute(select(RegisterVersion.version)).scalar_one()
        conn.execute(insert(IdentityLease).values(process="behind", version=version - 1,
                                                  renewed_at=identities.Now()))
    assert other.identities.in_force(timeout=0.3) == 1
    with statements(sessions, read_only=False) as conn:  # its lease ran out
        conn.execute(update(IdentityLease).values(renewed_at=identities.Now() - LEASE - 1))
    assert other.identities.in_force(timeout=0.3) == 0


def test_a_lease_is_renewed_only_at_the_registers_version(hub, caller):
    watching(hub)
    with statements(hub._sessions) as conn:
        version = conn.execute(select(RegisterVersion.version)).scalar_one()
    with statements(hub._sessions, read_only=False) as conn:
        assert conn.execute(hub.identities._renewal(version - 1)).all() == []
        assert conn.execute(hub.identities._renewal(version)).all() == [(version,)]


def test_a_process_that_cannot_watch_asks_the_database_again(engine, hub, caller, monkeypatch):
    fp, _ = caller
    monkeypatch.setattr(identities, "LEASE", 0.5)
    watching(hub).identify(fp)
    with engine.begin() as conn:  # the register's version cannot be read any more
        row = conn.execute(select(RegisterVersion.version)).scalar_one()
        conn.execute(RegisterVersion.__table__.delete())
    try:
        wait_until(lambda: not hub.identities.current(), 5, "the lease to lapse")
        assert lookups(engine, lambda: hub.identify(fp)) == 1
    finally:
        with engine.begin() as conn:
            conn.execute(insert(RegisterVersion).values(id=1, version=row))
    wait_until(hub.identities.current, 5, "a lease again")


def test_a_stopped_process_gives_its_lease_back(sessions, hub, caller):
    watching(hub)
    hub.identities.stop()
    with statements(sessions) as conn:
        assert conn.execute(select(IdentityLease.process)).all() == []


@pytest.fixture
def parties(hub):
    """An active debt counsellor and creditor: the parties of a send."""
    shv = hub.add(standing=Standing.ACTIVE, name="Gemeente SHV", role=Role.SHV_FASE2,
                  modules=ROLE_MODULES[Role.SHV_FASE2])
    se = hub.add(standing=Standing.ACTIVE, name="Energie BV", role=Role.SE,
                 modules=ROLE_MODULES[Role.SE])
    return shv, se


def test_a_watching_process_reads_the_parties_of_a_send_once(engine, hub, parties):
    ids = [p.id for p in parties]
    watching(hub)
    assert lookups(engine, lambda: hub.active(ids)) == 1
    assert lookups(engine, lambda: hub.active(ids)) == 0
    assert sorted(hub.active(ids)) == sorted(ids)
    unknown = "00000000-0000-4000-8000-000000000000"
    assert lookups(engine, lambda: hub.active([unknown])) == 1  # never kept: the register
    assert lookups(engine, lambda: hub.active([unknown])) == 1  # bounds what is


@pytest.mark.parametrize("change", ["deactivate", "disable-module"])
def test_a_recipient_changed_elsewhere_is_in_force_for_sends_when_in_force_returns(
        engine, hub, other, parties, keyring, settings, clock, change):
    shv, se = parties
    mailbox = Mailbox(hub._sessions, keyring, settings, clock, participants=watching(hub))
    send(mailbox, shv, se, Module.SCHULDREGELING, "Kennisgeving")  # both kept
    assert lookups(engine, lambda: send(mailbox, shv, se, Module.SCHULDREGELING,
                                        "Kennisgeving")) == 0
    if change == "deactivate":
        other.deactivate(se.id)
    else:
        other.disable_module(se.id, Module.SCHULDREGELING)
    assert other.identities.in_force() == 0
    with pytest.raises(UnknownRecipient if change == "deactivate" else NotAllowed):
        send(mailbox, shv, se, Module.SCHULDREGELING, "Kennisgeving")
