"""Typed models of the organisations on the portal: employees and the business units they work
for, IBANs, contact persons, notification addresses, requests to the operator, the audit trail
and the portal's server-side sessions.

An organisation is a KvK number; its business units are the participants with that KvK number.
These tables hold organisation data (never message content); they are audited and never logged.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from skp.store.models import Base


class Employee(Base):
    """A person of an organisation, known by the eHerkenning pseudonym its broker sends."""

    __tablename__ = "employee"
    __table_args__ = (
        UniqueConstraint("kvk_nummer", "acting_subject"),
        {"comment": "Employees of organisations on the portal"},
    )

    id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True,
                                    comment="The employee's id at the hub")
    kvk_nummer: Mapped[str] = mapped_column(String(8), comment="The organisation (LegalSubjectID)")
    acting_subject: Mapped[str] = mapped_column(
        String(512), comment="The broker's pseudonym of the person (ActingSubjectID)")
    display_name: Mapped[str] = mapped_column(comment="The name the employee gave at first login")
    created_at: Mapped[dt.datetime] = mapped_column(comment="First login")
    last_login_at: Mapped[dt.datetime] = mapped_column(comment="Latest login")


class EmployeeUnit(Base):
    """An employee works for a business unit: set by the organisation's administrator."""

    __tablename__ = "employee_unit"
    __table_args__ = (
        Index(None, "participant_id"),
        {"comment": "Which business units an employee works for"},
    )

    employee_id: Mapped[str] = mapped_column(
        ForeignKey("employee.id", ondelete="CASCADE"), primary_key=True, comment="The employee")
    participant_id: Mapped[str] = mapped_column(
        ForeignKey("participant.id", ondelete="CASCADE"), primary_key=True,
        comment="The business unit")
    linked_at: Mapped[dt.datetime] = mapped_column(comment="When the administrator linked it")


class BankAccount(Base):
    """An IBAN of a business unit, entered by the organisation's administrator."""

    __tablename__ = "bank_account"
    __table_args__ = (
        UniqueConstraint("participant_id", "iban"),
        {"comment": "IBANs of business units (organisation data, entered by the organisation)"},
    )

    id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True, comment="Id")
    participant_id: Mapped[str] = mapped_column(
        ForeignKey("participant.id", ondelete="CASCADE"), comment="The business unit")
    iban: Mapped[str] = mapped_column(String(34), comment="IBAN, electronic form (no spaces)")
    holder: Mapped[str] = mapped_column(comment="The account holder's name")
    added_at: Mapped[dt.datetime] = mapped_column(comment="When it was added")


class Contact(Base):
    """A contact person of an organisation."""

    __tablename__ = "contact"
    __table_args__ = (
        Index(None, "kvk_nummer"),
        {"comment": "Contact persons of organisations"},
    )

    id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True, comment="Id")
    kvk_nummer: Mapped[str] = mapped_column(String(8), comment="The organisation")
    name: Mapped[str] = mapped_column(comment="Name")
    email: Mapped[str] = mapped_column(String(254), comment="E-mail address")
    phone: Mapped[str] = mapped_column(String(20), comment="Phone number")
    role: Mapped[str] = mapped_column(String(32), comment="Role (skp.domain.organisation)")


class NotificationAddress(Base):
    """An e-mail address subscribed to a business unit's notifications."""

    __tablename__ = "notification_address"
    __table_args__ = {"comment": "E-mail addresses subscribed to notifications"}  # noqa: RUF012

    participant_id: Mapped[str] = mapped_column(
        ForeignKey("participant.id", ondelete="CASCADE"), primary_key=True,
        comment="The business unit")
    email: Mapped[str] = mapped_column(String(254), primary_key=True, comment="E-mail address")
    new_messages: Mapped[bool] = mapped_column(
        default=True, server_default=true(), comment="Gets the notices of new messages")
    reminders: Mapped[bool] = mapped_column(
        default=True, server_default=true(), comment="Gets the reminders before messages expire")


class UnitRequest(Base):
    """An administrator's request to the operator: a module, or the extension of the deadline."""

    __tablename__ = "unit_request"
    __table_args__ = (
        CheckConstraint("kind IN ('module', 'extension')", name="kind"),
        CheckConstraint("state IN ('open', 'approved', 'refused')", name="state"),
        CheckConstraint("(state = 'open') = (decided_at IS NULL)", name="decided"),
        Index(None, "state", "requested_at"),
        {"comment": "Requests of organisations that the operator answers"},
    )

    id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True, comment="Id")
    participant_id: Mapped[str] = mapped_column(
        ForeignKey("participant.id", ondelete="CASCADE"), comment="The business unit")
    kind: Mapped[str] = mapped_column(String(16), comment="module or extension")
    value: Mapped[str] = mapped_column(String(32), comment="The module slug, or 7/14/28 days")
    state: Mapped[str] = mapped_column(String(16), comment="open, approved or refused")
    requested_by: Mapped[str] = mapped_column(ForeignKey("employee.id"),
                                              comment="The administrator who asked")
    requested_at: Mapped[dt.datetime] = mapped_column(comment="When it was asked")
    decided_at: Mapped[dt.datetime | None] = mapped_column(comment="When the operator answered")
    reason: Mapped[str | None] = mapped_column(String(500),
                                               comment="The operator's reason for a refusal")


class AuditEvent(Base):
    """Who did what, when: logins, admin changes, operator decisions. Never content."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index(None, "kvk_nummer", "at"),
        {"comment": "Audit trail of the portal and its operator (metadata only)"},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True, comment="Sequence")
    at: Mapped[dt.datetime] = mapped_column(comment="When")
    actor: Mapped[str] = mapped_column(String(64),
                                       comment="employee:<id>, operator, or a failed login")
    kvk_nummer: Mapped[str | None] = mapped_column(String(8), comment="The organisation")
    action: Mapped[str] = mapped_column(String(64), comment="What was done (a stable code)")
    subject: Mapped[str | None] = mapped_column(String(200), comment="Ids it was done to")


class PortalSession(Base):
    """A server-side portal session: the cookie holds only a random token, its hash is the key."""

    __tablename__ = "portal_session"
    __table_args__ = (
        Index(None, "seen_at"),
        {"comment": "Server-side sessions of the portal, shared by its processes"},
    )

    key: Mapped[str] = mapped_column(String(64), primary_key=True,
                                     comment="SHA-256 of the session token, hex")
    data: Mapped[str] = mapped_column(Text, comment="The session's values, JSON")
    created_at: Mapped[dt.datetime] = mapped_column(comment="When the session began")
    seen_at: Mapped[dt.datetime] = mapped_column(comment="Its latest request")
