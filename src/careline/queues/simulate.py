"""Simulated traffic from the demo world, so queues and reports show real figures without telephony.

Two ways:

- `run_live`: callers arrive now, in real time, through the real services: a contact is started,
  the caller's words are screened (reasons, red flags), it is queued and offered; simulated agents
  accept, talk for a few minutes, record an outcome per reason and wrap up; impatient callers hang up.
- `backfill_history`: past weeks in one go with bulk inserts: arrivals on a health-system curve
  (Monday-morning peak, quiet weekends) in each client's time zone, waits from a first-come
  first-served multi-agent queue staffed by square-root staffing (an Erlang-C-like rule) with
  callers who give up, handle times of 4-7 minutes, and every timestamp, reason, outcome,
  disposition, red flag, escalation and survey consent filled. Rows are marked `simulated`.

The mix of reasons is what a health-system access center sees (see MIX).
"""

from __future__ import annotations

import math
import random
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from careline.accounts import service as accounts
from careline.accounts.models import Role, User
from careline.audit.service import Actor, record
from careline.contacts import service as contacts
from careline.contacts.intents import Intent
from careline.contacts.models import Channel, Contact, ContactReason, ContactStatus, Outcome
from careline.db import transaction
from careline.directory.models import Location
from careline.escalations.models import Escalation, EscalationStatus, Urgency
from careline.kit.clock import utcnow
from careline.kit.timeutil import local_to_utc, to_local
from careline.patients.models import Patient, PatientPhone
from careline.queues import service
from careline.queues.models import AgentPresence, EntryKind, EntryState, PresenceState, QueueEntry
from careline.tenants.models import Tenant
from careline.triage.model import Disposition

SIM_BY = contacts.By(user_id=None, actor=Actor("simulation"))
SIM_EMAIL = "sim.{role}.{n:02d}@simulated.careline.demo"

# Share of contacts by first reason (percent): scheduling 35, reschedule/cancel 15, refills 10,
# billing 8, test results 7, find a doctor 7, location info 6, clinical 8, records 3, out of scope 1.
MIX: dict[Intent, float] = {
    Intent.SCHEDULE: 35,
    Intent.RESCHEDULE: 9,
    Intent.CANCEL: 6,
    Intent.REFILL: 10,
    Intent.BILLING: 8,
    Intent.TEST_RESULTS: 7,
    Intent.FIND_DOCTOR: 7,
    Intent.LOCATION_INFO: 6,
    Intent.CLINICAL: 8,
    Intent.RECORDS: 3,
    Intent.OUT_OF_SCOPE: 1,
}
RED_FLAG_SHARE_OF_CLINICAL = 0.19  # about 1.5% of all contacts
SECOND_REASON, THIRD_REASON = 0.18, 0.03

