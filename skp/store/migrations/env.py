"""Alembic environment: the engine comes from skp (see skp.store.db.migrate).

On PostgreSQL the migration holds an advisory lock, so hub processes that start at the same
time migrate one after the other instead of racing.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from skp.store.models import Base

MIGRATION_LOCK = 0x736B70_02

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": MIGRATION_LOCK})
        context.run_migrations()
    connection.commit()
