"""scheduling: appointment types, availability templates, exceptions, appointments, waitlist, outbox

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 01:00:00

No double booking is enforced here, by the database:
- PostgreSQL: btree_gist and two exclusion constraints over tstzrange(start_at, end_at), one per
  provider and one per patient, for the active statuses (pending, booked, arrived, fulfilled).
- SQLite: triggers that abort an insert or update making an active appointment overlap another of
  the same provider or patient (the app's BEGIN IMMEDIATE transactions serialise the writers).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import careline.db

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ACTIVE = "status IN ('pending', 'booked', 'arrived', 'fulfilled')"


def _overlap_guards(dialect: str) -> list:
    """The dialect's own constraints on appointments (the model declares the same with ddl_if)."""
    if dialect == "postgresql":
        return [
            sa.CheckConstraint(
                "end_at <= start_at + interval '1 day'", name=op.f("ck_appointments_at_most_a_day")
            ),
            postgresql.ExcludeConstraint(
                (sa.text("provider_id"), "="),
                (sa.text("tstzrange(start_at, end_at)"), "&&"),
                where=sa.text(ACTIVE),
                using="gist",
                name="ex_appointments_provider_overlap",
            ),
            postgresql.ExcludeConstraint(
                (sa.text("patient_id"), "="),
                (sa.text("tstzrange(start_at, end_at)"), "&&"),
                where=sa.text(ACTIVE),
                using="gist",
                name="ex_appointments_patient_overlap",
            ),
        ]
    if dialect == "sqlite":
        return [
            sa.CheckConstraint(
                "julianday(end_at) - julianday(start_at) <= 1",
                name=op.f("ck_appointments_at_most_a_day_sqlite"),
            )
        ]
    return []


def _sqlite_trigger(name: str, event: str, who: str, exclude_self: str) -> str:
    # Times are stored as fixed-width UTC text, so text comparison is time comparison. Visits are at
    # most a day long (check above), so the look-back of one day keeps this an index range scan.
    return f"""
CREATE TRIGGER {name} BEFORE {event} ON appointments
WHEN NEW.{ACTIVE}
BEGIN
  SELECT RAISE(ABORT, 'appointment overlaps ({who})')
  WHERE EXISTS (
    SELECT 1 FROM appointments a
    WHERE a.{who}_id = NEW.{who}_id
      AND a.{ACTIVE}
      AND a.start_at < NEW.end_at
      AND a.start_at > datetime(NEW.start_at, '-1 day')
      AND a.end_at > NEW.start_at{exclude_self}
  );
END"""


