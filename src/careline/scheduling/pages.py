"""Browser routes: the agents' scheduling page (find a time, book it for a patient), the appointment
card, and the admins' calendar configuration. The partials (`scheduling/_next_available.html`,
`_book_form.html`, `_appointment_card.html`) are what the agent console embeds."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from careline.accounts.permissions import Permission
from careline.directory.models import Department, Location, Provider, ProviderSpecialty
from careline.directory.reference import specialty_name
from careline.directory.service_providers import named
from careline.errors import CareLineError, Conflict, ValidationFailed
from careline.kit.clock import utcnow
from careline.scheduling import config, rules, service
from careline.scheduling.models import (
    Appointment,
    AppointmentStatus,
    AvailabilityTemplate,
    CancelReason,
    ExceptionKind,
    Modality,
    PatientKind,
)
from careline.tenants.models import Tenant
from careline.tenants.service import list_tenants
from careline.web.context import RequestContext, require
from careline.web.routing import router
from careline.web.templating import render

pages = router(include_in_schema=False)

Reader = Annotated[RequestContext, Depends(require(Permission.SCHEDULE_READ))]
Writer = Annotated[RequestContext, Depends(require(Permission.SCHEDULE_WRITE))]
Configurer = Annotated[RequestContext, Depends(require(Permission.SCHEDULE_CONFIGURE))]
PatientReader = Annotated[RequestContext, Depends(require(Permission.PATIENT_READ))]

CANCEL_REASONS = [r for r in CancelReason if r not in (CancelReason.HOLD_EXPIRED, CancelReason.HOLD_RELEASED)]
MAX_PICK = 300  # providers offered in the page's picker


def _is_htmx(request: Request) -> bool:
    return bool(request.headers.get("hx-request"))


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _ints(values: list[str]) -> list[int]:
    return [i for i in (_int(v) for v in values) if i is not None]


@dataclass(frozen=True)
class Group:
    """One client's entries in a picker (its `<optgroup>` when the user serves several clients)."""

    tenant: Tenant
    items: list[Any]
    total: int = 0  # providers only: how many match in all (more than listed when the list is cut)


def _by_tenant(tenants: list[Tenant], items: list[Any]) -> list[Group]:
    """Items grouped by their client, clients by name; clients with none are left out."""
    held: dict[int, list[Any]] = {}
    for item in items:
        held.setdefault(item.tenant_id, []).append(item)
    return [Group(t, held[t.id]) for t in tenants if t.id in held]


def provider_groups(
    db: Session, tenants: list[Tenant], *, with_calendar: bool, active_only: bool, name: str = ""
) -> list[Group]:
    """Each client's providers for a picker, by name, at most MAX_PICK a client (`total` says how many
    match; `name` as the directory's search takes it), each with its primary specialty: two
    "Dr. Adams" are told apart by first name, credentials, specialty and client."""
    order = (Provider.last_name, Provider.first_name, Provider.id)
    matching = select(
        Provider.id,
        func.row_number().over(partition_by=Provider.tenant_id, order_by=order).label("rank"),
        func.count().over(partition_by=Provider.tenant_id).label("total"),
    )
    if active_only:
        matching = matching.where(Provider.active.is_(True))
    if with_calendar:
        matching = matching.where(exists().where(AvailabilityTemplate.provider_id == Provider.id))
    ranked = named(matching, name).subquery()
    rows = db.execute(
        select(Provider, ranked.c.total)
        .join(ranked, ranked.c.id == Provider.id)
        .where(ranked.c.rank <= MAX_PICK)
        .order_by(*order)
    ).all()
    ids = [p.id for p, _ in rows]
    primary = (
        dict(
            db.execute(
                select(ProviderSpecialty.provider_id, ProviderSpecialty.taxonomy_code).where(
                    ProviderSpecialty.provider_id.in_(ids), ProviderSpecialty.is_primary.is_(True)
                )
            ).all()
        )
        if ids
        else {}
    )
    totals = {p.tenant_id: int(total) for p, total in rows}
    entries = [_ProviderEntry(p, specialty_name(primary[p.id]) if p.id in primary else "") for p, _ in rows]
    return [replace(g, total=totals[g.tenant.id]) for g in _by_tenant(tenants, entries)]


