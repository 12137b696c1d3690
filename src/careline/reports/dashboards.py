"""What a dashboard request asks for (tenants, dates, location) and the tables every view shares.

The page, the CSV export, the monthly report and the JSON API resolve the same `Selection` and build
the same `Table`s from `metrics.dashboard`, so a figure cannot differ between them.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from careline.directory.models import Location
from careline.errors import NotFound, PermissionDenied, ValidationFailed
from careline.kit.clock import utcnow
from careline.kit.timeutil import to_local
from careline.reports import metrics
from careline.reports.metrics import Dashboard
from careline.tenants.models import Tenant

DEFAULT_DAYS = 28
MAX_DAYS = 400

INTENT_LABELS = {
    "schedule": "Book an appointment",
    "reschedule": "Reschedule",
    "cancel": "Cancel",
    "find_doctor": "Find a doctor",
    "location_info": "Directions, hours, parking",
    "refill": "Prescription refill",
    "test_results": "Test results",
    "billing": "Billing",
    "records": "Medical records",
    "clinical": "Clinical question / symptoms",
    "speak_to_staff": "Speak to someone",
    "out_of_scope": "Out of scope",
}
OUTCOME_LABELS = {
    "appointment_booked": "Appointment booked",
    "appointment_rescheduled": "Appointment rescheduled",
    "appointment_cancelled": "Appointment cancelled",
    "waitlisted": "Put on a waitlist",
    "referral_made": "Referral made",
    "information_given": "Information given",
    "transferred": "Transferred",
    "routed_outside": "Routed outside",
    "nurse_escalated": "Escalated to a nurse",
    "message_taken": "Message taken",
    "callback_scheduled": "Callback scheduled",
    "unresolved": "Unresolved",
}
SOURCE_LABELS = {
    "friend_family": "Friend or family",
    "physician_referral": "Physician referral",
    "web_search": "Web search",
    "insurance_directory": "Insurance directory",
    "advertising": "Advertising",
    "other": "Other",
    "unknown": "Not asked / unknown",
}


# --------------------------------------------------------------------------- the selection


@dataclass
class Selection:
    """The tenants, local dates and location a report covers, resolved against what the user may see."""

    available: list[Tenant]
    tenants: list[Tenant]
    start: date
    end: date
    location: Location | None
    locations: list[Location]
    supervisor: bool  # may pick several tenants and see per-agent figures and comments
    all_chosen: bool = False

    @property
    def tenant_ids(self) -> list[int]:
        return [t.id for t in self.tenants]

    def params(self, **override: Any) -> dict[str, Any]:
        """Query parameters that reproduce this selection (for export and navigation links)."""
        values: dict[str, Any] = {
            "tenant": [] if self.all_chosen else [t.slug for t in self.tenants],
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "location": self.location.id if self.location else None,
        }
        values.update(override)
        return {k: v for k, v in values.items() if v not in (None, "", [])}

    def query(self, **override: Any) -> str:
        return urlencode(self.params(**override), doseq=True)

    @property
    def label(self) -> str:
        names = (
            "all my clients"
            if self.all_chosen and len(self.tenants) > 1
            else ", ".join(t.name for t in self.tenants)
        )
        where = f" · {self.location.name}" if self.location else ""
        return f"{names}{where} · {self.start:%b %-d, %Y} – {self.end:%b %-d, %Y}"


def parse_day(text: str | None, field: str) -> date | None:
    """An ISO date from a query parameter, or None when empty."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(f"{field} must be a date like 2026-11-30", field=field) from None


def resolve(
    session: Session,
    served: frozenset[int],
    *,
    supervisor: bool,
    tenant: Sequence[str] = (),
    start: str | None = None,
    end: str | None = None,
    location: str | int | None = None,
    today: date | None = None,
) -> Selection:
    """Turn query parameters into a Selection; another tenant's slug or location is simply not found.

    Without the all-tenants permission (practice managers) exactly one tenant is reported on.
    """
    available = list(session.scalars(select(Tenant).where(Tenant.id.in_(served)).order_by(Tenant.name)))
    if not available:
        raise NotFound("you serve no clients to report on")
    by_slug = {t.slug: t for t in available}
    wanted = [s for s in tenant if s]
    missing = [s for s in wanted if s not in by_slug]
    if missing:
        raise NotFound(f"no client {missing[0]!r}")
    chosen = [by_slug[s] for s in dict.fromkeys(wanted)]
    all_chosen = not chosen
    if not supervisor:
        if len(chosen) > 1:
            raise PermissionDenied("a practice manager reports on one practice at a time")
        chosen = chosen or available[:1]
        all_chosen = False
    elif not chosen:
        chosen = available
    today = today or to_local(utcnow(), chosen[0].timezone).date()
    last = parse_day(end, "to") or today
    first = parse_day(start, "from") or last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise ValidationFailed("the range ends before it starts", field="to")
    if (last - first).days >= MAX_DAYS:
        raise ValidationFailed(f"choose a range of at most {MAX_DAYS} days", field="from")
    ids = [t.id for t in chosen]
    locations = list(
        session.scalars(
            select(Location).where(Location.tenant_id.in_(ids)).order_by(Location.tenant_id, Location.name)
        )
    )
    place = None
    if location not in (None, ""):
        try:
            location_id = int(location)  # type: ignore[arg-type]
        except ValueError:
            raise ValidationFailed("location must be a location id", field="location") from None
        place = next((loc for loc in locations if loc.id == location_id), None)
        if place is None:
            raise NotFound(f"location {location_id} not found")
    return Selection(available, chosen, first, last, place, locations, supervisor, all_chosen)