# What callers say, per reason (the live simulation screens these through the real analyser).
PHRASES: dict[Intent, list[str]] = {
    Intent.SCHEDULE: [
        "I need to make an appointment for my annual physical.",
        "Can I schedule a follow-up visit with my doctor next week?",
        "I'd like to book a check-up for my daughter.",
    ],
    Intent.RESCHEDULE: [
        "I need to reschedule my appointment on Thursday.",
        "Can I move my appointment to next week? Something came up at work.",
    ],
    Intent.CANCEL: ["I need to cancel my appointment tomorrow.", "Please cancel my visit on Friday."],
    Intent.REFILL: [
        "Can I get a refill on my blood pressure medication? I'm almost out.",
        "I need a refill of my inhaler sent to my pharmacy.",
    ],
    Intent.BILLING: [
        "I got a bill I don't understand and want to know what insurance paid.",
        "I have a question about a charge on my statement.",
    ],
    Intent.TEST_RESULTS: [
        "I was calling about my lab results from last week.",
        "Are my blood test results back yet?",
    ],
    Intent.FIND_DOCTOR: [
        "I'm new to the area and looking for a family doctor who takes Blue Cross.",
        "Is there a dermatologist taking new patients?",
    ],
    Intent.LOCATION_INFO: [
        "What's the address of your clinic and is there parking?",
        "What are your hours on Saturday?",
    ],
    Intent.CLINICAL: [
        "My son has had a fever and a cough for two days.",
        "I have a rash on my arm that keeps getting itchier.",
        "My back has been hurting since I lifted a box.",
    ],
    Intent.RECORDS: ["I need a copy of my medical records sent to my new doctor."],
    Intent.OUT_OF_SCOPE: [
        "Is my prescription ready for pick up at Walgreens?",
        "I'm calling about my dog's vaccines.",
        "I have a question about my electric bill.",
    ],
}
RED_FLAG_PHRASES = [
    ("I have crushing chest pain and I'm sweating.", "cardiac"),
    ("I can't breathe and my lips are turning blue.", "breathing"),
    ("My husband's face is drooping and his speech is slurred.", "stroke"),
    ("I want to kill myself.", "suicidal"),
    ("My toddler swallowed bleach.", "poisoning"),
]
OUTCOMES: dict[Intent, list[tuple[Outcome, float]]] = {
    Intent.SCHEDULE: [
        (Outcome.APPOINTMENT_BOOKED, 80),
        (Outcome.WAITLISTED, 8),
        (Outcome.CALLBACK_SCHEDULED, 7),
        (Outcome.UNRESOLVED, 5),
    ],
    Intent.RESCHEDULE: [(Outcome.APPOINTMENT_RESCHEDULED, 90), (Outcome.CALLBACK_SCHEDULED, 10)],
    Intent.CANCEL: [(Outcome.APPOINTMENT_CANCELLED, 97), (Outcome.UNRESOLVED, 3)],
    Intent.REFILL: [(Outcome.MESSAGE_TAKEN, 55), (Outcome.TRANSFERRED, 35), (Outcome.ROUTED_OUTSIDE, 10)],
    Intent.BILLING: [(Outcome.TRANSFERRED, 60), (Outcome.INFORMATION_GIVEN, 30), (Outcome.MESSAGE_TAKEN, 10)],
    Intent.TEST_RESULTS: [
        (Outcome.MESSAGE_TAKEN, 50),
        (Outcome.TRANSFERRED, 35),
        (Outcome.NURSE_ESCALATED, 15),
    ],
    Intent.FIND_DOCTOR: [
        (Outcome.REFERRAL_MADE, 40),
        (Outcome.APPOINTMENT_BOOKED, 45),
        (Outcome.INFORMATION_GIVEN, 15),
    ],
    Intent.LOCATION_INFO: [(Outcome.INFORMATION_GIVEN, 100)],
    Intent.CLINICAL: [
        (Outcome.NURSE_ESCALATED, 75),
        (Outcome.INFORMATION_GIVEN, 15),
        (Outcome.APPOINTMENT_BOOKED, 10),
    ],
    Intent.RECORDS: [(Outcome.TRANSFERRED, 60), (Outcome.INFORMATION_GIVEN, 40)],
    Intent.OUT_OF_SCOPE: [(Outcome.ROUTED_OUTSIDE, 90), (Outcome.INFORMATION_GIVEN, 10)],
    Intent.SPEAK_TO_STAFF: [(Outcome.TRANSFERRED, 80), (Outcome.MESSAGE_TAKEN, 20)],
}
LOCATED_OUTCOMES = {
    Outcome.APPOINTMENT_BOOKED,
    Outcome.APPOINTMENT_RESCHEDULED,
    Outcome.APPOINTMENT_CANCELLED,
    Outcome.WAITLISTED,
}
RED_FLAG_KINDS = [
    ("cardiac", 30),
    ("breathing", 20),
    ("stroke", 12),
    ("suicidal", 10),
    ("poisoning", 6),
    ("abdominal", 8),
    ("pediatric_fever", 8),
    ("bleeding", 6),
]
CLINICAL_DISPOSITIONS = [(Disposition.ROUTINE, 45), (Disposition.SELF_CARE, 30), (Disposition.URGENT, 25)]

# Arrivals: weekday factors (Monday peak) and the hourly shape of a day, local time. A weekday's hourly
# weights average 1.0 over 07:00-19:00, so `calls_per_hour` is the average business hour of a Wednesday.
WEEKDAY_FACTOR = [1.3, 1.08, 1.0, 0.97, 0.9, 1.0, 1.0]
WEEKDAY_HOURS = {
    7: 0.55,
    8: 1.45,
    9: 1.6,
    10: 1.45,
    11: 1.2,
    12: 0.85,
    13: 1.05,
    14: 1.05,
    15: 0.95,
    16: 0.85,
    17: 0.6,
    18: 0.4,
}
SATURDAY_HOURS = {8: 0.35, 9: 0.45, 10: 0.45, 11: 0.35}
SUNDAY_HOURS = {9: 0.12, 10: 0.15, 11: 0.12}
MEAN_HANDLE_S = 330.0  # talk plus after-call work, about 5.5 minutes (4-7 for most calls)
MEAN_PATIENCE_S = 170.0
STAFFING_MARGIN = 0.5  # agents = load + margin x sqrt(load): about 80% answered in 30 s at demo volumes


