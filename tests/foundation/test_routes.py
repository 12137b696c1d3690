"""Tests generated from the app's routes: every route declares a permission, the permission table holds,
and every route that takes an id answers 404 for another tenant's object."""

from __future__ import annotations

import pytest

from careline.accounts.models import Role
from careline.accounts.permissions import ROLE_PERMISSIONS, Permission
from careline.db import transaction
from tests.factories import signed_in
from tests.routes import GLOBAL_PARAMS, OTHER_TENANT_OBJECT, SAMPLE_BODIES, FormBody, all_routes

# Routes anyone may call, by design. Anything else must require a permission.
PUBLIC_ROUTES = {("GET", "/healthz"), ("GET", "/login"), ("POST", "/login")}


def test_every_route_declares_exactly_one_permission(app) -> None:
    undeclared = [f"{r.method} {r.path}" for r in all_routes(app) if isinstance(r.permission, list)]
    assert undeclared == [], "routes must use exactly one require(...) or public(): " + ", ".join(undeclared)


def test_only_the_known_routes_are_public(app) -> None:
    public = {(r.method, r.path) for r in all_routes(app) if r.permission == "public"}
    unexpected = {(m, p) for m, p in public if not p.startswith("/survey/")} - PUBLIC_ROUTES
    assert unexpected == set()


def test_the_permission_table_gives_every_role_a_row_and_admins_everything() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert ROLE_PERMISSIONS[Role.ADMIN] == frozenset(Permission)
    assert Permission.PATIENT_READ not in ROLE_PERMISSIONS[Role.PRACTICE_MANAGER]
    assert Permission.ESCALATION_HANDLE in ROLE_PERMISSIONS[Role.NURSE]
    assert Permission.ESCALATION_HANDLE not in ROLE_PERMISSIONS[Role.AGENT]
    assert Permission.USER_MANAGE not in ROLE_PERMISSIONS[Role.SUPERVISOR]


def _fill(path: str, value: object = 1) -> str:
    import re

    return re.sub(r"{\w+}", str(value), path)


@pytest.mark.parametrize("role", [r.value for r in Role if r is not Role.ADMIN])
def test_each_role_is_refused_every_route_its_permission_row_lacks(app, world, role: str) -> None:
    user = world.by_role(role)
    denied = [
        r
        for r in all_routes(app)
        if r.permission != "public"
        and not isinstance(r.permission, list)
        and r.permission not in ROLE_PERMISSIONS[Role(role)]
    ]
    assert denied or role == "supervisor" or role == "nurse", "expected some routes this role may not use"
    with signed_in(app, user) as client:
        for r in denied:
            response = client.request(r.method, _fill(r.path), json={})
            assert response.status_code == 403, f"{role} {r.method} {r.path} -> {response.status_code}"


def test_every_id_parameter_has_a_factory(app) -> None:
    params = {p for r in all_routes(app) for p in r.params} - GLOBAL_PARAMS
    missing = sorted(params - set(OTHER_TENANT_OBJECT))
    assert missing == [], f"add a tenant-B factory in tests/routes.py for: {missing}"


def _actor_for(permission: object, world):
    for role in (Role.AGENT, Role.NURSE, Role.SUPERVISOR, Role.PRACTICE_MANAGER):
        if permission == "public" or permission in ROLE_PERMISSIONS[role]:
            return world.by_role(role.value)
    return None  # admin-only: admins serve every tenant, isolation does not apply


def test_every_route_with_an_id_answers_404_for_another_tenants_object(app, world, sessions) -> None:
    checked = []
    for r in all_routes(app):
        if not r.params or set(r.params) & GLOBAL_PARAMS:
            continue
        user = _actor_for(r.permission, world)
        if user is None:
            continue
        with transaction(sessions) as db:
            values = {p: OTHER_TENANT_OBJECT[p](world, db) for p in r.params}
        path = r.path.format(**values)
        body = SAMPLE_BODIES.get((r.method, r.path), {})
        with signed_in(app, user) as client:
            if isinstance(body, FormBody):
                response = client.request(r.method, path, data=body.fields)
            else:
                response = client.request(r.method, path, json=body)
        assert response.status_code == 404, (
            f"{user.role} {r.method} {path} -> {response.status_code} {response.text[:200]}"
        )
        checked.append(f"{r.method} {r.path}")
    assert checked, "no tenant-owned route was checked"
