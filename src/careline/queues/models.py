"""Queue tables: queues per tenant and skill, agents' presence and skills, queue entries, callbacks.

A contact waiting for an agent has one open `queue_entries` row (waiting or offered); the row stays
when it leaves the queue (answered, abandoned, called back, moved) so waits and service levels can be
counted afterwards. Presence and skills belong to the user, not to a tenant.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from careline.db import Base, TenantScoped, str_enum
from careline.kit.clock import utcnow


class PresenceState(StrEnum):
    AVAILABLE = "available"
    ON_CONTACT = "on_contact"
    WRAP_UP = "wrap_up"
    BREAK = "break"
    OFFLINE = "offline"


class EntryState(StrEnum):
    """Where a queue entry is: waiting -> offered -> answered, or it left the queue another way."""

    WAITING = "waiting"
    OFFERED = "offered"
    ANSWERED = "answered"
    ABANDONED = "abandoned"  # the caller hung up while waiting
    CALLBACK = "callback"  # the caller chose to be called back (keeping their place)
    MOVED = "moved"  # put into another queue, or taken out by hand


OPEN_ENTRY_STATES = (EntryState.WAITING, EntryState.OFFERED)


class EntryKind(StrEnum):
    INBOUND = "inbound"
    CALLBACK = "callback"  # an outbound call the agent makes to a caller who asked to be called back


class CallbackStatus(StrEnum):
    PENDING = "pending"  # waiting for its due time
    QUEUED = "queued"  # due: in a queue for the next agent
    IN_PROGRESS = "in_progress"  # an agent accepted it and is calling
    COMPLETED = "completed"
    FAILED = "failed"  # no answer after the last attempt
    CANCELLED = "cancelled"


OPEN_CALLBACK_STATUSES = (CallbackStatus.PENDING, CallbackStatus.QUEUED, CallbackStatus.IN_PROGRESS)


class Queue(TenantScoped, Base):
    """A line callers wait in for agents with one skill (scheduling, billing, Spanish, nurse line...)."""

    __tablename__ = "queues"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_queues_tenant_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    skill: Mapped[str] = mapped_column(String(60), index=True)
    priority: Mapped[int] = mapped_column(default=0)  # higher is served first
    service_level_seconds: Mapped[int] = mapped_column(default=30)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgentPresence(Base):
    """One row per agent who has ever set a presence: their state, since when, and what they hold."""

    __tablename__ = "agent_presence"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[PresenceState] = mapped_column(str_enum(PresenceState), default=PresenceState.OFFLINE)
    reason: Mapped[str] = mapped_column(String(100), default="")
    since: Mapped[datetime] = mapped_column(default=utcnow)
    # When the agent last became free for work: the longest-idle available agent is offered first.
    last_idle_at: Mapped[datetime | None]
    current_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    # The contact offered to the agent right now (a lease; past offer_expires_at it no longer binds them).
    offer_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    offer_expires_at: Mapped[datetime | None]


class AgentSkill(Base):
    """A skill (queue) an agent may take contacts from."""

    __tablename__ = "agent_skills"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    skill: Mapped[str] = mapped_column(String(60), primary_key=True)


class QueueEntry(TenantScoped, Base):
    """A contact's stay in a queue; an offer to an agent is a lease that ends at offer_expires_at."""

    __tablename__ = "queue_entries"
    __table_args__ = (
        Index("ix_queue_entries_state_queue", "state", "queue_id"),
        Index("ix_queue_entries_queue_entered", "queue_id", "entered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id", ondelete="CASCADE"))
    callback_id: Mapped[int | None] = mapped_column(ForeignKey("callbacks.id", ondelete="SET NULL"))
    kind: Mapped[EntryKind] = mapped_column(str_enum(EntryKind), default=EntryKind.INBOUND)
    priority: Mapped[int] = mapped_column(default=0)  # higher first; red flags add more when ordering
    state: Mapped[EntryState] = mapped_column(str_enum(EntryState), default=EntryState.WAITING)
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)  # the caller's place in line
    offered_to_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    offered_at: Mapped[datetime | None]
    offer_expires_at: Mapped[datetime | None]
    offers: Mapped[int] = mapped_column(default=0)
    answered_at: Mapped[datetime | None]
    answered_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    left_at: Mapped[datetime | None]
    simulated: Mapped[bool] = mapped_column(default=False)


class Callback(TenantScoped, Base):
    """A promise to call someone back at `due_at`; when due it joins a queue as an outbound contact."""

    __tablename__ = "callbacks"
    __table_args__ = (Index("ix_callbacks_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id", ondelete="SET NULL"), index=True)
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id", ondelete="SET NULL"))
    number: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime]
    place_at: Mapped[datetime | None]  # the original place in line, kept when the caller hung up to wait
    status: Mapped[CallbackStatus] = mapped_column(str_enum(CallbackStatus), default=CallbackStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    note: Mapped[str] = mapped_column(Text, default="")
    outbound_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    completed_at: Mapped[datetime | None]
    completed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    result: Mapped[str] = mapped_column(String(40), default="")
