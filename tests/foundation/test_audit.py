"""The audit log: rows for sign-ins, denials and data access; the hash chain catches edits and deletions."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from careline.audit import service as audit
from careline.audit.models import AuditEvent
from careline.audit.service import Actor, record, verify_chain
from careline.cli import app as cli
from careline.db import transaction
from tests.factories import CSRF, PASSWORD, anonymous, signed_in


def _actions(db) -> list[tuple[str, str, str]]:
    return [(e.action, e.actor, e.outcome) for e in db.scalars(select(AuditEvent).order_by(AuditEvent.seq))]


def _write(sessions, n: int) -> None:
    with transaction(sessions) as db:
        for i in range(n):
            record(db, Actor("test"), "test.event", object_type="thing", object_id=i)


def test_sign_ins_failures_and_denials_are_audited(app, world, db) -> None:
    client = anonymous(app)
    client.post(
        "/login", data={"email": "agent.a@test.example", "password": "wrong-password-1", "csrf_token": CSRF}
    )
    client.post("/login", data={"email": "agent.a@test.example", "password": PASSWORD, "csrf_token": CSRF})
    client.get("/api/v1/users")  # an agent may not list users
    assert _actions(db) == [
        ("login.failed", "agent.a@test.example", "failure"),
        ("login.success", "agent.a@test.example", "success"),
        ("access.denied", "agent.a@test.example", "denied"),
    ]
    denied = db.scalars(select(AuditEvent).where(AuditEvent.action == "access.denied")).one()
    assert denied.detail["path"] == "/api/v1/users" and denied.ip == "testclient"


def test_reading_the_audit_log_is_itself_audited(app, world, db) -> None:
    with signed_in(app, world.admin) as client:
        assert client.get("/api/v1/audit").status_code == 200
    assert [a for a, _, _ in _actions(db)] == ["audit.read"]


def test_a_clean_chain_verifies(sessions, db) -> None:
    _write(sessions, 5)
    _write(sessions, 3)
    count, problems = verify_chain(db)
    assert (count, problems) == (8, [])


def test_an_edited_row_is_caught_and_named(sessions, db) -> None:
    _write(sessions, 5)
    with transaction(sessions) as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="someone-else"))
    _count, problems = verify_chain(db)
    assert [p.seq for p in problems] == [3]
    assert "row 3 was edited" in problems[0].message


def test_a_deleted_row_in_the_middle_is_caught(sessions, db) -> None:
    _write(sessions, 5)
    with transaction(sessions) as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    _count, problems = verify_chain(db)
    assert problems and problems[0].seq == 2 and "missing" in problems[0].message


def test_deleting_the_newest_rows_is_caught(sessions, db) -> None:
    _write(sessions, 5)
    with transaction(sessions) as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq >= 4))
    _count, problems = verify_chain(db)
    assert problems and "newest rows 4..5 are missing" in problems[0].message


def test_a_rewritten_hash_still_breaks_the_link_to_the_next_row(sessions, db) -> None:
    _write(sessions, 4)
    with transaction(sessions) as s:
        row = s.scalars(select(AuditEvent).where(AuditEvent.seq == 2)).one()
        row.actor = "forger"
        row.hash = audit.compute_hash(row.prev_hash, row)
    _count, problems = verify_chain(db)
    assert any(p.seq == 3 and "does not link" in p.message for p in problems)


@pytest.fixture
def cli_env(monkeypatch, database_url: str) -> CliRunner:
    monkeypatch.setenv("CARELINE_DATABASE_URL", database_url)
    return CliRunner()


def test_cli_audit_verify_passes_then_fails_naming_the_tampered_row(cli_env, sessions) -> None:
    _write(sessions, 3)
    ok = cli_env.invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0 and "audit chain OK: 3 rows verified" in ok.output
    with transaction(sessions) as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(outcome="success-ish"))
    bad = cli_env.invoke(cli, ["audit", "verify"])
    assert bad.exit_code == 1
    assert "row 2 was edited" in bad.output


def test_cli_audit_verify_catches_a_deleted_row(cli_env, sessions) -> None:
    _write(sessions, 3)
    with transaction(sessions) as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    bad = cli_env.invoke(cli, ["audit", "verify"])
    assert bad.exit_code == 1 and "rows 2..2 are missing" in bad.output


def test_if_the_audit_row_cannot_be_written_the_data_is_withheld(app, world, monkeypatch) -> None:
    def broken(*_a, **_k):
        raise OSError("disk full")

    with signed_in(app, world.admin) as client:
        monkeypatch.setattr(audit, "compute_hash", broken)
        response = client.get("/api/v1/audit?limit=5")
    assert response.status_code == 503
    assert "seq" not in response.text and "could not be saved or audited" in response.json()["message"]


def test_an_audit_failure_on_commit_gives_503_and_no_data(app, world, monkeypatch) -> None:
    from sqlalchemy.exc import OperationalError

    def broken(session):
        raise OperationalError("INSERT INTO audit_events", {}, Exception("disk I/O error"))

    with signed_in(app, world.admin) as client:
        client.get("/api/v1/me")  # warm up the session row outside the patch
        monkeypatch.setattr(audit, "_write_pending", broken)
        response = client.get("/api/v1/audit")
    assert response.status_code == 503
    assert response.json()["error"] == "audit_unavailable"
    assert "seq" not in response.text


def test_concurrent_writers_keep_one_unbroken_chain(sessions, db) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: _write(sessions, 3), range(24)))
    count, problems = verify_chain(db)
    assert (count, problems) == (72, [])


def test_the_chain_is_locked_last_and_written_in_few_statements(sessions, engine, db) -> None:
    from sqlalchemy import event

    from careline.tenants.models import Tenant

    _write(sessions, 1)  # the chain's head exists
    seen: list[str] = []

    def log(_conn, _cursor, statement, *_rest) -> None:  # type: ignore[no-untyped-def]
        if not statement.startswith("BEGIN"):
            seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", log)
    try:
        with transaction(sessions) as s:
            record(s, Actor("test"), "test.event", object_type="thing", object_id=1)
            record(s, Actor("test"), "test.event", object_type="thing", object_id=2)
            s.add(Tenant(slug="tenant-late", name="Written at commit", timezone="UTC"))
    finally:
        event.remove(engine, "before_cursor_execute", log)
    chain = [i for i, sql in enumerate(seen) if "audit_head" in sql or "audit_events" in sql]
    tenant_insert = max(i for i, sql in enumerate(seen) if sql.startswith("INSERT INTO tenants"))
    assert tenant_insert < chain[0], seen  # the lock comes after the transaction's other writes
    if engine.dialect.name == "postgresql":
        assert len(chain) == 2 and "FOR UPDATE" in seen[chain[0]], seen  # lock the head; rows + head
    else:
        assert len(chain) == 3, seen  # read the head, the rows, the head (BEGIN IMMEDIATE is the lock)
    assert verify_chain(db) == (3, [])


def test_the_first_event_of_an_empty_database_creates_the_head(sessions, db) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: _write(sessions, 2), range(4)))
    assert verify_chain(db) == (8, [])