@dataclass(frozen=True)
class _ProviderEntry:
    provider: Provider
    specialty: str

    @property
    def tenant_id(self) -> int:
        return self.provider.tenant_id

    @property
    def id(self) -> int:
        return self.provider.id

    @property
    def label(self) -> str:
        """'Robert Adams, MD · family medicine'."""
        return self.provider.display_name + (f" · {self.specialty}" if self.specialty else "")


def _choices(ctx: RequestContext) -> dict[str, Any]:
    """Types, providers with calendars, locations and departments of the user's clients, by client."""
    db = ctx.db
    tenants = list_tenants(db, ctx.tenant_ids)
    locations = list(db.scalars(select(Location).where(Location.active.is_(True)).order_by(Location.name)))
    departments = list(
        db.scalars(
            select(Department)
            .where(Department.location_id.is_not(None), Department.active.is_(True))
            .order_by(Department.name)
        )
    )
    return {
        "type_groups": _by_tenant(tenants, service.list_types(db)),
        "provider_groups": provider_groups(db, tenants, with_calendar=True, active_only=True),
        "location_groups": _by_tenant(tenants, locations),
        "department_groups": _by_tenant(tenants, departments),
        "weekday_names": rules.WEEKDAY_NAMES,
    }


# --- finding a time -----------------------------------------------------------------------------------


@pages.get("/scheduling")
def search_page(request: Request, ctx: Reader) -> Response:
    """Pick providers, type and dates; the next open times appear below (HTMX)."""
    context = {
        "user": ctx.user,
        **_choices(ctx),
        "query": dict(request.query_params),
        "today": utcnow().date(),
    }
    context["reschedule_id"] = _int(request.query_params.get("reschedule_id"))
    context["can_configure"] = ctx.can(Permission.SCHEDULE_CONFIGURE)
    return render(request, "scheduling/search.html", context)


def _query_availability(ctx: RequestContext, q: Any) -> tuple[Any, dict[str, Any]]:
    provider_ids = _ints(q.getlist("provider_ids"))
    type_id = _int(q.get("type_id"))
    if type_id is None:
        raise ValidationFailed("choose an appointment type", field="type_id")
    found = service.find_availability(
        ctx.db,
        type_id=type_id,
        provider_ids=provider_ids or None,
        department_id=_int(q.get("department_id")),
        location_id=_int(q.get("location_id")),
        near_zip=q.get("near_zip") or None,
        radius_miles=float(q.get("radius_miles")) if q.get("radius_miles") else None,
        date_from=q.get("date_from") or None,
        date_to=q.get("date_to") or None,
        weekdays=q.getlist("weekdays"),
        time_of_day=q.get("time_of_day") or None,
        limit=_int(q.get("limit")) or 20,
        per_provider=_int(q.get("per_provider")),
        patient_id=_int(q.get("patient_id")),
        actor=ctx.actor,
    )
    return found, {"type_id": type_id, "patient_id": _int(q.get("patient_id"))}


@pages.get("/scheduling/availability")
def availability_partial(request: Request, ctx: Reader) -> Response:
    """The next-available list (a partial the console embeds; a full page without HTMX)."""
    context: dict[str, Any] = {
        "user": ctx.user,
        "reschedule_id": _int(request.query_params.get("reschedule_id")),
    }
    status = 200
    try:
        found, extra = _query_availability(ctx, request.query_params)
        context.update(slots=found.slots, excluded=found.excluded, searched=True, **extra)
        context["provider_names"] = _provider_names(ctx, found.excluded)
    except CareLineError as exc:
        context.update(error=exc, slots=[], excluded={}, searched=True)
        status = exc.status_code if not _is_htmx(request) else 200
    if _is_htmx(request):
        return render(request, "scheduling/_next_available.html", context)
    context.update(_choices(ctx), query=dict(request.query_params), today=utcnow().date())
    return render(request, "scheduling/search.html", context, status_code=status)


def _provider_names(ctx: RequestContext, excluded: dict[int, str]) -> dict[int, str]:
    if not excluded:
        return {}
    rows = ctx.db.scalars(select(Provider).where(Provider.id.in_(list(excluded))))
    return {p.id: rules.provider_label(p.first_name, p.last_name, p.credentials) for p in rows}


# --- booking ------------------------------------------------------------------------------------------


