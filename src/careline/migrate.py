"""Running Alembic migrations from code (CLI, tests, `make run`), and refreshing the planner's
statistics after a migration or a bulk load."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at the package's migrations and the given database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.set_main_option(
        "file_template", "%%(year)d-%%(month).2d-%%(day).2d-%%(hour).2d%%(minute).2d_%%(slug)s"
    )
    return cfg


def upgrade(database_url: str, revision: str = "heads") -> None:
    """Apply migrations up to `revision` (all heads by default)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Step migrations back to `revision`."""
    command.downgrade(alembic_config(database_url), revision)


def revision(database_url: str, message: str, autogenerate: bool = True) -> None:
    """Write a new migration file (developers)."""
    command.revision(alembic_config(database_url), message=message, autogenerate=autogenerate)


def refresh_statistics(database_url: str, *, vacuum: bool = False) -> None:
    """Give the query planner fresh table statistics: `ANALYZE` (and `PRAGMA optimize`) on SQLite,
    `ANALYZE` on PostgreSQL, or `VACUUM (ANALYZE)` with `vacuum` (after a bulk load, so index-only
    scans need not visit the table until autovacuum has been by).

    Run after `careline db upgrade` (a migration may add indexes that have no statistics yet) and
    after `careline demo`. SQLite keeps no statistics until someone runs ANALYZE; the indexes are
    chosen to plan well without them (docs/matching.md), and this keeps them current. It reads
    every index once: under a second for the 100,000-provider demo world.
    """
    from careline.db import make_engine

    engine = make_engine(database_url, immediate=None)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if conn.dialect.name == "sqlite":
                conn.execute(text("ANALYZE"))
                conn.execute(text("PRAGMA optimize"))
            else:
                conn.execute(text("VACUUM (ANALYZE)" if vacuum else "ANALYZE"))
    finally:
        engine.dispose()
