"""Dashboard figures, computed from the stored contacts, reasons, patients and surveys.

Every function takes the session, the tenants, a local date range (both ends included, each tenant's
days in its own time zone) and optionally a location, and returns plain dataclasses; the pages, the
CSV export, the monthly report and the JSON API all call these, so they always agree. The
definitions are in docs/reports.md; the tests recompute each figure independently from the rows.

Which contacts count: those that arrived (`contacts.created_at`) in the range. With a location, only
contacts with a reason whose `outcome_detail.location_id` is that location (the booking, the
directions or the referral was for it) or with an appointment booked on the contact at that location.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import Session

from careline.accounts.models import User
from careline.contacts.intents import Intent
from careline.contacts.models import Channel, Contact, ContactReason, Outcome
from careline.escalations.models import Escalation, EscalationStatus
from careline.kit.timeutil import local_to_utc, to_local
from careline.patients.models import Patient, ReferralSource
from careline.scheduling.models import Appointment
from careline.surveys.models import Survey
from careline.tenants.models import Tenant

DEFAULT_TARGET_S = 30  # service level: answered within 30 seconds
ROUTED_INTENTS = (Intent.REFILL, Intent.RECORDS)


# --------------------------------------------------------------------------- the period


@dataclass(frozen=True)
class TenantWindow:
    """One tenant's share of the period: its local days as a UTC half-open window."""

    id: int
    slug: str
    name: str
    timezone: str
    start_utc: datetime
    end_utc: datetime


@dataclass(frozen=True)
class Period:
    """What a report covers: tenants, local dates [start, end] and an optional location."""

    start: date
    end: date
    tenants: tuple[TenantWindow, ...]
    location_id: int | None = None
    target_s: float = DEFAULT_TARGET_S

    @property
    def tenant_ids(self) -> list[int]:
        return [t.id for t in self.tenants]

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def zone_of(self, tenant_id: int) -> str:
        return next(t.timezone for t in self.tenants if t.id == tenant_id)


def period(
    session: Session,
    tenant_ids: Iterable[int],
    start: date,
    end: date,
    location_id: int | None = None,
    *,
    target_s: float = DEFAULT_TARGET_S,
) -> Period:
    """The period for these tenants; each tenant's days run midnight to midnight in its own zone."""
    if end < start:
        raise ValueError(f"the range ends ({end}) before it starts ({start})")
    ids = sorted(set(tenant_ids))
    tenants = session.scalars(select(Tenant).where(Tenant.id.in_(ids)).order_by(Tenant.name)).all()
    windows = tuple(
        TenantWindow(
            id=t.id,
            slug=t.slug,
            name=t.name,
            timezone=t.timezone,
            start_utc=local_to_utc(datetime.combine(start, time.min), t.timezone),
            end_utc=local_to_utc(datetime.combine(end + timedelta(days=1), time.min), t.timezone),
        )
        for t in tenants
    )
    return Period(start, end, windows, location_id, target_s)


def in_period(p: Period, column: ColumnElement | None = None) -> ColumnElement[bool]:
    """SQL condition: the contact belongs to the period (tenant, its local days, the location)."""
    at = Contact.created_at if column is None else column
    if not p.tenants:
        return false()
    condition = or_(*(and_(Contact.tenant_id == t.id, at >= t.start_utc, at < t.end_utc) for t in p.tenants))
    if p.location_id is not None:
        condition = and_(condition, Contact.id.in_(_contacts_at_location(p.location_id)))
    return condition


def _contacts_at_location(location_id: int):
    """Contacts with a reason resolved for this location (its id in the outcome's detail: a referral,
    directions) or an appointment booked on the contact at this location."""
    located = ContactReason.outcome_detail["location_id"].as_string()
    by_reason = select(ContactReason.contact_id).where(located == str(location_id))
    by_appointment = select(Appointment.contact_id).where(
        Appointment.location_id == location_id, Appointment.contact_id.is_not(None)
    )
    return by_reason.union(by_appointment)


