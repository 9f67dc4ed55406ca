"""documents stored apart, in segments

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message") as batch:
        batch.add_column(sa.Column(
            "documents", sa.SmallInteger(), server_default="0", nullable=False,
            comment="Number of attached documents, sealed in message_segment"))
        batch.create_check_constraint("documents", "documents >= 0")
    op.create_table(
        "message_segment",
        sa.Column("message_id", sa.Uuid(as_uuid=False), nullable=False,
                  comment="The message the document is attached to"),
        sa.Column("document", sa.SmallInteger(), nullable=False,
                  comment="The document's place in the message, from 0"),
        sa.Column("seq", sa.Integer(), nullable=False, comment="The segment's place, from 0"),
        sa.Column("data", sa.LargeBinary(), nullable=False,
                  comment="Ciphertext of the segment"),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"],
                                name=op.f("fk_message_segment_message_id_message"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("message_id", "document", "seq",
                                name=op.f("pk_message_segment")),
        comment="Sealed documents of pending messages, in segments (AES-256-GCM)",
    )


def downgrade() -> None:
    op.drop_table("message_segment")
    with op.batch_alter_table("message") as batch:
        batch.drop_constraint(op.f("ck_message_documents"), type_="check")
        batch.drop_column("documents")
