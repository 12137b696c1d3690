"""The queues' tenant-B objects and sample bodies for the generated route tests (tests/routes.py)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from sqlalchemy.orm import Session

from careline.queues import service
from careline.queues.models import Callback
from tests.factories import World

_seq = itertools.count(1)


def _queue(world: World, db: Session) -> int:
    return service.create_queue(
        db, tenant_id=world.tenant_b.id, name=f"B scheduling {next(_seq)}", skill="scheduling"
    ).id


def _callback(world: World, db: Session) -> int:
    from careline.kit.clock import utcnow

    callback = Callback(tenant_id=world.tenant_b.id, number="+13125550199", due_at=utcnow())
    db.add(callback)
    db.flush()
    return callback.id


OTHER_TENANT_OBJECT: dict[str, Callable[[World, Session], int]] = {
    "queue_id": _queue,
    "callback_id": _callback,
}

SAMPLE_BODIES: dict[tuple[str, str], dict] = {
    ("PATCH", "/api/v1/queues/{queue_id}"): {"priority": 1},
    ("POST", "/api/v1/contacts/{contact_id}/enqueue"): {},
    ("POST", "/api/v1/callbacks/{callback_id}/complete"): {"reached": True},
}
