"""Database plumbing: metadata, engine, sessions, and the one place tenant scoping happens."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from psycopg.adapt import PyFormat
from psycopg.pq import TransactionStatus
from psycopg.types.numeric import IntBinaryDumper, IntDumper
from sqlalchemy import DateTime, Enum, ForeignKey, MetaData, create_engine, event, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    sessionmaker,
    with_loader_criteria,
)
from sqlalchemy.types import TypeDecorator

from careline.errors import NotFound

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out; naive values are a bug and refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints the same everywhere."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class TenantScoped:
    """Mixin for rows owned by one tenant: every ORM query on them is filtered to the session's scope."""

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("tenants.id", ondelete="RESTRICT"), index=True)


@dataclass(frozen=True)
class Scope:
    """Which tenants a session may see; `tenant_ids=None` is the system scope (CLI, workers, migrations)."""

    tenant_ids: frozenset[int] | None

    @property
    def is_system(self) -> bool:
        return self.tenant_ids is None

    def allows(self, tenant_id: int) -> bool:
        """True when rows of this tenant are visible in this scope."""
        return self.tenant_ids is None or tenant_id in self.tenant_ids


SYSTEM = Scope(None)


class ScopeMissing(RuntimeError):
    """A session was used for tenant data without saying whose: a programming error, never silent."""


def scope_of(session: Session) -> Scope:
    """The tenant scope a session was opened with."""
    scope = session.info.get("scope")
    if scope is None:
        raise ScopeMissing("this database session has no tenant scope; open it with open_session()")
    return scope


@event.listens_for(Session, "do_orm_execute")
def _apply_tenant_scope(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    scope = scope_of(state.session)
    if scope.is_system:
        return
    state.statement = state.statement.options(_tenant_criteria(tuple(sorted(scope.tenant_ids or ()))))


@lru_cache(maxsize=1024)
def _tenant_criteria(allowed: tuple[int, ...]) -> Any:
    """The loader criteria of one set of tenants, built once (building it analyses the lambda)."""
    return with_loader_criteria(
        TenantScoped,
        lambda cls: cls.tenant_id.in_(allowed),
        include_aliases=True,
        track_closure_variables=True,
    )


@event.listens_for(Session, "before_flush")
def _check_tenant_on_write(session: Session, flush_context: Any, instances: Any) -> None:
    scope = scope_of(session)
    if scope.is_system:
        return
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, TenantScoped) and not scope.allows(obj.tenant_id):
            # Same answer as a read of another tenant's object: it does not exist for you.
            raise NotFound("no such tenant", field="tenant_id")


def read_rows(session: Session, stmt: Any, params: dict[str, Any] | None = None) -> Any:
    """Run a plain select of columns on the session's connection, after flushing what is pending
    (as the ORM's autoflush would), skipping the ORM's execution machinery: about half the CPU of
    `session.execute` for the hot reads of a search. The tenant scope's automatic criteria do not
    apply here: use it only for statements that name the tenant, or ids already checked."""
    session.flush()
    return session.connection().execute(stmt, params)


def insert_rows(session: Session, model: type, rows: Sequence[dict[str, Any]]) -> None:
    """Write rows of a mapped class now, with one plain INSERT (several rows: one statement),
    skipping the unit of work: no objects, no ids. For rows nothing reads back in the transaction
    (history, events, outbox messages), at about a third of the CPU of adding objects and flushing.
    Column defaults apply; every row must carry the same keys. The tenant guard of the session's
    other writes applies too."""
    if not rows:
        return
    scope = scope_of(session)
    guarded = not scope.is_system and issubclass(model, TenantScoped)
    if guarded and not all(scope.allows(row.get("tenant_id")) for row in rows):
        raise NotFound("no such tenant", field="tenant_id")
    # On the session's connection: a Core statement executed through the session itself still
    # takes the ORM's bulk-insert path (about half the cost).
    session.connection().execute(_insert_statement(model.__table__), list(rows))  # type: ignore[attr-defined]


@lru_cache(maxsize=64)
def _insert_statement(table: Any) -> Any:
    return insert(table)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
    # Let SQLAlchemy emit BEGIN itself (below), so transactions and savepoints behave.
    dbapi_conn.isolation_level = None


READ_ONLY = "careline_read_only"  # execution option: a SQLite transaction that only reads (see below)


def _sqlite_begin_immediate(conn: Any) -> None:
    # One writer at a time, decided when the transaction starts: read-then-write races
    # (booking, audit chain, claiming work) cannot interleave between processes. A connection
    # marked READ_ONLY (a long read of a whole table, such as loading matching's index) takes a
    # plain BEGIN: a snapshot of the file that never holds the write lock.
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


