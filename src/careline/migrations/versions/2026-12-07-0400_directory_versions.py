"""directory: a per-tenant version the database moves on every change to the matched directory rows

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 04:00:00

Matching keeps each tenant's directory in memory (matching/index.py) and must know, on every
request and in every process, whether it still holds what the tables hold. Triggers on the six
tables matching reads (providers, locations, and the providers' locations, specialties, languages
and plans) count every INSERT, UPDATE and DELETE into `directory_versions`, whatever wrote it: the
app, an import, a hand edit in psql. PostgreSQL counts once per statement and tenant (transition
tables; TRUNCATE moves every tenant); SQLite, which has only row triggers, once per row. The row's
lock also orders concurrent directory writers of one tenant, so versions commit in order.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "providers",
    "locations",
    "provider_locations",
    "provider_specialties",
    "provider_languages",
    "provider_plans",
)

_PG_BUMP = """
CREATE OR REPLACE FUNCTION careline_directory_bump_{rows}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO directory_versions (tenant_id, epoch, version)
    SELECT t.tenant_id, md5(random()::text || clock_timestamp()::text), 1
    FROM (SELECT DISTINCT tenant_id FROM {rows}_rows ORDER BY tenant_id) AS t
    ON CONFLICT (tenant_id) DO UPDATE SET version = directory_versions.version + 1;
    RETURN NULL;
END
$$
"""

_PG_BUMP_ALL = """
CREATE OR REPLACE FUNCTION careline_directory_bump_all() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE directory_versions SET version = version + 1;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "directory_versions",
        sa.Column("tenant_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("epoch", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    # Every client there is now gets its row (so a serving process can list whose directory to load).
    epoch = "md5(random()::text || clock_timestamp()::text)" if postgres else "lower(hex(randomblob(16)))"
    op.execute(
        f"INSERT INTO directory_versions (tenant_id, epoch, version) SELECT id, {epoch}, 0 FROM tenants"
    )
    if postgres:
        op.execute(_PG_BUMP.format(rows="new"))
        op.execute(_PG_BUMP.format(rows="old"))
        op.execute(_PG_BUMP_ALL)
        for table in TABLES:
            for event, rows in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
                op.execute(
                    f"CREATE TRIGGER {table}_version_{event.lower()} AFTER {event} ON {table} "
                    f"REFERENCING {rows} TABLE AS {rows.lower()}_rows FOR EACH STATEMENT "
                    f"EXECUTE FUNCTION careline_directory_bump_{rows.lower()}()"
                )
            op.execute(
                f"CREATE TRIGGER {table}_version_truncate AFTER TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION careline_directory_bump_all()"
            )
        return
    for table in TABLES:
        for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            op.execute(
                f"CREATE TRIGGER {table}_version_{event.lower()} AFTER {event} ON {table} BEGIN "
                "INSERT OR IGNORE INTO directory_versions (tenant_id, epoch, version) "
                f"VALUES ({row}.tenant_id, lower(hex(randomblob(16))), 0); "
                f"UPDATE directory_versions SET version = version + 1 WHERE tenant_id = {row}.tenant_id; "
                "END"
            )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in TABLES:
        for event in ("insert", "update", "delete") + (("truncate",) if postgres else ()):
            op.execute(
                f"DROP TRIGGER IF EXISTS {table}_version_{event}" + (f" ON {table}" if postgres else "")
            )
    if postgres:
        for name in ("new", "old", "all"):
            op.execute(f"DROP FUNCTION IF EXISTS careline_directory_bump_{name}()")
    op.drop_table("directory_versions")
