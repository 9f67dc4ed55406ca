"""Typed models of the portal's CSV downloads: which messages an employee downloaded, when,
and whether the download was confirmed. Metadata only: the content stays in the mailbox."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from skp.store.models import Base


class CsvDownload(Base):
    """A CSV download of a unit's waiting messages of one type; re-downloadable until it is
    confirmed or its last message's deadline has passed."""

    __tablename__ = "csv_download"
    __table_args__ = (
        Index(None, "participant_id", "created_at"),
        CheckConstraint("confirmed_at IS NULL OR confirmed_at >= created_at", name="confirmed"),
        {"comment": "CSV downloads of the portal (metadata only, never content)"},
    )

    id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True, comment="Id")
    participant_id: Mapped[str] = mapped_column(
        ForeignKey("participant.id", ondelete="CASCADE"), comment="The business unit")
    employee_id: Mapped[str] = mapped_column(
        ForeignKey("employee.id", ondelete="CASCADE"), comment="The employee who downloaded")
    module: Mapped[str] = mapped_column(String(32), comment="Module slug")
    type_code: Mapped[str] = mapped_column(String(64), comment="Message type (Berichttype)")
    created_at: Mapped[dt.datetime] = mapped_column(comment="When it was first downloaded")
    expires_at: Mapped[dt.datetime] = mapped_column(
        comment="The latest deadline of its messages: it cannot be downloaded after")
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(
        comment="When the employee confirmed it (its messages confirmed in the mailbox)")


class CsvDownloadMessage(Base):
    """A message that is part of a CSV download."""

    __tablename__ = "csv_download_message"
    __table_args__ = (
        Index(None, "message_id"),
        {"comment": "The messages of each CSV download"},
    )

    download_id: Mapped[str] = mapped_column(
        ForeignKey("csv_download.id", ondelete="CASCADE"), primary_key=True,
        comment="The download")
    message_id: Mapped[str] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), primary_key=True,
        comment="The message (its metadata; purged with it)")
