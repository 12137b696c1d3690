"""Staffing: forecast a week from history, Erlang C per interval, the supervisor's roster, a what-if run.

Method (docs/reports.md has the long form):
1. History: the tenant's inbound contacts (every channel, abandoned ones too: they are demand) that
   arrived in the `history_weeks` whole weeks before the target week, or before today when the week
   is in the future.
2. Forecast: `forecast.forecast_intervals`, the mean of the same weekday and interval over those
   weeks, laid over the target week's real intervals (`forecast.lay_over_week`, DST-aware).
3. Average handle time: the mean answer-to-end time of those weeks' handled contacts, unless given;
   300 s when there is no history.
4. Erlang C (`erlang.required_agents`) per interval: agents on the phones for the service-level
   target and maximum occupancy, and scheduled agents = ceil(agents / (1 - shrinkage)).
5. Roster: agents the supervisor scheduled per interval (the `rosters` table). Scheduled people on
   the phones = floor(scheduled * (1 - shrinkage)); Erlang C gives the service level that reaches.
6. What-if (optional): `simulation.simulate_queue` per interval with callers who hang up after an
   exponential patience, replicated, for the roster (or the Erlang staffing when there is none).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from careline.contacts.models import Contact
from careline.errors import NotFound, ValidationFailed
from careline.kit.clock import utcnow
from careline.kit.timeutil import local_to_utc, to_local
from careline.reports import erlang, forecast, simulation
from careline.reports.models import RosterSlot
from careline.tenants.models import Tenant

DEFAULT_AHT_S = 300.0


@dataclass(frozen=True)
class Target:
    """The service goal and the planning assumptions."""

    service_level: float = 0.8
    answer_s: float = 30
    max_occupancy: float = 0.85
    shrinkage: float = 0.3

    @property
    def label(self) -> str:
        return f"{self.service_level:.0%} in {self.answer_s:g} s"


def parse_target(text: str) -> tuple[float, float]:
    """'0.8/30' or '80/30' -> (0.8, 30.0): the service-level fraction and the answer time in seconds."""
    try:
        level_text, seconds_text = text.split("/")
        level, seconds = float(level_text), float(seconds_text)
    except ValueError:
        raise ValidationFailed("write the target as LEVEL/SECONDS, e.g. 0.8/30", field="target") from None
    if level > 1:
        level /= 100
    if not 0 < level < 1 or not 0 <= seconds <= 3600:
        raise ValidationFailed(
            "the level must be between 0 and 1 (or 1-99%) and seconds 0-3600", field="target"
        )
    return level, seconds


def monday_of(day: date) -> date:
    """The Monday starting the day's week (rosters and plans are per week)."""
    return day - timedelta(days=day.weekday())


def next_monday(tz: str) -> date:
    """The Monday after today in the zone (the week a supervisor usually plans)."""
    today = to_local(utcnow(), tz).date()
    return today + timedelta(days=7 - today.weekday())


@dataclass(frozen=True)
class IntervalPlan:
    """One interval of the week: forecast, what Erlang C asks for, what is scheduled and what it gives."""

    start_utc: datetime
    local_start: datetime
    weekday: int
    minute_of_day: int
    forecast: float  # expected contacts
    agents: int  # needed on the phones
    required: int  # to schedule (with shrinkage)
    service_level: float  # expected with `agents`
    asa_s: float
    occupancy: float
    scheduled: int | None  # from the roster; None when the week has no roster
    scheduled_on_phone: int | None
    scheduled_service_level: float | None  # Erlang C with the roster's people on the phones
    simulated_service_level: float | None = None  # what-if with abandonment
    simulated_abandonment: float | None = None

    @property
    def label(self) -> str:
        return self.local_start.strftime("%a %H:%M")

    @property
    def short(self) -> bool:
        return self.scheduled is not None and self.scheduled < self.required


@dataclass(frozen=True)
class WhatIf:
    """The simulated week: service level with abandonment for the staffing simulated."""

    staffing: str  # "roster" or "required"
    patience_s: float
    replications: int
    offered: int
    service_level: float | None
    abandonment_rate: float | None
    asa_s: float | None


