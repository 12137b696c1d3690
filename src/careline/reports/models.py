"""The rosters table: how many agents the supervisor scheduled per interval of a week."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from careline.db import Base, TenantScoped
from careline.kit.clock import utcnow


class RosterSlot(TenantScoped, Base):
    """Agents scheduled for one tenant in one local interval (weekday + start minute) of one week."""

    __tablename__ = "rosters"
    __table_args__ = (
        UniqueConstraint("tenant_id", "week_start", "weekday", "minute_of_day", name="uq_rosters_slot"),
        CheckConstraint("agents >= 0", name="agents_not_negative"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("minute_of_day >= 0 AND minute_of_day < 1440", name="minute_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    week_start: Mapped[date] = mapped_column(Date)  # the Monday of the week, local date
    weekday: Mapped[int]  # 0 = Monday
    minute_of_day: Mapped[int]  # local start of the interval
    interval_minutes: Mapped[int] = mapped_column(default=30)
    agents: Mapped[int]  # people on the schedule (before shrinkage)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
