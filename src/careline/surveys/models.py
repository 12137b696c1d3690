"""Survey table: one per contact whose caller agreed to a survey at wrap-up."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from careline.db import Base, TenantScoped, str_enum
from careline.kit.clock import utcnow


class SurveyChannel(StrEnum):
    """How the survey was offered."""

    SMS = "sms"
    EMAIL = "email"
    PHONE = "phone"  # asked at the end of the call (voice channel or agent)
    NONE = "none"  # consented, but there was nowhere to send the link


class AnsweredVia(StrEnum):
    LINK = "link"
    PHONE = "phone"


class Survey(TenantScoped, Base):
    """Satisfaction survey for one contact; answers (csat, nps, need_met, comment) land once."""

    __tablename__ = "surveys"
    __table_args__ = (
        Index("ix_surveys_tenant_id_answered_at", "tenant_id", "answered_at"),
        CheckConstraint("csat IS NULL OR (csat BETWEEN 1 AND 5)", name="csat_range"),
        CheckConstraint("nps IS NULL OR (nps BETWEEN 0 AND 10)", name="nps_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), unique=True)
    agent_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    channel: Mapped[SurveyChannel] = mapped_column(str_enum(SurveyChannel))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    via: Mapped[AnsweredVia | None] = mapped_column(str_enum(AnsweredVia))
    csat: Mapped[int | None]  # satisfaction 1 (very unhappy) .. 5 (very happy)
    nps: Mapped[int | None]  # likelihood to recommend 0..10
    need_met: Mapped[bool | None]
    comment: Mapped[str | None] = mapped_column(Text)
    outbox_message_id: Mapped[int | None]  # the SMS or email carrying the link (channels' outbox)
    delivery_note: Mapped[str | None] = mapped_column(String(200))
