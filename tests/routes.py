"""What the generated route tests know: each route's permission, and how to make another tenant's object."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from careline.accounts import service as accounts
from careline.accounts.models import User
from tests.factories import World


@dataclass(frozen=True)
class FormBody:
    """A sample body sent as an HTML form instead of JSON (page routes)."""

    fields: dict


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str
    permission: object  # a Permission, or "public"
    params: tuple[str, ...]


def _permissions(dependant) -> list:
    found = []
    for dep in dependant.dependencies:
        marker = getattr(dep.call, "permission", None)
        if marker is not None:
            found.append(marker)
        found.extend(_permissions(dep))
    return found


def declared_permissions(route: APIRoute) -> list:
    """The permission markers a route declares through require()/public()."""
    return _permissions(route.dependant)


def all_routes(app: FastAPI) -> list[RouteInfo]:
    """Every API and page route with its single declared permission."""
    out = []
    # The app factory keeps its routers: recent FastAPI no longer flattens included routes into app.routes.
    for route in (rt for router in app.state.routers for rt in router.routes):
        if not isinstance(route, APIRoute):
            continue
        perms = declared_permissions(route)
        params = tuple(re.findall(r"{(\w+)}", route.path))
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            out.append(RouteInfo(method, route.path, perms[0] if len(perms) == 1 else perms, params))
    return out


# Path parameters naming objects that belong to nobody's tenant (administered globally).
GLOBAL_PARAMS = {"user_id"}


def _other_tenant(world: World, db: Session) -> int:
    return world.tenant_b.id


def _other_users_token(world: World, db: Session) -> int:
    token, _ = accounts.create_token(db, db.get(User, world.agent_b.id), "b's token")
    return token.id


def _other_tenants_patient(world: World, db: Session) -> int:
    from careline.audit.service import Actor
    from careline.patients.service import create_patient

    patient = create_patient(
        db,
        tenant_id=world.tenant_b.id,
        actor=Actor("test"),
        first_name="Bea",
        last_name="Other",
        dob="1970-01-01",
        confirm_new=True,
    )
    return patient.id


def _other_tenants_contact(world: World, db: Session) -> int:
    from careline.contacts.models import Contact

    contact = Contact(tenant_id=world.tenant_b.id)
    db.add(contact)
    db.flush()
    return contact.id


def _other_tenants_reason(world: World, db: Session) -> int:
    from careline.contacts.intents import Intent
    from careline.contacts.models import ContactReason

    reason = ContactReason(
        tenant_id=world.tenant_b.id, contact_id=_other_tenants_contact(world, db), intent=Intent.BILLING
    )
    db.add(reason)
    db.flush()
    return reason.id


def _other_tenants_escalation(world: World, db: Session) -> int:
    from careline.escalations.models import Escalation, Urgency
    from careline.triage.model import Disposition

    esc = Escalation(
        tenant_id=world.tenant_b.id,
        contact_id=_other_tenants_contact(world, db),
        urgency=Urgency.EMERGENCY,
        suggested_disposition=Disposition.EMERGENCY,
    )
    db.add(esc)
    db.flush()
    return esc.id


# For every path parameter: how to make an object that tenant A's users must not see.
# A route with a parameter missing here fails test_every_id_parameter_has_a_factory.
OTHER_TENANT_OBJECT: dict[str, Callable[[World, Session], int | str]] = {
    "tenant_id": _other_tenant,
    "token_id": _other_users_token,
    "patient_id": _other_tenants_patient,
    "contact_id": _other_tenants_contact,
    "reason_id": _other_tenants_reason,
    "escalation_id": _other_tenants_escalation,
}

# Minimal valid bodies for routes that take one, so the 404 comes from the scope, not from validation.
SAMPLE_BODIES: dict[tuple[str, str], dict | FormBody] = {
    ("PATCH", "/api/v1/users/{user_id}"): {"active": True},
    ("PATCH", "/api/v1/patients/{patient_id}"): {"preferred_name": "Bee"},
    ("POST", "/api/v1/contacts/{contact_id}/identify"): {"new_patient": True},
    ("POST", "/api/v1/contacts/{contact_id}/screen"): {"text": "billing question"},
    ("POST", "/api/v1/contacts/{contact_id}/reasons"): {"intent": "billing"},
    ("POST", "/api/v1/contacts/{contact_id}/reasons/{reason_id}/outcome"): {"outcome": "information_given"},
    ("POST", "/api/v1/contacts/{contact_id}/notes"): {"note": "hello"},
    ("POST", "/api/v1/contacts/{contact_id}/transfer"): {"target": "billing"},
    ("POST", "/api/v1/contacts/{contact_id}/disposition"): {"disposition": "routine", "reason": "x"},
    ("POST", "/api/v1/contacts/{contact_id}/wrap-up"): {},
    ("POST", "/console/contacts/{contact_id}/preview"): FormBody({"text": "hello"}),
    ("POST", "/console/contacts/{contact_id}/notes"): FormBody({"text": "billing question"}),
    ("POST", "/console/contacts/{contact_id}/reasons"): FormBody({"intent": "billing"}),
    ("POST", "/console/contacts/{contact_id}/reasons/{reason_id}/outcome"): FormBody(
        {"outcome": "transferred"}
    ),
    ("POST", "/console/contacts/{contact_id}/lookup"): FormBody({"name": "Smith"}),
    ("POST", "/console/contacts/{contact_id}/identify"): FormBody({"new_patient": "true"}),
    ("POST", "/console/contacts/{contact_id}/wrap-up"): FormBody({}),
    ("POST", "/api/v1/escalations/{escalation_id}/answers"): {"question_id": "x", "yes": True},
    ("POST", "/api/v1/escalations/{escalation_id}/resolve"): {"disposition": "emergency"},
    ("POST", "/api/v1/escalations/{escalation_id}/cancel"): {"reason": "test"},
    ("POST", "/nurse/escalations/{escalation_id}/answer"): FormBody({"question_id": "x", "yes": "true"}),
    ("POST", "/nurse/escalations/{escalation_id}/resolve"): FormBody({"disposition": "emergency"}),
    ("POST", "/console/contacts/{contact_id}/steps/record"): FormBody(
        {"reason_id": 1, "outcome": "transferred"}
    ),
    ("POST", "/console/contacts/{contact_id}/schedule/search"): FormBody({"type_id": 1}),
    ("POST", "/console/contacts/{contact_id}/register"): FormBody(
        {"first_name": "Ann", "last_name": "Other", "dob": "1/2/1980"}
    ),
    ("POST", "/console/contacts/{contact_id}/appointments/{appointment_id}/cancel"): FormBody(
        {"reason": "patient_request"}
    ),
    ("POST", "/console/contacts/{contact_id}/appointments/{appointment_id}/reschedule"): FormBody(
        {"provider_id": 1, "location_id": 1, "type_id": 1, "start_at": "2026-12-08T15:00:00+00:00"}
    ),
    ("POST", "/console/contacts/{contact_id}/waitlist"): FormBody({"type_id": 1}),
    ("POST", "/console/contacts/{contact_id}/transfer"): FormBody({"target": "Dr. Patel"}),
    ("POST", "/console/contacts/{contact_id}/route-outside"): FormBody({"resource_id": 1}),
    ("POST", "/console/contacts/{contact_id}/schedule/book"): FormBody(
        {"provider_id": 1, "location_id": 1, "type_id": 1, "start_at": "2026-12-08T15:00:00+00:00"}
    ),
}


def register_factory(param: str, factory: Callable[[World, Session], int | str]) -> None:
    """Domains' test packages add their id parameters here."""
    OTHER_TENANT_OBJECT[param] = factory


