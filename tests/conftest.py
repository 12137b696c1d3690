"""Test fixtures: one database per run (SQLite or PostgreSQL, chosen by CARELINE_TEST_DB), built by the
migrations, emptied after each test; a small fixed cast of users in two tenants."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from careline.config import Settings
from careline.db import SYSTEM, make_engine, make_session_factory, open_session
from careline.kit.clock import FrozenClock
from careline.models import metadata

BACKEND = os.environ.get("CARELINE_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get("CARELINE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DB_FIXTURES = {"database_url", "engine", "sessions", "db", "app", "settings", "world", "client"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that touches the database, so `-m db` reruns just those on PostgreSQL."""
    for item in items:
        if DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI nothing may be skipped: a skip there hides a missing install step."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter is not None else 0
    if os.environ.get("CI") == "true" and skipped and exitstatus == 0:
        if reporter is not None:
            reporter.write_line(f"error: {skipped} test(s) skipped, and CI=true forbids skipping", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _create_pg_database() -> str:
    name = f"careline_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_ADMIN_URL)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return str(make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False))


def _drop_pg_database(url: str) -> None:
    name = make_url(url).database
    admin = make_engine(PG_ADMIN_URL)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database for this run, migrated to the newest schema."""
    from careline.migrate import upgrade

    if BACKEND == "postgresql":
        url = _create_pg_database()
    else:
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('db')) / 'careline-test.db'}"
    upgrade(url)
    yield url
    if BACKEND == "postgresql":
        _drop_pg_database(url)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


def _empty_all_tables(engine: Engine) -> None:
    tables = [t for t in reversed(metadata.sorted_tables)]
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(t.delete())


@pytest.fixture(autouse=True)
def _match_index() -> Iterator[None]:
    """Find-a-doctor answers from its in-memory index, loaded before answering (the app serves with
    "background": the SQL walk answers while a thread loads it); tests of the SQL walk set "off"."""
    from careline.matching.index import INDEXES

    INDEXES.mode = "sync"
    yield
    INDEXES.clear()


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    engine = request.getfixturevalue("engine") if DB_FIXTURES & set(request.fixturenames) else None
    yield
    if engine is not None:
        _empty_all_tables(engine)


@pytest.fixture(scope="session")
def inspector_engine(database_url: str) -> Iterator[Engine]:
    """Autocommit reads: a test's open read never blocks the app's writes nor sees a stale snapshot."""
    eng = make_engine(database_url, immediate=None).execution_options(isolation_level="AUTOCOMMIT")
    yield eng
    eng.dispose()


@pytest.fixture
def db(inspector_engine: Engine) -> Iterator[Session]:
    """A system-scoped session for checking results directly."""
    session = open_session(make_session_factory(inspector_engine), SYSTEM)
    yield session
    session.rollback()
    session.close()


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key="test-secret-key-0123456789",
        environment="test",
        password_hash_cheap=True,
        match_index="sync",
    )


@pytest.fixture(scope="session")
def app(settings: Settings):
    from careline.app import create_app

    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    """A frozen clock installed for the test; advance() moves time for the whole app."""
    from datetime import UTC, datetime

    frozen = FrozenClock(datetime(2026, 12, 7, 15, 0, tzinfo=UTC))
    frozen.install()
    yield frozen
    FrozenClock.uninstall()


@pytest.fixture
def world(sessions: sessionmaker[Session]):
    """Tenants A and B and one user per role (agent, nurse, supervisor, manager in A; agent in B; admin)."""
    from tests.factories import build_world

    return build_world(sessions)


@pytest.fixture
def client(app, world):
    """A client signed in as the tenant-A agent."""
    from tests.factories import signed_in

    with signed_in(app, world.agent_a) as c:
        yield c
