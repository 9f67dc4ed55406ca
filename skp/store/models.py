"""Typed SQLAlchemy models. Invariants live in the schema, not only in code.

Only routing metadata is stored in clear. Content columns (``nonce``, ``ciphertext``,
``wrapped_key``, ``kek_id``) hold sealed data and are emptied together when a message is
confirmed or expires; a check constraint enforces that. A message's documents are sealed under
the same data key and stored apart, in segments (``message_segment``), deleted with the content.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Double,
    Enum,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from skp.domain.addressbook import folded
from skp.domain.admission import Standing
from skp.domain.lifecycle import State
from skp.domain.retention import EXTENSION_DAYS
from skp.domain.roles import Module, Role
from skp.store.types import UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    """A portable enum column stored by value, with a CHECK constraint."""
    return Enum(cls, name=name, native_enum=False, create_constraint=True, length=32,
                values_callable=lambda members: [m.value for m in members],
                validate_strings=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        dt.datetime: UTCDateTime(),
        str: String(200),
    }


class Participant(Base):
    """One organisation unit that sends and receives on its own."""

    __tablename__ = "participant"
    __table_args__ = (
        CheckConstraint(
            f"extension_days IN ({', '.join(str(d) for d in sorted(EXTENSION_DAYS))})",
            name="extension_days"),
        CheckConstraint("active = (standing <> 'deactivated')", name="active_standing"),
        Index(None, "search_name", "id"),
        Index(None, "kvk_nummer"),
        {"comment": "Participants: organisations or business units with their own certificate"},
    )

    id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True,
                                    comment="Address-book id (Afzender/Ontvanger)")
    name: Mapped[str] = mapped_column(comment="Organisation (unit) name")
    search_name: Mapped[str] = mapped_column(
        comment="The name as the address book matches and orders it (accents off, folded)")
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), comment="Participant role")
    kvk_nummer: Mapped[str | None] = mapped_column(String(8), comment="KvK number")
    vestigingsnummer: Mapped[str | None] = mapped_column(String(12),
                                                         comment="KvK vestigingsnummer")
    uses_bsn: Mapped[bool] = mapped_column(
        default=False, comment="Creditor uses the BSN: receives Kennisgeving Publiek")
    extension_days: Mapped[int] = mapped_column(
        default=0, comment="Verlengen afhandeltermijn: 0, 7, 14 or 28 calendar days")
    active: Mapped[bool] = mapped_column(default=True, comment="Inactive: no access")
    standing: Mapped[Standing] = mapped_column(
        _enum(Standing, "standing"), default=Standing.REGISTERED,
        server_default=Standing.ACTIVE.value,
        comment="Lifecycle: registered, in_acceptance, accepted, active, deactivated")
    created_at: Mapped[dt.datetime] = mapped_column(comment="When the participant was added")

    modules: Mapped[list[ParticipantModule]] = relationship(
        cascade="all, delete-orphan", lazy="selectin")
    certificates: Mapped[list[Certificate]] = relationship(
        back_populates="participant", cascade="all, delete-orphan")

    @property
    def module_set(self) -> frozenset[Module]:
        return frozenset(m.module for m in self.modules)

    @validates("name")
    def _fold_name(self, _key: str, name: str) -> str:
        """Keep ``search_name`` with the name, however the name is set."""
        self.search_name = folded(name)
        return name


class ParticipantModule(Base):
    """A module switched on for a participant."""

    __tablename__ = "participant_module"
    __table_args__ = {"comment": "Modules switched on per participant"}  # noqa: RUF012

    participant_id: Mapped[str] = mapped_column(
        ForeignKey("participant.id", ondelete="CASCADE"), primary_key=True,
        comment="The participant")
    module: Mapped[Module] = mapped_column(_enum(Module, "module"), primary_key=True,
                                           comment="Module slug")


class Certificate(Base):
    """A client certificate that identifies a participant (several at once for rollover)."""

    __tablename__ = "certificate"
    __table_args__ = (
        CheckConstraint("not_before < not_after", name="validity"),
        Index(None, "participant_id"),
        {"comment": "Client certificates mapped to participants"},
    )

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True,
                                             comment="SHA-256 of the DER certificate, hex")
    participant_id: Mapped[str] = mapped_column(
        ForeignKey("participant.id", ondelete="CASCADE"), comment="Owner")
    subject: Mapped[str] = mapped_column(String(1000), comment="Subject DN (RFC 4514)")
    issuer: Mapped[str] = mapped_column(String(1000), comment="Issuer DN (RFC 4514)")
    serial: Mapped[str] = mapped_column(String(64), comment="Serial number, hex")
    not_before: Mapped[dt.datetime] = mapped_column(comment="Valid from")
    not_after: Mapped[dt.datetime] = mapped_column(comment="Valid until")
    revoked_at: Mapped[dt.datetime | None] = mapped_column(comment="Revoked; no access after")
    added_at: Mapped[dt.datetime] = mapped_column(comment="When it was registered")

    participant: Mapped[Participant] = relationship(back_populates="certificates")


_HAS_CONTENT = "state IN ('queued', 'fetched')"
#: The columns of a message that hold its sealed content; the others are metadata.
CONTENT_COLUMNS = ("nonce", "ciphertext", "wrapped_key", "kek_id")


class Message(Base):
    """A message: routing metadata in clear, content sealed until confirmed or expired."""

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("sender_id", "kenmerk"),
        CheckConstraint(
            f"({_HAS_CONTENT} AND "
            + " AND ".join(f"{c} IS NOT NULL" for c in CONTENT_COLUMNS)
            + f") OR (NOT {_HAS_CONTENT} AND "
            + " AND ".join(f"{c} IS NULL" for c in CONTENT_COLUMNS) + ")",
            name="content_iff_pending"),
        CheckConstraint("state NOT IN ('fetched', 'confirmed') OR fetched_at IS NOT NULL",
                        name="fetched_at"),
        CheckConstraint("state <> 'confirmed' OR confirmed_at IS NOT NULL", name="confirmed_at"),
        CheckConstraint("state <> 'expired' OR expired_at IS NOT NULL", name="expired_at"),
        CheckConstraint("size >= 0", name="size"),
        CheckConstraint("documents >= 0", name="documents"),
        Index(None, "recipient_id", "module", "state", "received_at"),
        Index(None, "state", "deadline_at"),
        Index(None, "sender_id", "received_at"),
        Index(None, "received_at"),
        {"comment": "Messages: metadata in clear, content sealed (AES-256-GCM)"},
    )

    id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True,
                                    comment="Hub message id (berichtId)")
    module: Mapped[Module] = mapped_column(_enum(Module, "module"), comment="Module slug")
    type_code: Mapped[str] = mapped_column(String(64), comment="Message type (Berichttype)")
    sender_id: Mapped[str] = mapped_column(ForeignKey("participant.id"), comment="Afzender")
    recipient_id: Mapped[str] = mapped_column(ForeignKey("participant.id"),
                                              comment="Ontvanger")
    kenmerk: Mapped[str] = mapped_column(String(64),
                                         comment="Sender's own id: idempotency key per sender")
    conversation_id: Mapped[str] = mapped_column(Uuid(as_uuid=False),
                                                 comment="ConversatieReferentienummer")
    cross_reference_id: Mapped[str | None] = mapped_column(
        Uuid(as_uuid=False), index=True,
        comment="CrossReferentienummer: hub id of the message this one answers")
    version: Mapped[str] = mapped_column(String(10), comment="Message-set version")
    state: Mapped[State] = mapped_column(_enum(State, "state"), comment="Mailbox state")
    size: Mapped[int] = mapped_column(comment="Size of the content in bytes")
    received_at: Mapped[dt.datetime] = mapped_column(comment="When the hub accepted it")
    deadline_at: Mapped[dt.datetime] = mapped_column(comment="Content is purged after this")
    fetched_at: Mapped[dt.datetime | None] = mapped_column(comment="First fetch")
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(comment="Confirmed by recipient")
    expired_at: Mapped[dt.datetime | None] = mapped_column(comment="Purged unconfirmed")
    nonce: Mapped[bytes | None] = mapped_column(LargeBinary, comment="AES-GCM nonce")
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary,
                                                     comment="Sealed content (AES-256-GCM)")
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary,
                                                      comment="Data key wrapped by the KEK")
    kek_id: Mapped[str | None] = mapped_column(String(64), comment="Id of the wrapping KEK")
    documents: Mapped[int] = mapped_column(
        SmallInteger, default=0, server_default="0",
        comment="Number of attached documents, sealed in message_segment")


class MessageSegment(Base):
    """A piece of a message's sealed document: documents are stored and read a segment at a
    time, never whole (skp.attachments)."""

    __tablename__ = "message_segment"
    __table_args__ = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        "comment": "Sealed documents of pending messages, in segments (AES-256-GCM)"}

    message_id: Mapped[str] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), primary_key=True,
        comment="The message the document is attached to")
    document: Mapped[int] = mapped_column(SmallInteger, primary_key=True,
                                          comment="The document's place in the message, from 0")
    seq: Mapped[int] = mapped_column(primary_key=True, comment="The segment's place, from 0")
    data: Mapped[bytes] = mapped_column(LargeBinary, comment="Ciphertext of the segment")


class ClaimContext(Base):
    """A Saldoverzoek's claim references, sealed, kept until its answer or the reply period."""

    __tablename__ = "claim_context"
    __table_args__ = (
        Index(None, "expires_at"),
        {"comment": "Sealed claim references of open Saldoverzoeken (zero-amount expansion)"},
    )

    message_id: Mapped[str] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), primary_key=True,
        comment="The Saldoverzoek")
    expires_at: Mapped[dt.datetime] = mapped_column(comment="End of the reply period")
    nonce: Mapped[bytes] = mapped_column(LargeBinary, comment="AES-GCM nonce")
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary, comment="Sealed claim references")
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary, comment="Data key wrapped by KEK")
    kek_id: Mapped[str] = mapped_column(String(64), comment="Id of the wrapping KEK")