# --------------------------------------------------------------------------- small helpers


def ratio(part: float, whole: float) -> float | None:
    """part / whole, or None when there is nothing to divide (shown as a dash, never as 0%)."""
    return part / whole if whole else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least q of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def week_start(day: date) -> date:
    """The Monday of the day's week."""
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class _Row:
    """The columns of one contact the time-based figures need."""

    id: int
    tenant_id: int
    local_day: date
    channel: str
    agent_user_id: int | None
    created_at: datetime
    queued_at: datetime | None
    answered_at: datetime | None
    abandoned_at: datetime | None
    ended_at: datetime | None
    simulated: bool
    new_patient: bool
    patient_id: int | None
    red_flag: bool
    red_flag_kinds: list


def _rows(session: Session, p: Period) -> list[_Row]:
    stmt = select(
        Contact.id,
        Contact.tenant_id,
        Contact.channel,
        Contact.agent_user_id,
        Contact.created_at,
        Contact.queued_at,
        Contact.answered_at,
        Contact.abandoned_at,
        Contact.ended_at,
        Contact.simulated,
        Contact.new_patient,
        Contact.patient_id,
        Contact.red_flag,
        Contact.red_flag_kinds,
    ).where(in_period(p))
    zones = {t.id: t.timezone for t in p.tenants}
    return [
        _Row(
            id=r.id,
            tenant_id=r.tenant_id,
            local_day=to_local(r.created_at, zones[r.tenant_id]).date(),
            channel=str(r.channel),
            agent_user_id=r.agent_user_id,
            created_at=r.created_at,
            queued_at=r.queued_at,
            answered_at=r.answered_at,
            abandoned_at=r.abandoned_at,
            ended_at=r.ended_at,
            simulated=r.simulated,
            new_patient=r.new_patient,
            patient_id=r.patient_id,
            red_flag=r.red_flag,
            red_flag_kinds=list(r.red_flag_kinds or []),
        )
        for r in session.execute(stmt)
    ]


def _handle_s(r: _Row) -> float | None:
    if r.answered_at is None or r.ended_at is None:
        return None
    return max(0.0, (r.ended_at - r.answered_at).total_seconds())


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


# --------------------------------------------------------------------------- contacts handled


@dataclass(frozen=True)
class DayVolume:
    day: date
    received: int
    handled: int
    abandoned: int


@dataclass(frozen=True)
class Volume:
    """How many contacts came in, were handled (an agent answered) or abandoned, by channel and day."""

    received: int
    handled: int
    abandoned: int
    simulated: int
    avg_handle_s: float | None  # answer to end, over handled contacts that ended
    by_channel: dict[str, int]
    daily: list[DayVolume]


def _volume(p: Period, rows: list[_Row]) -> Volume:
    per_day: dict[date, list[int]] = {d: [0, 0, 0] for d in p.days}
    for r in rows:
        counts = per_day.setdefault(r.local_day, [0, 0, 0])
        counts[0] += 1
        counts[1] += r.answered_at is not None
        counts[2] += r.abandoned_at is not None and r.answered_at is None
    channels = Counter(r.channel for r in rows)
    handles = [h for r in rows if (h := _handle_s(r)) is not None]
    return Volume(
        received=len(rows),
        handled=sum(r.answered_at is not None for r in rows),
        abandoned=sum(r.abandoned_at is not None and r.answered_at is None for r in rows),
        simulated=sum(r.simulated for r in rows),
        avg_handle_s=_mean(handles),
        by_channel={str(c): channels.get(str(c), 0) for c in Channel},
        daily=[DayVolume(d, *per_day[d]) for d in sorted(per_day)],
    )


def volume(
    session: Session, tenant_ids: Iterable[int], start: date, end: date, location_id: int | None = None
) -> Volume:
    """Contacts received, handled and abandoned, by channel and by local day."""
    p = period(session, tenant_ids, start, end, location_id)
    return _volume(p, _rows(session, p))