# The directory's ids (made in tenant B by tests/directory/factories.py).
from tests.directory import factories as _directory  # noqa: E402

OTHER_TENANT_OBJECT.update(_directory.OTHER_TENANT_OBJECT)
SAMPLE_BODIES.update(_directory.SAMPLE_BODIES)

# Surveys and reports (tests/surveys/factories.py). A survey link's {token} is the caller's key, not a
# tenant object (tests/surveys/test_links.py checks signature, expiry and single use); a report's
# {table} names a kind of table, not an object.
from tests.surveys import factories as _surveys  # noqa: E402

GLOBAL_PARAMS.update({"token", "table"})
OTHER_TENANT_OBJECT.update(_surveys.OTHER_TENANT_OBJECT)
SAMPLE_BODIES.update(_surveys.SAMPLE_BODIES)

# Scheduling (tests/scheduling/factories.py).
from tests.scheduling import factories as _scheduling  # noqa: E402

OTHER_TENANT_OBJECT.update(_scheduling.OTHER_TENANT_OBJECT)
SAMPLE_BODIES.update(_scheduling.SAMPLE_BODIES)

# Queues and callbacks (tests/queues/factories.py).
from tests.queues import factories as _queues  # noqa: E402

OTHER_TENANT_OBJECT.update(_queues.OTHER_TENANT_OBJECT)
SAMPLE_BODIES.update(_queues.SAMPLE_BODIES)

# Matching: its only id is {tenant_id} (the settings routes); the PATCH needs a body.
SAMPLE_BODIES[("PATCH", "/api/v1/match/settings/{tenant_id}")] = {"weights": {}}
