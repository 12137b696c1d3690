"""The fixed cast of tests and quick ways to sign them in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from careline.accounts import service as accounts
from careline.accounts.models import User
from careline.db import transaction
from careline.tenants.models import Tenant
from careline.tenants.service import create_tenant
from careline.web.context import CSRF_COOKIE, SESSION_COOKIE, session_policy, signer

PASSWORD = "correct-horse-battery"
CSRF = "test-csrf-token"


@dataclass
class World:
    tenant_a: Tenant
    tenant_b: Tenant
    agent_a: User
    nurse_a: User
    supervisor_a: User
    manager_a: User
    agent_b: User
    admin: User

    def by_role(self, role: str) -> User:
        """The tenant-A user with this role (the admin for 'admin')."""
        return {
            "agent": self.agent_a,
            "nurse": self.nurse_a,
            "supervisor": self.supervisor_a,
            "practice_manager": self.manager_a,
            "admin": self.admin,
        }[role]


def make_user(db: Session, email: str, role: str, tenants: list[str]) -> User:
    return accounts.create_user(
        db,
        email=email,
        name=email.split("@")[0].replace(".", " ").title(),
        role=role,
        password=PASSWORD,
        tenant_slugs=tenants,
        cheap_hash=True,
    )


def build_world(sessions: sessionmaker[Session]) -> World:
    """Two tenants and one user per role."""
    with transaction(sessions) as db:
        a = create_tenant(db, slug="tenant-a", name="Tenant A Health", timezone="America/Chicago")
        b = create_tenant(db, slug="tenant-b", name="Tenant B Clinic", timezone="America/New_York")
        world = World(
            tenant_a=a,
            tenant_b=b,
            agent_a=make_user(db, "agent.a@test.example", "agent", ["tenant-a"]),
            nurse_a=make_user(db, "nurse.a@test.example", "nurse", ["tenant-a"]),
            supervisor_a=make_user(db, "supervisor.a@test.example", "supervisor", ["tenant-a"]),
            manager_a=make_user(db, "manager.a@test.example", "practice_manager", ["tenant-a"]),
            agent_b=make_user(db, "agent.b@test.example", "agent", ["tenant-b"]),
            admin=make_user(db, "admin@test.example", "admin", []),
        )
    return world


def anonymous(app: FastAPI) -> TestClient:
    """A client with a CSRF cookie and header but no session."""
    client = TestClient(app, raise_server_exceptions=False)
    client.cookies.set(CSRF_COOKIE, CSRF)
    client.headers["X-CSRF-Token"] = CSRF
    return client


@contextmanager
def signed_in(app: FastAPI, user: User) -> Iterator[TestClient]:
    """A client holding a real login session for the user (skips the password form)."""
    settings = app.state.settings
    with transaction(app.state.sessions) as db:
        token = accounts.start_session(
            db, db.get(User, user.id), session_policy(settings), ip="testclient", user_agent="pytest"
        )
    client = anonymous(app)
    client.cookies.set(SESSION_COOKIE, signer(settings).dumps(token))
    with client:
        yield client


def bearer(app: FastAPI, user: User) -> TestClient:
    """A client authenticating with a fresh API token instead of a cookie."""
    with transaction(app.state.sessions) as db:
        _token, secret = accounts.create_token(db, db.get(User, user.id), "test")
    client = TestClient(app, raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {secret}"
    return client
