"""REST routes of scheduling: calendars (configure), open times, holds, bookings, waitlist."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Query
from starlette.responses import Response

from careline.accounts.permissions import Permission
from careline.scheduling import service
from careline.scheduling.schemas import (
    AppointmentOut,
    AppointmentTypeIn,
    AppointmentTypeOut,
    AppointmentTypePatch,
    AvailabilityOut,
    BookIn,
    CancelIn,
    ConfirmIn,
    ConflictOut,
    ExceptionIn,
    ExceptionOut,
    HistoryOut,
    HoldIn,
    RefusedOut,
    RescheduleIn,
    StatusIn,
    TemplateIn,
    TemplateOut,
    TemplatePatch,
    WaitlistIn,
    WaitlistOut,
)
from careline.web.context import RequestContext, require
from careline.web.routing import router

api = router(prefix="/api/v1/scheduling", tags=["scheduling"])

Reader = Annotated[RequestContext, Depends(require(Permission.SCHEDULE_READ))]
Writer = Annotated[RequestContext, Depends(require(Permission.SCHEDULE_WRITE))]
Configurer = Annotated[RequestContext, Depends(require(Permission.SCHEDULE_CONFIGURE))]
ERRORS = {401: {"description": "not signed in"}, 403: {"description": "role may not"}}
INVALID = {422: {"description": "a field is invalid; `field` names it"}}
NOT_FOUND = {404: {"description": "no such object (or another client's)"}}
REFUSED = {422: {"model": RefusedOut, "description": "a booking rule says no; `violations` lists each"}}
CONFLICT = {
    409: {"model": ConflictOut, "description": "the provider or patient is busy then; nearest `alternatives`"}
}


# --- appointment types --------------------------------------------------------------------------------


@api.get("/types", response_model=list[AppointmentTypeOut], responses=ERRORS)
def list_types(ctx: Reader, tenant_id: int | None = None, include_inactive: bool = False) -> list:
    """Appointment types of the clients this user serves."""
    tenants = [tenant_id] if tenant_id is not None else None
    found = service.list_types(ctx.db, tenant_ids=tenants, include_inactive=include_inactive)
    return [AppointmentTypeOut.of(t) for t in found]


@api.post(
    "/types", response_model=AppointmentTypeOut, status_code=201, responses={**ERRORS, **INVALID, **NOT_FOUND}
)
def create_type(body: AppointmentTypeIn, ctx: Configurer) -> AppointmentTypeOut:
    """Add an appointment type (409 when the client already has one of that name)."""
    fields = body.model_dump(exclude_unset=True, exclude={"tenant_id"})
    return AppointmentTypeOut.of(service.create_type(ctx.db, tenant_id=body.tenant_id, **fields))


@api.get("/types/{appointment_type_id}", response_model=AppointmentTypeOut, responses={**ERRORS, **NOT_FOUND})
def read_type(appointment_type_id: int, ctx: Reader) -> AppointmentTypeOut:
    """One appointment type."""
    return AppointmentTypeOut.of(service.get_type(ctx.db, appointment_type_id))


@api.patch(
    "/types/{appointment_type_id}",
    response_model=AppointmentTypeOut,
    responses={**ERRORS, **INVALID, **NOT_FOUND},
)
def patch_type(appointment_type_id: int, body: AppointmentTypePatch, ctx: Configurer) -> AppointmentTypeOut:
    """Change a type; `active: false` retires it."""
    return AppointmentTypeOut.of(
        service.update_type(ctx.db, appointment_type_id, body.model_dump(exclude_unset=True))
    )


# --- templates and exceptions -------------------------------------------------------------------------


@api.get("/templates", response_model=list[TemplateOut], responses=ERRORS)
def list_templates(
    ctx: Reader, provider_id: int | None = None, location_id: int | None = None
) -> list[TemplateOut]:
    """Weekly availability windows, by provider, weekday and start."""
    found = service.list_templates(ctx.db, provider_id=provider_id, location_id=location_id)
    return [TemplateOut.of(t) for t in found]


@api.post(
    "/templates",
    response_model=TemplateOut,
    status_code=201,
    responses={**ERRORS, **INVALID, **NOT_FOUND, 409: {"description": "overlaps another window"}},
)
def create_template(body: TemplateIn, ctx: Configurer) -> TemplateOut:
    """Add a weekly window for a provider at one of their locations."""
    return TemplateOut.of(service.create_template(ctx.db, **body.model_dump(exclude_none=True)))


@api.patch(
    "/templates/{calendar_template_id}",
    response_model=TemplateOut,
    responses={**ERRORS, **INVALID, **NOT_FOUND, 409: {"description": "overlaps another window"}},
)
def patch_template(calendar_template_id: int, body: TemplatePatch, ctx: Configurer) -> TemplateOut:
    """Change a window (set effective_to to end it)."""
    changes = body.model_dump(exclude_unset=True)
    return TemplateOut.of(service.update_template(ctx.db, calendar_template_id, changes))


@api.delete("/templates/{calendar_template_id}", status_code=204, responses={**ERRORS, **NOT_FOUND})
def delete_template(calendar_template_id: int, ctx: Configurer) -> Response:
    """Remove a window (booked visits are kept)."""
    service.delete_template(ctx.db, calendar_template_id)
    return Response(status_code=204)


@api.get("/exceptions", response_model=list[ExceptionOut], responses=ERRORS)
def list_exceptions(
    ctx: Reader, provider_id: int | None = None, location_id: int | None = None
) -> list[ExceptionOut]:
    """Time taken out of calendars (with provider_id: also the tenant-wide holidays)."""
    found = service.list_exceptions(ctx.db, provider_id=provider_id, location_id=location_id)
    return [ExceptionOut.of(e) for e in found]


@api.post(
    "/exceptions",
    response_model=ExceptionOut,
    status_code=201,
    responses={**ERRORS, **INVALID, **NOT_FOUND},
)
def create_exception(body: ExceptionIn, ctx: Configurer) -> ExceptionOut:
    """Vacation, half day (provider), closure (location), holiday (neither: the whole client)."""
    return ExceptionOut.of(service.create_exception(ctx.db, **body.model_dump()))


@api.delete("/exceptions/{calendar_exception_id}", status_code=204, responses={**ERRORS, **NOT_FOUND})
def delete_exception(calendar_exception_id: int, ctx: Configurer) -> Response:
    """Give the time back."""
    service.delete_exception(ctx.db, calendar_exception_id)
    return Response(status_code=204)


# --- open times ---------------------------------------------------------------------------------------


@api.get("/availability", response_model=AvailabilityOut, responses={**ERRORS, **INVALID, **NOT_FOUND})
def availability(
    ctx: Reader,
    type_id: int,
    provider_ids: Annotated[list[int] | None, Query(max_length=500)] = None,
    department_id: int | None = None,
    location_id: int | None = None,
    near_zip: Annotated[str | None, Query(max_length=10)] = None,
    radius_miles: Annotated[float | None, Query(gt=0, le=500)] = None,
    date_from: date | None = None,
    date_to: date | None = None,
    weekdays: Annotated[list[str] | None, Query(max_length=7)] = None,
    time_of_day: Annotated[str | None, Query(pattern="^(morning|afternoon|evening)$")] = None,
    after: Annotated[str | None, Query(max_length=5)] = None,
    before: Annotated[str | None, Query(max_length=5)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
    per_provider: Annotated[int | None, Query(ge=1, le=50)] = None,
    patient_id: int | None = None,
) -> AvailabilityOut:
    """Open times for a type, earliest first: for providers (`provider_ids` repeated), a department,
    a location or a ZIP + radius; local dates, weekdays (0 = Monday or names), time of day.
    `per_provider=1` gives each provider's next open time; `patient_id` leaves out providers whose
    rules would refuse that patient (audited)."""
    found = service.find_availability(
        ctx.db,
        type_id=type_id,
        provider_ids=provider_ids,
        department_id=department_id,
        location_id=location_id,
        near_zip=near_zip,
        radius_miles=radius_miles,
        date_from=date_from,
        date_to=date_to,
        weekdays=weekdays,
        time_of_day=time_of_day,
        after=after,
        before=before,
        limit=limit,
        per_provider=per_provider,
        patient_id=patient_id,
        actor=ctx.actor,
    )
    return AvailabilityOut.of(found)


# --- holds and bookings -------------------------------------------------------------------------------


@api.post(
    "/holds",
    response_model=AppointmentOut,
    status_code=201,
    responses={**ERRORS, **REFUSED, **NOT_FOUND, **CONFLICT},
)
def hold(body: HoldIn, ctx: Writer) -> AppointmentOut:
    """Hold an open time for a few minutes while the agent confirms with the patient (status pending)."""
    fields = body.model_dump(exclude={"minutes"})
    appt = service.book(ctx.db, actor=ctx.actor, hold_minutes=body.minutes, **fields)
    return AppointmentOut.of(ctx.db, appt)


@api.post(
    "/holds/{hold_id}/confirm",
    response_model=AppointmentOut,
    responses={**ERRORS, **REFUSED, **NOT_FOUND, **CONFLICT},
)
def confirm_hold(hold_id: int, body: ConfirmIn, ctx: Writer) -> AppointmentOut:
    """Book the held time (a lapsed hold is booked if nobody took the time; else 409)."""
    appt = service.confirm_hold(
        ctx.db, hold_id, actor=ctx.actor, has_referral=body.has_referral, note=body.note
    )
    return AppointmentOut.of(ctx.db, appt)


@api.post(
    "/holds/{hold_id}/release",
    response_model=AppointmentOut,
    responses={**ERRORS, **NOT_FOUND, 409: {"description": "the hold is no longer active"}},
)
def release_hold(hold_id: int, ctx: Writer) -> AppointmentOut:
    """Let the held time go now."""
    return AppointmentOut.of(ctx.db, service.release_hold(ctx.db, hold_id, actor=ctx.actor))


@api.post(
    "/appointments",
    response_model=AppointmentOut,
    status_code=201,
    responses={**ERRORS, **REFUSED, **NOT_FOUND, **CONFLICT},
)
def book(body: BookIn, ctx: Writer) -> AppointmentOut:
    """Book an open time for a patient. 409 with the nearest alternatives when the provider or the
    patient is already busy then; 422 with `violations` when a booking rule says no."""
    appt = service.book(ctx.db, actor=ctx.actor, **body.model_dump())
    return AppointmentOut.of(ctx.db, appt)


@api.get("/appointments", response_model=list[AppointmentOut], responses={**ERRORS, **INVALID})
def list_appointments(
    ctx: Reader,
    patient_id: int | None = None,
    provider_id: int | None = None,
    location_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    status: Annotated[list[str] | None, Query(max_length=7)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AppointmentOut]:
    """Appointments of a patient, provider or location, by start (UTC dates; audited)."""
    found = service.list_appointments(
        ctx.db,
        actor=ctx.actor,
        patient_id=patient_id,
        provider_id=provider_id,
        location_id=location_id,
        date_from=date_from,
        date_to=date_to,
        statuses=status,
        limit=limit,
    )
    return [AppointmentOut.of(ctx.db, a) for a in found]


@api.get(
    "/appointments/{appointment_id}.ics",
    response_class=Response,
    responses={**ERRORS, **NOT_FOUND, 200: {"content": {"text/calendar": {}}}},
)
def appointment_ics(appointment_id: int, ctx: Reader) -> Response:
    """The appointment as an iCalendar file (with its time zone)."""
    appt = service.get_appointment(ctx.db, appointment_id, actor=ctx.actor)
    return Response(
        service.appointment_ics(ctx.db, appt),
        media_type="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="appointment-{appt.id}.ics"'},
    )


@api.get("/appointments/{appointment_id}", response_model=AppointmentOut, responses={**ERRORS, **NOT_FOUND})
def read_appointment(appointment_id: int, ctx: Reader) -> AppointmentOut:
    """One appointment (audited)."""
    return AppointmentOut.of(ctx.db, service.get_appointment(ctx.db, appointment_id, actor=ctx.actor))


@api.get(
    "/appointments/{appointment_id}/history",
    response_model=list[HistoryOut],
    responses={**ERRORS, **NOT_FOUND},
)
def appointment_history(appointment_id: int, ctx: Reader) -> list[HistoryOut]:
    """Status changes of one appointment, oldest first (audited as a read)."""
    service.get_appointment(ctx.db, appointment_id, actor=ctx.actor)
    return [HistoryOut.of(h) for h in service.history(ctx.db, appointment_id)]


@api.post(
    "/appointments/{appointment_id}/reschedule",
    response_model=AppointmentOut,
    responses={**ERRORS, **REFUSED, **NOT_FOUND, **CONFLICT},
)
def reschedule(appointment_id: int, body: RescheduleIn, ctx: Writer) -> AppointmentOut:
    """Move a booking, atomically: the new time is taken in the same transaction that frees the old,
    so a 409 leaves the old booking untouched. Returns the new appointment."""
    appt = service.reschedule(ctx.db, appointment_id, actor=ctx.actor, **body.model_dump())
    return AppointmentOut.of(ctx.db, appt)


@api.post(
    "/appointments/{appointment_id}/cancel",
    response_model=AppointmentOut,
    responses={**ERRORS, **INVALID, **NOT_FOUND, 409: {"description": "not cancellable in its status"}},
)
def cancel(appointment_id: int, body: CancelIn, ctx: Writer) -> AppointmentOut:
    """Cancel with a reason code; the freed time is offered to the waitlist."""
    appt = service.cancel(ctx.db, appointment_id, actor=ctx.actor, reason=body.reason, note=body.note)
    return AppointmentOut.of(ctx.db, appt)


@api.post(
    "/appointments/{appointment_id}/status",
    response_model=AppointmentOut,
    responses={**ERRORS, **INVALID, **NOT_FOUND, 409: {"description": "not allowed from its status"}},
)
def set_status(appointment_id: int, body: StatusIn, ctx: Writer) -> AppointmentOut:
    """Check-in and outcome: arrived, fulfilled, noshow."""
    return AppointmentOut.of(ctx.db, service.set_status(ctx.db, appointment_id, body.status, actor=ctx.actor))


# --- waitlist -----------------------------------------------------------------------------------------


@api.post(
    "/waitlist", response_model=WaitlistOut, status_code=201, responses={**ERRORS, **INVALID, **NOT_FOUND}
)
def add_to_waitlist(body: WaitlistIn, ctx: Writer) -> WaitlistOut:
    """Ask for an earlier time: freed times that suit are offered (held) to the patient."""
    return WaitlistOut.of(service.add_to_waitlist(ctx.db, actor=ctx.actor, **body.model_dump()))


@api.get("/waitlist", response_model=list[WaitlistOut], responses={**ERRORS, **INVALID})
def list_waitlist(
    ctx: Reader,
    patient_id: int | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[WaitlistOut]:
    """Waitlist entries, oldest first (audited)."""
    found = service.list_waitlist(ctx.db, actor=ctx.actor, patient_id=patient_id, status=status, limit=limit)
    return [WaitlistOut.of(e) for e in found]


@api.get("/waitlist/{waitlist_entry_id}", response_model=WaitlistOut, responses={**ERRORS, **NOT_FOUND})
def read_waitlist_entry(waitlist_entry_id: int, ctx: Reader) -> WaitlistOut:
    """One waitlist entry."""
    entry = service.get_entry(ctx.db, waitlist_entry_id)
    ctx.audit(
        "waitlist.read",
        tenant_id=entry.tenant_id,
        object_type="waitlist_entry",
        object_id=entry.id,
        detail={"patient_id": entry.patient_id},
    )
    return WaitlistOut.of(entry)


@api.post(
    "/waitlist/{waitlist_entry_id}/accept",
    response_model=AppointmentOut,
    responses={**ERRORS, **NOT_FOUND, **CONFLICT},
)
def accept_offer(waitlist_entry_id: int, ctx: Writer) -> AppointmentOut:
    """The patient takes the offered time (their current booking, if named, is moved)."""
    return AppointmentOut.of(ctx.db, service.accept_offer(ctx.db, waitlist_entry_id, actor=ctx.actor))


@api.post(
    "/waitlist/{waitlist_entry_id}/decline",
    response_model=WaitlistOut,
    responses={**ERRORS, **NOT_FOUND, 409: {"description": "no open offer"}},
)
def decline_offer(waitlist_entry_id: int, ctx: Writer) -> WaitlistOut:
    """The patient says no to the offered time; the entry keeps waiting."""
    return WaitlistOut.of(service.decline_offer(ctx.db, waitlist_entry_id, actor=ctx.actor))


@api.post(
    "/waitlist/{waitlist_entry_id}/cancel",
    response_model=WaitlistOut,
    responses={**ERRORS, **NOT_FOUND, 409: {"description": "already closed"}},
)
def cancel_waitlist_entry(waitlist_entry_id: int, ctx: Writer) -> WaitlistOut:
    """Take the patient off the waitlist."""
    return WaitlistOut.of(service.cancel_entry(ctx.db, waitlist_entry_id, actor=ctx.actor))