def _slot_context(ctx: RequestContext, q: Any) -> dict[str, Any]:
    from careline.scheduling.common import instant, load_location, load_provider, load_type

    provider = load_provider(ctx.db, q.get("provider_id"))
    location = load_location(ctx.db, q.get("location_id"))
    kind = load_type(ctx.db, q.get("type_id"))
    start = instant(q.get("start_at"), "start_at")
    return {
        "provider": provider,
        "provider_name": rules.provider_label(provider.first_name, provider.last_name, provider.credentials),
        "location": location,
        "kind": kind,
        "start_at": start,
        "start_local": start.astimezone(rules.get_zone(location.timezone)),
    }


@pages.get("/scheduling/book-form")
def book_form(request: Request, ctx: Writer) -> Response:
    """The book form for one open time: find the patient, then hold or book."""
    q = request.query_params
    context = {"user": ctx.user, **_slot_context(ctx, q), "patient_id": _int(q.get("patient_id"))}
    context["reschedule_id"] = _int(q.get("reschedule_id"))
    template = "scheduling/_book_form.html" if _is_htmx(request) else "scheduling/book.html"
    return render(request, template, context)


@pages.post("/scheduling/patient-lookup")
async def patient_lookup(request: Request, ctx: PatientReader) -> Response:
    """Patients matching a phone or a name + DOB, as choices for the book form (audited lookup)."""
    from careline.patients.service import search_patients

    form = await request.form()
    context: dict[str, Any] = {"user": ctx.user, "today": utcnow().date()}
    try:
        context["candidates"] = search_patients(
            ctx.db,
            actor=ctx.actor,
            phone=str(form.get("phone") or "") or None,
            name=str(form.get("name") or "") or None,
            dob=str(form.get("dob") or "") or None,
            tenant_ids=[_int(form.get("tenant_id"))] if _int(form.get("tenant_id")) else None,
            limit=8,
        )
    except CareLineError as exc:
        context["error"] = exc
    return render(request, "scheduling/_patient_choices.html", context)


def _card(request: Request, ctx: RequestContext, appt: Appointment, **extra: Any) -> Response:
    from careline.scheduling.notify import details

    d = details(ctx.db, appt)
    context = {
        "user": ctx.user,
        "a": appt,
        "d": d,
        "start_local": appt.start_at.astimezone(rules.get_zone(d.location.timezone)),
        "cancel_reasons": CANCEL_REASONS,
        "can_write": ctx.can(Permission.SCHEDULE_WRITE),
        **extra,
    }
    template = "scheduling/_appointment_card.html" if _is_htmx(request) else "scheduling/appointment.html"
    return render(request, template, context)


def _conflict(request: Request, ctx: RequestContext, exc: Conflict, form: FormData) -> Response:
    context = {
        "user": ctx.user,
        "error": exc,
        "alternatives": exc.extra.get("alternatives", []),
        "patient_id": _int(form.get("patient_id")),
        "reschedule_id": _int(form.get("reschedule_id")),
    }
    return render(
        request, "scheduling/_conflict.html", context, status_code=200 if _is_htmx(request) else 409
    )


@pages.post("/scheduling/book")
async def book(request: Request, ctx: Writer) -> Response:
    """Book (or hold) the chosen time for the chosen patient; the card, or the alternatives on a 409."""
    form = await request.form()
    try:
        fields = dict(
            provider_id=_int(form.get("provider_id")),
            location_id=_int(form.get("location_id")),
            type_id=_int(form.get("type_id")),
            patient_id=_int(form.get("patient_id")),
            start_at=str(form.get("start_at") or ""),
            has_referral=form.get("has_referral") in ("on", "true", "1"),
            note=str(form.get("note") or "") or None,
            contact_id=_int(form.get("contact_id")),
        )
        if fields["patient_id"] is None:
            raise ValidationFailed("choose the patient first", field="patient_id")
        hold = form.get("action") == "hold"
        appt = service.book(ctx.db, actor=ctx.actor, hold_minutes=5 if hold else None, **fields)  # type: ignore[arg-type]
    except Conflict as exc:
        ctx.db.rollback()
        return _conflict(request, ctx, exc, form)
    return _card(request, ctx, appt, just="held" if appt.status == AppointmentStatus.PENDING else "booked")


@pages.get("/scheduling/appointments/{appointment_id}")
def appointment_page(request: Request, appointment_id: int, ctx: Reader) -> Response:
    """An appointment's card: when, where, status, and what the agent can do with it."""
    appt = service.get_appointment(ctx.db, appointment_id, actor=ctx.actor)
    return _card(request, ctx, appt, history=service.history(ctx.db, appt.id))