# --------------------------------------------------------------------------- what they were about


@dataclass(frozen=True)
class Reasons:
    """The reasons callers gave (a contact may have several), by intent."""

    total: int
    contacts_with_reasons: int
    by_intent: dict[str, int]  # every intent, most frequent first


def _reasons(session: Session, p: Period) -> Reasons:
    stmt = (
        select(ContactReason.intent, func.count(), func.count(func.distinct(ContactReason.contact_id)))
        .join(Contact, Contact.id == ContactReason.contact_id)
        .where(in_period(p))
        .group_by(ContactReason.intent)
    )
    counts = {str(i): 0 for i in Intent}
    for intent, n, _distinct in session.execute(stmt):
        counts[str(intent)] = n
    distinct = session.scalar(
        select(func.count(func.distinct(ContactReason.contact_id)))
        .join(Contact, Contact.id == ContactReason.contact_id)
        .where(in_period(p))
    )
    ordered = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return Reasons(total=sum(counts.values()), contacts_with_reasons=int(distinct or 0), by_intent=ordered)


def reasons(
    session: Session, tenant_ids: Iterable[int], start: date, end: date, location_id: int | None = None
) -> Reasons:
    """Reasons by intent."""
    return _reasons(session, period(session, tenant_ids, start, end, location_id))


# --------------------------------------------------------------------------- work off the front desk


@dataclass(frozen=True)
class FrontDesk:
    """What the call center did that the practice's front desk did not have to."""

    appointments_booked: int
    appointments_rescheduled: int
    appointments_cancelled: int
    waitlisted: int
    referrals_made: int
    information_given: int  # directions, hours, parking, preparation...
    refills_routed: int  # refill reasons given any outcome but "unresolved"
    records_routed: int  # records reasons given any outcome but "unresolved"
    resolved: int  # reasons with any outcome but "unresolved"
    unresolved: int
    by_outcome: dict[str, int]  # every outcome


def _front_desk(session: Session, p: Period) -> FrontDesk:
    stmt = (
        select(ContactReason.intent, ContactReason.outcome, func.count())
        .join(Contact, Contact.id == ContactReason.contact_id)
        .where(in_period(p), ContactReason.outcome.is_not(None))
        .group_by(ContactReason.intent, ContactReason.outcome)
    )
    by_outcome = {str(o): 0 for o in Outcome}
    routed = Counter()
    for intent, outcome, n in session.execute(stmt):
        by_outcome[str(outcome)] += n
        if intent in ROUTED_INTENTS and outcome is not Outcome.UNRESOLVED:
            routed[str(intent)] += n
    unresolved = by_outcome[Outcome.UNRESOLVED]
    return FrontDesk(
        appointments_booked=by_outcome[Outcome.APPOINTMENT_BOOKED],
        appointments_rescheduled=by_outcome[Outcome.APPOINTMENT_RESCHEDULED],
        appointments_cancelled=by_outcome[Outcome.APPOINTMENT_CANCELLED],
        waitlisted=by_outcome[Outcome.WAITLISTED],
        referrals_made=by_outcome[Outcome.REFERRAL_MADE],
        information_given=by_outcome[Outcome.INFORMATION_GIVEN],
        refills_routed=routed[Intent.REFILL],
        records_routed=routed[Intent.RECORDS],
        resolved=sum(by_outcome.values()) - unresolved,
        unresolved=unresolved,
        by_outcome=by_outcome,
    )


def front_desk(
    session: Session, tenant_ids: Iterable[int], start: date, end: date, location_id: int | None = None
) -> FrontDesk:
    """Appointments, referrals, information, refills and records handled, from the reasons' outcomes."""
    return _front_desk(session, period(session, tenant_ids, start, end, location_id))


# --------------------------------------------------------------------------- new patients


@dataclass(frozen=True)
class NewPatients:
    """Patients registered during one of their contacts in the period (the call center signed them up),
    and how they heard of the practice."""

    registered: int
    by_referral_source: dict[str, int]  # every source
    unregistered_new_callers: int  # contacts marked "new patient" with no record attached


