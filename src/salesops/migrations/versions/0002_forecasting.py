"""forecasting: runs, lines, deal predictions, forecast calls

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 05:09:04.239559
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import salesops.db.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "forecast_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("version", sa.String(length=20), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("as_of", salesops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("grain", sa.String(length=10), nullable=False),
        sa.Column("horizon", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("input_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", salesops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_forecast_runs_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_runs")),
    )
    with op.batch_alter_table("forecast_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_forecast_runs_as_of"), ["as_of"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_forecast_runs_input_fingerprint"), ["input_fingerprint"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_forecast_runs_method_as_of"), ["method", "as_of"], unique=False
        )

    op.create_table(
        "deal_predictions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column(
            "amount",
            salesops.db.types.Money(precision=18, scale=2, asdecimal=False),
            nullable=False,
        ),
        sa.Column(
            "p_win", salesops.db.types.Ratio(precision=7, scale=4, asdecimal=False), nullable=False
        ),
        sa.Column(
            "p_win_in_horizon",
            salesops.db.types.Ratio(precision=7, scale=4, asdecimal=False),
            nullable=False,
        ),
        sa.Column(
            "p_slip", salesops.db.types.Ratio(precision=7, scale=4, asdecimal=False), nullable=False
        ),
        sa.Column("expected_close_date", sa.Date(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_deal_predictions_opportunity_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["forecast_runs.id"],
            name=op.f("fk_deal_predictions_run_id_forecast_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_predictions")),
    )
    with op.batch_alter_table("deal_predictions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deal_predictions_opportunity_id"), ["opportunity_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_deal_predictions_run_id_opportunity_id"),
            ["run_id", "opportunity_id"],
            unique=True,
        )

    op.create_table(
        "forecast_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("horizon", sa.Integer(), nullable=False),
        sa.Column(
            "expected",
            salesops.db.types.Money(precision=18, scale=2, asdecimal=False),
            nullable=False,
        ),
        sa.Column(
            "p10", salesops.db.types.Money(precision=18, scale=2, asdecimal=False), nullable=False
        ),
        sa.Column(
            "p50", salesops.db.types.Money(precision=18, scale=2, asdecimal=False), nullable=False
        ),
        sa.Column(
            "p90", salesops.db.types.Money(precision=18, scale=2, asdecimal=False), nullable=False
        ),
        sa.Column(
            "from_pipeline",
            salesops.db.types.Money(precision=18, scale=2, asdecimal=False),
            nullable=False,
        ),
        sa.Column(
            "run_rate",
            salesops.db.types.Money(precision=18, scale=2, asdecimal=False),
            nullable=False,
        ),
        sa.Column(
            "actual", salesops.db.types.Money(precision=18, scale=2, asdecimal=False), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["forecast_runs.id"],
            name=op.f("fk_forecast_lines_run_id_forecast_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_forecast_lines_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_lines")),
    )
    with op.batch_alter_table("forecast_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_forecast_lines_period_start"), ["period_start"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_forecast_lines_run_id_period_start"),
            ["run_id", "period_start"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_forecast_lines_team_id"), ["team_id"], unique=False)

    op.create_table(
        "forecast_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("rep_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column(
            "commit_amount",
            salesops.db.types.Money(precision=18, scale=2, asdecimal=False),
            nullable=False,
        ),
        sa.Column(
            "best_case_amount",
            salesops.db.types.Money(precision=18, scale=2, asdecimal=False),
            nullable=False,
        ),
        sa.Column(
            "pipeline_amount",
            salesops.db.types.Money(precision=18, scale=2, asdecimal=False),
            nullable=False,
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("submitted_at", salesops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["rep_id"], ["reps.id"], name=op.f("fk_forecast_submissions_rep_id_reps")
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"],
            ["users.id"],
            name=op.f("fk_forecast_submissions_submitted_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_forecast_submissions_team_id_teams")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_submissions")),
    )
    with op.batch_alter_table("forecast_submissions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_forecast_submissions_period_start_rep_id_team_id"),
            ["period_start", "rep_id", "team_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_forecast_submissions_rep_id"), ["rep_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_forecast_submissions_submitted_at"), ["submitted_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_forecast_submissions_team_id"), ["team_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("forecast_submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_forecast_submissions_team_id"))
        batch_op.drop_index(batch_op.f("ix_forecast_submissions_submitted_at"))
        batch_op.drop_index(batch_op.f("ix_forecast_submissions_rep_id"))
        batch_op.drop_index(batch_op.f("ix_forecast_submissions_period_start_rep_id_team_id"))

    op.drop_table("forecast_submissions")
    with op.batch_alter_table("forecast_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_forecast_lines_team_id"))
        batch_op.drop_index(batch_op.f("ix_forecast_lines_run_id_period_start"))
        batch_op.drop_index(batch_op.f("ix_forecast_lines_period_start"))

    op.drop_table("forecast_lines")
    with op.batch_alter_table("deal_predictions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deal_predictions_run_id_opportunity_id"))
        batch_op.drop_index(batch_op.f("ix_deal_predictions_opportunity_id"))

    op.drop_table("deal_predictions")
    with op.batch_alter_table("forecast_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_forecast_runs_method_as_of"))
        batch_op.drop_index(batch_op.f("ix_forecast_runs_input_fingerprint"))
        batch_op.drop_index(batch_op.f("ix_forecast_runs_as_of"))

    op.drop_table("forecast_runs")
