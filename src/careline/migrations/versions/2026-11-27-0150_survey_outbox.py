"""survey links go through the channels outbox: drop the stopgap delivery columns

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 01:50:00

Until the channels outbox existed, 0008 kept each survey's address and message text on the survey
row; the outbox (`outbox_messages`, `surveys.outbox_message_id`) now holds them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.drop_column("message")
        batch_op.drop_column("send_to")


def downgrade() -> None:
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("send_to", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("message", sa.Text(), nullable=True))
