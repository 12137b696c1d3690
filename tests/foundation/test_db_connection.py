"""The pooled connection's plumbing: how a failed unit of work ends, and how integers are sent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from careline.db import SYSTEM, end_unwritten, make_engine, make_session_factory, open_session
from careline.tenants.models import Tenant


@pytest.fixture
def one_connection(database_url: str) -> Iterator[Engine]:
    """An engine of one pooled connection: each session gets the same server connection back."""
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _prepared_on_server(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one())


def _fail_after(engine: Engine, work) -> None:  # type: ignore[no-untyped-def]
    """What the web layer does when a request fails: end_unwritten, then the session's rollback."""
    session = open_session(make_session_factory(engine), SYSTEM)
    try:
        work(session)
    finally:
        end_unwritten(session)
        session.rollback()
        session.close()


def _count(session) -> int:  # type: ignore[no-untyped-def]
    return int(session.scalar(select(func.count()).select_from(Tenant)))


def test_a_failed_unit_of_work_that_only_read_keeps_the_prepared_statements(one_connection) -> None:
    if one_connection.dialect.name != "postgresql":
        _fail_after(one_connection, _count)  # SQLite: nothing to keep; the rollback still ends it
        return
    _fail_after(one_connection, lambda s: [_count(s) for _ in range(7)])  # prepared after five runs
    # psycopg drops every prepared statement at a ROLLBACK (DEALLOCATE ALL); none was sent
    assert _prepared_on_server(one_connection) >= 1


def test_a_failed_unit_of_work_that_wrote_is_rolled_back(one_connection, db) -> None:
    def write(session) -> None:  # type: ignore[no-untyped-def]
        session.add(Tenant(name="Half Written", slug="half-written"))
        session.flush()
        assert _count(session) == 1

    _fail_after(one_connection, write)
    assert _count(db) == 0


def test_a_failed_unit_of_work_whose_statement_failed_is_rolled_back(one_connection, db) -> None:
    def broken(session) -> None:  # type: ignore[no-untyped-def]
        session.add(Tenant(name="Before The Error", slug="before-the-error"))
        session.flush()
        with pytest.raises(DBAPIError):
            session.execute(text("SELECT no_such_column FROM tenants"))

    _fail_after(one_connection, broken)
    assert _count(db) == 0
    with one_connection.connect() as conn:  # the pooled connection is usable again
        assert conn.execute(text("SELECT 1")).scalar_one() == 1


def test_integers_are_sent_as_integer_unless_they_need_bigint(engine) -> None:
    if engine.dialect.name != "postgresql":
        with engine.connect() as conn:  # SQLite has one integer type
            assert conn.execute(text("SELECT :a + :b"), {"a": 5, "b": 2**40}).scalar_one() == 2**40 + 5
        return
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT pg_typeof(:small)::text, pg_typeof(:large)::text, pg_typeof(:huge)::text"),
            {"small": 5, "large": 70_000, "huge": 2**40},
        ).one()
    # one type for ids either side of 32,768: one prepared statement and plan per statement text
    assert tuple(row) == ("integer", "integer", "bigint")