def build(session: Session, sel: Selection, *, target_s: float = metrics.DEFAULT_TARGET_S) -> Dashboard:
    """The dashboard for a selection (per-agent figures and comments only for supervisors)."""
    return metrics.dashboard(
        session,
        sel.tenant_ids,
        sel.start,
        sel.end,
        sel.location.id if sel.location else None,
        target_s=target_s,
        per_agent=sel.supervisor,
        with_comments=sel.supervisor,
    )


def by_client(session: Session, sel: Selection) -> list[tuple[Tenant, Dashboard]]:
    """One dashboard per selected tenant (the supervisor's comparison table)."""
    if not sel.supervisor or len(sel.tenants) < 2:
        return []
    loc = sel.location.id if sel.location else None
    return [(t, metrics.dashboard(session, [t.id], sel.start, sel.end, loc)) for t in sel.tenants]


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "int"  # int, num, pct (0..1), secs, score (-100..100), text, date, datetime


@dataclass
class Table:
    """One table of the dashboard: shown on the page, exported as CSV.

    A column of kind "row" takes each row's kind from `row_kinds` (the key-figures table mixes counts,
    rates and durations in one column)."""

    name: str
    title: str
    columns: list[Column]
    rows: list[tuple] = field(default_factory=list)
    supervisors_only: bool = False
    row_kinds: list[str] = field(default_factory=list)

    def kind(self, row: int, col: int) -> str:
        kind = self.columns[col].kind
        return self.row_kinds[row] if kind == "row" else kind

    def display(self) -> list[list[str]]:
        """The rows as the page shows them."""
        return [[fmt(v, self.kind(r, c)) for c, v in enumerate(row)] for r, row in enumerate(self.rows)]

    def csv(self) -> str:
        """Comma-separated with a header row; rates as percentages, durations in seconds, 1 decimal."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([_csv_header(c) for c in self.columns])
        for r, row in enumerate(self.rows):
            writer.writerow([_csv_value(v, self.kind(r, c)) for c, v in enumerate(row)])
        return buffer.getvalue()


def _csv_header(column: Column) -> str:
    suffix = {"pct": " (%)", "secs": " (seconds)"}.get(column.kind, "")
    return column.header + suffix


def _csv_value(value: Any, kind: str) -> Any:
    if value is None or (isinstance(value, float) and math.isinf(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if kind == "pct":
        return f"{value * 100:.1f}"
    if kind in ("secs", "num", "score"):
        return f"{value:.1f}"
    if kind == "datetime" and isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if kind == "date" and isinstance(value, date):
        return value.isoformat()
    # Spreadsheet formula injection: text that starts like a formula is defused with a quote.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def fmt(value: Any, kind: str) -> str:
    """A figure as the page shows it; a dash when there is nothing to show."""
    if value is None:
        return "–"
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if kind == "secs":
        seconds = round(value)
        return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds} s"
    if kind == "score":
        return f"{value:+.0f}" if round(value) else "0"
    if kind == "num":
        return f"{value:.2f}"
    if kind == "int":
        return f"{value:,}"
    if kind == "date":
        return value.strftime("%a %b %-d")
    if kind == "datetime":
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def _summary(d: Dashboard) -> Table:
    v, f, s, q, e, n = d.volume, d.front_desk, d.satisfaction, d.service, d.escalations, d.new_patients
    figures: list[tuple[str, Any, str]] = [
        ("Contacts received", v.received, "int"),
        ("Contacts handled", v.handled, "int"),
        ("Contacts abandoned", v.abandoned, "int"),
        ("Average handle time", v.avg_handle_s, "secs"),
        ("Appointments booked", f.appointments_booked, "int"),
        ("Appointments rescheduled", f.appointments_rescheduled, "int"),
        ("Appointments cancelled", f.appointments_cancelled, "int"),
        ("Referrals made", f.referrals_made, "int"),
        ("Directions and information given", f.information_given, "int"),
        ("Refill requests routed", f.refills_routed, "int"),
        ("Records requests routed", f.records_routed, "int"),
        ("New patients", n.registered, "int"),
        ("Red-flag contacts", e.red_flag_contacts, "int"),
        ("Time to clinician, median", e.median_s, "secs"),
        ("Time to clinician, 90th percentile", e.p90_s, "secs"),
        ("Time to clinician, worst", e.worst_s, "secs"),
        ("Surveys answered", s.answered, "int"),
        ("CSAT (4 or 5 of 5)", s.scores.csat, "pct"),
        ("NPS", s.scores.nps, "score"),
        ("Need met", s.scores.need_met, "pct"),
        (f"Service level ({q.target_s:g} s)", q.service_level, "pct"),
        ("Average speed of answer", q.asa_s, "secs"),
        ("Abandonment", q.abandonment_rate, "pct"),
    ]
    return Table(
        "summary",
        "Key figures",
        [Column("Figure", "text"), Column("Value", "row")],
        [(label, value) for label, value, _ in figures],
        row_kinds=[kind for _, _, kind in figures],
    )


def tables(d: Dashboard, clients: Sequence[tuple[Tenant, Dashboard]] = ()) -> dict[str, Table]:
    """Every table of the dashboard, by export name."""
    v, f, s, q, e, n = d.volume, d.front_desk, d.satisfaction, d.service, d.escalations, d.new_patients
    service_by_day = {x.day: x for x in q.daily}
    out = [
        _summary(d),
        Table(
            "daily",
            "Contacts and service level by day",
            [
                Column("Day", "date"),
                Column("Received"),
                Column("Handled"),
                Column("Abandoned"),
                Column("Queued"),
                Column("Service level", "pct"),
            ],
            [
                (
                    x.day,
                    x.received,
                    x.handled,
                    x.abandoned,
                    service_by_day[x.day].offered,
                    service_by_day[x.day].service_level,
                )
                for x in v.daily
            ],
        ),
        Table(
            "channels",
            "Contacts by channel",
            [Column("Channel", "text"), Column("Contacts")],
            list(v.by_channel.items()),
        ),
        Table(
            "reasons",
            "What callers wanted",
            [Column("Reason", "text"), Column("Reasons")],
            [(INTENT_LABELS.get(i, i), k) for i, k in d.reasons.by_intent.items()],
        ),
        Table(
            "front_desk",
            "Work taken off the front desk",
            [Column("Work", "text"), Column("Count")],
            [
                ("Appointments booked", f.appointments_booked),
                ("Appointments rescheduled", f.appointments_rescheduled),
                ("Appointments cancelled", f.appointments_cancelled),
                ("Put on a waitlist", f.waitlisted),
                ("Referrals made", f.referrals_made),
                ("Directions and information given", f.information_given),
                ("Refill requests routed", f.refills_routed),
                ("Records requests routed", f.records_routed),
            ],
        ),
        Table(
            "outcomes",
            "Every reason's outcome",
            [Column("Outcome", "text"), Column("Reasons")],
            [(OUTCOME_LABELS.get(o, o), k) for o, k in f.by_outcome.items()],
        ),
        Table(
            "new_patients",
            "New patients by referral source",
            [Column("Referral source", "text"), Column("New patients")],
            [(SOURCE_LABELS.get(src, src), k) for src, k in n.by_referral_source.items()],
        ),
        Table(
            "escalations",
            "Red flags and time to clinician",
            [Column("Figure", "text"), Column("Value", "row")],
            [
                ("Red-flag contacts", e.red_flag_contacts),
                ("Escalations raised", e.escalated),
                ("Accepted by a clinician", e.accepted),
                ("Waiting for a clinician", e.pending),
                ("Withdrawn before a clinician took it", e.withdrawn),
                ("Time to clinician, median", e.median_s),
                ("Time to clinician, 90th percentile", e.p90_s),
                ("Time to clinician, worst", e.worst_s),
            ],
            row_kinds=["int"] * 5 + ["secs"] * 3,
        ),
        Table(
            "red_flags",
            "Red-flag contacts by kind",
            [Column("Kind", "text"), Column("Contacts")],
            list(e.by_kind.items()),
        ),
        Table(
            "satisfaction",
            "Satisfaction by week",
            [
                Column("Week of", "date"),
                Column("Answered"),
                Column("CSAT average", "num"),
                Column("CSAT", "pct"),
                Column("NPS", "score"),
                Column("Need met", "pct"),
            ],
            [
                (w.week, w.scores.answered, w.scores.csat_avg, w.scores.csat, w.scores.nps, w.scores.need_met)
                for w in s.trend
            ],
        ),
        Table(
            "satisfaction_by_reason",
            "Satisfaction by reason",
            [
                Column("Reason", "text"),
                Column("Answered"),
                Column("CSAT", "pct"),
                Column("NPS", "score"),
                Column("Need met", "pct"),
            ],
            [
                (INTENT_LABELS.get(i, i), sc.answered, sc.csat, sc.nps, sc.need_met)
                for i, sc in s.by_intent.items()
            ],
        ),
        Table(
            "service",
            "Queue service",
            [Column("Figure", "text"), Column("Value", "row")],
            [
                ("Offered (queued, then answered or abandoned)", q.offered),
                (f"Answered within {q.target_s:g} s", q.answered_within_target),
                ("Answered", q.answered),
                ("Abandoned", q.abandoned),
                (
                    f"Abandoned within {q.target_s:g} s (left out of the service level)",
                    q.abandoned_before_target,
                ),
                (f"Service level ({q.target_s:g} s)", q.service_level),
                ("Average speed of answer", q.asa_s),
                ("Abandonment", q.abandonment_rate),
                ("Longest wait", q.longest_wait_s),
            ],
            row_kinds=["int"] * 5 + ["pct", "secs", "pct", "secs"],
        ),
    ]
    if clients:
        out.append(
            Table(
                "clients",
                "By client",
                [
                    Column("Client", "text"),
                    Column("Received"),
                    Column("Handled"),
                    Column("Service level", "pct"),
                    Column("Average speed of answer", "secs"),
                    Column("Abandonment", "pct"),
                    Column("Surveys answered"),
                    Column("CSAT", "pct"),
                    Column("NPS", "score"),
                    Column("Need met", "pct"),
                ],
                [
                    (
                        t.name,
                        c.volume.received,
                        c.volume.handled,
                        c.service.service_level,
                        c.service.asa_s,
                        c.service.abandonment_rate,
                        c.satisfaction.answered,
                        c.satisfaction.scores.csat,
                        c.satisfaction.scores.nps,
                        c.satisfaction.scores.need_met,
                    )
                    for t, c in clients
                ],
                supervisors_only=True,
            )
        )
    out.append(
        Table(
            "agents",
            "By agent",
            [
                Column("Agent", "text"),
                Column("Handled"),
                Column("Average handle time", "secs"),
                Column("Surveys answered"),
                Column("CSAT", "pct"),
                Column("NPS", "score"),
                Column("Need met", "pct"),
            ],
            [
                (
                    a.name,
                    a.handled,
                    a.avg_handle_s,
                    a.scores.answered,
                    a.scores.csat,
                    a.scores.nps,
                    a.scores.need_met,
                )
                for a in d.agents
            ],
            supervisors_only=True,
        )
    )
    out.append(
        Table(
            "comments",
            "Survey comments",
            [
                Column("Answered", "datetime"),
                Column("Client", "text"),
                Column("Agent", "text"),
                Column("CSAT"),
                Column("NPS"),
                Column("Need met", "text"),
                Column("Comment", "text"),
                Column("Reasons and outcomes", "text"),
                Column("Contact", "text"),
            ],
            [
                (
                    c.answered_at,
                    c.tenant,
                    c.agent,
                    c.csat,
                    c.nps,
                    c.need_met,
                    c.comment,
                    "; ".join(
                        f"{INTENT_LABELS.get(i, i)}: {OUTCOME_LABELS.get(o, o) if o else 'open'}"
                        for i, o in c.reasons
                    ),
                    str(c.contact_id),
                )
                for c in d.comments
            ],
            supervisors_only=True,
        )
    )
    return {t.name: t for t in out}


SUPERVISOR_TABLES = ("clients", "agents", "comments")
TABLE_NAMES = (
    "summary",
    "daily",
    "channels",
    "reasons",
    "front_desk",
    "outcomes",
    "new_patients",
    "escalations",
    "red_flags",
    "satisfaction",
    "satisfaction_by_reason",
    "service",
    *SUPERVISOR_TABLES,
)


def month_range(text: str) -> tuple[date, date]:
    """'2026-11' -> (2026-11-01, 2026-11-30)."""
    try:
        year, month = (int(x) for x in text.split("-"))
        first = date(year, month, 1)
    except ValueError:
        raise ValidationFailed("month must look like 2026-11", field="month") from None
    following = date(year + (month == 12), month % 12 + 1, 1)
    return first, following - timedelta(days=1)
