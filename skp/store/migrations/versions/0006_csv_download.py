"""the portal's CSV downloads and their messages (metadata only)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from skp.store.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "csv_download",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False, comment="Id"),
        sa.Column("participant_id", sa.Uuid(as_uuid=False), nullable=False,
                  comment="The business unit"),
        sa.Column("employee_id", sa.Uuid(as_uuid=False), nullable=False,
                  comment="The employee who downloaded"),
        sa.Column("module", sa.String(length=32), nullable=False, comment="Module slug"),
        sa.Column("type_code", sa.String(length=64), nullable=False,
                  comment="Message type (Berichttype)"),
        sa.Column("created_at", UTCDateTime(), nullable=False,
                  comment="When it was first downloaded"),
        sa.Column("expires_at", UTCDateTime(), nullable=False,
                  comment="The latest deadline of its messages: it cannot be downloaded after"),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True,
                  comment="When the employee confirmed it (its messages confirmed in the "
                          "mailbox)"),
        sa.CheckConstraint("confirmed_at IS NULL OR confirmed_at >= created_at",
                           name=op.f("ck_csv_download_confirmed")),
        sa.ForeignKeyConstraint(["employee_id"], ["employee.id"],
                                name=op.f("fk_csv_download_employee_id_employee"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["participant_id"], ["participant.id"],
                                name=op.f("fk_csv_download_participant_id_participant"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csv_download")),
        comment="CSV downloads of the portal (metadata only, never content)",
    )
    with op.batch_alter_table("csv_download", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_csv_download_participant_id_created_at"),
                              ["participant_id", "created_at"], unique=False)
    op.create_table(
        "csv_download_message",
        sa.Column("download_id", sa.Uuid(as_uuid=False), nullable=False,
                  comment="The download"),
        sa.Column("message_id", sa.Uuid(as_uuid=False), nullable=False,
                  comment="The message (its metadata; purged with it)"),
        sa.ForeignKeyConstraint(["download_id"], ["csv_download.id"],
                                name=op.f("fk_csv_download_message_download_id_csv_download"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"],
                                name=op.f("fk_csv_download_message_message_id_message"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("download_id", "message_id",
                                name=op.f("pk_csv_download_message")),
        comment="The messages of each CSV download",
    )
    with op.batch_alter_table("csv_download_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_csv_download_message_message_id"), ["message_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("csv_download_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_csv_download_message_message_id"))
    op.drop_table("csv_download_message")
    with op.batch_alter_table("csv_download", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_csv_download_participant_id_created_at"))
    op.drop_table("csv_download")
