"""initial schema

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from skp.store.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "participant",
        sa.Column(
            "id",
            sa.Uuid(as_uuid=False),
            nullable=False,
            comment="Address-book id (Afzender/Ontvanger)",
        ),
        sa.Column(
            "name", sa.String(length=200), nullable=False, comment="Organisation (unit) name"
        ),
        sa.Column(
            "role",
            sa.Enum(
                "SHV_FASE1",
                "SHV_FASE2",
                "SHV_OVERIG",
                "SE",
                "BEWINDVOERDER",
                "WSK",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
            comment="Participant role",
        ),
        sa.Column("kvk_nummer", sa.String(length=8), nullable=True, comment="KvK number"),
        sa.Column(
            "vestigingsnummer", sa.String(length=12), nullable=True, comment="KvK vestigingsnummer"
        ),
        sa.Column(
            "uses_bsn",
            sa.Boolean(),
            nullable=False,
            comment="Creditor uses the BSN: receives Kennisgeving Publiek",
        ),
        sa.Column(
            "extension_days",
            sa.Integer(),
            nullable=False,
            comment="Verlengen afhandeltermijn: 0, 7, 14 or 28 calendar days",
        ),
        sa.Column("active", sa.Boolean(), nullable=False, comment="Inactive: no access"),
        sa.Column(
            "created_at", UTCDateTime(), nullable=False, comment="When the participant was added"
        ),
        sa.CheckConstraint(
            "extension_days IN (0, 7, 14, 28)", name=op.f("ck_participant_extension_days")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participant")),
        comment="Participants: organisations or business units with their own certificate",
    )
    op.create_table(
        "certificate",
        sa.Column(
            "fingerprint",
            sa.String(length=64),
            nullable=False,
            comment="SHA-256 of the DER certificate, hex",
        ),
        sa.Column("participant_id", sa.Uuid(as_uuid=False), nullable=False, comment="Owner"),
        sa.Column(
            "subject", sa.String(length=1000), nullable=False, comment="Subject DN (RFC 4514)"
        ),
        sa.Column("issuer", sa.String(length=1000), nullable=False, comment="Issuer DN (RFC 4514)"),
        sa.Column("serial", sa.String(length=64), nullable=False, comment="Serial number, hex"),
        sa.Column("not_before", UTCDateTime(), nullable=False, comment="Valid from"),
        sa.Column("not_after", UTCDateTime(), nullable=False, comment="Valid until"),
        sa.Column("revoked_at", UTCDateTime(), nullable=True, comment="Revoked; no access after"),
        sa.Column("added_at", UTCDateTime(), nullable=False, comment="When it was registered"),
        sa.CheckConstraint("not_before < not_after", name=op.f("ck_certificate_validity")),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_certificate_participant_id_participant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("fingerprint", name=op.f("pk_certificate")),
        comment="Client certificates mapped to participants",
    )
    op.create_index(
        op.f("ix_certificate_participant_id"), "certificate", ["participant_id"], unique=False
    )
    op.create_table(
        "message",
        sa.Column(
            "id", sa.Uuid(as_uuid=False), nullable=False, comment="Hub message id (berichtId)"
        ),
        sa.Column(
            "module",
            sa.Enum(
                "schuldregeling",
                "schuldinventarisatie",
                "betalingsregeling",
                "meldingen-bewindvoering",
                "waarborgfonds",
                name="module",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
            comment="Module slug",
        ),
        sa.Column(
            "type_code", sa.String(length=64), nullable=False, comment="Message type (Berichttype)"
        ),
        sa.Column("sender_id", sa.Uuid(as_uuid=False), nullable=False, comment="Afzender"),
        sa.Column("recipient_id", sa.Uuid(as_uuid=False), nullable=False, comment="Ontvanger"),
        sa.Column(
            "kenmerk",
            sa.String(length=64),
            nullable=False,
            comment="Sender's own id: idempotency key per sender",
        ),
        sa.Column(
            "conversation_id",
            sa.Uuid(as_uuid=False),
            nullable=False,
            comment="ConversatieReferentienummer",
        ),
        sa.Column(
            "cross_reference_id",
            sa.Uuid(as_uuid=False),
            nullable=True,
            comment="CrossReferentienummer: hub id of the message this one answers",
        ),
        sa.Column("version", sa.String(length=10), nullable=False, comment="Message-set version"),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "fetched",
                "confirmed",
                "expired",
                name="state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
            comment="Mailbox state",
        ),
        sa.Column("size", sa.Integer(), nullable=False, comment="Size of the content in bytes"),
        sa.Column("received_at", UTCDateTime(), nullable=False, comment="When the hub accepted it"),
        sa.Column(
            "deadline_at", UTCDateTime(), nullable=False, comment="Content is purged after this"
        ),
        sa.Column("fetched_at", UTCDateTime(), nullable=True, comment="First fetch"),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True, comment="Confirmed by recipient"),
        sa.Column("expired_at", UTCDateTime(), nullable=True, comment="Purged unconfirmed"),
        sa.Column("nonce", sa.LargeBinary(), nullable=True, comment="AES-GCM nonce"),
        sa.Column(
            "ciphertext", sa.LargeBinary(), nullable=True, comment="Sealed content (AES-256-GCM)"
        ),
        sa.Column(
            "wrapped_key", sa.LargeBinary(), nullable=True, comment="Data key wrapped by the KEK"
        ),
        sa.Column("kek_id", sa.String(length=64), nullable=True, comment="Id of the wrapping KEK"),
        sa.CheckConstraint(
            "(state IN ('queued', 'fetched') AND nonce IS NOT NULL AND ciphertext IS NOT NULL AND wrapped_key IS NOT NULL AND kek_id IS NOT NULL) OR (NOT state IN ('queued', 'fetched') AND nonce IS NULL AND ciphertext IS NULL AND wrapped_key IS NULL AND kek_id IS NULL)",
            name=op.f("ck_message_content_iff_pending"),
        ),
        sa.CheckConstraint(
            "state <> 'confirmed' OR confirmed_at IS NOT NULL", name=op.f("ck_message_confirmed_at")
        ),
        sa.CheckConstraint(
            "state <> 'expired' OR expired_at IS NOT NULL", name=op.f("ck_message_expired_at")
        ),
        sa.CheckConstraint(
            "state NOT IN ('fetched', 'confirmed') OR fetched_at IS NOT NULL",
            name=op.f("ck_message_fetched_at"),
        ),
        sa.CheckConstraint("size >= 0", name=op.f("ck_message_size")),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["participant.id"], name=op.f("fk_message_recipient_id_participant")
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"], ["participant.id"], name=op.f("fk_message_sender_id_participant")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message")),
        sa.UniqueConstraint("sender_id", "kenmerk", name=op.f("uq_message_sender_id_kenmerk")),
        comment="Messages: metadata in clear, content sealed (AES-256-GCM)",
    )
    op.create_index(
        op.f("ix_message_cross_reference_id"), "message", ["cross_reference_id"], unique=False
    )
    op.create_index(op.f("ix_message_received_at"), "message", ["received_at"], unique=False)
    op.create_index(
        op.f("ix_message_recipient_id_module_state_received_at"),
        "message",
        ["recipient_id", "module", "state", "received_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_message_sender_id_received_at"),
        "message",
        ["sender_id", "received_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_message_state_deadline_at"), "message", ["state", "deadline_at"], unique=False
    )
    op.create_table(
        "participant_module",
        sa.Column(
            "participant_id", sa.Uuid(as_uuid=False), nullable=False, comment="The participant"
        ),
        sa.Column(
            "module",
            sa.Enum(
                "schuldregeling",
                "schuldinventarisatie",
                "betalingsregeling",
                "meldingen-bewindvoering",
                "waarborgfonds",
                name="module",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
            comment="Module slug",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_participant_module_participant_id_participant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("participant_id", "module", name=op.f("pk_participant_module")),
        comment="Modules switched on per participant",
    )
    op.create_table(
        "claim_context",
        sa.Column("message_id", sa.Uuid(as_uuid=False), nullable=False, comment="The Saldoverzoek"),
        sa.Column("expires_at", UTCDateTime(), nullable=False, comment="End of the reply period"),
        sa.Column("nonce", sa.LargeBinary(), nullable=False, comment="AES-GCM nonce"),
        sa.Column(
            "ciphertext", sa.LargeBinary(), nullable=False, comment="Sealed claim references"
        ),
        sa.Column(
            "wrapped_key", sa.LargeBinary(), nullable=False, comment="Data key wrapped by KEK"
        ),
        sa.Column("kek_id", sa.String(length=64), nullable=False, comment="Id of the wrapping KEK"),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["message.id"],
            name=op.f("fk_claim_context_message_id_message"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_claim_context")),
        comment="Sealed claim references of open Saldoverzoeken (zero-amount expansion)",
    )
    op.create_index(
        op.f("ix_claim_context_expires_at"), "claim_context", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_claim_context_expires_at"), table_name="claim_context")
    op.drop_table("claim_context")
    op.drop_table("participant_module")
    op.drop_index(op.f("ix_message_state_deadline_at"), table_name="message")
    op.drop_index(op.f("ix_message_sender_id_received_at"), table_name="message")
    op.drop_index(op.f("ix_message_recipient_id_module_state_received_at"), table_name="message")
    op.drop_index(op.f("ix_message_received_at"), table_name="message")
    op.drop_index(op.f("ix_message_cross_reference_id"), table_name="message")
    op.drop_table("message")
    op.drop_index(op.f("ix_certificate_participant_id"), table_name="certificate")
    op.drop_table("certificate")
    op.drop_table("participant")