@pages.post("/scheduling/appointments/{appointment_id}/confirm")
async def confirm(request: Request, appointment_id: int, ctx: Writer) -> Response:
    """Book a held time."""
    form = await request.form()
    try:
        appt = service.confirm_hold(ctx.db, appointment_id, actor=ctx.actor)
    except Conflict as exc:
        if "alternatives" not in exc.extra:
            raise
        ctx.db.rollback()
        return _conflict(request, ctx, exc, form)
    return _card(request, ctx, appt, just="booked")


@pages.post("/scheduling/appointments/{appointment_id}/release")
def release(request: Request, appointment_id: int, ctx: Writer) -> Response:
    """Let a held time go."""
    return _card(request, ctx, service.release_hold(ctx.db, appointment_id, actor=ctx.actor), just="released")


@pages.post("/scheduling/appointments/{appointment_id}/cancel")
async def cancel(request: Request, appointment_id: int, ctx: Writer) -> Response:
    """Cancel with a reason."""
    form = await request.form()
    appt = service.cancel(
        ctx.db,
        appointment_id,
        actor=ctx.actor,
        reason=str(form.get("reason") or "patient_request"),
        note=str(form.get("note") or "") or None,
    )
    return _card(request, ctx, appt, just="cancelled")


@pages.post("/scheduling/appointments/{appointment_id}/reschedule")
async def reschedule(request: Request, appointment_id: int, ctx: Writer) -> Response:
    """Move a booking to the chosen open time (atomic; a 409 leaves it where it was)."""
    form = await request.form()
    try:
        appt = service.reschedule(
            ctx.db,
            appointment_id,
            actor=ctx.actor,
            start_at=str(form.get("start_at") or ""),
            provider_id=_int(form.get("provider_id")),
            location_id=_int(form.get("location_id")),
            type_id=_int(form.get("type_id")),
        )
    except Conflict as exc:
        if "alternatives" not in exc.extra:
            raise
        ctx.db.rollback()
        return _conflict(request, ctx, exc, form)
    return _card(request, ctx, appt, just="rescheduled")


# --- configuration ------------------------------------------------------------------------------------


@pages.get("/scheduling/config")
def config_page(request: Request, ctx: Configurer) -> Response:
    """Appointment types and the providers whose calendars can be edited (`?name=` narrows them)."""
    name = (request.query_params.get("name") or "").strip()[:100]
    tenants = list_tenants(ctx.db, ctx.tenant_ids)
    context = {
        "user": ctx.user,
        "tenants": tenants,
        "all_types": service.list_types(ctx.db, include_inactive=True),
        "patient_kinds": list(PatientKind),
        "modalities": list(Modality),
        "provider_groups": provider_groups(
            ctx.db, tenants, with_calendar=False, active_only=False, name=name
        ),
        "provider_name": name,
    }
    return render(request, "scheduling/config.html", context)


@pages.post("/scheduling/config/types")
async def create_type(request: Request, ctx: Configurer) -> Response:
    """Add an appointment type from the form."""
    form = await request.form()
    service.create_type(
        ctx.db,
        tenant_id=_int(form.get("tenant_id")),  # type: ignore[arg-type]
        name=form.get("name"),
        duration_minutes=form.get("duration_minutes"),
        patient_kind=form.get("patient_kind") or "any",
        modality=form.get("modality") or "in_person",
        preparation=form.get("preparation") or "",
        min_notice_minutes=form.get("min_notice_minutes") or 0,
        max_days_ahead=form.get("max_days_ahead") or 90,
        min_age=form.get("min_age") or None,
        max_age=form.get("max_age") or None,
        referral_required=form.get("referral_required") in ("on", "true", "1"),
    )
    return RedirectResponse("/scheduling/config", status_code=303)


def _calendar_context(ctx: RequestContext, provider_id: int | None) -> dict[str, Any]:
    from careline.scheduling.common import load_provider

    provider = load_provider(ctx.db, provider_id)
    location_ids = config.provider_location_ids(ctx.db, provider.id)
    locations = {loc.id: loc for loc in ctx.db.scalars(select(Location).where(Location.id.in_(location_ids)))}
    return {
        "user": ctx.user,
        "provider": provider,
        "provider_name": rules.provider_label(provider.first_name, provider.last_name, provider.credentials),
        "templates": service.list_templates(ctx.db, provider_id=provider.id),
        "exceptions": service.list_exceptions(
            ctx.db, provider_id=provider.id, starts_after=utcnow() - timedelta(days=1)
        ),
        "locations": locations,
        "types": {t.id: t for t in service.list_types(ctx.db, tenant_ids=[provider.tenant_id])},
        "weekday_names": rules.WEEKDAY_NAMES,
        "exception_kinds": list(ExceptionKind),
        "today": utcnow().date(),
    }