def _new_patients(session: Session, p: Period) -> NewPatients:
    during_contact = and_(
        Patient.created_at >= Contact.created_at,
        or_(Contact.ended_at.is_(None), Patient.created_at <= Contact.ended_at),
    )
    stmt = (
        select(Patient.referral_source, func.count(func.distinct(Patient.id)))
        .join(Contact, Contact.patient_id == Patient.id)
        .where(in_period(p), during_contact)
        .group_by(Patient.referral_source)
    )
    sources = {str(s): 0 for s in ReferralSource}
    for source, n in session.execute(stmt):
        sources[str(source)] = n
    unregistered = session.scalar(
        select(func.count())
        .select_from(Contact)
        .where(in_period(p), Contact.new_patient.is_(True), Contact.patient_id.is_(None))
    )
    ordered = dict(sorted(sources.items(), key=lambda kv: (-kv[1], kv[0])))
    return NewPatients(sum(sources.values()), ordered, int(unregistered or 0))


def new_patients(
    session: Session, tenant_ids: Iterable[int], start: date, end: date, location_id: int | None = None
) -> NewPatients:
    """New patients and their referral sources."""
    return _new_patients(session, period(session, tenant_ids, start, end, location_id))


# --------------------------------------------------------------------------- red flags and escalations


@dataclass(frozen=True)
class Escalations:
    """Red-flag contacts and how fast a clinician took the escalations raised for them.

    From the escalations table: every escalation of a contact in the selection; time to clinician is
    its `time_to_clinician_seconds` (acceptance minus raise). Withdrawn ones (cancelled while
    waiting) never reached a clinician and have no time; waiting ones are still open.
    """

    red_flag_contacts: int
    by_kind: dict[str, int]
    escalated: int
    accepted: int
    pending: int  # still waiting for a clinician
    withdrawn: int
    median_s: float | None
    p90_s: float | None
    worst_s: float | None


@dataclass(frozen=True)
class EscalationTime:
    escalation_id: int
    contact_id: int
    status: str
    seconds: float | None  # raise to acceptance; None when never accepted


def escalation_times(session: Session, p: Period) -> list[EscalationTime]:
    """The escalations of the period's contacts with their time to clinician."""
    stmt = (
        select(
            Escalation.id,
            Escalation.contact_id,
            Escalation.status,
            Escalation.raised_at,
            Escalation.accepted_at,
            Escalation.time_to_clinician_seconds,
        )
        .join(Contact, Contact.id == Escalation.contact_id)
        .where(in_period(p))
        .order_by(Escalation.id)
    )
    out = []
    for esc_id, contact_id, status, raised_at, accepted_at, seconds in session.execute(stmt):
        if seconds is None and accepted_at is not None:
            seconds = max(0.0, (accepted_at - raised_at).total_seconds())
        out.append(EscalationTime(esc_id, contact_id, str(status), seconds))
    return out


def _escalations(session: Session, p: Period, rows: list[_Row]) -> Escalations:
    flagged = [r for r in rows if r.red_flag]
    kinds = Counter(k for r in flagged for k in (r.red_flag_kinds or ["unspecified"]))
    times = escalation_times(session, p)
    done = [t.seconds for t in times if t.seconds is not None]
    return Escalations(
        red_flag_contacts=len(flagged),
        by_kind=dict(sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))),
        escalated=len(times),
        accepted=len(done),
        pending=sum(t.status == EscalationStatus.OPEN for t in times),
        withdrawn=sum(t.status == EscalationStatus.CANCELLED for t in times),
        median_s=statistics.median(done) if done else None,
        p90_s=percentile(done, 0.9),
        worst_s=max(done) if done else None,
    )


def escalations(
    session: Session, tenant_ids: Iterable[int], start: date, end: date, location_id: int | None = None
) -> Escalations:
    """Red-flag contacts and time to clinician (median, 90th percentile, worst)."""
    p = period(session, tenant_ids, start, end, location_id)
    return _escalations(session, p, _rows(session, p))


