"""Independent computations of the dashboard figures, straight from the rows (no report code).

Plain Python over ORM rows and zoneinfo, written from the definitions in docs/reports.md; the tests
compare careline.reports.metrics against these.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from careline.contacts.models import Contact, ContactReason
from careline.patients.models import Patient
from careline.surveys.models import Survey
from careline.tenants.models import Tenant


@dataclass
class Expected:
    contacts: list
    reasons: list
    surveys: list
    zones: dict
    start: date
    end: date


def load(db: Session, tenant_ids, start: date, end: date, location: int | None = None) -> Expected:
    zones = {t.id: ZoneInfo(t.timezone) for t in db.scalars(select(Tenant))}
    wanted = set(tenant_ids)
    contacts = [
        c
        for c in db.scalars(select(Contact))
        if c.tenant_id in wanted and start <= c.created_at.astimezone(zones[c.tenant_id]).date() <= end
    ]
    if location is not None:
        # Raw SQL on purpose: read the JSON text and parse it here.
        import json

        at = set()
        for contact_id, detail in db.execute(text("SELECT contact_id, outcome_detail FROM contact_reasons")):
            detail = json.loads(detail) if isinstance(detail, str) else detail
            if str((detail or {}).get("location_id")) == str(location):
                at.add(contact_id)
        booked = text(
            "SELECT contact_id FROM appointments WHERE location_id = :loc AND contact_id IS NOT NULL"
        )
        at |= {row[0] for row in db.execute(booked, {"loc": location})}
        contacts = [c for c in contacts if c.id in at]
    ids = {c.id for c in contacts}
    reasons = [r for r in db.scalars(select(ContactReason)) if r.contact_id in ids]
    surveys = [s for s in db.scalars(select(Survey)) if s.contact_id in ids]
    return Expected(contacts, reasons, surveys, zones, start, end)


def local_day(e: Expected, contact) -> date:
    return contact.created_at.astimezone(e.zones[contact.tenant_id]).date()


def volume(e: Expected) -> dict:
    handled = [c for c in e.contacts if c.answered_at]
    abandoned = [c for c in e.contacts if c.abandoned_at and not c.answered_at]
    handles = [(c.ended_at - c.answered_at).total_seconds() for c in handled if c.ended_at]
    days = {}
    d = e.start
    while d <= e.end:
        days[d] = [0, 0, 0]
        d += timedelta(days=1)
    for c in e.contacts:
        days[local_day(e, c)][0] += 1
        days[local_day(e, c)][1] += c.answered_at is not None
        days[local_day(e, c)][2] += c.abandoned_at is not None and c.answered_at is None
    return {
        "received": len(e.contacts),
        "handled": len(handled),
        "abandoned": len(abandoned),
        "simulated": sum(1 for c in e.contacts if c.simulated),
        "avg_handle_s": sum(handles) / len(handles) if handles else None,
        "by_channel": Counter(str(c.channel) for c in e.contacts),
        "daily": days,
    }


def reasons(e: Expected) -> Counter:
    return Counter(str(r.intent) for r in e.reasons)


def outcomes(e: Expected) -> Counter:
    return Counter(str(r.outcome) for r in e.reasons if r.outcome is not None)


def routed(e: Expected, intent: str) -> int:
    return sum(
        1
        for r in e.reasons
        if str(r.intent) == intent and r.outcome is not None and str(r.outcome) != "unresolved"
    )


def new_patients(db: Session, e: Expected) -> tuple[Counter, int]:
    """Patients whose record was created while one of their contacts in the selection was going on."""
    patients = {p.id: p for p in db.scalars(select(Patient))}
    signed_up = {}
    for c in e.contacts:
        p = patients.get(c.patient_id)
        if p and c.created_at <= p.created_at and (c.ended_at is None or p.created_at <= c.ended_at):
            signed_up[p.id] = str(p.referral_source)
    unregistered = sum(1 for c in e.contacts if c.new_patient and c.patient_id is None)
    return Counter(signed_up.values()), unregistered


def nearest_rank(values: list[float], q: float) -> float | None:
    """Smallest value v with at least q of the values <= v."""
    if not values:
        return None
    return next(v for v in sorted(values) if sum(x <= v for x in values) / len(values) >= q)


def escalations(db: Session, e: Expected) -> dict:
    """From the escalations table, read with plain SQL: one row per escalation of the selection's contacts."""
    ids = {c.id for c in e.contacts}
    rows = db.execute(text("SELECT contact_id, status, time_to_clinician_seconds FROM escalations")).all()
    mine = [r for r in rows if r.contact_id in ids]
    times = [r.time_to_clinician_seconds for r in mine if r.time_to_clinician_seconds is not None]
    flagged = [c for c in e.contacts if c.red_flag]
    kinds = Counter(k for c in flagged for k in (c.red_flag_kinds or ["unspecified"]))
    return {
        "red_flag_contacts": len(flagged),
        "by_kind": kinds,
        "escalated": len(mine),
        "accepted": len(times),
        "pending": sum(1 for r in mine if r.status == "open"),
        "withdrawn": sum(1 for r in mine if r.status == "cancelled"),
        "median": statistics.median(times) if times else None,
        "p90": nearest_rank(times, 0.9),
        "worst": max(times) if times else None,
    }