@dataclass
class StaffingPlan:
    tenant_id: int
    tenant_slug: str
    tenant_name: str
    timezone: str
    week_start: date
    interval_minutes: int
    target: Target
    history_weeks: int
    history_start: date
    history_end: date  # exclusive
    history_contacts: int
    aht_s: float
    aht_source: str  # "history", "default" or "given"
    has_roster: bool
    intervals: list[IntervalPlan] = field(default_factory=list)
    what_if: WhatIf | None = None

    @property
    def interval_hours(self) -> float:
        return self.interval_minutes / 60

    @property
    def forecast_total(self) -> float:
        return sum(i.forecast for i in self.intervals)

    @property
    def required_hours(self) -> float:
        return sum(i.required for i in self.intervals) * self.interval_hours

    @property
    def scheduled_hours(self) -> float | None:
        if not self.has_roster:
            return None
        return sum(i.scheduled or 0 for i in self.intervals) * self.interval_hours

    @property
    def short_intervals(self) -> int:
        return sum(i.short for i in self.intervals)

    def expected_service_level(self, *, scheduled: bool = False) -> float | None:
        """Erlang C service level over the week, weighted by forecast contacts."""
        busy = [i for i in self.intervals if i.forecast > 0]
        total = sum(i.forecast for i in busy)
        if not total:
            return None
        if scheduled:
            if not self.has_roster:
                return None
            return sum((i.scheduled_service_level or 0.0) * i.forecast for i in busy) / total
        return sum(i.service_level * i.forecast for i in busy) / total

    def active_intervals(self) -> list[IntervalPlan]:
        """Intervals with forecast contacts or scheduled agents (the rest of the night is left out)."""
        return [i for i in self.intervals if i.forecast > 0 or (i.scheduled or 0) > 0]

    def to_dict(self) -> dict:
        """JSON shape for the CLI and API."""
        return {
            "tenant": self.tenant_slug,
            "week_start": self.week_start.isoformat(),
            "timezone": self.timezone,
            "interval_minutes": self.interval_minutes,
            "target": {
                "service_level": self.target.service_level,
                "answer_seconds": self.target.answer_s,
                "max_occupancy": self.target.max_occupancy,
                "shrinkage": self.target.shrinkage,
            },
            "history": {
                "weeks": self.history_weeks,
                "from": self.history_start.isoformat(),
                "to_exclusive": self.history_end.isoformat(),
                "contacts": self.history_contacts,
            },
            "aht_seconds": round(self.aht_s, 1),
            "aht_source": self.aht_source,
            "has_roster": self.has_roster,
            "totals": {
                "forecast_contacts": round(self.forecast_total, 2),
                "required_agent_hours": self.required_hours,
                "scheduled_agent_hours": self.scheduled_hours,
                "short_intervals": self.short_intervals,
                "expected_service_level": self.expected_service_level(),
                "scheduled_service_level": self.expected_service_level(scheduled=True),
            },
            "what_if": None if self.what_if is None else asdict(self.what_if),
            "intervals": [
                {
                    "start_utc": i.start_utc.isoformat(),
                    "local_start": i.local_start.isoformat(),
                    "forecast": round(i.forecast, 3),
                    "agents": i.agents,
                    "required": i.required,
                    "service_level": round(i.service_level, 4),
                    "asa_seconds": None if math.isinf(i.asa_s) else round(i.asa_s, 2),
                    "occupancy": round(i.occupancy, 4),
                    "scheduled": i.scheduled,
                    "scheduled_service_level": i.scheduled_service_level,
                    "simulated_service_level": i.simulated_service_level,
                }
                for i in self.intervals
            ],
        }


# --------------------------------------------------------------------------- history


def _local_midnight_utc(day: date, tz: str) -> datetime:
    return local_to_utc(datetime.combine(day, time.min), tz)