# --------------------------------------------------------------------------- satisfaction


@dataclass(frozen=True)
class Scores:
    """Survey answers summarised: CSAT = share of 4s and 5s; NPS = % promoters (9-10) - % detractors (0-6)."""

    answered: int
    csat_avg: float | None
    csat: float | None  # 0..1
    nps: float | None  # -100..100
    need_met: float | None  # 0..1


@dataclass(frozen=True)
class WeekScores:
    week: date  # Monday
    scores: Scores


@dataclass(frozen=True)
class Satisfaction:
    sent: int  # surveys made for the period's contacts (with or without an address)
    answered: int
    response_rate: float | None
    scores: Scores
    trend: list[WeekScores]  # by the week the contact arrived
    by_intent: dict[str, Scores] = field(default_factory=dict)  # answers of contacts with that reason


def _reasons_of(session: Session, contact_ids: Iterable[int]) -> dict[int, list[tuple[str, str | None]]]:
    """(intent, outcome) of each contact's reasons, in the order they were raised."""
    ids = sorted(set(contact_ids))
    found: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
    for start in range(0, len(ids), 500):  # keep IN lists small
        stmt = (
            select(ContactReason.contact_id, ContactReason.intent, ContactReason.outcome)
            .where(ContactReason.contact_id.in_(ids[start : start + 500]))
            .order_by(ContactReason.contact_id, ContactReason.id)
        )
        for contact_id, intent, outcome in session.execute(stmt):
            found[contact_id].append((str(intent), str(outcome) if outcome is not None else None))
    return found


def score(answers: Sequence[tuple[int | None, int | None, bool | None]]) -> Scores:
    """Summarise (csat, nps, need_met) triples; each figure counts the answers that gave it."""
    csats = [c for c, _, _ in answers if c is not None]
    npss = [n for _, n, _ in answers if n is not None]
    needs = [m for _, _, m in answers if m is not None]
    nps = None
    if npss:
        nps = 100 * (sum(n >= 9 for n in npss) - sum(n <= 6 for n in npss)) / len(npss)
    return Scores(
        answered=len(answers),
        csat_avg=_mean(csats),
        csat=ratio(sum(c >= 4 for c in csats), len(csats)),
        nps=nps,
        need_met=ratio(sum(needs), len(needs)),
    )


def _survey_rows(session: Session, p: Period):
    stmt = (
        select(
            Survey.id,
            Survey.contact_id,
            Survey.tenant_id,
            Survey.agent_user_id,
            Survey.answered_at,
            Survey.csat,
            Survey.nps,
            Survey.need_met,
            Survey.comment,
            Contact.created_at,
        )
        .join(Contact, Contact.id == Survey.contact_id)
        .where(in_period(p))
    )
    return session.execute(stmt).all()


def _satisfaction(session: Session, p: Period, surveys: list) -> Satisfaction:
    zones = {t.id: t.timezone for t in p.tenants}
    answered = [s for s in surveys if s.answered_at is not None]
    weeks: dict[date, list] = defaultdict(list)
    for monday in {week_start(d) for d in p.days}:
        weeks[monday] = []
    for s in answered:
        weeks[week_start(to_local(s.created_at, zones[s.tenant_id]).date())].append(
            (s.csat, s.nps, s.need_met)
        )
    reasons = _reasons_of(session, (s.contact_id for s in answered))
    per_intent: dict[str, list] = defaultdict(list)
    for s in answered:
        for intent in dict.fromkeys(i for i, _ in reasons.get(s.contact_id, [])):
            per_intent[intent].append((s.csat, s.nps, s.need_met))
    return Satisfaction(
        sent=len(surveys),
        answered=len(answered),
        response_rate=ratio(len(answered), len(surveys)),
        scores=score([(s.csat, s.nps, s.need_met) for s in answered]),
        trend=[WeekScores(w, score(weeks[w])) for w in sorted(weeks)],
        by_intent={
            i: score(per_intent[i]) for i in sorted(per_intent, key=lambda k: (-len(per_intent[k]), k))
        },
    )


