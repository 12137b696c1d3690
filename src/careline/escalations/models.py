"""Escalation tables: the escalation with its clock, and the nurse's answers to the protocol questions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from careline.db import Base, TenantScoped, str_enum
from careline.kit.clock import utcnow
from careline.triage.model import Disposition


class EscalationStatus(StrEnum):
    OPEN = "open"  # raised, waiting for a clinician (re-alerted while it waits)
    ACCEPTED = "accepted"  # a nurse has the caller
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


class Urgency(StrEnum):
    EMERGENCY = "emergency"
    URGENT = "urgent"


class Escalation(TenantScoped, Base):
    """A contact handed to a clinician now: what was heard, who took it and how fast, what was decided."""

    __tablename__ = "escalations"
    __table_args__ = (Index("ix_escalations_status_raised_at", "status", "raised_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    raised_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    urgency: Mapped[Urgency] = mapped_column(str_enum(Urgency))
    text: Mapped[str] = mapped_column(Text, default="")
    kinds: Mapped[list] = mapped_column(JSON, default=list)
    evidence: Mapped[list] = mapped_column(JSON, default=list)  # [{kind, evidence, rule, start, end}]
    advice: Mapped[str] = mapped_column(Text, default="")
    suggested_disposition: Mapped[Disposition] = mapped_column(str_enum(Disposition, "suggested_disposition"))
    status: Mapped[EscalationStatus] = mapped_column(
        str_enum(EscalationStatus), default=EscalationStatus.OPEN
    )
    timer_key: Mapped[str | None] = mapped_column(String(120))
    realerts: Mapped[int] = mapped_column(default=0)
    last_alert_at: Mapped[datetime | None]
    supervisor_notified_at: Mapped[datetime | None]
    oncall_notified_at: Mapped[datetime | None]
    accepted_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    accepted_at: Mapped[datetime | None]
    time_to_clinician_seconds: Mapped[float | None]
    final_disposition: Mapped[Disposition | None] = mapped_column(str_enum(Disposition, "final_disposition"))
    lower_reason: Mapped[str | None] = mapped_column(Text)
    advice_given: Mapped[str | None] = mapped_column(Text)
    outcome_notes: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)


class TriageAnswer(TenantScoped, Base):
    """One guided-protocol question the nurse asked and the caller's answer."""

    __tablename__ = "triage_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[str] = mapped_column(String(120))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[bool] = mapped_column(Boolean)
    if_yes: Mapped[Disposition] = mapped_column(str_enum(Disposition))
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