def hourly_weight(local: datetime) -> float:
    """Expected calls in this local hour, per `calls_per_hour`."""
    day = local.weekday()
    hours = SATURDAY_HOURS if day == 5 else SUNDAY_HOURS if day == 6 else WEEKDAY_HOURS
    return WEEKDAY_FACTOR[day] * hours.get(local.hour, 0.0)


def agents_needed(calls_per_hour: float, mean_handle_s: float = MEAN_HANDLE_S) -> int:
    """Square-root staffing: the offered load plus a margin times its square root."""
    load = calls_per_hour * mean_handle_s / 3600
    return 0 if load <= 0 else max(1, math.ceil(load + STAFFING_MARGIN * math.sqrt(load)))


def handle_seconds(rng: random.Random) -> float:
    """Talk plus wrap-up: log-normal around 5.5 minutes, most calls 4-7 minutes."""
    return min(1500.0, max(100.0, rng.lognormvariate(math.log(MEAN_HANDLE_S) - 0.045, 0.3)))


def _pick(rng: random.Random, weighted: list[tuple[Any, float]] | dict[Any, float]) -> Any:
    items = list(weighted.items()) if isinstance(weighted, dict) else weighted
    return rng.choices([k for k, _ in items], [w for _, w in items])[0]


def reasons_for(rng: random.Random) -> list[Intent]:
    """A caller's reasons: one usually, sometimes two or three different ones."""
    count = 3 if rng.random() < THIRD_REASON else 2 if rng.random() < SECOND_REASON else 1
    out: list[Intent] = []
    while len(out) < count:
        intent = _pick(rng, MIX)
        if intent not in out:
            out.append(intent)
    return out


# ------------------------------------------------------------------------------------------ world


@dataclass
class World:
    """The tenants to simulate (with their share of calls), their callers and the simulated staff."""

    tenants: list[Tenant]
    shares: dict[int, float]
    zones: dict[int, str]
    callers: dict[int, list[tuple[int, str]]]  # tenant -> [(patient id, phone)]
    locations: dict[int, list[int]]
    queues: dict[tuple[int, Intent], int]  # (tenant, first intent) -> queue id
    agents: list[int] = field(default_factory=list)
    nurses: list[int] = field(default_factory=list)


def _tenants(session: Session, slugs: list[str] | None) -> list[Tenant]:
    stmt = select(Tenant).where(Tenant.active.is_(True)).order_by(Tenant.id)
    if slugs:
        stmt = stmt.where(Tenant.slug.in_(slugs))
    found = list(session.scalars(stmt))
    if slugs and len(found) != len(set(slugs)):
        missing = sorted(set(slugs) - {t.slug for t in found})
        raise ValueError(f"unknown tenant(s): {', '.join(missing)}")
    if not found:
        raise ValueError("no tenants: run `careline demo` first")
    return found


def load_world(session: Session, slugs: list[str] | None = None, *, staff: int = 0) -> World:
    """Tenants, their patients' numbers, locations and queues (made when missing), and `staff` agents."""
    tenants = _tenants(session, slugs)
    sizes = {
        t.id: session.scalar(select(func.count()).select_from(Location).where(Location.tenant_id == t.id))
        or 0
        for t in tenants
    }
    weights = {tid: math.sqrt(n + 1) for tid, n in sizes.items()}
    total = sum(weights.values())
    world = World(
        tenants=tenants,
        shares={tid: w / total for tid, w in weights.items()},
        zones={t.id: t.timezone for t in tenants},
        callers={},
        locations={},
        queues={},
    )
    for tenant in tenants:
        service.ensure_default_queues(session, tenant.id)
        world.callers[tenant.id] = [
            (pid, phone)
            for pid, phone in session.execute(
                select(PatientPhone.patient_id, PatientPhone.e164)
                .join(Patient, Patient.id == PatientPhone.patient_id)
                .where(Patient.tenant_id == tenant.id, PatientPhone.is_primary.is_(True))
                .order_by(PatientPhone.id)
                .limit(5000)
            )
        ]
        world.locations[tenant.id] = list(
            session.scalars(
                select(Location.id).where(Location.tenant_id == tenant.id, Location.active.is_(True))
            )
        )
        for intent in Intent:
            queue = service.queue_for_intent(session, tenant.id, intent) or service.queue_for_intent(
                session, tenant.id, Intent.SPEAK_TO_STAFF
            )
            if queue is None:
                queue = service.list_queues(session, tenant_id=tenant.id)[0]
            world.queues[(tenant.id, intent)] = queue.id
    if staff:
        world.agents, world.nurses = sim_staff(session, tenants, staff)
    return world


