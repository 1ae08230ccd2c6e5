"""proposals and approvals; account postal codes for territory rules

Revision ID: 0014
Revises: 0009
Create Date: 2026-12-08 02:45:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import salesops.db.types

revision: str = "0014"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, salesops.db.types.UTCDateTime(timezone=True), nullable=nullable)


def _by(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.Integer(), nullable=True)


def upgrade() -> None:
    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("effective_from", sa.Date(), nullable=True),
        _when("created_at", nullable=False),
        _by("created_by"),
        _when("submitted_at"),
        _by("submitted_by"),
        _when("decided_at"),
        _by("decided_by"),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        _when("applied_at"),
        _by("applied_by"),
        _when("rolled_back_at"),
        _by("rolled_back_by"),
        sa.Column("undo", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        *(
            sa.ForeignKeyConstraint(
                [column], ["users.id"], name=op.f(f"fk_proposals_{column}_users")
            )
            for column in (
                "created_by",
                "submitted_by",
                "decided_by",
                "applied_by",
                "rolled_back_by",
            )
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposals")),
    )
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_proposals_kind_state"), ["kind", "state"], unique=False
        )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("postal_code", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("postal_code")
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposals_kind_state"))
    op.drop_table("proposals")