class ExpiredCount(Base):
    """How many messages the purge expired, per type, over the hub's life: the counter
    ``skp_messages_expired_total`` every process reports, whichever process purged."""

    __tablename__ = "expired_count"
    __table_args__ = (
        CheckConstraint("count >= 0", name="count"),
        {"comment": "Messages expired unconfirmed, per module and type, since the start"},
    )

    module: Mapped[Module] = mapped_column(_enum(Module, "module"), primary_key=True,
                                           comment="Module slug")
    type_code: Mapped[str] = mapped_column(String(64), primary_key=True,
                                           comment="Message type (Berichttype)")
    count: Mapped[int] = mapped_column(BigInteger, comment="Messages expired so far")



class RegisterVersion(Base):
    """How often the participant register has changed: the database's own triggers count
    every change to ``participant``, ``participant_module`` and ``certificate`` (migration
    0009), so a server process knows when what it kept of a caller's identity is out of date
    (skp.identities)."""

    __tablename__ = "register_version"
    __table_args__ = (
        CheckConstraint("id = 1", name="one_row"),
        {"comment": "Changes to the participant register so far (one row)"},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False,
                                    comment="Always 1")
    version: Mapped[int] = mapped_column(BigInteger, comment="Changes to the register so far")


class IdentityLease(Base):
    """A server process that keeps callers' identities: the register version it has applied
    and when it last said so (skp.identities)."""

    __tablename__ = "identity_lease"
    __table_args__ = {"comment": "Server processes that keep callers' identities"}  # noqa: RUF012

    process: Mapped[str] = mapped_column(String(32), primary_key=True,
                                         comment="Random id of the process")
    version: Mapped[int] = mapped_column(BigInteger, comment="Register version it applied")
    renewed_at: Mapped[float] = mapped_column(
        Double, comment="When it last renewed its lease: seconds since 1970, database clock")


# The organisations', the notifications', the CSV downloads' and the acceptance runs' tables
# share this metadata (one schema, one migration history).
import skp.store.acceptance  # noqa: E402
import skp.store.downloads  # noqa: E402
import skp.store.notification  # noqa: E402
import skp.store.organisation  # noqa: E402, F401
