"""Contact tables: one row per call, chat or message; its reasons; and its timeline."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from careline.contacts.intents import Intent
from careline.db import Base, TenantScoped, str_enum
from careline.kit.clock import utcnow
from careline.triage.model import Disposition


class Channel(StrEnum):
    PHONE = "phone"
    SMS = "sms"
    CHAT = "chat"
    WEB = "web"


class ContactStatus(StrEnum):
    """Where a contact is in its life: queued -> offered -> active -> wrap_up -> ended (or abandoned)."""

    QUEUED = "queued"
    OFFERED = "offered"
    ACTIVE = "active"
    WRAP_UP = "wrap_up"
    ENDED = "ended"
    ABANDONED = "abandoned"


OPEN_STATUSES = (ContactStatus.QUEUED, ContactStatus.OFFERED, ContactStatus.ACTIVE, ContactStatus.WRAP_UP)


class Outcome(StrEnum):
    """What was done for one reason of the contact (what the practice manager sees taken off the desk)."""

    APPOINTMENT_BOOKED = "appointment_booked"
    APPOINTMENT_RESCHEDULED = "appointment_rescheduled"
    APPOINTMENT_CANCELLED = "appointment_cancelled"
    WAITLISTED = "waitlisted"
    REFERRAL_MADE = "referral_made"
    INFORMATION_GIVEN = "information_given"
    TRANSFERRED = "transferred"
    ROUTED_OUTSIDE = "routed_outside"
    NURSE_ESCALATED = "nurse_escalated"
    MESSAGE_TAKEN = "message_taken"
    CALLBACK_SCHEDULED = "callback_scheduled"
    UNRESOLVED = "unresolved"


class Contact(TenantScoped, Base):
    """One call, chat or message from a caller, from arrival to wrap-up."""

    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_tenant_id_created_at", "tenant_id", "created_at"),
        Index("ix_contacts_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel), default=Channel.PHONE)
    direction: Mapped[str] = mapped_column(String(10), default="inbound")
    caller_number: Mapped[str | None] = mapped_column(String(20), index=True)
    dialed_number: Mapped[str | None] = mapped_column(String(20))
    caller_name: Mapped[str | None] = mapped_column(String(200))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="SET NULL"), index=True)
    new_patient: Mapped[bool] = mapped_column(default=False)
    status: Mapped[ContactStatus] = mapped_column(str_enum(ContactStatus), default=ContactStatus.ACTIVE)
    agent_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    red_flag: Mapped[bool] = mapped_column(default=False)
    red_flag_kinds: Mapped[list] = mapped_column(JSON, default=list)
    disposition: Mapped[Disposition | None] = mapped_column(str_enum(Disposition))
    disposition_set_by: Mapped[str | None] = mapped_column(String(20))  # "screening" or "person"
    survey_consent: Mapped[bool] = mapped_column(default=False)
    simulated: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    queued_at: Mapped[datetime | None]
    offered_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    wrap_up_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    abandoned_at: Mapped[datetime | None]

    @property
    def handle_seconds(self) -> float | None:
        """Talk plus wrap-up time, from answer to end."""
        if self.answered_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.answered_at).total_seconds()

    @property
    def wait_seconds(self) -> float | None:
        """Time in queue before an agent answered (or the caller gave up)."""
        start = self.queued_at or self.created_at
        end = self.answered_at or self.abandoned_at
        return None if end is None else max(0.0, (end - start).total_seconds())


class ContactReason(TenantScoped, Base):
    """One reason for the contact (a caller often has several), with what was done about it."""

    __tablename__ = "contact_reasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    intent: Mapped[Intent] = mapped_column(str_enum(Intent))
    text: Mapped[str] = mapped_column(Text, default="")
    detected: Mapped[bool] = mapped_column(default=False)  # suggested from text, not added by hand
    outcome: Mapped[Outcome | None] = mapped_column(str_enum(Outcome))
    outcome_detail: Mapped[dict] = mapped_column(JSON, default=dict)
    disposition_code: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]


class ContactEvent(TenantScoped, Base):
    """The contact's timeline: every step, who took it and when (transfers, holds, notes, screening)."""

    __tablename__ = "contact_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(60))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