def satisfaction(
    session: Session, tenant_ids: Iterable[int], start: date, end: date, location_id: int | None = None
) -> Satisfaction:
    """CSAT, NPS and need met for the period's contacts, with a weekly trend."""
    p = period(session, tenant_ids, start, end, location_id)
    return _satisfaction(session, p, _survey_rows(session, p))


# --------------------------------------------------------------------------- service level


@dataclass(frozen=True)
class DayService:
    day: date
    offered: int
    service_level: float | None


@dataclass(frozen=True)
class Service:
    """Queue service for contacts that waited in a queue (queued_at set) and were answered or abandoned.

    service level = answered within target / (answered + abandoned - abandoned before target),
    the definition reports/simulation.py uses; ASA = mean wait of answered contacts;
    abandonment = abandoned / (answered + abandoned). Contacts still waiting, or that left the queue
    for a callback, are not counted.
    """

    target_s: float
    offered: int
    answered: int
    abandoned: int
    answered_within_target: int
    abandoned_before_target: int
    service_level: float | None
    asa_s: float | None
    abandonment_rate: float | None
    longest_wait_s: float | None
    daily: list[DayService]


def _tally(rows: Iterable[_Row], target_s: float) -> tuple[int, int, int, int, list[float], list[float]]:
    answered = abandoned = within = early_abandon = 0
    waits: list[float] = []
    all_waits: list[float] = []
    for r in rows:
        if r.queued_at is None:
            continue
        if r.answered_at is not None:
            wait = max(0.0, (r.answered_at - r.queued_at).total_seconds())
            answered += 1
            within += wait <= target_s
            waits.append(wait)
            all_waits.append(wait)
        elif r.abandoned_at is not None:
            wait = max(0.0, (r.abandoned_at - r.queued_at).total_seconds())
            abandoned += 1
            early_abandon += wait < target_s
            all_waits.append(wait)
    return answered, abandoned, within, early_abandon, waits, all_waits


def _service(p: Period, rows: list[_Row]) -> Service:
    answered, abandoned, within, early, waits, all_waits = _tally(rows, p.target_s)
    by_day: dict[date, list[_Row]] = defaultdict(list)
    for r in rows:
        by_day[r.local_day].append(r)
    daily = []
    for day in p.days:
        a, ab, w, e, _, _ = _tally(by_day.get(day, []), p.target_s)
        daily.append(DayService(day, a + ab, ratio(w, a + ab - e)))
    return Service(
        target_s=p.target_s,
        offered=answered + abandoned,
        answered=answered,
        abandoned=abandoned,
        answered_within_target=within,
        abandoned_before_target=early,
        service_level=ratio(within, answered + abandoned - early),
        asa_s=_mean(waits),
        abandonment_rate=ratio(abandoned, answered + abandoned),
        longest_wait_s=max(all_waits) if all_waits else None,
        daily=daily,
    )


def service(
    session: Session,
    tenant_ids: Iterable[int],
    start: date,
    end: date,
    location_id: int | None = None,
    *,
    target_s: float = DEFAULT_TARGET_S,
) -> Service:
    """Service level, average speed of answer and abandonment."""
    p = period(session, tenant_ids, start, end, location_id, target_s=target_s)
    return _service(p, _rows(session, p))


# --------------------------------------------------------------------------- per agent, comments


@dataclass(frozen=True)
class AgentRow:
    user_id: int
    name: str
    handled: int
    avg_handle_s: float | None
    scores: Scores


@dataclass(frozen=True)
class Comment:
    survey_id: int
    contact_id: int
    answered_at: datetime
    tenant: str
    agent: str | None
    csat: int | None
    nps: int | None
    need_met: bool | None
    comment: str
    reasons: list[tuple[str, str | None]] = field(default_factory=list)  # (intent, outcome)