def sim_staff(session: Session, tenants: list[Tenant], count: int) -> tuple[list[int], list[int]]:
    """Simulated agents and nurses (made once, reused): accounts nobody can sign in to (random password),
    serving these tenants, with the skills of their queues (nurses take the nurse queues)."""
    nurses = max(1, round(count * 0.15))
    wanted = [("agent", n) for n in range(1, count - nurses + 1)] + [
        ("nurse", n) for n in range(1, nurses + 1)
    ]
    slugs = [t.slug for t in tenants]
    skills = {q.skill for t in tenants for q in service.list_queues(session, tenant_id=t.id)}
    nurse_skills = {s for s in skills if "nurse" in s} or skills
    agent_skills = (skills - nurse_skills) or skills
    agents, nurse_ids = [], []
    for role, n in wanted:
        email = SIM_EMAIL.format(role=role, n=n)
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            user = accounts.create_user(
                session,
                email=email,
                name=f"Simulated {role.title()} {n:02d}",
                role=role,
                password=secrets.token_urlsafe(24),
                tenant_slugs=slugs,
                cheap_hash=True,
            )
        service.set_skills(session, user.id, sorted(nurse_skills if role == "nurse" else agent_skills))
        (nurse_ids if user.role is Role.NURSE else agents).append(user.id)
    return agents, nurse_ids


# ---------------------------------------------------------------------------------------- history


@dataclass
class _Call:
    tenant_id: int
    arrived: datetime
    reasons: list[Intent]
    red_flag: str | None
    patience_s: float
    handle_s: float


def _arrivals(
    world: World, calls_per_hour: float, start: datetime, end: datetime, rng: random.Random
) -> Iterator[_Call]:
    """Poisson arrivals hour by hour on each tenant's local curve, in time order."""
    hour = start.replace(minute=0, second=0, microsecond=0)
    while hour < end:
        batch = []
        for tenant in world.tenants:
            local = to_local(hour, world.zones[tenant.id])
            expected = calls_per_hour * world.shares[tenant.id] * hourly_weight(local)
            for _ in range(_poisson(rng, expected)):
                at = hour + timedelta(seconds=rng.uniform(0, 3600))
                if not start <= at < end:
                    continue
                reasons = reasons_for(rng)
                red = None
                if Intent.CLINICAL in reasons and rng.random() < RED_FLAG_SHARE_OF_CLINICAL:
                    red = _pick(rng, RED_FLAG_KINDS)
                    reasons.remove(Intent.CLINICAL)
                    reasons.insert(0, Intent.CLINICAL)
                patience = 10**6 if red else rng.expovariate(1 / MEAN_PATIENCE_S)
                batch.append(_Call(tenant.id, at, reasons, red, patience, handle_seconds(rng)))
        batch.sort(key=lambda c: c.arrived)
        yield from batch
        hour += timedelta(hours=1)


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    threshold, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


def _staffing(world: World, calls_per_hour: float, at: datetime) -> int:
    expected = sum(
        calls_per_hour * world.shares[t.id] * hourly_weight(to_local(at, world.zones[t.id]))
        for t in world.tenants
    )
    return agents_needed(expected)