def scores(answers: list) -> dict:
    csat = [a.csat for a in answers if a.csat is not None]
    nps = [a.nps for a in answers if a.nps is not None]
    need = [a.need_met for a in answers if a.need_met is not None]
    return {
        "answered": len(answers),
        "csat_avg": sum(csat) / len(csat) if csat else None,
        "csat": sum(1 for x in csat if x in (4, 5)) / len(csat) if csat else None,
        "nps": (
            100 * sum(1 for x in nps if x >= 9) / len(nps) - 100 * sum(1 for x in nps if x <= 6) / len(nps)
        )
        if nps
        else None,
        "need_met": sum(1 for x in need if x) / len(need) if need else None,
    }


def satisfaction(e: Expected) -> dict:
    answered = [s for s in e.surveys if s.answered_at is not None]
    by_contact = {c.id: c for c in e.contacts}
    weeks = defaultdict(list)
    for s in answered:
        d = local_day(e, by_contact[s.contact_id])
        weeks[d - timedelta(days=d.weekday())].append(s)
    return {
        "sent": len(e.surveys),
        "all": scores(answered),
        "weeks": {w: scores(v) for w, v in weeks.items()},
    }


def satisfaction_by_intent(e: Expected) -> dict[str, dict]:
    """Scores of the answered surveys whose contact had a reason with the intent (once per contact)."""
    intents = defaultdict(set)
    for r in e.reasons:
        intents[r.contact_id].add(str(r.intent))
    groups = defaultdict(list)
    for s in e.surveys:
        if s.answered_at is not None:
            for intent in intents[s.contact_id]:
                groups[intent].append(s)
    return {intent: scores(answers) for intent, answers in groups.items()}


def reasons_of(e: Expected, contact_id: int) -> list[tuple[str, str | None]]:
    mine = sorted((r for r in e.reasons if r.contact_id == contact_id), key=lambda r: r.id)
    return [(str(r.intent), None if r.outcome is None else str(r.outcome)) for r in mine]


def service(e: Expected, target: float = 30) -> dict:
    answered = [c for c in e.contacts if c.queued_at and c.answered_at]
    abandoned = [c for c in e.contacts if c.queued_at and c.abandoned_at and not c.answered_at]
    waits = [(c.answered_at - c.queued_at).total_seconds() for c in answered]
    gave_up = [(c.abandoned_at - c.queued_at).total_seconds() for c in abandoned]
    within = sum(1 for w in waits if w <= target)
    early = sum(1 for w in gave_up if w < target)
    denominator = len(answered) + len(abandoned) - early
    return {
        "offered": len(answered) + len(abandoned),
        "answered": len(answered),
        "abandoned": len(abandoned),
        "within": within,
        "early": early,
        "service_level": within / denominator if denominator else None,
        "asa": sum(waits) / len(waits) if waits else None,
        "abandonment": len(abandoned) / (len(answered) + len(abandoned)) if answered or abandoned else None,
        "longest": max(waits + gave_up) if waits or gave_up else None,
    }


def agents(e: Expected) -> dict[int, dict]:
    out: dict[int, dict] = {}
    for agent in {c.agent_user_id for c in e.contacts if c.answered_at and c.agent_user_id} | {
        s.agent_user_id for s in e.surveys if s.answered_at and s.agent_user_id
    }:
        mine = [c for c in e.contacts if c.answered_at and c.agent_user_id == agent]
        handles = [(c.ended_at - c.answered_at).total_seconds() for c in mine if c.ended_at]
        answers = [s for s in e.surveys if s.answered_at and s.agent_user_id == agent]
        out[agent] = {
            "handled": len(mine),
            "aht": sum(handles) / len(handles) if handles else None,
            "scores": scores(answers),
        }
    return out


def comments(e: Expected) -> list[tuple[int, str]]:
    said = [s for s in e.surveys if s.answered_at and s.comment and s.comment.strip()]
    return [
        (s.id, s.comment.strip()) for s in sorted(said, key=lambda s: (s.answered_at, s.id), reverse=True)
    ]


def close(a, b, tol: float = 1e-9) -> bool:
    """Equal, both None, or floats within tolerance."""
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)
