"""Signing in and out, session lifetimes and revocation, CSRF, rate limits, API tokens."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from careline.accounts import service as accounts
from careline.accounts.models import ApiToken, LoginSession, User
from careline.app import create_app
from careline.db import transaction
from tests.factories import CSRF, PASSWORD, anonymous, bearer, signed_in


def _login(client, email: str, password: str = PASSWORD):
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": CSRF, "next": "/"},
        follow_redirects=False,
    )


def test_a_user_signs_in_with_the_form_and_sees_their_tenants(app, world) -> None:
    client = anonymous(app)
    response = _login(client, "agent.a@test.example")
    assert response.status_code == 303
    cookie = response.cookies.get("cl_session")
    assert cookie and "agent" not in cookie  # signed id only, no user data
    assert "httponly" in response.headers["set-cookie"].lower()
    assert "samesite=lax" in response.headers["set-cookie"].lower()
    page = client.get("/")
    assert page.status_code == 200
    assert "Tenant A Health" in page.text and "Tenant B Clinic" not in page.text


def test_a_wrong_password_is_refused_with_401_and_no_session(app, world) -> None:
    client = anonymous(app)
    response = _login(client, "agent.a@test.example", "wrong-password-123")
    assert response.status_code == 401
    assert "do not match" in response.text
    assert "cl_session" not in response.cookies


def test_pages_redirect_to_login_and_the_api_answers_401_without_a_session(app, world) -> None:
    client = anonymous(app)
    page = client.get("/account", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/account"
    api = client.get("/api/v1/me")
    assert api.status_code == 401 and api.json()["error"] == "not_authenticated"


def test_login_refuses_an_offsite_next_url(app, world) -> None:
    client = anonymous(app)
    response = client.post(
        "/login",
        data={
            "email": "agent.a@test.example",
            "password": PASSWORD,
            "csrf_token": CSRF,
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_a_form_post_without_the_csrf_token_is_refused(app, world) -> None:
    with signed_in(app, world.agent_a) as client:
        del client.headers["X-CSRF-Token"]
        response = client.post("/account/tokens", data={"name": "x"})
        assert response.status_code == 403
        assert "reload the page" in response.text
        ok = client.post("/account/tokens", data={"name": "x", "csrf_token": CSRF})
        assert ok.status_code == 201


def test_login_without_csrf_is_refused(app, world) -> None:
    client = anonymous(app)
    client.cookies.clear()
    response = client.post(
        "/login", data={"email": "agent.a@test.example", "password": PASSWORD}, headers={"X-CSRF-Token": ""}
    )
    assert response.status_code == 403


def test_a_session_expires_after_the_idle_timeout(app, world, clock) -> None:
    with signed_in(app, world.agent_a) as client:
        assert client.get("/api/v1/me").status_code == 200
        clock.advance(minutes=29)
        assert client.get("/api/v1/me").status_code == 200
        clock.advance(minutes=31)
        assert client.get("/api/v1/me").status_code == 401


def test_activity_keeps_a_session_alive_until_its_absolute_lifetime(app, world, clock) -> None:
    with signed_in(app, world.agent_a) as client:
        for _ in range(47):  # 47 x 15 min = 11 h 45 min of steady work
            clock.advance(minutes=15)
            assert client.get("/api/v1/me").status_code == 200
        clock.advance(minutes=16)
        assert client.get("/api/v1/me").status_code == 401


def test_logout_ends_the_session(app, world) -> None:
    with signed_in(app, world.agent_a) as client:
        stolen = dict(client.cookies)
        assert client.post("/logout", follow_redirects=False).status_code == 303
        replay = anonymous(app)
        for k, v in stolen.items():
            replay.cookies.set(k, v)
        assert replay.get("/api/v1/me").status_code == 401


def test_disabling_a_user_ends_their_sessions_in_every_app_process(app, world, settings) -> None:
    other_process = create_app(settings)  # a second app with its own engine and pool
    with signed_in(app, world.agent_a) as client:
        cookies = dict(client.cookies)
        assert client.get("/api/v1/me").status_code == 200
        with signed_in(other_process, world.admin) as admin:
            response = admin.patch(f"/api/v1/users/{world.agent_a.id}", json={"active": False})
            assert response.status_code == 200 and response.json()["active"] is False
        assert client.get("/api/v1/me").status_code == 401
    second = anonymous(other_process)
    for k, v in cookies.items():
        second.cookies.set(k, v)
    assert second.get("/api/v1/me").status_code == 401
    assert _login(anonymous(app), "agent.a@test.example").status_code == 401
    other_process.state.engine.dispose()


def test_a_tampered_session_cookie_is_ignored(app, world) -> None:
    with signed_in(app, world.agent_a) as client:
        value = client.cookies.get("cl_session")
        client.cookies.set("cl_session", value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1])
        assert client.get("/api/v1/me").status_code == 401


def test_repeated_failures_lock_the_account_with_429_even_for_the_right_password(app, world) -> None:
    client = anonymous(app)
    for _ in range(5):
        assert _login(client, "nurse.a@test.example", "not-the-password").status_code == 401
    locked = _login(client, "nurse.a@test.example")
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert "Too many sign-in attempts for this account" in locked.text
    # Other accounts from the same address are not locked by this one's failures.
    assert _login(client, "agent.a@test.example").status_code == 303


def test_one_address_is_throttled_after_too_many_attempts(app, world) -> None:
    client = anonymous(app)
    emails = [f"nobody{i}@test.example" for i in range(20)]
    statuses = [_login(client, e, "whatever-123").status_code for e in emails]
    assert statuses == [401] * 20
    response = _login(client, "agent.a@test.example")
    assert response.status_code == 429 and "from this address" in response.text


def test_the_account_limit_window_ends(app, world, clock) -> None:
    client = anonymous(app)
    for _ in range(5):
        _login(client, "nurse.a@test.example", "not-the-password")
    assert _login(client, "nurse.a@test.example").status_code == 429
    clock.advance(minutes=16)
    assert _login(client, "nurse.a@test.example").status_code == 303


def test_api_tokens_authenticate_and_are_stored_only_as_hashes(app, world, db) -> None:
    client = bearer(app, world.agent_a)
    me = client.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["email"] == "agent.a@test.example"
    secret = client.headers["Authorization"].split()[1]
    stored = db.scalars(select(ApiToken.token_hash)).all()
    assert secret not in stored and accounts.sha256(secret) in stored


def test_a_revoked_token_stops_working(app, world) -> None:
    with signed_in(app, world.agent_a) as web:
        created = web.post("/api/v1/tokens", json={"name": "script"})
        assert created.status_code == 201
        token = created.json()
    api = anonymous(app)
    api.headers["Authorization"] = f"Bearer {token['token']}"
    assert api.get("/api/v1/me").status_code == 200
    with signed_in(app, world.agent_a) as web:
        assert web.delete(f"/api/v1/tokens/{token['id']}").status_code == 200
    assert api.get("/api/v1/me").status_code == 401


def test_a_token_request_needs_no_csrf(app, world) -> None:
    client = bearer(app, world.admin)
    response = client.post("/api/v1/tenants", json={"slug": "tenant-c", "name": "Tenant C"})
    assert response.status_code == 201


def test_sessions_are_stored_hashed_with_an_absolute_expiry(app, world, db) -> None:
    with signed_in(app, world.agent_a):
        row = db.scalars(select(LoginSession)).one()
        assert len(row.token_hash) == 64
        assert row.expires_at - row.created_at == timedelta(hours=12)


def test_user_passwords_are_argon2_hashes(db, world) -> None:
    hashes = db.scalars(select(User.password_hash)).all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)


def test_a_practice_manager_must_have_exactly_one_tenant(app, world) -> None:
    with signed_in(app, world.admin) as client:
        response = client.post(
            "/api/v1/users",
            json={
                "email": "pm@test.example",
                "name": "PM",
                "role": "practice_manager",
                "password": "long-enough-pw",
                "tenants": ["tenant-a", "tenant-b"],
            },
        )
        assert response.status_code == 422
        assert response.json()["field"] == "tenants"


def test_admin_creates_a_user_who_can_then_sign_in(app, world, sessions) -> None:
    with signed_in(app, world.admin) as client:
        page = client.post(
            "/admin/users",
            data={
                "email": "new.agent@test.example",
                "name": "New Agent",
                "role": "agent",
                "password": "a-good-password",
                "tenants": ["tenant-b"],
                "csrf_token": CSRF,
            },
        )
        assert page.status_code == 201 and "Created New Agent" in page.text
    assert _login(anonymous(app), "new.agent@test.example", "a-good-password").status_code == 303
    with transaction(sessions) as db:
        user = accounts.user_by_email(db, "new.agent@test.example")
        assert {t.slug for t in accounts.get_user(db, user.id).tenants} == {"tenant-b"}
