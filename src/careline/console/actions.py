"""The rest of what an agent does inside one contact: register a new caller, move or cancel their visits,
put them on the waitlist, and transfer them to a person. Each answers a fragment of the contact screen;
the rules stay in the patients, scheduling and contacts services."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from sqlalchemy import select
from starlette.responses import Response

from careline.accounts.permissions import Permission
from careline.console.panels import OUTCOMES_CHANGED, agent_by, open_reason, slots_fragment, taken_fragment
from careline.contacts import service as contacts
from careline.contacts.intents import Intent
from careline.contacts.models import Contact, Outcome
from careline.directory.models import Department, InsurancePlan, OutsideResource
from careline.errors import CareLineError, Conflict, ValidationFailed
from careline.kit.clock import utcnow
from careline.kit.phones import format_phone
from careline.patients import service as patients
from careline.patients.models import ReferralSource, Sex
from careline.queues.routing import search_directory
from careline.scheduling import service as scheduling
from careline.scheduling.models import AppointmentStatus, CancelReason
from careline.scheduling.notify import details, when_text
from careline.scheduling.rules import DAY_PARTS
from careline.web.context import RequestContext, require
from careline.web.routing import router
from careline.web.templating import go_to, render

pages = router(include_in_schema=False)
Agent = Annotated[RequestContext, Depends(require(Permission.CONTACT_HANDLE))]

# What an agent may give as the reason for a cancellation (the rest are the system's own).
AGENT_CANCEL_REASONS = [
    r
    for r in CancelReason
    if r not in (CancelReason.RESCHEDULED, CancelReason.HOLD_RELEASED, CancelReason.HOLD_EXPIRED)
]
UPCOMING = (AppointmentStatus.BOOKED, AppointmentStatus.PENDING)
# A transfer serves the first open reason of these (a "speak to staff" reason is added when none is open).
TRANSFER_INTENTS = (
    Intent.SPEAK_TO_STAFF,
    Intent.BILLING,
    Intent.RECORDS,
    Intent.TEST_RESULTS,
    Intent.REFILL,
    Intent.CLINICAL,
    Intent.OUT_OF_SCOPE,
)
OUTSIDE_INTENTS = (Intent.OUT_OF_SCOPE, *TRANSFER_INTENTS[1:])  # an outside resource, likewise
VISITS_CHANGED = "visits-changed"  # reasons and next steps follow; the visits list has just drawn itself


# ---------------------------------------------------------------------------- new patient


def register_choices(ctx: RequestContext, contact: Contact) -> dict[str, Any]:
    """What the new-patient form offers: the client's insurance plans, sexes, how they heard of us."""
    plans = ctx.db.scalars(
        select(InsurancePlan)
        .where(InsurancePlan.tenant_id == contact.tenant_id, InsurancePlan.active)
        .order_by(InsurancePlan.name)
    ).all()
    return {"plans": plans, "sexes": list(Sex), "sources": list(ReferralSource)}


