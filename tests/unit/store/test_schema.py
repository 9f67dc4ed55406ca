"""The schema: the migration matches the models, and the database enforces the invariants.

Every test runs on SQLite and on PostgreSQL (the ``engine`` fixture). Each insert that must
fail runs in a transaction of its own, so the failure rolls back only that insert.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from skp.domain.lifecycle import State
from skp.domain.roles import Module, Role
from skp.store.db import alembic_config
from skp.store.models import Base, Certificate, ClaimContext, Message, Participant
from tests.conftest import MONDAY

CONTENT = {"nonce": b"\x00" * 12, "ciphertext": b"sealed", "wrapped_key": b"\x01" * 40,
           "kek_id": "kek-1"}
NO_CONTENT = dict.fromkeys(CONTENT)
UNIQUE_KENMERK = ("message", ("sender_id", "kenmerk"))


def message(sender, recipient, *, state=State.QUEUED, kenmerk=None, **overrides):
    """A valid message row in ``state`` (content present only while queued or fetched)."""
    values = {
        "id": str(uuid.uuid4()), "module": Module.SCHULDINVENTARISATIE, "type_code": "SO",
        "sender_id": sender.id, "recipient_id": recipient.id,
        "kenmerk": kenmerk or f"K-{uuid.uuid4().hex[:12]}",
        "conversation_id": str(uuid.uuid4()), "version": "2.0", "state": state, "size": 6,
        "received_at": MONDAY, "deadline_at": MONDAY + dt.timedelta(days=6),
        "fetched_at": None, "confirmed_at": None, "expired_at": None,
        **(CONTENT if state.has_content else NO_CONTENT),
    }
    if state in (State.FETCHED, State.CONFIRMED):
        values["fetched_at"] = MONDAY + dt.timedelta(hours=1)
    if state is State.CONFIRMED:
        values["confirmed_at"] = MONDAY + dt.timedelta(hours=2)
    if state is State.EXPIRED:
        values["expired_at"] = MONDAY + dt.timedelta(days=7)
    values.update(overrides)
    return Message(**values)


def participant(**overrides):
    values = {"id": str(uuid.uuid4()), "name": "Energie BV", "role": Role.SE, "uses_bsn": False,
              "extension_days": 0, "active": True, "created_at": MONDAY, **overrides}
    return Participant(**values)


def refused(*, check=None, unique=None, foreign_key=None):
    """``pytest.raises`` for the IntegrityError of one named constraint, on either backend.

    SQLite names CHECK constraints but reports UNIQUE by columns and FOREIGN KEY anonymously;
    PostgreSQL names all three.
    """
    if check:
        pattern = f"ck_{check}\\b"
    elif unique:
        table, columns = unique
        pattern = (f"uq_{table}_{'_'.join(columns)}|UNIQUE constraint failed: "
                   + ", ".join(f"{table}.{c}" for c in columns))
    else:
        pattern = f"{foreign_key}|FOREIGN KEY constraint failed"
    return pytest.raises(IntegrityError, match=pattern)


def add(sessions, row):
    with sessions.begin() as s:
        s.add(row)


def count(sessions, model):
    with sessions.begin() as s:
        return len(s.scalars(select(model)).all())


# -- migration against models -------------------------------------------------------------


def test_migration_matches_the_models(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_migration_creates_every_check_constraint(engine):
    # compare_metadata ignores CHECK constraints; compare their names table by table.
    inspector = inspect(engine)
    for table in Base.metadata.sorted_tables:
        expected = {str(c.name) for c in table.constraints if isinstance(c, CheckConstraint)}
        actual = {c["name"] for c in inspector.get_check_constraints(table.name)}
        assert actual == expected, table.name


def test_migration_is_at_head(engine):
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == ("0009",)


def test_migration_downgrades_and_upgrades_again(engine, sessions):
    config = alembic_config(engine)
    command.downgrade(config, "base")
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        command.upgrade(config, "head")
    assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables)


def test_every_column_has_a_comment():
    for table in Base.metadata.sorted_tables:
        assert table.comment, table.name
        for column in table.columns:
            assert column.comment, f"{table.name}.{column.name}"


# -- a valid row in each state is accepted --------------------------------------------------


@pytest.mark.parametrize("state", list(State))
def test_a_consistent_message_is_accepted_in_every_state(sessions, people, state):
    add(sessions, message(people.shv, people.se, state=state))
    with sessions.begin() as s:
        row = s.scalars(select(Message)).one()
        assert row.state is state
        assert (row.ciphertext is not None) == state.has_content


# -- content iff pending ------------------------------------------------------------------


def test_confirmed_message_with_ciphertext_is_refused(sessions, people):
    row = message(people.shv, people.se, state=State.CONFIRMED, **CONTENT)
    with refused(check="message_content_iff_pending"), sessions.begin() as s:
        s.add(row)
    assert count(sessions, Message) == 0


def test_confirmed_message_with_only_ciphertext_left_is_refused(sessions, people):
    row = message(people.shv, people.se, state=State.CONFIRMED, ciphertext=b"left over")
    with refused(check="message_content_iff_pending"), sessions.begin() as s:
        s.add(row)


def test_expired_message_with_content_is_refused(sessions, people):
    row = message(people.shv, people.se, state=State.EXPIRED, **CONTENT)
    with refused(check="message_content_iff_pending"), sessions.begin() as s:
        s.add(row)


def test_queued_message_without_ciphertext_is_refused(sessions, people):
    row = message(people.shv, people.se, state=State.QUEUED, ciphertext=None)
    with refused(check="message_content_iff_pending"), sessions.begin() as s:
        s.add(row)
    assert count(sessions, Message) == 0


@pytest.mark.parametrize("column", sorted(CONTENT))
def test_fetched_message_missing_any_content_column_is_refused(sessions, people, column):
    row = message(people.shv, people.se, state=State.FETCHED, **{column: None})
    with refused(check="message_content_iff_pending"), sessions.begin() as s:
        s.add(row)


def test_confirming_without_purging_content_is_refused_on_update(sessions, people):
    row = message(people.shv, people.se, state=State.FETCHED)
    add(sessions, row)
    with refused(check="message_content_iff_pending"), sessions.begin() as s:
        s.execute(text("UPDATE message SET state = 'confirmed', confirmed_at = fetched_at"))
    with sessions.begin() as s:
        assert s.scalars(select(Message)).one().state is State.FETCHED


# -- timestamps that go with a state ------------------------------------------------------


def test_confirmed_without_confirmed_at_is_refused(sessions, people):
    row = message(people.shv, people.se, state=State.CONFIRMED, confirmed_at=None)
    with refused(check="message_confirmed_at"), sessions.begin() as s:
        s.add(row)


def test_fetched_without_fetched_at_is_refused(sessions, people):
    row = message(people.shv, people.se, state=State.FETCHED, fetched_at=None)
    with refused(check="message_fetched_at"), sessions.begin() as s:
        s.add(row)


def test_expired_without_expired_at_is_refused(sessions, people):
    row = message(people.shv, people.se, state=State.EXPIRED, expired_at=None)
    with refused(check="message_expired_at"), sessions.begin() as s:
        s.add(row)


def test_negative_size_is_refused(sessions, people):
    row = message(people.shv, people.se, size=-1)
    with refused(check="message_size"), sessions.begin() as s:
        s.add(row)


# -- unique, foreign keys, enums ----------------------------------------------------------


def test_duplicate_sender_and_kenmerk_is_refused(sessions, people):
    add(sessions, message(people.shv, people.se, kenmerk="K-1"))
    with refused(unique=UNIQUE_KENMERK), sessions.begin() as s:
        s.add(message(people.shv, people.se2, kenmerk="K-1"))
    assert count(sessions, Message) == 1


def test_same_kenmerk_from_another_sender_is_accepted(sessions, people):
    add(sessions, message(people.shv, people.se, kenmerk="K-1"))
    add(sessions, message(people.bewind, people.se, kenmerk="K-1"))
    assert count(sessions, Message) == 2


def test_duplicate_sender_and_kenmerk_is_refused_by_raw_sql(sessions, people):
    add(sessions, message(people.shv, people.se, kenmerk="K-1"))
    with refused(unique=UNIQUE_KENMERK), sessions.begin() as s:
        s.execute(text("INSERT INTO message (id, module, type_code, sender_id, recipient_id, "
                       "kenmerk, conversation_id, version, state, size, received_at, "
                       "deadline_at, nonce, ciphertext, wrapped_key, kek_id) "
                       "SELECT :id, module, type_code, sender_id, recipient_id, kenmerk, "
                       "conversation_id, version, state, size, received_at, deadline_at, "
                       "nonce, ciphertext, wrapped_key, kek_id FROM message"),
                  {"id": uuid.uuid4().hex})


def test_unknown_sender_is_refused(sessions, people):
    ghost = participant()  # never stored
    with refused(foreign_key="fk_message_sender_id_participant"), sessions.begin() as s:
        s.add(message(ghost, people.se))


def test_unknown_state_is_refused_by_the_database(sessions, people):
    add(sessions, message(people.shv, people.se, state=State.EXPIRED))
    # Raw SQL: the ORM's enum would refuse the value before it reached the database.
    with refused(check="message_state"), sessions.begin() as s:
        s.execute(text("UPDATE message SET state = 'archived'"))
    with sessions.begin() as s:
        assert s.scalars(select(Message)).one().state is State.EXPIRED


def test_unknown_state_is_refused_by_the_model(sessions, people):
    row = message(people.shv, people.se, state=State.EXPIRED)
    row.state = "archived"  # type: ignore[assignment]
    with pytest.raises(StatementError), sessions.begin() as s:
        s.add(row)
    assert count(sessions, Message) == 0


def test_unknown_module_is_refused_by_the_database(sessions, people):
    add(sessions, message(people.shv, people.se))
    with refused(check="message_module"), sessions.begin() as s:
        s.execute(text("UPDATE message SET module = 'hypotheek'"))


def test_unknown_role_is_refused_by_the_database(sessions, people):
    with refused(check="participant_role"), sessions.begin() as s:
        s.execute(text("UPDATE participant SET role = 'BANK'"))
    with sessions.begin() as s:
        assert s.get(Participant, people.se.id).role is Role.SE


# -- participants and certificates --------------------------------------------------------


@pytest.mark.parametrize("days", [0, 7, 14, 28])
def test_allowed_extension_days_are_accepted(sessions, days):
    add(sessions, participant(extension_days=days))
    assert count(sessions, Participant) == 1


@pytest.mark.parametrize("days", [5, -7, 1, 30])
def test_other_extension_days_are_refused(sessions, days):
    with refused(check="participant_extension_days"), sessions.begin() as s:
        s.add(participant(extension_days=days))
    assert count(sessions, Participant) == 0


def test_extension_days_five_is_refused_on_update(sessions, people):
    with refused(check="participant_extension_days"), sessions.begin() as s:
        s.execute(text("UPDATE participant SET extension_days = 5"))
    with sessions.begin() as s:
        assert s.get(Participant, people.shv.id).extension_days == 0


def test_certificate_validity_must_be_a_positive_period(sessions, people):
    with refused(check="certificate_validity"), sessions.begin() as s:
        s.add(Certificate(fingerprint="ab" * 32, participant_id=people.se.id, subject="CN=x",
                          issuer="CN=ca", serial="1", not_before=MONDAY, not_after=MONDAY,
                          revoked_at=None, added_at=MONDAY))


def test_claim_context_needs_its_message(sessions):
    with refused(foreign_key="fk_claim_context_message_id_message"), sessions.begin() as s:
        s.add(ClaimContext(message_id=str(uuid.uuid4()), expires_at=MONDAY, nonce=b"n",
                           ciphertext=b"c", wrapped_key=b"k", kek_id="kek-1"))


# -- UTC datetimes ------------------------------------------------------------------------


def test_aware_datetime_round_trips_as_aware_utc(sessions):
    amsterdam_winter = dt.timezone(dt.timedelta(hours=1))
    local = dt.datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=amsterdam_winter)
    row = participant(created_at=local)
    add(sessions, row)

    with sessions.begin() as s:
        loaded = s.get(Participant, row.id)
        assert loaded.created_at == local
        assert loaded.created_at == dt.datetime(2026, 11, 23, 9, 0, 0, 123456, tzinfo=dt.UTC)
        assert loaded.created_at.tzinfo is not None
        assert loaded.created_at.utcoffset() == dt.timedelta(0)
        assert loaded.created_at.tzinfo == dt.UTC


def test_datetimes_compare_in_sql_as_instants(sessions):
    early = participant(name="early", created_at=dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC))
    # 09:30 UTC, written as 10:30 +01:00: later, although its wall-clock hour is higher.
    late = participant(name="late", created_at=dt.datetime(
        2026, 11, 23, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))))
    add(sessions, late)
    add(sessions, early)
    cutoff = dt.datetime(2026, 11, 23, 9, 15, tzinfo=dt.UTC)
    with sessions.begin() as s:
        names = s.scalars(select(Participant.name).where(Participant.created_at > cutoff)).all()
        ordered = s.scalars(select(Participant.name).order_by(Participant.created_at)).all()
    assert names == ["late"]
    assert ordered == ["early", "late"]


def test_naive_datetime_is_refused_on_bind(sessions):
    row = participant(created_at=dt.datetime(2026, 11, 23, 9, 0))  # noqa: DTZ001 - the point
    with pytest.raises(StatementError, match="naive") as caught, sessions.begin() as s:
        s.add(row)
    assert not isinstance(caught.value, IntegrityError)
    assert isinstance(caught.value.orig, ValueError)
    assert count(sessions, Participant) == 0


def test_naive_datetime_is_refused_in_a_query(sessions):
    naive = dt.datetime(2026, 11, 23, 9, 0)  # noqa: DTZ001 - the point
    with pytest.raises(StatementError, match="naive"), sessions.begin() as s:
        s.scalars(select(Participant).where(Participant.created_at < naive)).all()


def test_null_datetime_stays_null(sessions, people):
    add(sessions, message(people.shv, people.se, state=State.QUEUED))
    with sessions.begin() as s:
        row = s.scalars(select(Message)).one()
        assert row.fetched_at is None
        assert row.received_at == MONDAY
        assert row.deadline_at.tzinfo == dt.UTC