SQLITE_TRIGGERS = {
    "trg_appointments_provider_overlap_insert": ("INSERT", "provider", ""),
    "trg_appointments_patient_overlap_insert": ("INSERT", "patient", ""),
    "trg_appointments_provider_overlap_update": (
        "UPDATE OF status, start_at, end_at, provider_id",
        "provider",
        "\n      AND a.id != NEW.id",
    ),
    "trg_appointments_patient_overlap_update": (
        "UPDATE OF status, start_at, end_at, patient_id",
        "patient",
        "\n      AND a.id != NEW.id",
    ),
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "appointment_types",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column(
            "patient_kind",
            sa.Enum(
                "any",
                "new",
                "established",
                name="patientkind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "modality",
            sa.Enum(
                "in_person",
                "telehealth",
                name="modality",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("preparation", sa.Text(), nullable=False),
        sa.Column("min_notice_minutes", sa.Integer(), nullable=False),
        sa.Column("max_days_ahead", sa.Integer(), nullable=False),
        sa.Column("min_age", sa.Integer(), nullable=True),
        sa.Column("max_age", sa.Integer(), nullable=True),
        sa.Column("referral_required", sa.Boolean(), nullable=False),
        sa.Column("specialty_codes", sa.JSON(), nullable=False),
        sa.Column("provider_ids", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", careline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_appointment_types_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_types")),
        sa.UniqueConstraint("tenant_id", "name", name="uq_appointment_types_tenant_name"),
    )
    with op.batch_alter_table("appointment_types", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appointment_types_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "sms", "email", name="messagechannel", native_enum=False, create_constraint=True, length=40
            ),
            nullable=False,
        ),
        sa.Column("to", sa.String(length=254), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "sent",
                "failed",
                "no_address",
                name="messagestatus",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("related_type", sa.String(length=40), nullable=True),
        sa.Column("related_id", sa.Integer(), nullable=True),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("created_at", careline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", careline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_outbox_messages_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_messages_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index("ix_outbox_messages_related", ["related_type", "related_id"], unique=False)
        batch_op.create_index("ix_outbox_messages_status_created", ["status", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_messages_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "availability_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_local", sa.String(length=5), nullable=False),
        sa.Column("end_local", sa.String(length=5), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("reserved_type_id", sa.Integer(), nullable=True),
        sa.Column("release_at_local", sa.String(length=5), nullable=True),
        sa.Column("release_days_before", sa.Integer(), nullable=False),
        sa.Column("created_at", careline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("slot_minutes > 0", name=op.f("ck_availability_templates_slot_minutes_positive")),
        sa.CheckConstraint(
            "weekday >= 0 AND weekday <= 6", name=op.f("ck_availability_templates_weekday_range")
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_availability_templates_location_id_locations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_availability_templates_provider_id_providers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reserved_type_id"],
            ["appointment_types.id"],
            name=op.f("fk_availability_templates_reserved_type_id_appointment_types"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_availability_templates_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_templates")),
    )
    with op.batch_alter_table("availability_templates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_availability_templates_location_id"), ["location_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_availability_templates_provider_id"), ["provider_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_availability_templates_reserved_type_id"), ["reserved_type_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_availability_templates_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "calendar_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=True),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("starts_at", careline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", careline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "vacation",
                "holiday",
                "half_day",
                "closure",
                "meeting",
                "other",
                name="exceptionkind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_at", careline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_calendar_exceptions_ends_after_starts")),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_calendar_exceptions_location_id_locations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_calendar_exceptions_provider_id_providers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_calendar_exceptions_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_exceptions")),
    )
    with op.batch_alter_table("calendar_exceptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calendar_exceptions_location_id"), ["location_id"], unique=False)
        batch_op.create_index(
            "ix_calendar_exceptions_provider_starts", ["provider_id", "starts_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_calendar_exceptions_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column("start_at", careline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_at", careline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "proposed",
                "pending",
                "booked",
                "arrived",
                "fulfilled",
                "cancelled",
                "noshow",
                name="appointmentstatus",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("hold_expires_at", careline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "cancel_reason",
            sa.Enum(
                "patient_request",
                "patient_ill",
                "no_longer_needed",
                "provider_unavailable",
                "location_closed",
                "weather",
                "rescheduled",
                "booked_in_error",
                "hold_released",
                "hold_expired",
                "other",
                name="cancelreason",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column("cancel_note", sa.String(length=500), nullable=True),
        sa.Column("booked_by_user_id", sa.Integer(), nullable=True),
        sa.Column("booked_by", sa.String(length=200), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("has_referral", sa.Boolean(), nullable=False),
        sa.Column("referral_source", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("rescheduled_from_id", sa.Integer(), nullable=True),
        sa.Column("created_at", careline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", careline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_appointments_end_after_start")),
        sa.ForeignKeyConstraint(
            ["booked_by_user_id"],
            ["users.id"],
            name=op.f("fk_appointments_booked_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_appointments_location_id_locations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_appointments_patient_id_patients"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_appointments_provider_id_providers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["rescheduled_from_id"],
            ["appointments.id"],
            name=op.f("fk_appointments_rescheduled_from_id_appointments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_appointments_tenant_id_tenants"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["type_id"],
            ["appointment_types.id"],
            name=op.f("fk_appointments_type_id_appointment_types"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
        *_overlap_guards(dialect),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appointments_location_id"), ["location_id"], unique=False)
        batch_op.create_index("ix_appointments_patient_start", ["patient_id", "start_at"], unique=False)
        batch_op.create_index("ix_appointments_provider_start", ["provider_id", "start_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_appointments_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_appointments_tenant_start", ["tenant_id", "start_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_appointments_type_id"), ["type_id"], unique=False)
    if dialect == "sqlite":
        for name, (event, who, exclude_self) in SQLITE_TRIGGERS.items():
            op.execute(_sqlite_trigger(name, event, who, exclude_self))

    op.create_table(
        "appointment_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column(
            "from_status",
            sa.Enum(
                "proposed",
                "pending",
                "booked",
                "arrived",
                "fulfilled",
                "cancelled",
                "noshow",
                name="from_status",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "proposed",
                "pending",
                "booked",
                "arrived",
                "fulfilled",
                "cancelled",
                "noshow",
                name="appointmentstatus",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("at", careline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_appointment_history_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["by_user_id"],
            ["users.id"],
            name=op.f("fk_appointment_history_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_appointment_history_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_history")),
    )
    with op.batch_alter_table("appointment_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_appointment_history_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_appointment_history_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column("provider_ids", sa.JSON(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("earliest_date", sa.Date(), nullable=False),
        sa.Column("latest_date", sa.Date(), nullable=False),
        sa.Column("weekdays", sa.JSON(), nullable=False),
        sa.Column("after_local", sa.String(length=5), nullable=True),
        sa.Column("before_local", sa.String(length=5), nullable=True),
        sa.Column("current_appointment_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "waiting",
                "offered",
                "booked",
                "cancelled",
                name="waitliststatus",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("offer_appointment_id", sa.Integer(), nullable=True),
        sa.Column("offered_at", careline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", careline.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", careline.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_waitlist_entries_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["current_appointment_id"],
            ["appointments.id"],
            name=op.f("fk_waitlist_entries_current_appointment_id_appointments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_waitlist_entries_location_id_locations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["offer_appointment_id"],
            ["appointments.id"],
            name=op.f("fk_waitlist_entries_offer_appointment_id_appointments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_waitlist_entries_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_waitlist_entries_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["type_id"],
            ["appointment_types.id"],
            name=op.f("fk_waitlist_entries_type_id_appointment_types"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
    )
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_waitlist_entries_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_waitlist_entries_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_waitlist_entries_tenant_status", ["tenant_id", "status"], unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_waitlist_entries_tenant_status")
        batch_op.drop_index(batch_op.f("ix_waitlist_entries_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_waitlist_entries_patient_id"))

    op.drop_table("waitlist_entries")
    with op.batch_alter_table("appointment_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointment_history_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_appointment_history_appointment_id"))

    op.drop_table("appointment_history")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointments_type_id"))
        batch_op.drop_index("ix_appointments_tenant_start")
        batch_op.drop_index(batch_op.f("ix_appointments_tenant_id"))
        batch_op.drop_index("ix_appointments_provider_start")
        batch_op.drop_index("ix_appointments_patient_start")
        batch_op.drop_index(batch_op.f("ix_appointments_location_id"))

    op.drop_table("appointments")
    with op.batch_alter_table("calendar_exceptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_exceptions_tenant_id"))
        batch_op.drop_index("ix_calendar_exceptions_provider_starts")
        batch_op.drop_index(batch_op.f("ix_calendar_exceptions_location_id"))

    op.drop_table("calendar_exceptions")
    with op.batch_alter_table("availability_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_availability_templates_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_availability_templates_reserved_type_id"))
        batch_op.drop_index(batch_op.f("ix_availability_templates_provider_id"))
        batch_op.drop_index(batch_op.f("ix_availability_templates_location_id"))

    op.drop_table("availability_templates")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_messages_tenant_id"))
        batch_op.drop_index("ix_outbox_messages_status_created")
        batch_op.drop_index("ix_outbox_messages_related")
        batch_op.drop_index(batch_op.f("ix_outbox_messages_patient_id"))

    op.drop_table("outbox_messages")
    with op.batch_alter_table("appointment_types", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointment_types_tenant_id"))

    op.drop_table("appointment_types")