@pages.get("/scheduling/config/calendar")
def calendar_page(request: Request, ctx: Configurer) -> Response:
    """One provider's weekly windows and exceptions, with forms to add and remove them."""
    provider_id = _int(request.query_params.get("provider_id"))
    return render(request, "scheduling/calendar.html", _calendar_context(ctx, provider_id))


@pages.post("/scheduling/config/templates")
async def add_template(request: Request, ctx: Configurer) -> Response:
    """Add a weekly window (one per ticked weekday)."""
    form = await request.form()
    provider_id = _int(form.get("provider_id"))
    for weekday in form.getlist("weekday") or [""]:
        service.create_template(
            ctx.db,
            provider_id=provider_id,
            location_id=_int(form.get("location_id")),
            weekday=weekday,
            start_local=form.get("start_local"),
            end_local=form.get("end_local"),
            slot_minutes=form.get("slot_minutes") or 15,
            effective_from=form.get("effective_from") or utcnow().date(),
            effective_to=form.get("effective_to") or None,
            reserved_type_id=_int(form.get("reserved_type_id")),
            release_at_local=form.get("release_at_local") or None,
            release_days_before=form.get("release_days_before") or 0,
        )
    return RedirectResponse(f"/scheduling/config/calendar?provider_id={provider_id}", status_code=303)


@pages.post("/scheduling/config/templates/{calendar_template_id}/delete")
def remove_template(calendar_template_id: int, ctx: Configurer) -> Response:
    """Remove a weekly window."""
    from careline.db import get_scoped

    provider_id = get_scoped(ctx.db, AvailabilityTemplate, calendar_template_id, what="template").provider_id
    service.delete_template(ctx.db, calendar_template_id)
    return RedirectResponse(f"/scheduling/config/calendar?provider_id={provider_id}", status_code=303)


@pages.post("/scheduling/config/exceptions")
async def add_exception(request: Request, ctx: Configurer) -> Response:
    """Take days (or hours) out of a provider's calendar, in the location's (or tenant's) local time."""
    from careline.scheduling.common import day, load_location, load_provider

    form = await request.form()
    provider = load_provider(ctx.db, form.get("provider_id"))
    location_id = _int(form.get("location_id"))
    tz = load_location(ctx.db, location_id).timezone if location_id else _tenant_tz(ctx, provider.tenant_id)
    first = day(form.get("first_day"), "first_day")
    last = day(form.get("last_day"), "last_day", optional=True) or first
    assert first is not None
    start, end = config.local_day_span(first, last, tz)
    if form.get("from_time") or form.get("to_time"):
        from careline.kit.timeutil import local_to_utc

        def at(d: date, text: str) -> datetime:
            minutes = rules.parse_hhmm(text)
            return local_to_utc(datetime.combine(d, datetime.min.time()) + timedelta(minutes=minutes), tz)

        start = at(first, str(form.get("from_time") or "00:00"))
        end = at(last, str(form.get("to_time") or "24:00"))
    service.create_exception(
        ctx.db,
        provider_id=provider.id,
        location_id=location_id if form.get("scope") == "location" else None,
        starts_at=start,
        ends_at=end,
        kind=form.get("kind") or "other",
        reason=str(form.get("reason") or ""),
    )
    return RedirectResponse(f"/scheduling/config/calendar?provider_id={provider.id}", status_code=303)


def _tenant_tz(ctx: RequestContext, tenant_id: int) -> str:
    from careline.tenants.models import Tenant

    tenant = ctx.db.get(Tenant, tenant_id)
    return tenant.timezone if tenant else "America/Chicago"


@pages.post("/scheduling/config/exceptions/{calendar_exception_id}/delete")
def remove_exception(calendar_exception_id: int, ctx: Configurer) -> Response:
    """Give the time back."""
    row = service.get_exception(ctx.db, calendar_exception_id)
    target = (
        f"/scheduling/config/calendar?provider_id={row.provider_id}"
        if row.provider_id
        else "/scheduling/config"
    )
    service.delete_exception(ctx.db, calendar_exception_id)
    return RedirectResponse(target, status_code=303)