@pages.post("/console/contacts/{contact_id}/register")
def register(
    request: Request,
    contact_id: int,
    ctx: Agent,
    first_name: Annotated[str, Form(max_length=100)] = "",
    last_name: Annotated[str, Form(max_length=100)] = "",
    dob: Annotated[str, Form(max_length=20)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
    sex: Annotated[str, Form(max_length=20)] = "",
    zip: Annotated[str, Form(max_length=10)] = "",
    work_zip: Annotated[str, Form(max_length=10)] = "",
    preferred_language: Annotated[str, Form(max_length=10)] = "en",
    insurance_plan_id: Annotated[str, Form(max_length=20)] = "",
    referral_source: Annotated[str, Form(max_length=40)] = "",
    consent_sms: Annotated[bool, Form()] = False,
    confirm_new: Annotated[bool, Form()] = False,
) -> Response:
    """Register the caller as a new patient of this client and attach them to the contact.

    A caller who looks registered already comes back as candidates to pick from (or register anyway).
    """
    contact = contacts.get_contact(ctx.db, contact_id)
    form = {
        "first_name": first_name,
        "last_name": last_name,
        "dob": dob,
        "phone": phone,
        "sex": sex,
        "zip": zip,
        "work_zip": work_zip,
        "preferred_language": preferred_language,
        "insurance_plan_id": insurance_plan_id,
        "referral_source": referral_source,
        "consent_sms": consent_sms,
    }  # what the agent typed comes back with the errors
    context: dict[str, Any] = {
        "contact": contact,
        "form": form,
        **register_choices(ctx, contact),
    }
    try:
        patient = patients.create_patient(
            ctx.db,
            tenant_id=contact.tenant_id,
            actor=ctx.actor,
            first_name=first_name,
            last_name=last_name,
            dob=dob,
            confirm_new=confirm_new,
            phones=[phone or contact.caller_number] if (phone or contact.caller_number) else [],
            sex=sex or None,
            zip=zip or None,
            work_zip=work_zip or None,
            preferred_language=preferred_language or "en",
            insurance_plan_id=insurance_plan_id or None,
            referral_source=referral_source or None,
            referral_note=f"registered during contact {contact.id}",
            consent_sms=consent_sms,
        )
    except patients.DuplicatePatients as exc:
        # Answer normally so the duplicate check's audit row is kept; the agent decides.
        context.update(error=exc, candidates=exc.candidates)
        return render(request, "console/_register.html", context, status_code=409)
    except CareLineError as exc:
        context["error"] = exc
        return render(request, "console/_register.html", context, status_code=exc.status_code)
    contacts.identify(ctx.db, contact, agent_by(ctx), patient_id=patient.id)
    contacts.add_note(ctx.db, contact, agent_by(ctx), f"Registered new patient {patient.mrn}.")
    contact.new_patient = True  # a new patient of the practice, now on file: the reports count them
    return go_to(request, f"/console/contacts/{contact.id}")


# ---------------------------------------------------------------------------- appointments


def _appointment_rows(ctx: RequestContext, contact: Contact) -> list[dict[str, Any]]:
    if contact.patient_id is None:
        return []
    now = utcnow()
    rows = scheduling.list_appointments(
        ctx.db,
        actor=ctx.actor,
        patient_id=contact.patient_id,
        date_from=(now - timedelta(days=1)).date(),
        statuses=UPCOMING,
        limit=20,
    )
    out = []
    for appt in rows:
        if appt.end_at <= now:
            continue
        d = details(ctx.db, appt)
        out.append({"appt": appt, "d": d, "when": when_text(d, appt)})
    return out


def _appointments(request: Request, ctx: RequestContext, contact: Contact, **extra: Any) -> Response:
    context = {
        "contact": contact,
        "rows": _appointment_rows(ctx, contact),
        "cancel_reasons": AGENT_CANCEL_REASONS,
        **extra,
    }
    return render(request, "console/_appointments.html", context)


def _changed(response: Response, event: str = VISITS_CHANGED) -> Response:
    response.headers["HX-Trigger"] = event
    return response


@pages.get("/console/contacts/{contact_id}/appointments")
def appointments(request: Request, contact_id: int, ctx: Agent) -> Response:
    """The caller's upcoming visits, each with reschedule, cancel and waitlist at hand."""
    contact = contacts.get_contact(ctx.db, contact_id)
    return _appointments(request, ctx, contact)


def _patient_appointment(ctx: RequestContext, contact: Contact, appointment_id: int) -> Any:
    appt = scheduling.get_appointment(ctx.db, appointment_id, actor=ctx.actor)
    if contact.patient_id is None or appt.patient_id != contact.patient_id:
        raise ValidationFailed("that appointment is not the caller's", field="appointment_id")
    return appt


@pages.post("/console/contacts/{contact_id}/appointments/{appointment_id}/cancel")
def cancel(
    request: Request,
    contact_id: int,
    appointment_id: int,
    ctx: Agent,
    reason: Annotated[str, Form(max_length=40)],
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Cancel one of the caller's visits with a reason; the freed time goes to the waitlist."""
    contact = contacts.get_contact(ctx.db, contact_id)
    appt = _patient_appointment(ctx, contact, appointment_id)
    d = details(ctx.db, appt)
    what = f"{d.kind.name} with {d.provider_name}, {when_text(d, appt)}"
    scheduling.cancel(ctx.db, appt.id, actor=ctx.actor, reason=reason, note=note or None)
    contacts.record_outcome(
        ctx.db,
        contact,
        agent_by(ctx),
        open_reason(ctx, contact, (Intent.CANCEL, Intent.RESCHEDULE, Intent.SCHEDULE)),
        outcome=Outcome.APPOINTMENT_CANCELLED,
        detail={"appointment_id": appt.id, "reason": reason},
    )
    return _changed(_appointments(request, ctx, contact, done=f"Cancelled: {what}."))


@pages.post("/console/contacts/{contact_id}/appointments/{appointment_id}/times")
def move_times(
    request: Request,
    contact_id: int,
    appointment_id: int,
    ctx: Agent,
    same_provider: Annotated[bool, Form()] = False,
    time_of_day: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Open times to move a visit to: same type and location (or the same provider), soonest first."""
    contact = contacts.get_contact(ctx.db, contact_id)
    appt = _patient_appointment(ctx, contact, appointment_id)
    return slots_fragment(
        request,
        ctx,
        contact,
        move_from=appt.id,
        type_id=appt.type_id,
        provider_ids=[appt.provider_id] if same_provider else None,
        location_id=appt.location_id,
        time_of_day=time_of_day or None,
        limit=10,
    )


@pages.post("/console/contacts/{contact_id}/appointments/{appointment_id}/reschedule")
def reschedule(
    request: Request,
    contact_id: int,
    appointment_id: int,
    ctx: Agent,
    provider_id: Annotated[int, Form()],
    location_id: Annotated[int, Form()],
    type_id: Annotated[int, Form()],
    start_at: Annotated[str, Form(max_length=40)],
) -> Response:
    """Move the visit: the new time is taken before the old one is let go (one transaction)."""
    contact = contacts.get_contact(ctx.db, contact_id)
    appt = _patient_appointment(ctx, contact, appointment_id)
    try:
        new = scheduling.reschedule(
            ctx.db,
            appt.id,
            actor=ctx.actor,
            start_at=start_at,
            provider_id=provider_id,
            location_id=location_id,
            type_id=type_id,
        )
    except Conflict as exc:
        response = taken_fragment(request, ctx, contact, exc, move_from=appointment_id, status=409)
        response.headers["HX-Retarget"] = f"#appt-{appointment_id}-times"  # beside the visit being moved
        return response
    d = details(ctx.db, new)
    contacts.record_outcome(
        ctx.db,
        contact,
        agent_by(ctx),
        open_reason(ctx, contact, (Intent.RESCHEDULE, Intent.SCHEDULE)),
        outcome=Outcome.APPOINTMENT_RESCHEDULED,
        detail={"appointment_id": new.id, "from_appointment_id": appointment_id},
    )
    done = f"Moved to {when_text(d, new)} with {d.provider_name} at {d.location.name}."
    return _changed(_appointments(request, ctx, contact, done=done))


@pages.post("/console/contacts/{contact_id}/waitlist")
def waitlist(
    request: Request,
    contact_id: int,
    ctx: Agent,
    type_id: Annotated[int | None, Form()] = None,
    location_id: Annotated[int | None, Form()] = None,
    appointment_id: Annotated[int | None, Form()] = None,
    latest_date: Annotated[str, Form(max_length=20)] = "",
    time_of_day: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Put the caller on the waitlist: for an earlier time than a booked visit, or for a type at all."""
    contact = contacts.get_contact(ctx.db, contact_id)
    if contact.patient_id is None:
        raise ValidationFailed("identify the caller (or register them) first", field="patient_id")
    start, end = DAY_PARTS.get(time_of_day, (0, 24 * 60))
    after = f"{start // 60:02d}:{start % 60:02d}" if start > 0 else None  # the day's ends: no bound
    before = f"{end // 60:02d}:{end % 60:02d}" if end < 24 * 60 else None
    if appointment_id is not None:
        appt = _patient_appointment(ctx, contact, appointment_id)
        type_id, location_id = appt.type_id, location_id or appt.location_id
    if type_id is None:
        raise ValidationFailed("choose the visit type", field="type_id")
    entry = scheduling.add_to_waitlist(
        ctx.db,
        actor=ctx.actor,
        patient_id=contact.patient_id,
        type_id=type_id,
        location_id=location_id,
        latest_date=latest_date or None,
        after=after,
        before=before,
        current_appointment_id=appointment_id,
        note=f"from contact {contact.id}",
    )
    contacts.record_outcome(
        ctx.db,
        contact,
        agent_by(ctx),
        open_reason(ctx, contact, (Intent.SCHEDULE, Intent.RESCHEDULE)),
        outcome=Outcome.WAITLISTED,
        detail={"waitlist_entry_id": entry.id},
    )
    what = "an earlier time than the booked visit" if appointment_id else "the first matching opening"
    return _changed(
        _appointments(request, ctx, contact, done=f"On the waitlist (entry {entry.id}) for {what}.")
    )


# ---------------------------------------------------------------------------- transfer


def transfer_choices(ctx: RequestContext, contact: Contact) -> dict[str, Any]:
    """The client's departments with a number or queue to transfer to."""
    departments = ctx.db.scalars(
        select(Department)
        .where(Department.tenant_id == contact.tenant_id, Department.active)
        .order_by(Department.name)
    ).all()
    return {"departments": departments}


@pages.post("/console/contacts/{contact_id}/transfer")
def transfer(
    request: Request,
    contact_id: int,
    ctx: Agent,
    target: Annotated[str, Form(max_length=200)] = "",
    department_id: Annotated[int | None, Form()] = None,
    warm: Annotated[bool, Form()] = False,
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Transfer the caller to a person, number or department, recorded on the reason it serves."""
    contact = contacts.get_contact(ctx.db, contact_id)
    target = target.strip()
    department = None
    if department_id is not None:
        department = ctx.db.get(Department, department_id)
        if department is None or department.tenant_id != contact.tenant_id:
            raise ValidationFailed("no such department for this client", field="department_id")
    if not target and department is None:
        raise ValidationFailed(
            "say who or where the caller goes (a name, number or department)", field="target"
        )
    label = target or department.name  # type: ignore[union-attr]
    if target and department is not None:
        label = f"{target} ({department.name})"
    reason = open_reason(ctx, contact, TRANSFER_INTENTS)
    contacts.transfer(
        ctx.db,
        contact,
        agent_by(ctx),
        target=label,
        department_id=department_id,
        reason_id=reason.id,
        warm=warm,
    )
    if note.strip():
        contacts.add_note(ctx.db, contact, agent_by(ctx), f"Transfer to {label}: {note.strip()}")
    how = "Warm transfer" if warm else "Transferred"
    number = (department.transfer_number or department.phone) if department is not None else None
    number = format_phone(number) if number else None
    context = {"contact": contact, "done": f"{how} to {label}" + (f" · {number}" if number else "") + "."}
    return _changed(render(request, "console/_transferred.html", context), OUTCOMES_CHANGED)


# ---------------------------------------------------------------------------- directory


@pages.get("/console/contacts/{contact_id}/directory")
def directory_search(request: Request, contact_id: int, ctx: Agent, q: str = "") -> Response:
    """Search the client's departments and the outside resources while the caller waits."""
    contact = contacts.get_contact(ctx.db, contact_id)
    q = q.strip()[:200]
    found = search_directory(ctx.db, contact.tenant_id, q) if q else {"departments": [], "resources": []}
    return render(request, "console/_directory.html", {"contact": contact, "q": q, **found})


@pages.post("/console/contacts/{contact_id}/route-outside")
def route_outside(
    request: Request, contact_id: int, ctx: Agent, resource_id: Annotated[int, Form()]
) -> Response:
    """The caller was given an outside resource (911, 988, Poison Control, a pharmacy...): record it."""
    contact = contacts.get_contact(ctx.db, contact_id)
    resource = ctx.db.get(OutsideResource, resource_id)
    if resource is None or resource.tenant_id != contact.tenant_id:
        raise ValidationFailed("no such outside resource for this client", field="resource_id")
    contacts.record_outcome(
        ctx.db,
        contact,
        agent_by(ctx),
        open_reason(ctx, contact, OUTSIDE_INTENTS),
        outcome=Outcome.ROUTED_OUTSIDE,
        detail={"target": resource.name, "resource_id": resource.id},
    )
    number = f" · {format_phone(resource.phone)}" if resource.phone else ""
    context = {"contact": contact, "done": f"Caller routed to {resource.name}{number}."}
    return _changed(render(request, "console/_transferred.html", context), OUTCOMES_CHANGED)
