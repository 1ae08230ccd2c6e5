"""row versions for optimistic concurrency; an opportunity's next step

Revision ID: 0007
Revises: 0003
Create Date: 2026-12-07 22:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table the API and the dashboard update: each row's version starts at 1.
VERSIONED = (
    "accounts",
    "activities",
    "contacts",
    "contracts",
    "leads",
    "opportunities",
    "quotas",
    "reps",
    "teams",
    "territories",
)


def upgrade() -> None:
    for table in VERSIONED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False)
            )
    with op.batch_alter_table("opportunities") as batch:
        batch.add_column(sa.Column("next_step", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("opportunities") as batch:
        batch.drop_column("next_step")
    for table in reversed(VERSIONED):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("version")
