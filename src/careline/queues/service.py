"""Queue rules: queues, presence and skills, putting contacts in line, offering them to agents, callbacks.

Routing: the highest-priority, longest-waiting contact goes to the longest-idle available agent who has
the queue's skill and serves the contact's tenant. Red-flag contacts (escalations) come first, then due
callbacks, then everyone else by their place in line.

An offer is a lease: the agent must accept before `offer_expires_at`, or the contact goes back to the
queue (and the agent who missed it goes on break, so the next caller is not offered to an empty desk).

Safety across app processes: an offer to an agent is only ever made while holding that agent's
presence row lock, and an entry only changes under its own row lock (PostgreSQL `FOR UPDATE`, with
`SKIP LOCKED` where a busy row can simply be passed over; SQLite's `BEGIN IMMEDIATE` makes each app
transaction the only writer). Locks are always taken presence first, then entry, so they cannot deadlock.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from careline.accounts.models import Role, User, UserTenant
from careline.audit.service import Actor
from careline.contacts import service as contacts
from careline.contacts.intents import Intent
from careline.contacts.models import OPEN_STATUSES, Contact, ContactEvent, ContactStatus, Outcome
from careline.db import get_scoped, scope_of
from careline.directory import service as directory
from careline.errors import Conflict, NotFound, ValidationFailed
from careline.jobs import events
from careline.jobs import service as jobs
from careline.kit.clock import utcnow
from careline.kit.phones import normalize_phone
from careline.kit.timeutil import local_to_utc, to_local
from careline.patients.models import Patient
from careline.queues.models import (
    OPEN_CALLBACK_STATUSES,
    OPEN_ENTRY_STATES,
    AgentPresence,
    AgentSkill,
    Callback,
    CallbackStatus,
    EntryKind,
    EntryState,
    PresenceState,
    Queue,
    QueueEntry,
)
from careline.tenants.models import Tenant

ESCALATION_PRIORITY = 100  # red-flag contacts and explicit escalations
CALLBACK_PRIORITY = 50  # callbacks that are due
DEFAULT_LEASE = timedelta(seconds=20)
CALLBACK_RETRY = timedelta(minutes=15)
SYSTEM_BY = contacts.By(user_id=None, actor=Actor("queues"))

# The standard queues every client gets (name, skill, priority); directory departments that name a
# queue add theirs (Lakeshore's nurse line is "nurse_triage", its refill line "refills").
STANDARD_QUEUES = [
    ("General", "general", 0),
    ("Scheduling", "scheduling", 0),
    ("Referrals", "referrals", 0),
    ("Billing and records", "billing", 0),
    ("Spanish", "spanish", 0),
    ("Nurse line", "nurse", 20),
]
# Where an intent waits when the directory names no queue for it.
INTENT_SKILL: dict[Intent, str] = {
    Intent.SCHEDULE: "scheduling",
    Intent.RESCHEDULE: "scheduling",
    Intent.CANCEL: "scheduling",
    Intent.FIND_DOCTOR: "scheduling",
    Intent.BILLING: "billing",
    Intent.RECORDS: "billing",
    Intent.REFILL: "nurse",
    Intent.TEST_RESULTS: "nurse",
    Intent.CLINICAL: "nurse",
    Intent.LOCATION_INFO: "general",
    Intent.SPEAK_TO_STAFF: "general",
    Intent.OUT_OF_SCOPE: "general",
}


def _pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _locking(session: Session, stmt: Any, *, skip: bool, of: Any) -> Any:
    """Row locks on PostgreSQL; SQLite's BEGIN IMMEDIATE already makes this transaction the only writer."""
    if _pg(session):
        return stmt.with_for_update(skip_locked=skip, of=of)
    return stmt


# ------------------------------------------------------------------------------------------- queues


