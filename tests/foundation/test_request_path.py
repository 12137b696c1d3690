"""What every request pays before its handler: routing, authentication, the pooled connection, headers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from starlette.responses import PlainTextResponse

from careline.accounts import service as accounts
from careline.accounts.models import User
from careline.db import _ping_when_idle, transaction
from careline.web.headers import SecurityHeaders
from careline.web.routing import PrefilteredRouter
from tests.factories import bearer, make_user, signed_in


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if not statement.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE; psycopg sends BEGIN unseen
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


# --- authentication ------------------------------------------------------------------------------------


def test_a_token_request_finds_its_user_and_tenants_in_one_statement(app, world) -> None:
    client = bearer(app, world.agent_a)
    assert client.get("/api/v1/scheduling/types").status_code == 200  # first use stamps last_used_at
    with statements(app.state.engine) as seen:
        assert client.get("/api/v1/scheduling/types").status_code == 200
    assert len(seen) == 2, seen  # who is asking (token, user, tenants), then the types


def test_a_cookie_request_finds_its_user_and_tenants_in_one_statement(app, world) -> None:
    with signed_in(app, world.agent_a) as client:
        assert client.get("/api/v1/scheduling/types").status_code == 200
        with statements(app.state.engine) as seen:
            assert client.get("/api/v1/scheduling/types").status_code == 200
    assert len(seen) == 2, seen


def test_the_one_statement_serves_the_same_tenants_as_before(sessions, world) -> None:
    with transaction(sessions) as db:
        make_user(db, "both@test.example", "supervisor", ["tenant-a", "tenant-b"])
    with transaction(sessions) as db:
        for user in db.query(User).all():
            _token, secret = accounts.create_token(db, user, "t")
            found = accounts.token_user_with_tenants(db, secret)
            assert found is not None and found[0].id == user.id
            assert found[1] == accounts.served_tenant_ids(db, user), user.email
        admin = db.get(User, world.admin.id)
        _token, secret = accounts.create_token(db, admin, "t")
        assert accounts.token_user_with_tenants(db, secret)[1] == {world.tenant_a.id, world.tenant_b.id}  # type: ignore[index]


def test_a_disabled_users_token_and_an_unknown_token_answer_401(app, world, sessions) -> None:
    client = bearer(app, world.agent_b)
    assert client.get("/api/v1/me").status_code == 200
    with transaction(sessions) as db:
        user = db.get(User, world.agent_b.id)
        user.active = False  # without set_active(): the token row itself stays unrevoked
    assert client.get("/api/v1/me").status_code == 401
    client.headers["Authorization"] = "Bearer cl_nonsense"
    assert client.get("/api/v1/me").status_code == 401


# --- routing -------------------------------------------------------------------------------------------


class CountingRoute(APIRoute):
    asked = 0

    def matches(self, scope):  # type: ignore[no-untyped-def]
        CountingRoute.asked += 1
        return super().matches(scope)


def _two_router_app() -> tuple[FastAPI, PrefilteredRouter]:
    first = PrefilteredRouter(prefix="/api/v1/first", route_class=CountingRoute)

    @first.get("/items/{item_id}")
    def item(item_id: int) -> dict:
        return {"item": item_id}

    @first.post("/items")
    def add() -> dict:
        return {"added": True}

    second = PrefilteredRouter(prefix="/api/v1/second")

    @second.get("/things")
    def things() -> dict:
        return {"things": []}

    app = FastAPI()
    app.include_router(first)
    app.include_router(second)
    return app, first


def test_a_router_none_of_whose_routes_can_match_is_not_asked_route_by_route() -> None:
    app, _first = _two_router_app()
    client = TestClient(app)
    CountingRoute.asked = 0
    assert client.get("/api/v1/second/things").json() == {"things": []}
    assert CountingRoute.asked == 0  # ruled out by its routes' literal prefixes
    assert client.get("/api/v1/first/items/7").json() == {"item": 7}
    assert CountingRoute.asked > 0


def test_prefiltered_routers_still_answer_405_404_and_see_routes_added_later() -> None:
    app, first = _two_router_app()
    client = TestClient(app)
    assert client.get("/api/v1/first/items").status_code == 405  # POST only
    assert client.get("/api/v1/nowhere").status_code == 404
    assert client.get("/api/v1/first/late").status_code == 404

    @first.get("/late")
    def late() -> dict:
        return {"late": True}

    app.include_router(first)  # FastAPI's own route list learns of it the same way
    assert client.get("/api/v1/first/late").json() == {"late": True}


# --- security headers ----------------------------------------------------------------------------------


def test_security_headers_on_the_api_and_on_pages(app, world) -> None:
    api = bearer(app, world.agent_a).get("/api/v1/me")
    assert api.headers["x-content-type-options"] == "nosniff"
    assert api.headers["x-frame-options"] == "DENY"
    assert api.headers["referrer-policy"] == "same-origin"
    assert api.headers["cache-control"] == "no-store"
    page = TestClient(app).get("/login")
    assert page.headers["x-frame-options"] == "DENY" and "no-store" not in page.headers.get(
        "cache-control", ""
    )
    with signed_in(app, world.agent_a) as client:  # a cookie: pages may show PHI
        assert client.get("/").headers["cache-control"] == "no-store"


def test_a_header_the_response_set_itself_is_kept() -> None:
    inner = FastAPI()

    @inner.get("/api/file")
    def file() -> PlainTextResponse:
        return PlainTextResponse(
            "x", headers={"Cache-Control": "max-age=60", "X-Frame-Options": "SAMEORIGIN"}
        )

    inner.add_middleware(SecurityHeaders)
    r = TestClient(inner).get("/api/file")
    assert r.headers["cache-control"] == "max-age=60" and r.headers["x-frame-options"] == "SAMEORIGIN"
    assert r.headers["x-content-type-options"] == "nosniff"


# --- pooled connections --------------------------------------------------------------------------------


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'ping.db'}", pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _pings(engine: Engine, monkeypatch, fail_first: bool = False) -> list[int]:
    pings: list[int] = []

    def ping(_dbapi_conn) -> bool:  # type: ignore[no-untyped-def]
        pings.append(1)
        if fail_first and len(pings) == 1:
            raise RuntimeError("server closed the connection unexpectedly")
        return True

    monkeypatch.setattr(engine.dialect, "do_ping", ping)
    return pings


def test_a_connection_back_in_the_pool_moments_ago_is_not_pinged(sqlite_engine, monkeypatch) -> None:
    pings = _pings(sqlite_engine, monkeypatch)
    _ping_when_idle(sqlite_engine, idle_seconds=60)
    for _ in range(3):
        with sqlite_engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    assert pings == []


def test_an_idle_connection_is_pinged_and_a_dead_one_replaced(sqlite_engine, monkeypatch) -> None:
    pings = _pings(sqlite_engine, monkeypatch, fail_first=True)
    _ping_when_idle(sqlite_engine, idle_seconds=0.05)
    opened: list[int] = []
    event.listen(sqlite_engine, "connect", lambda *_: opened.append(1))
    with sqlite_engine.connect() as conn:  # a new connection: fresh, not pinged
        conn.exec_driver_sql("SELECT 1")
    assert pings == [] and len(opened) == 1
    time.sleep(0.1)
    with sqlite_engine.connect() as conn:  # idle now: pinged; the ping fails, so it is replaced
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    assert len(pings) == 1 and len(opened) == 2


# --- tenant scope --------------------------------------------------------------------------------------


def test_the_tenant_criteria_are_built_once_per_set_of_tenants_and_still_scope(sessions, world) -> None:
    from sqlalchemy import select

    from careline.db import Scope, _tenant_criteria, open_session
    from careline.directory.models import Location
    from careline.tenants.models import Tenant
    from tests.scheduling import helpers as h

    with transaction(sessions) as db:
        h.location(db, world.tenant_a.id, "A clinic")
        h.location(db, world.tenant_b.id, "B clinic")
    seen = {}
    for tenants in ({world.tenant_a.id}, {world.tenant_b.id}, {world.tenant_a.id}):
        session = open_session(sessions, Scope(frozenset(tenants)))
        try:
            before = _tenant_criteria.cache_info().hits
            names = session.scalars(select(Location.name)).all()
            seen.setdefault(frozenset(tenants), []).append(
                (names, _tenant_criteria.cache_info().hits - before)
            )
            assert session.scalars(select(Tenant.id)).all()  # tenants themselves are not scoped
        finally:
            session.close()
    a, b = seen[frozenset({world.tenant_a.id})], seen[frozenset({world.tenant_b.id})]
    assert a[0][0] == ["A clinic"] and b[0][0] == ["B clinic"] and a[1][0] == ["A clinic"]
    assert a[1][1] == 1  # the second query of tenant A's scope reused its criteria


def test_rows_written_without_the_unit_of_work_keep_the_tenant_guard(sessions, world) -> None:
    """insert_rows() writes history, events and outbox rows with one plain INSERT; a scoped session
    still may not write another tenant's rows (the same answer as the ORM's guard: not found), and
    a refused call writes nothing."""
    from sqlalchemy import func, select

    from careline.channels.models import OutboxMessage
    from careline.channels.service import message_fields
    from careline.db import Scope, insert_rows, open_session
    from careline.errors import NotFound

    def message(tenant_id: int) -> dict:
        return message_fields(tenant_id=tenant_id, channel="sms", to="+13125550142", body="hello")

    session = open_session(sessions, Scope(frozenset({world.tenant_a.id})))
    try:
        with pytest.raises(NotFound):
            insert_rows(session, OutboxMessage, [message(world.tenant_a.id), message(world.tenant_b.id)])
        insert_rows(session, OutboxMessage, [message(world.tenant_a.id), message(world.tenant_a.id)])
        session.commit()
    finally:
        session.close()
    with transaction(sessions) as db:
        rows = db.execute(
            select(OutboxMessage.tenant_id, OutboxMessage.status, func.count()).group_by(
                OutboxMessage.tenant_id, OutboxMessage.status
            )
        ).all()
    assert [(t, str(s), n) for t, s, n in rows] == [(world.tenant_a.id, "queued", 2)]