def _names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {uid: name for uid, name in session.execute(select(User.id, User.name).where(User.id.in_(wanted)))}


def _agents(session: Session, rows: list[_Row], surveys: list) -> list[AgentRow]:
    handled: dict[int, list[_Row]] = defaultdict(list)
    for r in rows:
        if r.answered_at is not None and r.agent_user_id is not None:
            handled[r.agent_user_id].append(r)
    answers: dict[int, list] = defaultdict(list)
    for s in surveys:
        if s.answered_at is not None and s.agent_user_id is not None:
            answers[s.agent_user_id].append((s.csat, s.nps, s.need_met))
    names = _names(session, set(handled) | set(answers))
    result = []
    for user_id in set(handled) | set(answers):
        handles = [h for r in handled[user_id] if (h := _handle_s(r)) is not None]
        result.append(
            AgentRow(
                user_id,
                names.get(user_id, f"user {user_id}"),
                len(handled[user_id]),
                _mean(handles),
                score(answers[user_id]),
            )
        )
    return sorted(result, key=lambda a: (-a.handled, a.name))


def agents(
    session: Session, tenant_ids: Iterable[int], start: date, end: date, location_id: int | None = None
) -> list[AgentRow]:
    """Per agent: contacts handled, average handle time and their callers' survey scores."""
    p = period(session, tenant_ids, start, end, location_id)
    return _agents(session, _rows(session, p), _survey_rows(session, p))


def _comments(session: Session, p: Period, surveys: list) -> list[Comment]:
    tenants = {t.id: t.name for t in p.tenants}
    said = [s for s in surveys if s.answered_at is not None and (s.comment or "").strip()]
    names = _names(session, (s.agent_user_id for s in said))
    reasons = _reasons_of(session, (s.contact_id for s in said))
    out = [
        Comment(
            survey_id=s.id,
            contact_id=s.contact_id,
            answered_at=s.answered_at,
            tenant=tenants[s.tenant_id],
            agent=names.get(s.agent_user_id) if s.agent_user_id else None,
            csat=s.csat,
            nps=s.nps,
            need_met=s.need_met,
            comment=s.comment.strip(),
            reasons=reasons.get(s.contact_id, []),
        )
        for s in said
    ]
    return sorted(out, key=lambda c: (c.answered_at, c.survey_id), reverse=True)


def comments(
    session: Session, tenant_ids: Iterable[int], start: date, end: date, location_id: int | None = None
) -> list[Comment]:
    """Survey comments, newest first (supervisors: they may name patients or health matters)."""
    p = period(session, tenant_ids, start, end, location_id)
    return _comments(session, p, _survey_rows(session, p))


# --------------------------------------------------------------------------- everything at once


@dataclass(frozen=True)
class Dashboard:
    period: Period
    volume: Volume
    reasons: Reasons
    front_desk: FrontDesk
    new_patients: NewPatients
    escalations: Escalations
    satisfaction: Satisfaction
    service: Service
    agents: list[AgentRow] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)


def dashboard(
    session: Session,
    tenant_ids: Iterable[int],
    start: date,
    end: date,
    location_id: int | None = None,
    *,
    target_s: float = DEFAULT_TARGET_S,
    per_agent: bool = False,
    with_comments: bool = False,
) -> Dashboard:
    """Every figure of the dashboard from one read of the period's contacts."""
    p = period(session, tenant_ids, start, end, location_id, target_s=target_s)
    rows = _rows(session, p)
    surveys = _survey_rows(session, p)
    return Dashboard(
        period=p,
        volume=_volume(p, rows),
        reasons=_reasons(session, p),
        front_desk=_front_desk(session, p),
        new_patients=_new_patients(session, p),
        escalations=_escalations(session, p, rows),
        satisfaction=_satisfaction(session, p, surveys),
        service=_service(p, rows),
        agents=_agents(session, rows, surveys) if per_agent else [],
        comments=_comments(session, p, surveys) if with_comments else [],
    )
