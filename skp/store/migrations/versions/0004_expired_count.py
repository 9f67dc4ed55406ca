"""the purge's count of expired messages, kept in the database

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "expired_count",
        sa.Column("module", sa.Enum("schuldregeling", "schuldinventarisatie",
                                    "betalingsregeling", "meldingen-bewindvoering",
                                    "waarborgfonds", name="module", native_enum=False,
                                    create_constraint=True, length=32),
                  nullable=False, comment="Module slug"),
        sa.Column("type_code", sa.String(length=64), nullable=False,
                  comment="Message type (Berichttype)"),
        sa.Column("count", sa.BigInteger(), nullable=False, comment="Messages expired so far"),
        sa.CheckConstraint("count >= 0", name=op.f("ck_expired_count_count")),
        sa.PrimaryKeyConstraint("module", "type_code", name=op.f("pk_expired_count")),
        comment="Messages expired unconfirmed, per module and type, since the start",
    )


def downgrade() -> None:
    op.drop_table("expired_count")