def _sqlite_begin_deferred(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


PING_AFTER_IDLE_SECONDS = 10.0


def _ping_when_idle(engine: Engine, idle_seconds: float = PING_AFTER_IDLE_SECONDS) -> None:
    """Ping a pooled connection on checkout only when it sat idle for a while.

    `pool_pre_ping` costs a round trip on every checkout, that is on every request. A connection
    handed back moments ago is alive; one that sat idle (a PostgreSQL restart, a dropped link)
    is pinged, and a dead one is replaced before anyone uses it. A connection that dies while in
    steady use fails its statement; SQLAlchemy then recycles the whole pool, as after a failed ping.
    """

    def connected(_dbapi_conn: Any, record: Any) -> None:
        record.info["careline_idle_since"] = time.monotonic()

    def checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["careline_idle_since"] = time.monotonic()

    def checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("careline_idle_since")
        if since is not None and time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError("the database connection did not answer a ping") from exc

    event.listen(engine, "connect", connected)
    event.listen(engine, "checkin", checked_in)
    event.listen(engine, "checkout", checked_out)


def make_engine(
    url: str,
    *,
    echo: bool = False,
    pool_size: int = 5,
    max_overflow: int = 10,
    immediate: bool | None = True,
) -> Engine:
    """An engine for SQLite (file, WAL, one writer at a time) or PostgreSQL (psycopg 3).

    `immediate=False` gives plain deferred SQLite transactions and `None` none at all (each statement
    commits by itself): only for tooling, such as tests inspecting results, that must neither hold the
    write lock nor keep reading an old snapshot while the app works.
    """
    if url.startswith("sqlite"):
        pool = (
            {}
            if url in ("sqlite://", "sqlite:///:memory:")
            else {"pool_size": pool_size, "max_overflow": max_overflow}
        )
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_pre_ping=True,
            **pool,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        if immediate is not None:
            event.listen(engine, "begin", _sqlite_begin_immediate if immediate else _sqlite_begin_deferred)
        return engine
    # A bounded pool per process: several processes share PostgreSQL's max_connections; under load a
    # request waits for a connection (pool_timeout) instead of the server refusing new clients.
    engine = create_engine(url, echo=echo, pool_size=pool_size, max_overflow=max_overflow, pool_timeout=60)
    _ping_when_idle(engine)
    event.listen(engine, "connect", _one_integer_type)
    return engine


def _one_integer_type(dbapi_conn: Any, _record: Any) -> None:
    """Send Python ints as `integer` (int4), `bigint` only when they do not fit.

    psycopg types each int parameter by its value (smallint below 32,768, integer above), and
    a statement's parameter types are part of what it prepares and PostgreSQL plans: a booking's
    statements, whose ids fall either side of 32,768, came as four variants each, each prepared
    and planned on its own. One type per statement text keeps one prepared statement per text.
    """
    dbapi_conn.adapters.register_dumper(int, _Int4Dumper)
    dbapi_conn.adapters.register_dumper(int, _Int4BinaryDumper)


class _Int4First:
    """An int dumper's choice: integer when the value fits, else what psycopg would choose."""

    def upgrade(self, obj: int, format: PyFormat) -> Any:
        return self._int4_dumper if -(2**31) <= obj < 2**31 else super().upgrade(obj, format)  # type: ignore[attr-defined,misc]


class _Int4Dumper(_Int4First, IntDumper):
    pass


class _Int4BinaryDumper(_Int4First, IntBinaryDumper):
    pass


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (the request renders after committing)."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def open_session(factory: sessionmaker[Session], scope: Scope) -> Session:
    """A session bound to a tenant scope; the only way the app opens one."""
    session = factory()
    session.info["scope"] = scope
    return session


@contextmanager
def transaction(factory: sessionmaker[Session], scope: Scope = SYSTEM) -> Iterator[Session]:
    """One unit of work for CLI commands and jobs: commit on success, roll back on error."""
    session = open_session(factory, scope)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def end_unwritten(session: Session) -> None:
    """Before a failed unit of work rolls back: on PostgreSQL, when its transaction wrote nothing,
    end it with a COMMIT on the driver's connection instead.

    PostgreSQL assigns a transaction id at the first row written or locked; with none assigned,
    COMMIT and ROLLBACK end the transaction alike. psycopg, though, forgets every prepared statement
    of the connection at each ROLLBACK, so a request refused after only reading (a booking answered
    409) made its connection prepare, and PostgreSQL plan, each statement anew. The session's own
    rollback, which the caller still does, then finds no transaction on the server: it resets the
    session (and drops what was waiting for a commit, such as audit rows) and sends nothing.
    Anything else (SQLite, a failed statement, a write) is left to that rollback.
    """
    if not session.in_transaction() or session.get_bind().dialect.name != "postgresql":
        return
    driver = session.connection().connection.driver_connection
    if driver is None or driver.info.transaction_status != TransactionStatus.INTRANS:
        return
    if driver.execute("SELECT pg_current_xact_id_if_assigned() IS NULL").fetchone()[0]:
        driver.commit()


def get_scoped(session: Session, model: type, object_id: int, *, what: str | None = None) -> Any:
    """Load one row by id through the tenant scope; another tenant's row is simply not found."""
    obj = session.get(model, object_id)
    if obj is None or (isinstance(obj, TenantScoped) and not scope_of(session).allows(obj.tenant_id)):
        raise NotFound(f"{what or model.__name__.lower()} {object_id} not found")
    return obj


def str_enum(enum_cls: type, name: str | None = None) -> Enum:
    """A portable column for a StrEnum: stores the values (not the names) as VARCHAR with a CHECK.

    Two columns of the same enum in one table need distinct `name`s (the CHECK constraint's name).
    """
    return Enum(
        enum_cls,
        native_enum=False,
        length=40,
        create_constraint=True,
        values_callable=lambda e: [m.value for m in e],
        name=name or enum_cls.__name__.lower(),
    )