@dataclass
class HistoryResult:
    contacts: int = 0
    answered: int = 0
    abandoned: int = 0
    reasons: int = 0
    red_flags: int = 0
    escalations: int = 0
    agents: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for the CLI."""
        rate = self.abandoned / self.contacts if self.contacts else 0
        return (
            f"{self.contacts} simulated contacts ({self.answered} answered, {self.abandoned} abandoned, "
            f"{rate:.1%}), {self.reasons} reasons, {self.red_flags} red flags, "
            f"{self.escalations} escalations, {self.agents} simulated staff, in {self.seconds:.1f} s"
        )


def backfill_history(
    factory: sessionmaker[Session],
    *,
    days: int,
    calls_per_hour: float,
    seed: int = 7,
    tenants: list[str] | None = None,
    end: datetime | None = None,
    batch: int = 4000,
) -> HistoryResult:
    """Fill the `days` before `end` (now) with simulated contacts, queue entries and escalations."""
    if days < 1 or days > 400:
        raise ValueError("--history is 1 to 400 days")
    if calls_per_hour <= 0:
        raise ValueError("--calls-per-hour must be more than 0")
    started = time.perf_counter()
    rng = random.Random(seed)
    end = (end or utcnow()) - timedelta(minutes=30)  # every simulated call has ended
    result = HistoryResult()
    with transaction(factory) as session:
        first = _tenants(session, tenants)[0]
        day0 = to_local(end, first.timezone).date() - timedelta(days=days)
        start = local_to_utc(datetime.combine(day0, datetime.min.time()), first.timezone)
        peak = max(_staffing_peak(calls_per_hour), 1)
        world = load_world(session, tenants, staff=peak + max(1, round(peak * 0.15)))
    result.agents = len(world.agents) + len(world.nurses)
    free: list[tuple[datetime, int]] = [
        (start, i) for i in range(len(world.agents))
    ]  # (free at, agent index)
    rows: list[tuple[_Call, dict]] = []
    for call in _arrivals(world, calls_per_hour, start, end, rng):
        rows.append((call, _serve(call, world, free, calls_per_hour, rng)))
        if len(rows) >= batch:
            _write(factory, world, rows, rng, result)
            rows = []
    if rows:
        _write(factory, world, rows, rng, result)
    with transaction(factory) as session:
        record(
            session,
            Actor("simulation"),
            "queues.simulate_history",
            detail={
                "days": days,
                "calls_per_hour": calls_per_hour,
                "seed": seed,
                "contacts": result.contacts,
            },
        )
    result.seconds = time.perf_counter() - started
    return result


def _staffing_peak(calls_per_hour: float) -> int:
    """Staff for the busiest hour of the curve (Monday mid-morning) at this volume."""
    return agents_needed(calls_per_hour * max(WEEKDAY_FACTOR) * max(WEEKDAY_HOURS.values()))


def _serve(
    call: _Call, world: World, free: list[tuple[datetime, int]], calls_per_hour: float, rng: random.Random
) -> dict:
    """First come, first served by the agents on shift: answer time, agent, or abandoned."""
    on_shift = _staffing(world, calls_per_hour, call.arrived) or 1
    candidates = [(t, i) for t, i in free if i < on_shift]
    at, index = min(candidates) if candidates else min(free)
    answer = max(call.arrived, at)
    wait = (answer - call.arrived).total_seconds()
    if wait > call.patience_s:
        return {"abandoned_at": call.arrived + timedelta(seconds=call.patience_s)}
    offered = answer
    answer += timedelta(seconds=rng.uniform(1, 4))  # the agent picks up
    done = answer + timedelta(seconds=call.handle_s)
    free.remove((at, index))
    free.append((done + timedelta(seconds=rng.uniform(2, 20)), index))
    return {"offered_at": offered, "answered_at": answer, "agent": world.agents[index], "ended_at": done}


def _write(
    factory: sessionmaker[Session],
    world: World,
    rows: list[tuple[_Call, dict]],
    rng: random.Random,
    result: HistoryResult,
) -> None:
    contact_rows, fates = [], []
    for call, fate in rows:
        known = world.callers.get(call.tenant_id) or []
        patient_id, number = rng.choice(known) if known and rng.random() < 0.75 else (None, None)
        if number is None:
            number = f"+1312555{rng.randint(0, 9999):04d}"
        answered = "answered_at" in fate
        row = {
            "tenant_id": call.tenant_id,
            "channel": _pick(rng, [(Channel.PHONE, 88), (Channel.CHAT, 7), (Channel.SMS, 5)]),
            "direction": "inbound",
            "caller_number": number,
            "patient_id": patient_id if answered else None,
            "new_patient": answered and patient_id is None and rng.random() < 0.4,
            "notes": "",
            "red_flag": bool(call.red_flag) and answered,
            "red_flag_kinds": [call.red_flag] if call.red_flag and answered else [],
            "disposition": None,
            "disposition_set_by": None,
            "survey_consent": answered and rng.random() < 0.55,
            "simulated": True,
            "created_at": call.arrived,
            "queued_at": call.arrived,
        }
        if answered:
            acw = rng.uniform(30, 60)
            row.update(
                status=ContactStatus.ENDED,
                agent_user_id=fate["agent"],
                offered_at=fate["offered_at"],
                answered_at=fate["answered_at"],
                wrap_up_at=fate["ended_at"] - timedelta(seconds=acw),
                ended_at=fate["ended_at"],
                abandoned_at=None,
                disposition=_disposition(call, rng),
                disposition_set_by="screening",
            )
        else:
            row.update(
                status=ContactStatus.ABANDONED,
                agent_user_id=None,
                offered_at=None,
                answered_at=None,
                wrap_up_at=None,
                ended_at=fate["abandoned_at"],
                abandoned_at=fate["abandoned_at"],
            )
        contact_rows.append(row)
        fates.append((call, fate, row))
    with transaction(factory) as session:
        ids = list(
            session.scalars(insert(Contact).returning(Contact.id, sort_by_parameter_order=True), contact_rows)
        )
        reasons, entries, escalations = [], [], []
        for contact_id, (call, fate, row) in zip(ids, fates, strict=True):
            answered = "answered_at" in fate
            entries.append(_entry(world, contact_id, call, fate, row))
            if not answered:
                result.abandoned += 1
                continue
            result.answered += 1
            talk_end = row["wrap_up_at"]
            for n, intent in enumerate(call.reasons):
                reasons.append(_reason(world, contact_id, call, intent, n, row["answered_at"], talk_end, rng))
            if call.red_flag:
                result.red_flags += 1
                escalations.append(_escalation(world, contact_id, call, row, rng))
        if reasons:
            session.execute(insert(ContactReason), reasons)
        session.execute(insert(QueueEntry), entries)
        if escalations:
            session.execute(insert(Escalation), escalations)
    result.contacts += len(ids)
    result.reasons += len(reasons)
    result.escalations += len(escalations)


def _disposition(call: _Call, rng: random.Random) -> Disposition:
    if call.red_flag:
        return Disposition.EMERGENCY if rng.random() < 0.7 else Disposition.URGENT
    if Intent.CLINICAL in call.reasons:
        return _pick(rng, CLINICAL_DISPOSITIONS)
    return Disposition.NONE


def _entry(world: World, contact_id: int, call: _Call, fate: dict, row: dict) -> dict:
    answered = "answered_at" in fate
    return {
        "tenant_id": call.tenant_id,
        "contact_id": contact_id,
        "queue_id": world.queues[(call.tenant_id, call.reasons[0])],
        "kind": EntryKind.INBOUND,
        "priority": service.ESCALATION_PRIORITY if row["red_flag"] else 0,
        "state": EntryState.ANSWERED if answered else EntryState.ABANDONED,
        "entered_at": call.arrived,
        "offered_to_user_id": row["agent_user_id"],
        "offered_at": row["offered_at"],
        "offer_expires_at": None,
        "offers": 1 if answered else 0,
        "answered_at": row["answered_at"],
        "answered_by_user_id": row["agent_user_id"],
        "left_at": row["answered_at"] if answered else row["abandoned_at"],
        "simulated": True,
        "callback_id": None,
    }


def _reason(
    world: World,
    contact_id: int,
    call: _Call,
    intent: Intent,
    n: int,
    answered: datetime,
    talk_end: datetime,
    rng: random.Random,
) -> dict:
    if call.red_flag and intent is Intent.CLINICAL:
        text = next((p for p, kind in RED_FLAG_PHRASES if kind == call.red_flag), RED_FLAG_PHRASES[0][0])
        outcome = Outcome.NURSE_ESCALATED if rng.random() < 0.6 else Outcome.ROUTED_OUTSIDE
    else:
        text = rng.choice(PHRASES[intent])
        outcome = _pick(rng, OUTCOMES[intent])
    detail: dict[str, Any] = {}
    locations = world.locations.get(call.tenant_id)
    if locations and (outcome in LOCATED_OUTCOMES or intent is Intent.LOCATION_INFO):
        detail["location_id"] = rng.choice(locations)
    if outcome is Outcome.ROUTED_OUTSIDE and call.red_flag:
        detail["target"] = "911"
    span = max(1.0, (talk_end - answered).total_seconds())
    resolved = answered + timedelta(seconds=span * (n + 1) / (len(call.reasons) + 0.5))
    return {
        "tenant_id": call.tenant_id,
        "contact_id": contact_id,
        "intent": intent,
        "text": text,
        "detected": rng.random() < 0.85,
        "outcome": outcome,
        "outcome_detail": detail,
        "disposition_code": outcome.value,
        "created_at": answered + timedelta(seconds=5 + 20 * n),
        "resolved_at": resolved,
    }


def _escalation(world: World, contact_id: int, call: _Call, row: dict, rng: random.Random) -> dict:
    raised = row["answered_at"] + timedelta(seconds=rng.uniform(20, 90))
    accepted = raised + timedelta(seconds=rng.uniform(10, 150))
    emergency = row["disposition"] is Disposition.EMERGENCY
    return {
        "tenant_id": call.tenant_id,
        "contact_id": contact_id,
        "raised_by_user_id": row["agent_user_id"],
        "raised_at": raised,
        "urgency": Urgency.EMERGENCY if emergency else Urgency.URGENT,
        "text": next((p for p, kind in RED_FLAG_PHRASES if kind == call.red_flag), ""),
        "kinds": [call.red_flag],
        "evidence": [],
        "advice": "",
        "suggested_disposition": row["disposition"],
        "status": EscalationStatus.RESOLVED,
        "realerts": 0,
        "accepted_by_user_id": rng.choice(world.nurses) if world.nurses else None,
        "accepted_at": accepted,
        "time_to_clinician_seconds": round((accepted - raised).total_seconds(), 3),
        "final_disposition": row["disposition"],
        "advice_given": "Simulated: the nurse advised the caller.",
        "resolved_at": min(row["wrap_up_at"], accepted + timedelta(seconds=rng.uniform(60, 240))),
    }


# ------------------------------------------------------------------------------------------- live


@dataclass
class _Busy:
    contact_id: int
    until: datetime


@dataclass
class LiveStats:
    arrived: int = 0
    answered: int = 0
    abandoned: int = 0
    ended: int = 0


class LiveSimulation:
    """Callers arriving now and simulated staff answering them, one step per tick, through the services."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        calls_per_hour: float,
        seed: int = 7,
        tenants: list[str] | None = None,
        agents: int | None = None,
    ) -> None:
        if calls_per_hour <= 0:
            raise ValueError("--calls-per-hour must be more than 0")
        self.factory = factory
        self.calls_per_hour = calls_per_hour
        self.rng = random.Random(seed)
        self.stats = LiveStats()
        with transaction(factory) as session:
            staff = agents or _staffing_peak(calls_per_hour) + 1
            self.world = load_world(session, tenants, staff=staff)
            now = utcnow()
            for user_id in self.world.agents + self.world.nurses:
                service.set_presence(session, user_id, PresenceState.AVAILABLE, now=now)
        self.patience: dict[int, datetime] = {}
        self.busy: dict[int, _Busy] = {}
        self.next_arrival = self._next_arrival(utcnow())

    def _rate_per_s(self, at: datetime) -> float:
        return (
            sum(
                self.calls_per_hour
                * self.world.shares[t.id]
                * hourly_weight(to_local(at, self.world.zones[t.id]))
                for t in self.world.tenants
            )
            / 3600
        )

    def _next_arrival(self, after: datetime) -> datetime:
        # Thinning would be exact; stepping minute by minute is close enough for a demo feed.
        at = after
        for _ in range(60 * 24 * 7):
            rate = self._rate_per_s(at)
            if rate > 0:
                gap = self.rng.expovariate(rate)
                if gap < 60:
                    return at + timedelta(seconds=gap)
            at += timedelta(seconds=60)
        return at

    def step(self, now: datetime | None = None) -> None:
        """Everything due by now: arrivals, hang-ups, answers, wrap-ups, routing."""
        now = now or utcnow()
        with transaction(self.factory) as session:
            while self.next_arrival <= now:
                self._arrive(session, self.next_arrival)
                self.next_arrival = self._next_arrival(self.next_arrival)
            self._hang_ups(session, now)
            self._finish(session, now)
            self._answer(session, now)
            service.dispatch(session, now=now)

    def _arrive(self, session: Session, at: datetime) -> None:
        tenant_id = _pick(self.rng, list(self.world.shares.items()))
        known = self.world.callers.get(tenant_id) or []
        patient_id, number = self.rng.choice(known) if known and self.rng.random() < 0.75 else (None, None)
        contact = contacts.start_contact(
            session,
            SIM_BY,
            tenant_id=tenant_id,
            caller_number=number or f"+1312555{self.rng.randint(0, 9999):04d}",
            status=ContactStatus.QUEUED,
            simulated=True,
        )
        if patient_id is not None:
            contact.patient_id = patient_id
        reasons = reasons_for(self.rng)
        red = Intent.CLINICAL in reasons and self.rng.random() < RED_FLAG_SHARE_OF_CLINICAL
        words = " ".join(
            self.rng.choice(RED_FLAG_PHRASES)[0]
            if red and i is Intent.CLINICAL
            else self.rng.choice(PHRASES[i])
            for i in reasons
        )
        contacts.add_caller_line(session, contact, SIM_BY, words)
        contacts.screen_text(session, contact, SIM_BY, words)
        if not contacts.reasons_of(session, contact):
            contacts.add_reason(session, contact, SIM_BY, intent=reasons[0], text=words)
        service.enqueue(session, contact, SIM_BY, route=False)
        patience = 10**6 if contact.red_flag else self.rng.expovariate(1 / MEAN_PATIENCE_S)
        self.patience[contact.id] = at + timedelta(seconds=patience)
        self.stats.arrived += 1

    def _hang_ups(self, session: Session, now: datetime) -> None:
        for contact_id, deadline in list(self.patience.items()):
            if deadline > now:
                continue
            del self.patience[contact_id]
            contact = session.get(Contact, contact_id)
            if contact is not None and contact.status in (ContactStatus.QUEUED, ContactStatus.OFFERED):
                service.abandon(session, contact, SIM_BY)
                self.stats.abandoned += 1

    def _answer(self, session: Session, now: datetime) -> None:
        for user_id in self.world.agents + self.world.nurses:
            if user_id in self.busy:
                continue
            offer = service.current_offer(session, user_id, now=now)
            if offer is None or (now - offer.entry.offered_at).total_seconds() < 2:
                continue
            by = contacts.By(user_id=user_id, actor=Actor(f"simulated user {user_id}", user_id=user_id))
            service.accept(session, by, offer.contact.id, now=now)
            self.patience.pop(offer.contact.id, None)
            self.busy[user_id] = _Busy(offer.contact.id, now + timedelta(seconds=handle_seconds(self.rng)))
            self.stats.answered += 1

    def _finish(self, session: Session, now: datetime) -> None:
        for user_id, busy in list(self.busy.items()):
            if busy.until > now:
                continue
            del self.busy[user_id]
            by = contacts.By(user_id=user_id, actor=Actor(f"simulated user {user_id}", user_id=user_id))
            contact = session.get(Contact, busy.contact_id)
            if contact is not None and contact.status is ContactStatus.ACTIVE:
                for reason in contacts.reasons_of(session, contact):
                    if reason.outcome is None:
                        outcome = _pick(
                            self.rng, OUTCOMES.get(Intent(reason.intent), OUTCOMES[Intent.SPEAK_TO_STAFF])
                        )
                        if contact.red_flag and reason.intent == Intent.CLINICAL:
                            outcome = Outcome.NURSE_ESCALATED
                        contacts.record_outcome(session, contact, by, reason, outcome=outcome)
                contacts.wrap_up(session, contact, by, survey_consent=self.rng.random() < 0.55)
                self.stats.ended += 1
            service.set_presence(session, user_id, PresenceState.AVAILABLE, now=now)

    def close(self) -> None:
        """Stop: callers still waiting hang up, calls in progress end, simulated staff sign off."""
        now = utcnow()
        with transaction(self.factory) as session:
            for contact_id in list(self.patience):
                self.patience[contact_id] = now
            self._hang_ups(session, now)
            for busy in self.busy.values():
                busy.until = now
            self._finish(session, now)
            waiting = session.scalars(
                select(Contact).where(
                    Contact.simulated.is_(True),
                    Contact.status.in_((ContactStatus.QUEUED, ContactStatus.OFFERED)),
                    Contact.id.in_(
                        select(QueueEntry.contact_id).where(
                            QueueEntry.state.in_((EntryState.WAITING, EntryState.OFFERED))
                        )
                    ),
                )
            )
            for contact in waiting:
                service.abandon(session, contact, SIM_BY)
            for user_id in self.world.agents + self.world.nurses:
                presence = session.get(AgentPresence, user_id)
                if presence is not None and presence.state is not PresenceState.OFFLINE:
                    if presence.state is PresenceState.ON_CONTACT and presence.current_contact_id:
                        contact = session.get(Contact, presence.current_contact_id)
                        if contact is not None and contact.status is ContactStatus.ACTIVE:
                            contacts.wrap_up(session, contact, SIM_BY)
                    service.set_presence(session, user_id, PresenceState.OFFLINE, now=now)


def run_live(
    factory: sessionmaker[Session],
    *,
    calls_per_hour: float,
    hours: float,
    seed: int = 7,
    tenants: list[str] | None = None,
    agents: int | None = None,
    tick: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    report: Callable[[LiveStats], None] | None = None,
) -> LiveStats:
    """Run the live simulation for `hours` of real time (Ctrl-C stops it cleanly)."""
    if not 0 < hours <= 24 * 7:
        raise ValueError("--hours is more than 0 and at most a week")
    sim = LiveSimulation(factory, calls_per_hour=calls_per_hour, seed=seed, tenants=tenants, agents=agents)
    end = utcnow() + timedelta(hours=hours)
    last_report = utcnow()
    try:
        while utcnow() < end:
            sim.step()
            if report is not None and (utcnow() - last_report).total_seconds() >= 60:
                report(sim.stats)
                last_report = utcnow()
            sleep(tick)
    except KeyboardInterrupt:
        pass
    finally:
        sim.close()
    return sim.stats
