"""jobs: PostgreSQL sends an event's NOTIFY itself, from a trigger on the events table

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 03:00:00

Live screens LISTEN on `careline_events`; every published event used to send `SELECT pg_notify(...)`
as a statement of its own after inserting its row (a round trip and a flush per event). A row
trigger now notifies as the row is inserted: the same notification, delivered at commit as before
(and only if the transaction commits), with the channel's name as the payload. SQLite has no
NOTIFY; its listeners poll, as before.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE OR REPLACE FUNCTION careline_events_notify() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('careline_events', NEW.channel);
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER events_notify AFTER INSERT ON events "
        "FOR EACH ROW EXECUTE FUNCTION careline_events_notify()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS events_notify ON events")
    op.execute("DROP FUNCTION IF EXISTS careline_events_notify()")
