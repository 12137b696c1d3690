"""Quick ways for patient tests to register patients and read the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from careline.audit.models import AuditEvent
from careline.audit.service import Actor
from careline.db import Scope, transaction
from careline.patients import service

ACTOR = Actor("test")


def register(
    sessions: sessionmaker[Session],
    tenant_id: int,
    first: str = "John",
    last: str = "Smith",
    dob: str = "1961-03-04",
    phones: tuple[str, ...] | list[Any] = ("(312) 555-0142",),
    **fields: Any,
) -> int:
    """Register a patient (no duplicate check) and return its id."""
    with transaction(sessions) as s:
        patient = service.create_patient(
            s,
            tenant_id=tenant_id,
            actor=ACTOR,
            first_name=first,
            last_name=last,
            dob=dob,
            phones=list(phones),
            confirm_new=True,
            **fields,
        )
        return patient.id


def scoped(sessions: sessionmaker[Session], *tenant_ids: int):  # type: ignore[no-untyped-def]
    """A transaction that sees only these tenants, like a request of a user serving them."""
    return transaction(sessions, Scope(frozenset(tenant_ids)))


def audit(db: Session, action: str) -> list[AuditEvent]:
    """Audit rows with this action, oldest first."""
    db.rollback()  # a fresh read: the app committed in other sessions
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)))
