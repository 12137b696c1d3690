"""queues: queues per tenant and skill, agent presence and skills, queue entries, callbacks

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 01:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import careline.db

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_skills",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("skill", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_agent_skills_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "skill", name=op.f("pk_agent_skills")),
    )
    op.create_table(
        "queues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("skill", sa.String(length=60), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("service_level_seconds", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", careline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_queues_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queues")),
        sa.UniqueConstraint("tenant_id", "name", name="uq_queues_tenant_name"),
    )
    with op.batch_alter_table("queues", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_queues_skill"), ["skill"], unique=False)
        batch_op.create_index(batch_op.f("ix_queues_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "agent_presence",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "available",
                "on_contact",
                "wrap_up",
                "break",
                "offline",
                name="presencestate",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.Column("since", careline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_idle_at", careline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("current_contact_id", sa.Integer(), nullable=True),
        sa.Column("offer_contact_id", sa.Integer(), nullable=True),
        sa.Column("offer_expires_at", careline.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["current_contact_id"],
            ["contacts.id"],
            name=op.f("fk_agent_presence_current_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["offer_contact_id"],
            ["contacts.id"],
            name=op.f("fk_agent_presence_offer_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_agent_presence_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_agent_presence")),
    )
    op.create_table(
        "callbacks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("queue_id", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("due_at", careline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("place_at", careline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "queued",
                "in_progress",
                "completed",
                "failed",
                "cancelled",
                name="callbackstatus",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("outbound_contact_id", sa.Integer(), nullable=True),
        sa.Column("created_at", careline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("completed_at", careline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_by_user_id", sa.Integer(), nullable=True),
        sa.Column("result", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["completed_by_user_id"],
            ["users.id"],
            name=op.f("fk_callbacks_completed_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_callbacks_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_callbacks_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["outbound_contact_id"],
            ["contacts.id"],
            name=op.f("fk_callbacks_outbound_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_callbacks_patient_id_patients"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"], ["queues.id"], name=op.f("fk_callbacks_queue_id_queues"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_callbacks_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callbacks")),
    )
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_callbacks_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_callbacks_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index("ix_callbacks_status_due", ["status", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_callbacks_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "queue_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("callback_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "inbound", "callback", name="entrykind", native_enum=False, create_constraint=True, length=40
            ),
            nullable=False,
        ),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "waiting",
                "offered",
                "answered",
                "abandoned",
                "callback",
                "moved",
                name="entrystate",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("entered_at", careline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("offered_to_user_id", sa.Integer(), nullable=True),
        sa.Column("offered_at", careline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("offer_expires_at", careline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("offers", sa.Integer(), nullable=False),
        sa.Column("answered_at", careline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_by_user_id", sa.Integer(), nullable=True),
        sa.Column("left_at", careline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["answered_by_user_id"],
            ["users.id"],
            name=op.f("fk_queue_entries_answered_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["callback_id"],
            ["callbacks.id"],
            name=op.f("fk_queue_entries_callback_id_callbacks"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_queue_entries_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["offered_to_user_id"],
            ["users.id"],
            name=op.f("fk_queue_entries_offered_to_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"], ["queues.id"], name=op.f("fk_queue_entries_queue_id_queues"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_queue_entries_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_entries")),
    )
    with op.batch_alter_table("queue_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_queue_entries_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_queue_entries_offered_to_user_id"), ["offered_to_user_id"], unique=False
        )
        batch_op.create_index("ix_queue_entries_queue_entered", ["queue_id", "entered_at"], unique=False)
        batch_op.create_index("ix_queue_entries_state_queue", ["state", "queue_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_queue_entries_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("queue_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_queue_entries_tenant_id"))
        batch_op.drop_index("ix_queue_entries_state_queue")
        batch_op.drop_index("ix_queue_entries_queue_entered")
        batch_op.drop_index(batch_op.f("ix_queue_entries_offered_to_user_id"))
        batch_op.drop_index(batch_op.f("ix_queue_entries_contact_id"))

    op.drop_table("queue_entries")
    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_callbacks_tenant_id"))
        batch_op.drop_index("ix_callbacks_status_due")
        batch_op.drop_index(batch_op.f("ix_callbacks_patient_id"))
        batch_op.drop_index(batch_op.f("ix_callbacks_contact_id"))

    op.drop_table("callbacks")
    op.drop_table("agent_presence")
    with op.batch_alter_table("queues", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_queues_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_queues_skill"))

    op.drop_table("queues")
    op.drop_table("agent_skills")
