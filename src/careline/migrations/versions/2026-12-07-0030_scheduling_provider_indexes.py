"""scheduling: per-provider indexes that name the tenant too (fast without planner statistics)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 00:30:00

Scheduling's availability reads ask for `provider_id IN (...)` beside `tenant_id = ?` (or the
session scope's `tenant_id IN (...)`). SQLite without statistics (nobody has run ANALYZE) takes the
index that covers most of the WHERE clause; with only `provider_id` indexed alone it chose the
tenant's index and read every weekly window of the tenant (1.25 million in the 100,000-provider demo,
~0.2 s a call). These indexes cover both columns, so the provider lookup wins everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("availability_templates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_availability_templates_tenant_id_provider_id", ["tenant_id", "provider_id"], unique=False
        )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_appointments_provider_tenant_start", ["provider_id", "tenant_id", "start_at"], unique=False
        )
    with op.batch_alter_table("calendar_exceptions", schema=None) as batch_op:
        batch_op.create_index("ix_calendar_exceptions_tenant_ends", ["tenant_id", "ends_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("calendar_exceptions", schema=None) as batch_op:
        batch_op.drop_index("ix_calendar_exceptions_tenant_ends")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index("ix_appointments_provider_tenant_start")
    with op.batch_alter_table("availability_templates", schema=None) as batch_op:
        batch_op.drop_index("ix_availability_templates_tenant_id_provider_id")
