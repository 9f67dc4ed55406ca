"""the address book: participants' names as searched

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from skp.domain.addressbook import folded

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("participant") as batch:
        batch.add_column(sa.Column(
            "search_name", sa.String(length=200), nullable=True,
            comment="The name as the address book matches and orders it (accents off, folded)"))
    participant = sa.table("participant", sa.column("id", sa.Uuid(as_uuid=False)),
                           sa.column("name", sa.String()), sa.column("search_name", sa.String()))
    connection = op.get_bind()
    for row in connection.execute(sa.select(participant.c.id, participant.c.name)).all():
        connection.execute(participant.update().where(participant.c.id == row.id)
                           .values(search_name=folded(row.name)))
    with op.batch_alter_table("participant") as batch:
        batch.alter_column("search_name", existing_type=sa.String(length=200), nullable=False)
        batch.create_index(batch.f("ix_participant_search_name_id"), ["search_name", "id"])
        batch.create_index(batch.f("ix_participant_kvk_nummer"), ["kvk_nummer"])


def downgrade() -> None:
    with op.batch_alter_table("participant") as batch:
        batch.drop_index(batch.f("ix_participant_kvk_nummer"))
        batch.drop_index(batch.f("ix_participant_search_name_id"))
        batch.drop_column("search_name")
