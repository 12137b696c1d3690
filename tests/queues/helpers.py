"""Builders for queue tests: queues, agents with skills and presence, waiting contacts."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from careline.accounts.models import User
from careline.audit.service import Actor
from careline.contacts import service as contacts
from careline.contacts.models import ContactStatus
from careline.queues import service
from careline.queues.models import PresenceState
from tests.factories import make_user

_seq = itertools.count(1)
SYSTEM = contacts.By(user_id=None, actor=Actor("test"))


def by(user: User | int) -> contacts.By:
    """Acting as this user."""
    user_id = user if isinstance(user, int) else user.id
    return contacts.By(user_id=user_id, actor=Actor(f"user {user_id}", user_id=user_id))


def queue(db: Session, tenant_id: int, skill: str = "scheduling", **extra: object):
    """A queue with this skill."""
    return service.create_queue(
        db, tenant_id=tenant_id, name=extra.pop("name", f"Q {skill} {next(_seq)}"), skill=skill, **extra
    )


def agent(
    db: Session,
    skills: list[str],
    *,
    tenants: tuple[str, ...] = ("tenant-a",),
    role: str = "agent",
    available: bool = True,
) -> User:
    """A new agent with these skills, available unless told otherwise."""
    user = make_user(db, f"agent{next(_seq)}@test.example", role, list(tenants))
    service.set_skills(db, user.id, skills)
    if available:
        service.set_presence(db, user.id, PresenceState.AVAILABLE)
    return user


def waiting(
    db: Session,
    tenant_id: int,
    queue_id: int | None = None,
    *,
    red_flag: bool = False,
    number: str | None = None,
    route: bool = True,
):
    """An inbound contact waiting in a queue."""
    contact = contacts.start_contact(
        db, SYSTEM, tenant_id=tenant_id, status=ContactStatus.QUEUED, caller_number=number
    )
    contact.red_flag = red_flag
    service.enqueue(db, contact, SYSTEM, queue_id=queue_id, route=route)
    return contact
