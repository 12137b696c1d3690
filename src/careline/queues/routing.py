"""Next steps: for each thing a caller wants, where the agent takes them next.

Scheduling intents go to the scheduling search, find-a-doctor to the provider search, location
questions get the locations' details, billing/records/results/refills the tenant's department for that
intent (with its transfer number, queue, hours and whether it is open now), clinical reasons the nurse
(after an emergency escalation when there is a red flag), "let me talk to someone" the departments,
and anything out of scope the matching outside resources. The answer is never empty: it always ends
with taking a message or offering a callback, and falls back to the general outside resources.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from careline.contacts import service as contacts
from careline.contacts.analyze import analyze
from careline.contacts.intents import Intent
from careline.contacts.models import Contact
from careline.directory import service as directory
from careline.directory.models import Department, Location, OutsideResource
from careline.kit.clock import utcnow
from careline.patients.models import Patient
from careline.queues.models import Queue
from careline.queues.service import nurse_queue

SCHEDULING_ACTIONS = {Intent.SCHEDULE: "book", Intent.RESCHEDULE: "reschedule", Intent.CANCEL: "cancel"}
DEPARTMENT_INTENTS = (Intent.BILLING, Intent.RECORDS, Intent.TEST_RESULTS, Intent.REFILL)
# Red-flag kinds whose own outside line the agent should have at hand while escalating.
RED_FLAG_RESOURCES = {"suicidal": "crisis", "poisoning": "poison"}
MAX_LOCATIONS = 8


@dataclass
class NextStep:
    """One thing to do next. `kind` says what; the other fields carry what the agent needs for it."""

    kind: str  # escalate, nurse, scheduling, find_doctor, location_info, department, departments,
    #            outside_resources, message
    label: str
    intent: str | None = None
    reason_id: int | None = None
    urgent: bool = False
    action: str | None = None  # scheduling: book, reschedule or cancel
    link: str | None = None  # the page that does it
    api: str | None = None  # the API route that does it
    department: dict[str, Any] | None = None
    departments: list[dict[str, Any]] = field(default_factory=list)
    resources: list[dict[str, Any]] = field(default_factory=list)
    locations: list[dict[str, Any]] = field(default_factory=list)
    queue: dict[str, Any] | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def _department(session: Session, department: Department, at: datetime) -> dict[str, Any]:
    queue = None
    if department.queue:
        queue = session.scalar(
            select(Queue.id).where(
                Queue.tenant_id == department.tenant_id,
                Queue.skill == department.queue,
                Queue.active.is_(True),
            )
        )
    return {
        "id": department.id,
        "name": department.name,
        "kind": department.kind,
        "phone": department.phone,
        "transfer_number": department.transfer_number or department.phone,
        "queue": department.queue,
        "queue_id": queue,
        "hours": directory.department_hours_text(department),
        "open_now": directory.is_open_now(session, department, at),
        "status": directory.department_next_open_text(session, department, at),
        "description": department.description,
    }


def _resource(resource: OutsideResource) -> dict[str, Any]:
    return {
        "id": resource.id,
        "name": resource.name,
        "kind": resource.kind,
        "phone": resource.phone,
        "url": resource.url,
        "hours": resource.hours,
        "when_to_use": resource.when_to_use,
    }


def _location(location: Location, at: datetime) -> dict[str, Any]:
    address = ", ".join(p for p in (location.address_line1, location.address_line2) if p)
    return {
        "id": location.id,
        "name": location.name,
        "address": f"{address}, {location.city}, {location.state} {location.zip}",
        "phone": location.phone,
        "hours": directory.hours_text(location),
        "open_now": directory.location_is_open(location, at),
        "status": directory.next_open_text(location, at),
        "parking": location.parking,
        "directions": location.directions,
        "accessibility": location.accessibility,
    }


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2}


# Words that say nothing about which location: the organisation's own words and the question's.
_GENERIC = {
    *("lakeshore", "clinic", "medical", "center", "health", "practice", "family", "office", "the", "and"),
    *("where", "park", "parking", "hours", "open", "close", "closed", "address", "directions", "located"),
    *("location", "main", "building", "your", "you", "what", "when", "how", "get", "there", "today"),
}


def _locations(
    session: Session, tenant_id: int, text: str, patient: Patient | None, at: datetime
) -> list[dict]:
    """The locations the caller is most likely asking about: named in their words, else nearest to
    their home, else all (up to a handful)."""
    rows, _ = directory.list_locations(session, tenant_id=tenant_id, limit=500)
    said = _words(text) - _GENERIC
    scored = [(len(said & ((_words(loc.name) | _words(loc.city)) - _GENERIC)), loc) for loc in rows]
    best = max((n for n, _ in scored), default=0)
    named = [loc for n, loc in scored if best and n == best]
    if named:
        return [_location(loc, at) for loc in named[:MAX_LOCATIONS]]
    if patient is not None and patient.zip:
        try:
            near = directory.locations_near(session, tenant_id=tenant_id, zip_code=patient.zip, miles=15)
        except Exception:  # an unknown ZIP only loses the nearest-first order
            near = []
        if near:
            return [_location(n.location, at) | {"miles": n.miles} for n in near[:MAX_LOCATIONS]]
    return [_location(loc, at) for loc in rows[:MAX_LOCATIONS]]


def _resources(session: Session, tenant_id: int, *keys: str, limit: int = 5) -> list[dict[str, Any]]:
    seen: dict[int, OutsideResource] = {}
    for key in keys:
        if not key or not key.strip():
            continue
        for resource in directory.resources_for(session, tenant_id, key, limit=limit):
            seen.setdefault(resource.id, resource)
    ordered = sorted(seen.values(), key=lambda r: (r.priority, r.id))
    return [_resource(r) for r in ordered[:limit]]


def _nurse_step(
    session: Session, tenant_id: int, at: datetime, reason_id: int | None, urgent: bool
) -> NextStep:
    department = directory.department_for_intent(session, tenant_id, Intent.CLINICAL.value, at)
    queue = nurse_queue(session, tenant_id)
    dept = _department(session, department, at) if department else None
    label = f"Transfer to the nurse: {department.name}" if department else "Send to the nurse line"
    return NextStep(
        kind="nurse",
        label=label,
        intent=Intent.CLINICAL.value,
        reason_id=reason_id,
        urgent=urgent,
        department=dept,
        queue={"id": queue.id, "name": queue.name, "skill": queue.skill} if queue else None,
    )


def next_steps(
    session: Session,
    *,
    contact: Contact | None = None,
    tenant_id: int | None = None,
    intents: list[Intent | str] | None = None,
    text: str = "",
    at: datetime | None = None,
) -> list[NextStep]:
    """What to do next for a contact (its reasons, red flag and caller's words) or for a tenant and
    intents or text. Red-flag escalation comes first; a message/callback step always comes last."""
    at = at or utcnow()
    if contact is None and tenant_id is None:
        raise ValueError("give a contact or a tenant_id")
    tenant_id = contact.tenant_id if contact is not None else tenant_id
    assert tenant_id is not None
    red_flag, red_kinds = False, []
    wanted: list[tuple[Intent, int | None, str]] = []  # (intent, reason id, words)
    patient = None
    if contact is not None:
        red_flag, red_kinds = contact.red_flag, list(contact.red_flag_kinds or [])
        patient = session.get(Patient, contact.patient_id) if contact.patient_id else None
        wanted = [(Intent(r.intent), r.id, r.text or "") for r in contacts.reasons_of(session, contact)]
        if not text:
            text = " ".join(contacts.caller_lines(session, contact))
    wanted += [(Intent(i), None, text) for i in intents or []]
    if not wanted and text.strip():
        result = analyze(text)
        red_flag = red_flag or result.screening.red_flag
        red_kinds += [str(f.kind) for f in result.screening.red_flags if f.kind]
        wanted = [(s.intent, None, text) for s in result.intents]
    if red_flag:
        # The nurse comes before anything else the caller wanted.
        clinical = [w for w in wanted if w[0] is Intent.CLINICAL] or [(Intent.CLINICAL, None, text)]
        wanted = clinical + [w for w in wanted if w[0] is not Intent.CLINICAL]

    steps: list[NextStep] = []
    done: set[tuple] = set()

    def add(step: NextStep, key: tuple) -> None:
        if key not in done:
            done.add(key)
            steps.append(step)

    if red_flag:
        crisis = [RED_FLAG_RESOURCES[k] for k in red_kinds if k in RED_FLAG_RESOURCES]
        resources = _resources(session, tenant_id, "emergency", *crisis, limit=3)
        add(
            NextStep(
                kind="escalate",
                label="Red flag: escalate to the nurse now (911 if the caller is in danger)",
                intent=Intent.CLINICAL.value,
                urgent=True,
                resources=resources,
                detail={
                    "red_flag_kinds": sorted(set(red_kinds)),
                    "disposition": str(contact.disposition)
                    if contact is not None and contact.disposition
                    else None,
                },
            ),
            ("escalate",),
        )
    for intent, reason_id, words in wanted:
        words = words or text
        if intent in SCHEDULING_ACTIONS:
            action = SCHEDULING_ACTIONS[intent]
            department = directory.department_for_intent(session, tenant_id, intent.value, at)
            add(
                NextStep(
                    kind="scheduling",
                    label={"book": "Book a visit", "reschedule": "Move a visit", "cancel": "Cancel a visit"}[
                        action
                    ],
                    intent=intent.value,
                    reason_id=reason_id,
                    action=action,
                    link="/scheduling",
                    api="/api/v1/scheduling/availability",
                    department=_department(session, department, at) if department else None,
                    detail={"patient_id": patient.id if patient else None},
                ),
                ("scheduling", action),
            )
        elif intent is Intent.FIND_DOCTOR:
            add(
                NextStep(
                    kind="find_doctor",
                    label="Find a doctor who fits (specialty, plan, language, location)",
                    intent=intent.value,
                    reason_id=reason_id,
                    link="/directory/providers",
                    api="/api/v1/match",
                    detail={"patient_id": patient.id if patient else None},
                ),
                ("find_doctor",),
            )
        elif intent is Intent.LOCATION_INFO:
            add(
                NextStep(
                    kind="location_info",
                    label="Give the location's address, hours, parking and directions",
                    intent=intent.value,
                    reason_id=reason_id,
                    locations=_locations(session, tenant_id, words, patient, at),
                ),
                ("location_info",),
            )
        elif intent in DEPARTMENT_INTENTS:
            department = directory.department_for_intent(session, tenant_id, intent.value, at)
            if department is not None:
                info = _department(session, department, at)
                label = (
                    f"Transfer to {department.name}"
                    if info["open_now"]
                    else (
                        f"{department.name} is closed ({info['status']}): take a message or book a callback"
                    )
                )
                add(
                    NextStep(
                        kind="department",
                        label=label,
                        intent=intent.value,
                        reason_id=reason_id,
                        department=info,
                    ),
                    ("department", department.id, intent.value),
                )
            elif intent in (Intent.TEST_RESULTS, Intent.REFILL) and directory.department_for_intent(
                session, tenant_id, Intent.CLINICAL.value, at
            ):
                step = _nurse_step(session, tenant_id, at, reason_id, urgent=False)
                step.intent = intent.value
                add(step, ("nurse", intent.value))
            else:
                found = _resources(session, tenant_id, intent.value, words)
                if found:
                    add(
                        NextStep(
                            kind="outside_resources",
                            label="Where the caller can get this",
                            intent=intent.value,
                            reason_id=reason_id,
                            resources=found,
                        ),
                        ("outside_resources", intent.value),
                    )
        elif intent is Intent.CLINICAL:
            add(_nurse_step(session, tenant_id, at, reason_id, urgent=red_flag), ("nurse",))
        elif intent is Intent.SPEAK_TO_STAFF:
            rows, _ = directory.list_departments(session, tenant_id=tenant_id)
            add(
                NextStep(
                    kind="departments",
                    label="Ask who they need, then transfer",
                    intent=intent.value,
                    reason_id=reason_id,
                    departments=[_department(session, d, at) for d in rows],
                ),
                ("departments",),
            )
        elif intent is Intent.OUT_OF_SCOPE:
            found = _resources(session, tenant_id, words) if words.strip() else []
            general = found or _resources(session, tenant_id, Intent.OUT_OF_SCOPE.value)
            add(
                NextStep(
                    kind="outside_resources",
                    label="Not something we do here: give the caller the right place",
                    intent=intent.value,
                    reason_id=reason_id,
                    resources=general,
                    detail={"matched_words": bool(found)},
                ),
                ("outside_resources", intent.value),
            )
    general = [] if steps else _resources(session, tenant_id, Intent.OUT_OF_SCOPE.value)
    if general:
        # Nothing specific was found: the caller still leaves with somewhere to go.
        add(
            NextStep(kind="outside_resources", label="General resources", resources=general),
            ("outside_resources", "general"),
        )
    add(
        NextStep(
            kind="message",
            label="Take a message or book a callback",
            api="/api/v1/callbacks",
            detail={"number": contact.caller_number if contact is not None else None},
        ),
        ("message",),
    )
    return steps


def _prefix_hit(said: set[str], text: str) -> int:
    words = _words(text.replace("_", " "))
    return sum(1 for s in said if any(w.startswith(s) for w in words))


def search_directory(
    session: Session, tenant_id: int, text: str, *, at: datetime | None = None, limit: int = 8
) -> dict[str, list[dict[str, Any]]]:
    """Where could this caller go? The client's departments and outside resources matching the agent's
    words ('radiology', 'pharm', 'my son swallowed bleach'): word starts in a department's name, kind,
    intents or description, the intents the words say, and resources by their keywords and names.
    Departments open now come first."""
    at = at or utcnow()
    said = _words(text)
    if not said:
        return {"departments": [], "resources": []}
    intents = {s.intent.value for s in analyze(text).intents}
    scored = []
    for dept in directory.list_departments(session, tenant_id=tenant_id, limit=500)[0]:
        fields = " ".join([dept.name, dept.kind, dept.description or "", *(dept.intents or [])])
        hits = _prefix_hit(said, fields) + 2 * len(intents & set(dept.intents or []))
        if hits:
            scored.append((dept, hits))
    shown = [(_department(session, d, at), hits) for d, hits in scored]
    shown.sort(key=lambda item: (not item[0]["open_now"], -item[1], item[0]["name"]))
    # What the words name first (keywords, then name starts), then what their intents suggest.
    resources = {r["id"]: r for r in _resources(session, tenant_id, text, limit=limit)}
    for resource in directory.list_resources(session, tenant_id=tenant_id, limit=500)[0]:
        if resource.id not in resources and _prefix_hit(said, f"{resource.name} {resource.kind}"):
            resources[resource.id] = _resource(resource)
    for resource in _resources(session, tenant_id, *intents, limit=limit):
        resources.setdefault(resource["id"], resource)
    return {"departments": [d for d, _ in shown[:limit]], "resources": list(resources.values())[:limit]}