def history(session: Session, tenant: Tenant, start: date, end: date) -> tuple[list[datetime], list[float]]:
    """Arrival times and handle times of the tenant's inbound contacts in [start, end) local days."""
    stmt = select(Contact.created_at, Contact.answered_at, Contact.ended_at).where(
        Contact.tenant_id == tenant.id,
        Contact.direction == "inbound",
        Contact.created_at >= _local_midnight_utc(start, tenant.timezone),
        Contact.created_at < _local_midnight_utc(end, tenant.timezone),
    )
    arrivals, handles = [], []
    for created, answered, ended in session.execute(stmt):
        arrivals.append(created)
        if answered is not None and ended is not None:
            handles.append(max(0.0, (ended - answered).total_seconds()))
    return arrivals, handles


# --------------------------------------------------------------------------- rosters


def roster(session: Session, tenant_id: int, week_start: date) -> list[RosterSlot]:
    """The week's roster rows in order."""
    stmt = (
        select(RosterSlot)
        .where(RosterSlot.tenant_id == tenant_id, RosterSlot.week_start == monday_of(week_start))
        .order_by(RosterSlot.weekday, RosterSlot.minute_of_day)
    )
    return list(session.scalars(stmt))


def set_roster(
    session: Session,
    tenant_id: int,
    week_start: date,
    agents: Mapping[tuple[int, int], int],
    *,
    interval_minutes: int = 30,
    user_id: int | None = None,
) -> int:
    """Replace the week's roster with {(weekday, minute_of_day): agents}; zeros are not stored.
    Returns the number of slots kept."""
    forecast.all_slots(interval_minutes)  # validates the interval
    monday = monday_of(week_start)
    for (weekday, minute), count in agents.items():
        if not 0 <= weekday <= 6 or not 0 <= minute < 1440 or minute % interval_minutes:
            raise ValidationFailed(f"no such interval: day {weekday}, minute {minute}", field="roster")
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 500:
            raise ValidationFailed("scheduled agents must be whole numbers from 0 to 500", field="roster")
    session.execute(
        delete(RosterSlot)
        .where(RosterSlot.tenant_id == tenant_id, RosterSlot.week_start == monday)
        .execution_options(synchronize_session=False)
    )
    now = utcnow()
    kept = 0
    for (weekday, minute), count in sorted(agents.items()):
        if count:
            session.add(
                RosterSlot(
                    tenant_id=tenant_id,
                    week_start=monday,
                    weekday=weekday,
                    minute_of_day=minute,
                    interval_minutes=interval_minutes,
                    agents=count,
                    updated_at=now,
                    updated_by_user_id=user_id,
                )
            )
            kept += 1
    session.flush()
    return kept


def _scheduled_at(slots: list[RosterSlot], weekday: int, minute: int) -> int:
    for slot in slots:
        if (
            slot.weekday == weekday
            and slot.minute_of_day <= minute < slot.minute_of_day + slot.interval_minutes
        ):
            return slot.agents
    return 0


# --------------------------------------------------------------------------- the plan


def tenant_by_slug(session: Session, slug: str) -> Tenant:
    """A tenant the session may see, by slug."""
    tenant = session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise NotFound(f"no client {slug!r}")
    return tenant


