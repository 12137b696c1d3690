"""Directory objects for tests: quick builders, and the tenant-B factories the generated route tests use."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable

from sqlalchemy.orm import Session

from careline.directory import service
from careline.kit.npi import generate_npi
from tests.factories import World

_seq = itertools.count(1)
_rng = random.Random(20261127)


def npi() -> str:
    """A fresh valid NPI."""
    return generate_npi(_rng)


def location(db: Session, tenant_id: int, **extra: object):
    """A location in Lincoln Park, Chicago, open Mon-Fri 08:00-17:00."""
    fields = {
        "name": f"Clinic {next(_seq)}",
        "address_line1": "2400 N Lincoln Ave",
        "zip": "60614",
        "phone": "(312) 555-0110",
        "hours": "Mon-Fri 08:00-17:00",
        **extra,
    }
    return service.create_location(db, tenant_id=tenant_id, **fields)


def plan(db: Session, tenant_id: int, **extra: object):
    fields = {"name": f"Plan {next(_seq)}", "payer": "Acme Health", "plan_type": "PPO", **extra}
    return service.create_plan(db, tenant_id=tenant_id, **fields)


def provider(db: Session, tenant_id: int, **extra: object):
    fields = {
        "npi": npi(),
        "first_name": "Pat",
        "last_name": f"Doctor{next(_seq)}",
        "credentials": "MD",
        "specialties": ["207Q00000X"],
        "languages": ["en"],
        **extra,
    }
    return service.create_provider(db, tenant_id=tenant_id, **fields)


def department(db: Session, tenant_id: int, **extra: object):
    fields = {
        "name": f"Billing {next(_seq)}",
        "kind": "billing",
        "phone": "3125550150",
        "intents": ["billing"],
        **extra,
    }
    return service.create_department(db, tenant_id=tenant_id, **fields)


def resource(db: Session, tenant_id: int, **extra: object):
    fields = {
        "name": f"Helpline {next(_seq)}",
        "kind": "community",
        "phone": "211",
        "keywords": ["food"],
        **extra,
    }
    return service.create_resource(db, tenant_id=tenant_id, **fields)


def _b(make: Callable[..., object]) -> Callable[[World, Session], int]:
    def factory(world: World, db: Session) -> int:
        return make(db, world.tenant_b.id).id  # type: ignore[attr-defined]

    return factory


def _closure(world: World, db: Session) -> int:
    loc = location(db, world.tenant_b.id)
    return service.add_closure(db, loc.id, day="2026-12-25", reason="Christmas Day").id


OTHER_TENANT_OBJECT: dict[str, Callable[[World, Session], int]] = {
    "location_id": _b(location),
    "provider_id": _b(provider),
    "plan_id": _b(plan),
    "department_id": _b(department),
    "resource_id": _b(resource),
    "closure_id": _closure,
}

SAMPLE_BODIES: dict[tuple[str, str], dict] = {
    ("PATCH", "/api/v1/locations/{location_id}"): {"active": False},
    ("PATCH", "/api/v1/providers/{provider_id}"): {"active": False},
    ("PATCH", "/api/v1/plans/{plan_id}"): {"active": False},
    ("PATCH", "/api/v1/departments/{department_id}"): {"active": False},
    ("PATCH", "/api/v1/resources/{resource_id}"): {"active": False},
}
