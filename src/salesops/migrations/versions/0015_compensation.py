"""compensation: credit splits, comp runs and payout lines

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 02:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import salesops.db.types

revision: str = "0015"
down_revision: str | None = "0014"  # 0009 before terr (0014) was merged in
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "comp_credit_splits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("rep_id", sa.Integer(), nullable=False),
        sa.Column("share", salesops.db.types.Ratio(precision=7, scale=4, asdecimal=False), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["opportunity_id"], ["opportunities.id"],
            name=op.f("fk_comp_credit_splits_opportunity_id_opportunities"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rep_id"], ["reps.id"], name=op.f("fk_comp_credit_splits_rep_id_reps")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comp_credit_splits")),
    )  # fmt: skip
    op.create_index(
        op.f("ix_comp_credit_splits_opportunity_id_rep_id_kind"),
        "comp_credit_splits", ["opportunity_id", "rep_id", "kind"], unique=True,
    )  # fmt: skip
    op.create_index(
        op.f("ix_comp_credit_splits_rep_id"), "comp_credit_splits", ["rep_id"], unique=False
    )
    op.create_table(
        "comp_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("input_checksum", sa.String(length=64), nullable=False),
        sa.Column("plans", sa.JSON(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", salesops.db.types.Money(precision=18, scale=2, asdecimal=False), nullable=False),
        sa.Column("created_at", salesops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", salesops.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_comp_runs_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["users.id"], name=op.f("fk_comp_runs_closed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comp_runs")),
    )  # fmt: skip
    op.create_index(
        op.f("ix_comp_runs_period_start_status"), "comp_runs", ["period_start", "status"]
    )
    op.create_table(
        "comp_payout_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("rep_id", sa.Integer(), nullable=False),
        sa.Column("plan", sa.String(length=80), nullable=False),
        sa.Column("rule", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("tier", sa.String(length=80), nullable=False),
        sa.Column("rate", sa.Numeric(precision=12, scale=8), nullable=True),
        sa.Column("credited", salesops.db.types.Money(precision=18, scale=2, asdecimal=False), nullable=False),
        sa.Column("amount", salesops.db.types.Money(precision=18, scale=2, asdecimal=False), nullable=False),
        sa.Column("deals", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["comp_runs.id"], name=op.f("fk_comp_payout_lines_run_id_comp_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rep_id"], ["reps.id"], name=op.f("fk_comp_payout_lines_rep_id_reps")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comp_payout_lines")),
    )  # fmt: skip
    op.create_index(
        op.f("ix_comp_payout_lines_rep_id"), "comp_payout_lines", ["rep_id"], unique=False
    )
    op.create_index(
        op.f("ix_comp_payout_lines_run_id_rep_id"), "comp_payout_lines", ["run_id", "rep_id"]
    )


def downgrade() -> None:
    op.drop_table("comp_payout_lines")
    op.drop_index(op.f("ix_comp_runs_period_start_status"), table_name="comp_runs")
    op.drop_table("comp_runs")
    op.drop_table("comp_credit_splits")