def plan_week(
    session: Session,
    tenant: Tenant,
    week_start: date,
    *,
    target: Target | None = None,
    interval_minutes: int = 30,
    history_weeks: int = 4,
    aht_s: float | None = None,
    today: date | None = None,
) -> StaffingPlan:
    """Forecast, Erlang C and roster for each interval of the week starting on week_start's Monday."""
    target = target or Target()
    if not 1 <= history_weeks <= 52:
        raise ValidationFailed("history weeks must be 1 to 52", field="weeks")
    monday = monday_of(week_start)
    today = today or to_local(utcnow(), tenant.timezone).date()
    history_end = min(monday, today)
    history_start = history_end - timedelta(weeks=history_weeks)
    arrivals, handles = history(session, tenant, history_start, history_end)
    if aht_s is not None:
        aht, source = float(aht_s), "given"
    elif handles:
        aht, source = statistics.fmean(handles), "history"
    else:
        aht, source = DEFAULT_AHT_S, "default"
    aht = max(aht, 1.0)
    per_slot = forecast.forecast_intervals(
        arrivals,
        weeks=history_weeks,
        interval_minutes=interval_minutes,
        tz=tenant.timezone,
        end_date=history_end,
    )
    slots = roster(session, tenant.id, monday)
    has_roster = bool(slots)
    interval_s = interval_minutes * 60
    plan = StaffingPlan(
        tenant_id=tenant.id,
        tenant_slug=tenant.slug,
        tenant_name=tenant.name,
        timezone=tenant.timezone,
        week_start=monday,
        interval_minutes=interval_minutes,
        target=target,
        history_weeks=history_weeks,
        history_start=history_start,
        history_end=history_end,
        history_contacts=len(arrivals),
        aht_s=aht,
        aht_source=source,
        has_roster=has_roster,
    )
    for iv in forecast.lay_over_week(per_slot, monday, tz=tenant.timezone, interval_minutes=interval_minutes):
        need = erlang.required_agents(
            iv.expected_calls,
            interval_s,
            aht,
            target_sl=target.service_level,
            target_s=target.answer_s,
            max_occupancy=target.max_occupancy,
            shrinkage=target.shrinkage,
        )
        scheduled = on_phone = scheduled_sl = None
        if has_roster:
            scheduled = _scheduled_at(slots, iv.weekday, iv.minute_of_day)
            on_phone = on_phones(scheduled, target.shrinkage)
            scheduled_sl = erlang.service_level(iv.expected_calls, interval_s, aht, on_phone, target.answer_s)
        plan.intervals.append(
            IntervalPlan(
                start_utc=iv.start_utc,
                local_start=iv.local_start,
                weekday=iv.weekday,
                minute_of_day=iv.minute_of_day,
                forecast=iv.expected_calls,
                agents=need.agents,
                required=need.scheduled_agents,
                service_level=need.service_level,
                asa_s=need.asa_s,
                occupancy=need.occupancy,
                scheduled=scheduled,
                scheduled_on_phone=on_phone,
                scheduled_service_level=scheduled_sl,
            )
        )
    return plan


def on_phones(scheduled: int, shrinkage: float) -> int:
    """People of the roster actually taking calls once breaks, meetings and absence are taken out."""
    return math.floor(scheduled * (1 - shrinkage) + 1e-9)


def what_if(
    plan: StaffingPlan, *, patience_s: float = 120.0, replications: int = 20, seed: int = 1
) -> StaffingPlan:
    """Simulate each busy interval `replications` times (back to back) with callers who give up after
    an exponential patience; the week's figures add up the intervals' callers."""
    interval_s = plan.interval_minutes * 60
    uses_roster = plan.has_roster
    offered = within = early = abandoned = answered = 0
    wait_total = 0.0
    updated = []
    for n, iv in enumerate(plan.intervals):
        if iv.forecast <= 0:
            updated.append(iv)
            continue
        agents = iv.scheduled_on_phone if uses_roster else iv.agents
        if not agents:
            # Nobody on the phones: every caller waits until they give up.
            calls = round(iv.forecast * replications)
            offered += calls
            abandoned += calls
            updated.append(_with(iv, 0.0, 1.0 if calls else None))
            continue
        result = simulation.simulate_queue(
            iv.forecast,
            interval_s,
            plan.aht_s,
            agents,
            intervals=replications,
            target_s=plan.target.answer_s,
            patience_s=patience_s,
            seed=seed * 100_003 + n,
        )
        offered += result.offered
        within += result.answered_within_target
        early += result.abandoned_before_target
        abandoned += result.abandoned
        answered += result.answered
        wait_total += result.asa_s * result.answered
        updated.append(_with(iv, result.service_level, result.abandonment_rate))
    plan.intervals = updated
    eligible = offered - early
    plan.what_if = WhatIf(
        staffing="roster" if uses_roster else "required",
        patience_s=patience_s,
        replications=replications,
        offered=offered,
        service_level=within / eligible if eligible else None,
        abandonment_rate=abandoned / offered if offered else None,
        asa_s=wait_total / answered if answered else None,
    )
    return plan


def _with(iv: IntervalPlan, level: float | None, abandonment: float | None) -> IntervalPlan:
    return replace(iv, simulated_service_level=level, simulated_abandonment=abandonment)