def _clean_queue(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "name" in data:
        name = (data["name"] or "").strip()
        if not name or len(name) > 100:
            raise ValidationFailed("give the queue a name (up to 100 characters)", field="name")
        out["name"] = name
    if "skill" in data:
        skill = (data["skill"] or "").strip().lower().replace(" ", "_")
        if not skill or len(skill) > 60 or not skill.replace("_", "").replace("-", "").isalnum():
            raise ValidationFailed("a skill is one word such as scheduling or nurse_line", field="skill")
        out["skill"] = skill
    if data.get("priority") is not None:
        priority = int(data["priority"])
        if not -1000 <= priority <= 1000:
            raise ValidationFailed("priority is between -1000 and 1000", field="priority")
        out["priority"] = priority
    if data.get("service_level_seconds") is not None:
        seconds = int(data["service_level_seconds"])
        if not 1 <= seconds <= 3600:
            raise ValidationFailed(
                "the service-level target is 1 to 3600 seconds", field="service_level_seconds"
            )
        out["service_level_seconds"] = seconds
    if data.get("active") is not None:
        out["active"] = bool(data["active"])
    return out


def create_queue(
    session: Session,
    *,
    tenant_id: int,
    name: str,
    skill: str,
    priority: int = 0,
    service_level_seconds: int = 30,
    active: bool = True,
) -> Queue:
    """Add a queue for a tenant; contacts in it go to agents with its skill."""
    if session.get(Tenant, tenant_id) is None or not scope_of(session).allows(tenant_id):
        raise NotFound("no such tenant", field="tenant_id")
    values = _clean_queue(
        {
            "name": name,
            "skill": skill,
            "priority": priority,
            "service_level_seconds": service_level_seconds,
            "active": active,
        }
    )
    if session.scalar(select(Queue.id).where(Queue.tenant_id == tenant_id, Queue.name == values["name"])):
        raise Conflict(f"this client already has a queue called {values['name']}", field="name")
    queue = Queue(tenant_id=tenant_id, **values)
    session.add(queue)
    session.flush()
    return queue


def get_queue(session: Session, queue_id: int) -> Queue:
    """One queue of the session's tenants, or NotFound."""
    return get_scoped(session, Queue, queue_id, what="queue")


def update_queue(session: Session, queue_id: int, changes: dict[str, Any]) -> Queue:
    """Change a queue's name, skill, priority, service-level target or active flag."""
    queue = get_queue(session, queue_id)
    values = _clean_queue(changes)
    if "name" in values and values["name"] != queue.name:
        clash = select(Queue.id).where(Queue.tenant_id == queue.tenant_id, Queue.name == values["name"])
        if session.scalar(clash):
            raise Conflict(f"this client already has a queue called {values['name']}", field="name")
    for key, value in values.items():
        setattr(queue, key, value)
    session.flush()
    return queue


def list_queues(session: Session, *, tenant_id: int | None = None, active: bool | None = True) -> list[Queue]:
    """Queues of the session's tenants, by tenant, priority (highest first) and name."""
    stmt = select(Queue)
    if tenant_id is not None:
        stmt = stmt.where(Queue.tenant_id == tenant_id)
    if active is not None:
        stmt = stmt.where(Queue.active.is_(active))
    return list(session.scalars(stmt.order_by(Queue.tenant_id, Queue.priority.desc(), Queue.name)))


def ensure_default_queues(session: Session, tenant_id: int) -> list[Queue]:
    """Give a tenant the standard queues and one for each directory department that names a queue."""
    have = {q.skill: q for q in list_queues(session, tenant_id=tenant_id, active=None)}
    names = {q.name for q in have.values()}
    departments, _ = directory.list_departments(session, tenant_id=tenant_id)
    covered: set[str] = set()  # standard skills a department's own queue stands in for
    for department in departments:
        if not department.queue:
            continue
        nurse = department.kind == "nurse_line" or "clinical" in (department.intents or [])
        covered.add("nurse" if nurse else department.kind)
        if department.queue in have:
            continue
        name = department.name if department.name not in names else f"{department.name} ({department.queue})"
        have[department.queue] = create_queue(
            session, tenant_id=tenant_id, name=name[:100], skill=department.queue, priority=20 if nurse else 0
        )
        names.add(name)
    for name, skill, priority in STANDARD_QUEUES:
        if skill in have or skill in covered or name in names:
            continue
        have[skill] = create_queue(session, tenant_id=tenant_id, name=name, skill=skill, priority=priority)
        names.add(name)
    return list_queues(session, tenant_id=tenant_id)


def _queue_with_skill(session: Session, tenant_id: int, skill: str | None) -> Queue | None:
    if not skill:
        return None
    return session.scalar(
        select(Queue)
        .where(Queue.tenant_id == tenant_id, Queue.skill == skill, Queue.active.is_(True))
        .order_by(Queue.priority.desc(), Queue.id)
        .limit(1)
    )


def nurse_queue(session: Session, tenant_id: int) -> Queue | None:
    """The queue where clinical callers wait: the nurse department's queue, else a nurse-skill queue."""
    department = directory.department_for_intent(session, tenant_id, Intent.CLINICAL.value)
    found = _queue_with_skill(session, tenant_id, department.queue if department else None)
    if found is None:
        found = _queue_with_skill(session, tenant_id, "nurse")
    if found is None:
        found = session.scalar(
            select(Queue)
            .where(Queue.tenant_id == tenant_id, Queue.active.is_(True), Queue.skill.like("%nurse%"))
            .order_by(Queue.priority.desc(), Queue.id)
            .limit(1)
        )
    return found


def queue_for_intent(session: Session, tenant_id: int, intent: Intent) -> Queue | None:
    """The queue an intent waits in: the directory department's queue, else the standard skill's."""
    if intent is Intent.CLINICAL:
        return nurse_queue(session, tenant_id)
    department = directory.department_for_intent(session, tenant_id, intent.value)
    return _queue_with_skill(
        session, tenant_id, department.queue if department else None
    ) or _queue_with_skill(session, tenant_id, INTENT_SKILL.get(intent))


def queue_for_contact(session: Session, contact: Contact) -> Queue:
    """Where this contact should wait: red flags and clinical reasons with the nurses, Spanish speakers
    in the Spanish queue, otherwise by the first reason, otherwise the general queue."""
    intents = [r.intent for r in contacts.reasons_of(session, contact)]
    found = None
    if contact.red_flag or Intent.CLINICAL in intents:
        found = nurse_queue(session, contact.tenant_id)
    if found is None and contact.patient_id is not None:
        language = session.scalar(select(Patient.preferred_language).where(Patient.id == contact.patient_id))
        if language == "es":
            found = _queue_with_skill(session, contact.tenant_id, "spanish")
    for intent in intents:
        if found is not None:
            break
        found = queue_for_intent(session, contact.tenant_id, Intent(intent))
    found = found or _queue_with_skill(session, contact.tenant_id, "general")
    if found is None:
        found = session.scalar(
            select(Queue)
            .where(Queue.tenant_id == contact.tenant_id, Queue.active.is_(True))
            .order_by(Queue.priority.desc(), Queue.id)
            .limit(1)
        )
    if found is None:
        raise ValidationFailed("this client has no active queue; add one first", field="queue_id")
    return found


# ------------------------------------------------------------------------------ presence and skills


def _ensure_presence_row(session: Session, user_id: int) -> None:
    insert = pg_insert if _pg(session) else sqlite_insert
    stmt = (
        insert(AgentPresence)
        .values(user_id=user_id, state=PresenceState.OFFLINE, reason="", since=utcnow())
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    session.execute(stmt)


def _lock_presence(session: Session, user_id: int) -> AgentPresence:
    """The agent's presence row, created when missing, locked for this transaction."""
    _ensure_presence_row(session, user_id)
    stmt = (
        select(AgentPresence)
        .where(AgentPresence.user_id == user_id)
        .execution_options(populate_existing=True)
    )
    return session.scalars(_locking(session, stmt, skip=False, of=AgentPresence)).one()


def get_presence(session: Session, user_id: int) -> AgentPresence:
    """The agent's presence (an unsaved 'offline' one when they never set any)."""
    found = session.get(AgentPresence, user_id)
    return found or AgentPresence(user_id=user_id, state=PresenceState.OFFLINE, reason="", since=None)


def _publish_presence(session: Session, presence: AgentPresence) -> None:
    payload = {"user_id": presence.user_id, "state": str(presence.state), "reason": presence.reason}
    events.publish(session, "queue", "presence.changed", payload)
    events.publish(session, f"user:{presence.user_id}", "presence.changed", payload)


def _change_state(presence: AgentPresence, state: PresenceState, reason: str, now: datetime) -> None:
    if state is PresenceState.AVAILABLE and presence.state is not PresenceState.AVAILABLE:
        presence.last_idle_at = now
    if state is not presence.state:
        presence.since = now
    presence.state, presence.reason = state, reason[:100]


def set_presence(
    session: Session,
    user_id: int,
    state: PresenceState | str,
    *,
    reason: str = "",
    now: datetime | None = None,
) -> AgentPresence:
    """Set an agent's state. Going available needs the current contact wrapped up (or handed on);
    leaving available hands any offer back to its queue."""
    now = now or utcnow()
    state = PresenceState(state)
    presence = _lock_presence(session, user_id)
    if state is PresenceState.AVAILABLE and presence.current_contact_id is not None:
        # Read through the table, not the ORM: the contact may belong to a tenant outside this request.
        row = session.execute(
            select(Contact.__table__.c.status, Contact.__table__.c.agent_user_id).where(
                Contact.__table__.c.id == presence.current_contact_id
            )
        ).first()
        if row is not None and row[0] == ContactStatus.ACTIVE and row[1] == user_id:
            raise Conflict(
                f"wrap up contact {presence.current_contact_id} before taking the next one",
                field="state",
            )
        presence.current_contact_id = None
    if state is not PresenceState.AVAILABLE and presence.offer_contact_id is not None:
        _withdraw_offer(session, presence, now, reason="agent left")
    _change_state(presence, state, reason, now)
    session.flush()
    _publish_presence(session, presence)
    if state is PresenceState.AVAILABLE:
        dispatch(session, now=now)
    return presence


def skills_of(session: Session, user_id: int) -> list[str]:
    """The agent's skills, sorted."""
    return sorted(session.scalars(select(AgentSkill.skill).where(AgentSkill.user_id == user_id)))


def set_skills(session: Session, user_id: int, skills: list[str]) -> list[str]:
    """Replace an agent's skills (lower-case words such as scheduling, billing, spanish, nurse_triage)."""
    clean = sorted({_clean_queue({"skill": s})["skill"] for s in skills if s and s.strip()})
    if len(clean) > 50:
        raise ValidationFailed("at most 50 skills", field="skills")
    current = set(skills_of(session, user_id))
    for skill in current - set(clean):
        session.delete(session.get(AgentSkill, (user_id, skill)))
    session.add_all(AgentSkill(user_id=user_id, skill=s) for s in sorted(set(clean) - current))
    session.flush()
    return clean


def served_tenants(session: Session, user_ids: list[int]) -> dict[int, frozenset[int] | None]:
    """Each user's tenants; None for admins, who serve them all."""
    roles = dict(session.execute(select(User.id, User.role).where(User.id.in_(user_ids))).all())
    out: dict[int, set[int]] = defaultdict(set)
    rows = session.execute(
        select(UserTenant.user_id, UserTenant.tenant_id).where(UserTenant.user_id.in_(user_ids))
    )
    for uid, tid in rows:
        out[uid].add(tid)
    return {uid: None if roles.get(uid) is Role.ADMIN else frozenset(out.get(uid, ())) for uid in user_ids}


@dataclass
class AgentView:
    """One agent as a supervisor sees them."""

    user_id: int
    name: str
    role: str
    state: PresenceState
    reason: str
    since: datetime | None
    last_idle_at: datetime | None
    skills: list[str]
    current_contact_id: int | None
    offer_contact_id: int | None
    tenant_ids: list[int] = field(default_factory=list)


def list_agents(session: Session, tenant_ids: frozenset[int] | None) -> list[AgentView]:
    """Staff who handle contacts for these tenants (all when None), with presence and skills."""
    stmt = select(User).where(User.active.is_(True), User.role.in_([Role.AGENT, Role.NURSE, Role.SUPERVISOR]))
    if tenant_ids is not None:
        stmt = stmt.where(
            User.id.in_(select(UserTenant.user_id).where(UserTenant.tenant_id.in_(sorted(tenant_ids))))
        )
    users = list(session.scalars(stmt.order_by(User.name, User.id)))
    ids = [u.id for u in users]
    presence = {
        p.user_id: p for p in session.scalars(select(AgentPresence).where(AgentPresence.user_id.in_(ids)))
    }
    skills: dict[int, list[str]] = defaultdict(list)
    for uid, skill in session.execute(
        select(AgentSkill.user_id, AgentSkill.skill)
        .where(AgentSkill.user_id.in_(ids))
        .order_by(AgentSkill.skill)
    ):
        skills[uid].append(skill)
    served = served_tenants(session, ids)
    now = utcnow()
    out = []
    for user in users:
        p = presence.get(user.id)
        offer = p.offer_contact_id if p and p.offer_expires_at and p.offer_expires_at >= now else None
        out.append(
            AgentView(
                user_id=user.id,
                name=user.name,
                role=str(user.role),
                state=p.state if p else PresenceState.OFFLINE,
                reason=p.reason if p else "",
                since=p.since if p else None,
                last_idle_at=p.last_idle_at if p else None,
                skills=skills.get(user.id, []),
                current_contact_id=p.current_contact_id if p else None,
                offer_contact_id=offer,
                tenant_ids=sorted(served[user.id] or []),
            )
        )
    return out


# -------------------------------------------------------------------------------------- the queue


def _contact_event(session: Session, contact: Contact, kind: str, by: contacts.By, **detail: Any) -> None:
    session.add(
        ContactEvent(
            tenant_id=contact.tenant_id,
            contact_id=contact.id,
            kind=kind,
            actor_user_id=by.user_id,
            detail=detail,
        )
    )
    events.publish(
        session,
        f"contact:{contact.id}",
        kind,
        {"contact_id": contact.id, **detail},
        tenant_id=contact.tenant_id,
    )


def _queue_event(session: Session, entry: QueueEntry, kind: str, **extra: Any) -> None:
    payload = {"queue_id": entry.queue_id, "contact_id": entry.contact_id, "entry_id": entry.id, **extra}
    events.publish(session, "queue", kind, payload, tenant_id=entry.tenant_id)


def open_entry(session: Session, contact_id: int, *, lock: bool = False) -> QueueEntry | None:
    """The contact's waiting or offered entry, if it is in a queue."""
    stmt = (
        select(QueueEntry)
        .where(QueueEntry.contact_id == contact_id, QueueEntry.state.in_(OPEN_ENTRY_STATES))
        .order_by(QueueEntry.id.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )
    if lock:
        stmt = _locking(session, stmt, skip=False, of=QueueEntry)
    return session.scalar(stmt)


def enqueue(
    session: Session,
    contact: Contact,
    by: contacts.By,
    *,
    queue_id: int | None = None,
    escalate: bool = False,
    priority: int = 0,
    kind: EntryKind = EntryKind.INBOUND,
    callback: Callback | None = None,
    entered_at: datetime | None = None,
    now: datetime | None = None,
    route: bool = True,
) -> QueueEntry:
    """Put a contact in line (a new inbound caller, or one an agent hands on to another queue).

    Without `queue_id` the queue comes from the contact (queue_for_contact). A contact already waiting
    elsewhere moves and keeps its place in line; `escalate` puts it ahead of everyone without a red flag.
    """
    now = now or utcnow()
    if contact.status not in OPEN_STATUSES:
        raise Conflict(f"contact {contact.id} is {contact.status}; it cannot wait in a queue")
    queue = get_queue(session, queue_id) if queue_id is not None else queue_for_contact(session, contact)
    if queue.tenant_id != contact.tenant_id:
        raise ValidationFailed("that queue belongs to another client", field="queue_id")
    if not queue.active:
        raise ValidationFailed(f"the {queue.name} queue is closed", field="queue_id")
    current = open_entry(session, contact.id, lock=True)
    if current is not None and current.queue_id == queue.id:
        raise Conflict(f"contact {contact.id} is already waiting in {queue.name}")
    place = entered_at or now
    if current is not None:
        place = min(place, current.entered_at)
        _leave(session, current, EntryState.MOVED, now)
    if contact.status is ContactStatus.ACTIVE and contact.agent_user_id is not None:
        _release_agent(session, contact.agent_user_id, contact.id, now)
    entry = QueueEntry(
        tenant_id=contact.tenant_id,
        contact_id=contact.id,
        queue_id=queue.id,
        callback_id=callback.id if callback else None,
        kind=kind,
        priority=queue.priority + priority + (ESCALATION_PRIORITY if escalate else 0),
        state=EntryState.WAITING,
        entered_at=place,
        simulated=contact.simulated,
    )
    session.add(entry)
    contact.status = ContactStatus.QUEUED
    contact.queued_at = contact.queued_at or now
    session.flush()
    _contact_event(
        session, contact, "contact.queued", by, queue_id=queue.id, queue=queue.name, escalate=escalate
    )
    _queue_event(session, entry, "queue.entered")
    if route:
        dispatch(session, now=now)
    return entry


def _release_agent(session: Session, user_id: int, contact_id: int, now: datetime) -> None:
    """The agent handed this contact on: they are no longer on it (they go to wrap-up)."""
    stmt = select(AgentPresence).where(AgentPresence.user_id == user_id)
    presence = session.scalar(_locking(session, stmt, skip=True, of=AgentPresence))
    if presence is not None and presence.current_contact_id == contact_id:
        presence.current_contact_id = None
        _change_state(presence, PresenceState.WRAP_UP, "", now)
        _publish_presence(session, presence)


def _leave(session: Session, entry: QueueEntry, state: EntryState, now: datetime) -> None:
    entry.state, entry.left_at = state, now
    entry.offered_to_user_id, entry.offer_expires_at = None, None
    _queue_event(session, entry, "queue.left", state=str(state))


def _withdraw_offer(session: Session, presence: AgentPresence, now: datetime, *, reason: str) -> None:
    """Hand the agent's current offer back to its queue (the agent holds the presence lock)."""
    contact_id = presence.offer_contact_id
    presence.offer_contact_id, presence.offer_expires_at = None, None
    if contact_id is None:
        return
    entry = open_entry(session, contact_id, lock=True)
    if entry is None or entry.state is not EntryState.OFFERED or entry.offered_to_user_id != presence.user_id:
        return
    _return_to_queue(session, entry, now)
    _queue_event(session, entry, "queue.offer_declined", user_id=presence.user_id, reason=reason)


def _return_to_queue(session: Session, entry: QueueEntry, now: datetime) -> None:
    entry.state = EntryState.WAITING
    entry.offered_to_user_id, entry.offer_expires_at = None, None
    contact = session.get(Contact, entry.contact_id)
    if contact is not None and contact.status is ContactStatus.OFFERED:
        contact.status = ContactStatus.QUEUED


def expire_offers(session: Session, *, now: datetime | None = None) -> int:
    """Offers not accepted in time go back to their queue; the agent who missed one goes on break."""
    now = now or utcnow()
    stmt = (
        select(QueueEntry)
        .where(QueueEntry.state == EntryState.OFFERED, QueueEntry.offer_expires_at < now)
        .order_by(QueueEntry.id)
    )
    expired = list(session.scalars(_locking(session, stmt, skip=True, of=QueueEntry)))
    missed: dict[int, int] = {}
    for entry in expired:
        if entry.offered_to_user_id is not None:
            missed[entry.offered_to_user_id] = entry.contact_id
        user_id = entry.offered_to_user_id
        _return_to_queue(session, entry, now)
        _queue_event(session, entry, "queue.offer_expired", user_id=user_id)
        if user_id is not None:
            events.publish(
                session,
                f"user:{user_id}",
                "offer.expired",
                {"contact_id": entry.contact_id},
                tenant_id=entry.tenant_id,
            )
    if missed:
        # Never wait for an agent's lock while holding entry locks (an accept holds them the other way round).
        stmt = select(AgentPresence).where(AgentPresence.user_id.in_(sorted(missed)))
        for presence in session.scalars(_locking(session, stmt, skip=True, of=AgentPresence)):
            if presence.offer_contact_id == missed[presence.user_id]:
                presence.offer_contact_id, presence.offer_expires_at = None, None
                if presence.state is PresenceState.AVAILABLE:
                    _change_state(presence, PresenceState.BREAK, "missed an offer", now)
                    _publish_presence(session, presence)
    session.flush()
    return len(expired)


def _effective_priority() -> Any:
    return QueueEntry.priority + case((Contact.red_flag.is_(True), ESCALATION_PRIORITY), else_=0)


def dispatch(
    session: Session, *, now: datetime | None = None, lease: timedelta = DEFAULT_LEASE, limit: int = 200
) -> list[QueueEntry]:
    """Offer waiting contacts to free agents: best contact first, each to the longest-idle agent who
    qualifies (skill and tenant). Expired offers and due callbacks are handled first. Returns the offers."""
    now = now or utcnow()
    expire_offers(session, now=now)
    release_due_callbacks(session, now=now)
    free_stmt = (
        select(AgentPresence)
        .join(User, User.id == AgentPresence.user_id)
        .where(AgentPresence.state == PresenceState.AVAILABLE, User.active.is_(True))
        .order_by(AgentPresence.last_idle_at, AgentPresence.user_id)
    )
    agents = [
        p
        for p in session.scalars(_locking(session, free_stmt, skip=True, of=AgentPresence))
        if p.offer_contact_id is None or p.offer_expires_at is None or p.offer_expires_at < now
    ]
    if not agents:
        return []
    ids = [p.user_id for p in agents]
    skills: dict[int, set[str]] = defaultdict(set)
    for uid, skill in session.execute(
        select(AgentSkill.user_id, AgentSkill.skill).where(AgentSkill.user_id.in_(ids))
    ):
        skills[uid].add(skill)
    agents = [p for p in agents if skills[p.user_id]]
    if not agents:
        return []
    tenants = served_tenants(session, [p.user_id for p in agents])
    wanted = sorted(set().union(*(skills[p.user_id] for p in agents)))
    entry_stmt = (
        select(QueueEntry, Queue.skill)
        .join(Queue, Queue.id == QueueEntry.queue_id)
        .join(Contact, Contact.id == QueueEntry.contact_id)
        .where(
            QueueEntry.state == EntryState.WAITING,
            Queue.active.is_(True),
            Queue.skill.in_(wanted),
            Contact.status.in_((ContactStatus.QUEUED, ContactStatus.OFFERED)),
        )
        .order_by(_effective_priority().desc(), QueueEntry.entered_at, QueueEntry.id)
        .limit(limit)
    )
    offers = []
    for entry, skill in session.execute(_locking(session, entry_stmt, skip=True, of=QueueEntry)).all():
        for i, presence in enumerate(agents):
            served = tenants[presence.user_id]
            if skill in skills[presence.user_id] and (served is None or entry.tenant_id in served):
                _offer(session, entry, presence, now, lease)
                offers.append(entry)
                del agents[i]
                break
        if not agents:
            break
    session.flush()
    return offers


def _offer(
    session: Session, entry: QueueEntry, presence: AgentPresence, now: datetime, lease: timedelta
) -> None:
    expires = now + lease
    entry.state = EntryState.OFFERED
    entry.offered_to_user_id, entry.offered_at, entry.offer_expires_at = presence.user_id, now, expires
    entry.offers += 1
    presence.offer_contact_id, presence.offer_expires_at = entry.contact_id, expires
    contact = session.get(Contact, entry.contact_id)
    if contact is not None:
        contact.status, contact.offered_at = ContactStatus.OFFERED, now
    session.flush()
    _queue_event(session, entry, "queue.offered", user_id=presence.user_id)
    events.publish(
        session,
        f"user:{presence.user_id}",
        "offer.new",
        {"contact_id": entry.contact_id, "queue_id": entry.queue_id, "expires_at": expires.isoformat()},
        tenant_id=entry.tenant_id,
    )
    jobs.enqueue(
        session,
        "queues.offer_expiry",
        {"contact_id": entry.contact_id},
        run_at=expires + timedelta(milliseconds=500),
        tenant_id=entry.tenant_id,
        key=f"queues.offer:{entry.id}:{entry.offers}",
    )


@dataclass
class Offer:
    """A contact offered to an agent: what they need to decide in a few seconds."""

    entry: QueueEntry
    contact: Contact
    queue: Queue

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the API and the strip."""
        waited = (utcnow() - self.entry.entered_at).total_seconds()
        return {
            "contact_id": self.contact.id,
            "tenant_id": self.contact.tenant_id,
            "queue_id": self.queue.id,
            "queue": self.queue.name,
            "kind": str(self.entry.kind),
            "callback_id": self.entry.callback_id,
            "red_flag": self.contact.red_flag,
            "caller_number": self.contact.caller_number,
            "waited_seconds": max(0.0, round(waited, 1)),
            "offered_at": self.entry.offered_at,
            "expires_at": self.entry.offer_expires_at,
        }


def current_offer(session: Session, user_id: int, *, now: datetime | None = None) -> Offer | None:
    """The agent's unexpired offer, if any."""
    now = now or utcnow()
    entry = session.scalar(
        select(QueueEntry)
        .where(
            QueueEntry.state == EntryState.OFFERED,
            QueueEntry.offered_to_user_id == user_id,
            QueueEntry.offer_expires_at >= now,
        )
        .order_by(QueueEntry.offered_at.desc())
        .limit(1)
    )
    if entry is None:
        return None
    return Offer(entry, session.get(Contact, entry.contact_id), session.get(Queue, entry.queue_id))


def offer_next(
    session: Session, user_id: int, *, now: datetime | None = None, lease: timedelta = DEFAULT_LEASE
) -> Offer | None:
    """I am ready: route waiting contacts and return the one offered to me (None when nothing is for me:
    the queue is empty, or an agent idle longer than me was offered it)."""
    now = now or utcnow()
    presence = _lock_presence(session, user_id)
    if presence.state is not PresenceState.AVAILABLE:
        raise Conflict(
            f"you are {presence.state.value.replace('_', ' ')}; set yourself available first", field="state"
        )
    mine = current_offer(session, user_id, now=now)
    if mine is not None:
        return mine
    dispatch(session, now=now, lease=lease)
    return current_offer(session, user_id, now=now)


def accept(session: Session, by: contacts.By, contact_id: int, *, now: datetime | None = None) -> Contact:
    """Take the contact offered to me: it becomes active with me, and I am on it."""
    now = now or utcnow()
    if by.user_id is None:
        raise ValidationFailed("only an agent can accept an offer")
    presence = _lock_presence(session, by.user_id)
    contact = contacts.get_contact(session, contact_id)
    entry = open_entry(session, contact_id, lock=True)
    if entry is None or entry.state is not EntryState.OFFERED or entry.offered_to_user_id != by.user_id:
        raise Conflict(f"contact {contact_id} is not offered to you (another agent may have it)")
    if entry.offer_expires_at is None or entry.offer_expires_at < now:
        raise Conflict(f"the offer of contact {contact_id} expired; it went back to the queue")
    entry.state, entry.answered_at, entry.answered_by_user_id, entry.left_at = (
        EntryState.ANSWERED,
        now,
        by.user_id,
        now,
    )
    contact.status, contact.agent_user_id = ContactStatus.ACTIVE, by.user_id
    contact.answered_at = contact.answered_at or now
    presence.offer_contact_id, presence.offer_expires_at = None, None
    presence.current_contact_id = contact.id
    _change_state(presence, PresenceState.ON_CONTACT, "", now)
    if entry.callback_id is not None:
        callback = session.get(Callback, entry.callback_id)
        if callback is not None and callback.status is CallbackStatus.QUEUED:
            callback.status = CallbackStatus.IN_PROGRESS
    session.flush()
    _contact_event(session, contact, "contact.answered", by, queue_id=entry.queue_id)
    _queue_event(session, entry, "queue.answered", user_id=by.user_id)
    _publish_presence(session, presence)
    return contact


def decline(session: Session, by: contacts.By, contact_id: int, *, now: datetime | None = None) -> None:
    """Hand an offer back: the contact goes to the next agent, and I go to the back of the idle line."""
    now = now or utcnow()
    if by.user_id is None:
        raise ValidationFailed("only an agent can decline an offer")
    presence = _lock_presence(session, by.user_id)
    contacts.get_contact(session, contact_id)
    entry = open_entry(session, contact_id, lock=True)
    if entry is None or entry.state is not EntryState.OFFERED or entry.offered_to_user_id != by.user_id:
        raise Conflict(f"contact {contact_id} is not offered to you")
    _return_to_queue(session, entry, now)
    presence.offer_contact_id, presence.offer_expires_at = None, None
    presence.last_idle_at = now
    session.flush()
    _queue_event(session, entry, "queue.offer_declined", user_id=by.user_id, reason="declined")
    dispatch(session, now=now)


def abandon(session: Session, contact: Contact, by: contacts.By, *, now: datetime | None = None) -> None:
    """The caller hung up while waiting: the contact is abandoned and leaves its queue."""
    now = now or utcnow()
    entry = open_entry(session, contact.id, lock=True)
    offered_to = entry.offered_to_user_id if entry is not None else None
    contacts.abandon(session, contact, by)
    if entry is not None:
        _leave(session, entry, EntryState.ABANDONED, now)
    if offered_to is not None:
        events.publish(
            session,
            f"user:{offered_to}",
            "offer.withdrawn",
            {"contact_id": contact.id},
            tenant_id=contact.tenant_id,
        )
    session.flush()


# ---------------------------------------------------------------------------------------- callbacks


def create_callback(
    session: Session,
    by: contacts.By,
    *,
    tenant_id: int | None = None,
    contact_id: int | None = None,
    number: str | None = None,
    due_at: datetime | None = None,
    queue_id: int | None = None,
    patient_id: int | None = None,
    note: str = "",
    max_attempts: int = 3,
    now: datetime | None = None,
) -> Callback:
    """Promise to call someone back. A caller waiting in a queue keeps their place: they hang up, and
    when the callback is due it joins the queue where they were, ahead of callers without one."""
    now = now or utcnow()
    contact = contacts.get_contact(session, contact_id) if contact_id is not None else None
    if contact is not None:
        if tenant_id is not None and tenant_id != contact.tenant_id:
            raise ValidationFailed("the contact belongs to another client", field="tenant_id")
        tenant_id = contact.tenant_id
        number = number or contact.caller_number
        patient_id = patient_id if patient_id is not None else contact.patient_id
    if tenant_id is None or session.get(Tenant, tenant_id) is None or not scope_of(session).allows(tenant_id):
        raise ValidationFailed(
            "choose the client to call back for (tenant_id or contact_id)", field="tenant_id"
        )
    if not number:
        raise ValidationFailed("a number to call back is required", field="number")
    try:
        number = normalize_phone(number)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="number") from exc
    if patient_id is not None:
        patient = get_scoped(session, Patient, patient_id, what="patient")
        if patient.tenant_id != tenant_id:
            raise ValidationFailed("that patient belongs to another client", field="patient_id")
    if queue_id is not None and get_queue(session, queue_id).tenant_id != tenant_id:
        raise ValidationFailed("that queue belongs to another client", field="queue_id")
    if due_at is not None and due_at.tzinfo is None:
        raise ValidationFailed("give the due time with its time zone", field="due_at")
    if not 1 <= max_attempts <= 10:
        raise ValidationFailed("attempts are 1 to 10", field="max_attempts")
    place_at = None
    if contact is not None:
        entry = open_entry(session, contact.id, lock=True)
        if entry is not None:
            place_at = entry.entered_at
            queue_id = queue_id or entry.queue_id
            _leave(session, entry, EntryState.CALLBACK, now)
            _end_waiting_contact(session, contact, by)
    callback = Callback(
        tenant_id=tenant_id,
        contact_id=contact.id if contact else None,
        patient_id=patient_id,
        queue_id=queue_id,
        number=number,
        due_at=due_at or now,
        place_at=place_at,
        status=CallbackStatus.PENDING,
        max_attempts=max_attempts,
        note=note[:2000],
        created_by_user_id=by.user_id,
    )
    session.add(callback)
    session.flush()
    events.publish(session, "queue", "callback.created", {"callback_id": callback.id}, tenant_id=tenant_id)
    if callback.due_at > now:
        _schedule_callback_job(session, callback)
    else:
        dispatch(session, now=now)
    return callback


def _schedule_callback_job(session: Session, callback: Callback) -> None:
    jobs.enqueue(
        session,
        "queues.callback_due",
        {"callback_id": callback.id},
        run_at=callback.due_at,
        tenant_id=callback.tenant_id,
        key=f"queues.callback:{callback.id}:{callback.attempts}",
    )


def _end_waiting_contact(session: Session, contact: Contact, by: contacts.By) -> None:
    """A caller who chose a callback hangs up: the contact ends (not abandoned); reasons wait for the call."""
    for reason in contacts.reasons_of(session, contact):
        if reason.outcome is None:
            contacts.record_outcome(session, contact, by, reason, outcome=Outcome.CALLBACK_SCHEDULED)
    contacts.wrap_up(session, contact, by, notes="The caller chose a callback and kept their place in line.")


def get_callback(session: Session, callback_id: int) -> Callback:
    """One callback of the session's tenants, or NotFound."""
    return get_scoped(session, Callback, callback_id, what="callback")


def list_callbacks(
    session: Session,
    *,
    status: CallbackStatus | None = None,
    open_only: bool = False,
    tenant_id: int | None = None,
    limit: int = 100,
) -> list[Callback]:
    """Callbacks, soonest due first."""
    stmt = select(Callback)
    if status is not None:
        stmt = stmt.where(Callback.status == status)
    elif open_only:
        stmt = stmt.where(Callback.status.in_(OPEN_CALLBACK_STATUSES))
    if tenant_id is not None:
        stmt = stmt.where(Callback.tenant_id == tenant_id)
    return list(session.scalars(stmt.order_by(Callback.due_at, Callback.id).limit(max(1, min(limit, 500)))))


def release_due_callbacks(session: Session, *, now: datetime | None = None) -> list[QueueEntry]:
    """Due callbacks join their queue as outbound contacts (in the place the caller kept)."""
    now = now or utcnow()
    stmt = (
        select(Callback)
        .where(Callback.status == CallbackStatus.PENDING, Callback.due_at <= now)
        .order_by(Callback.due_at, Callback.id)
        .limit(100)
    )
    entries = []
    for callback in session.scalars(_locking(session, stmt, skip=True, of=Callback)).all():
        contact = contacts.start_contact(
            session,
            SYSTEM_BY,
            tenant_id=callback.tenant_id,
            caller_number=callback.number,
            status=ContactStatus.QUEUED,
        )
        contact.direction, contact.patient_id = "outbound", callback.patient_id
        callback.outbound_contact_id = contact.id
        callback.attempts += 1
        callback.status = CallbackStatus.QUEUED
        queue_id = callback.queue_id
        if queue_id is None or not session.get(Queue, queue_id).active:
            queue_id = queue_for_contact(session, contact).id
        entries.append(
            enqueue(
                session,
                contact,
                SYSTEM_BY,
                queue_id=queue_id,
                priority=CALLBACK_PRIORITY,
                kind=EntryKind.CALLBACK,
                callback=callback,
                entered_at=callback.place_at or callback.due_at,
                now=now,
                route=False,
            )
        )
    return entries


def complete_callback(
    session: Session,
    by: contacts.By,
    callback: Callback,
    *,
    reached: bool,
    note: str = "",
    now: datetime | None = None,
) -> Callback:
    """Record the call: reached ends it; no answer tries again later, until the attempts run out."""
    now = now or utcnow()
    if callback.status not in OPEN_CALLBACK_STATUSES:
        raise Conflict(f"callback {callback.id} is already {callback.status}")
    if note:
        callback.note = (callback.note + "\n" if callback.note else "") + note[:2000]
    if callback.outbound_contact_id is not None:
        contact = session.get(Contact, callback.outbound_contact_id)
        if contact is not None and contact.status in OPEN_STATUSES:
            entry = open_entry(session, contact.id, lock=True)
            if entry is not None:
                _leave(session, entry, EntryState.MOVED, now)
            contacts.wrap_up(
                session, contact, by, notes=f"Callback {'reached' if reached else 'not answered'}."
            )
    if reached:
        callback.status, callback.result = CallbackStatus.COMPLETED, "reached"
    elif callback.attempts >= callback.max_attempts:
        callback.status, callback.result = CallbackStatus.FAILED, "no answer"
    else:
        callback.status, callback.result = CallbackStatus.PENDING, "no answer"
        callback.due_at = now + CALLBACK_RETRY
        _schedule_callback_job(session, callback)
    if callback.status is not CallbackStatus.PENDING:
        callback.completed_at, callback.completed_by_user_id = now, by.user_id
    session.flush()
    events.publish(
        session,
        "queue",
        "callback.updated",
        {"callback_id": callback.id, "status": str(callback.status)},
        tenant_id=callback.tenant_id,
    )
    return callback


def cancel_callback(session: Session, by: contacts.By, callback: Callback) -> Callback:
    """Withdraw a callback that is not yet being made."""
    if callback.status not in (CallbackStatus.PENDING, CallbackStatus.QUEUED):
        raise Conflict(f"callback {callback.id} is {callback.status}; it cannot be cancelled")
    if callback.status is CallbackStatus.QUEUED and callback.outbound_contact_id is not None:
        contact = session.get(Contact, callback.outbound_contact_id)
        entry = open_entry(session, callback.outbound_contact_id, lock=True)
        if entry is not None:
            _leave(session, entry, EntryState.MOVED, utcnow())
        if contact is not None and contact.status in OPEN_STATUSES:
            contacts.wrap_up(session, contact, by, notes="Callback cancelled.")
    callback.status, callback.result = CallbackStatus.CANCELLED, "cancelled"
    callback.completed_at, callback.completed_by_user_id = utcnow(), by.user_id
    session.flush()
    return callback


# ------------------------------------------------------------------------------------ live figures


@dataclass
class QueueStats:
    """A queue's figures now (waiting, agents) and since `since` (service level, abandonment)."""

    queue_id: int
    tenant_id: int
    name: str
    skill: str
    service_level_seconds: int
    since: datetime
    waiting: int  # in line now, offered or not
    offered_now: int  # of which offered to an agent right now
    longest_wait_seconds: float
    entered: int  # joined the queue since `since`
    answered: int
    answered_within_target: int
    abandoned: int
    abandoned_within_target: int
    callbacks_requested: int
    service_level: float | None  # answered in time / (answered + abandoned after the target)
    abandonment_rate: float | None  # abandoned / (answered + abandoned)
    average_answer_seconds: float | None
    agents: dict[str, int]  # qualified agents by presence state

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def start_of_day(session: Session, tenant_id: int, now: datetime | None = None) -> datetime:
    """Local midnight today in the tenant's zone, as UTC."""
    tenant = session.get(Tenant, tenant_id)
    zone = tenant.timezone if tenant else "America/Chicago"
    local = to_local(now or utcnow(), zone)
    return local_to_utc(local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None), zone)


def _agent_states(session: Session, queues: list[Queue]) -> dict[int, dict[str, int]]:
    skills = sorted({q.skill for q in queues})
    rows = session.execute(
        select(AgentSkill.user_id, AgentSkill.skill, AgentPresence.state)
        .join(User, User.id == AgentSkill.user_id)
        .outerjoin(AgentPresence, AgentPresence.user_id == AgentSkill.user_id)
        .where(AgentSkill.skill.in_(skills), User.active.is_(True))
    ).all()
    tenants = served_tenants(session, sorted({r[0] for r in rows}))
    out: dict[int, dict[str, int]] = {}
    for queue in queues:
        counts = dict.fromkeys((s.value for s in PresenceState), 0)
        for user_id, skill, state in rows:
            served = tenants[user_id]
            if skill == queue.skill and (served is None or queue.tenant_id in served):
                counts[str(state or PresenceState.OFFLINE)] += 1
        out[queue.id] = counts
    return out


def queue_stats(
    session: Session,
    queues: list[Queue] | None = None,
    *,
    since: datetime | None = None,
    now: datetime | None = None,
) -> list[QueueStats]:
    """Live figures for these queues (every active queue of the session's tenants by default)."""
    now = now or utcnow()
    queues = list_queues(session) if queues is None else queues
    if not queues:
        return []
    ids = [q.id for q in queues]
    starts = {q.tenant_id: since or start_of_day(session, q.tenant_id, now) for q in queues}
    waiting = {
        qid: (count, offered, oldest)
        for qid, count, offered, oldest in session.execute(
            select(
                QueueEntry.queue_id,
                func.count(),
                func.sum(case((QueueEntry.state == EntryState.OFFERED, 1), else_=0)),
                func.min(QueueEntry.entered_at),
            )
            .where(QueueEntry.queue_id.in_(ids), QueueEntry.state.in_(OPEN_ENTRY_STATES))
            .group_by(QueueEntry.queue_id)
        )
    }
    earliest = min(starts.values())
    finished: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    by_id = {q.id: q for q in queues}
    rows = session.execute(
        select(
            QueueEntry.queue_id,
            QueueEntry.state,
            QueueEntry.entered_at,
            QueueEntry.answered_at,
            QueueEntry.left_at,
        ).where(QueueEntry.queue_id.in_(ids), QueueEntry.entered_at >= earliest)
    )
    for queue_id, state, entered_at, answered_at, left_at in rows:
        queue = by_id[queue_id]
        if entered_at < starts[queue.tenant_id]:
            continue
        f = finished[queue_id]
        f["entered"] += 1
        target = queue.service_level_seconds
        if state is EntryState.ANSWERED and answered_at is not None:
            wait = (answered_at - entered_at).total_seconds()
            f["answered"] += 1
            f["wait_total"] += max(0.0, wait)
            f["answered_within_target"] += wait <= target
        elif state is EntryState.ABANDONED:
            f["abandoned"] += 1
            f["abandoned_within_target"] += (
                left_at is not None and (left_at - entered_at).total_seconds() <= target
            )
        elif state is EntryState.CALLBACK:
            f["callbacks_requested"] += 1
    agents = _agent_states(session, queues)
    out = []
    for queue in queues:
        count, offered, oldest = waiting.get(queue.id, (0, 0, None))
        f = finished[queue.id]
        answered, abandoned = int(f["answered"]), int(f["abandoned"])
        late_abandoned = abandoned - int(f["abandoned_within_target"])
        eligible = answered + late_abandoned
        out.append(
            QueueStats(
                queue_id=queue.id,
                tenant_id=queue.tenant_id,
                name=queue.name,
                skill=queue.skill,
                service_level_seconds=queue.service_level_seconds,
                since=starts[queue.tenant_id],
                waiting=int(count),
                offered_now=int(offered or 0),
                longest_wait_seconds=round(max(0.0, (now - oldest).total_seconds()), 1) if oldest else 0.0,
                entered=int(f["entered"]),
                answered=answered,
                answered_within_target=int(f["answered_within_target"]),
                abandoned=abandoned,
                abandoned_within_target=int(f["abandoned_within_target"]),
                callbacks_requested=int(f["callbacks_requested"]),
                service_level=round(f["answered_within_target"] / eligible, 4) if eligible else None,
                abandonment_rate=round(abandoned / (answered + abandoned), 4)
                if answered + abandoned
                else None,
                average_answer_seconds=round(f["wait_total"] / answered, 1) if answered else None,
                agents=agents[queue.id],
            )
        )
    return out


def waiting_for(session: Session, user_id: int) -> dict[str, int]:
    """How many callers wait in each queue this agent can take (queue name -> count), for the strip."""
    my_skills = skills_of(session, user_id)
    if not my_skills:
        return {}
    rows = session.execute(
        select(Queue.name, func.count(QueueEntry.id))
        .join(
            QueueEntry,
            (QueueEntry.queue_id == Queue.id) & QueueEntry.state.in_(OPEN_ENTRY_STATES),
            isouter=True,
        )
        .where(Queue.skill.in_(my_skills), Queue.active.is_(True))
        .group_by(Queue.name)
        .order_by(Queue.name)
    )
    return {name: int(n) for name, n in rows}
