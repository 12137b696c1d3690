"""The outbox: messages waiting for a channel to send them (SMS, email)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from careline.db import Base, TenantScoped, str_enum
from careline.kit.clock import utcnow


class MessageChannel(StrEnum):
    SMS = "sms"
    EMAIL = "email"


class MessageStatus(StrEnum):
    QUEUED = "queued"  # waiting for a sender
    SENT = "sent"
    FAILED = "failed"
    NO_ADDRESS = "no_address"  # nothing to send to (no consented phone or email); kept for the record


class OutboxMessage(TenantScoped, Base):
    """One message to one recipient, with what it is about (`related_type` + `related_id`)."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_status_created", "status", "created_at"),
        Index("ix_outbox_messages_related", "related_type", "related_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[MessageChannel] = mapped_column(str_enum(MessageChannel))
    to: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    # [{"filename": "appointment.ics", "content_type": "text/calendar", "content": "..."}]
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[MessageStatus] = mapped_column(str_enum(MessageStatus), default=MessageStatus.QUEUED)
    related_type: Mapped[str | None] = mapped_column(String(40))
    related_id: Mapped[int | None]
    patient_id: Mapped[int | None] = mapped_column(index=True)  # no FK: any domain may address anyone
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
