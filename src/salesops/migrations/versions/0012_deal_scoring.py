"""custom attributes on accounts and opportunities; trained models and deal scores

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-08 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import salesops.db.types

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attributes", sa.JSON(), nullable=True))
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attributes", sa.JSON(), nullable=True))
    op.create_table(
        "trained_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("algorithm", sa.String(length=60), nullable=False),
        sa.Column("as_of", salesops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("created_at", salesops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_trained_models_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trained_models")),
    )
    with op.batch_alter_table("trained_models", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_trained_models_name_version"), ["name", "version"], unique=True
        )
    op.create_table(
        "deal_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("scored_at", salesops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "p_win", salesops.db.types.Ratio(precision=7, scale=4, asdecimal=False), nullable=False
        ),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["trained_models.id"],
            name=op.f("fk_deal_scores_model_id_trained_models"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_deal_scores_opportunity_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_scores")),
    )
    with op.batch_alter_table("deal_scores", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deal_scores_model_id_opportunity_id"),
            ["model_id", "opportunity_id"],
            unique=True,
        )
        batch_op.create_index(
            batch_op.f("ix_deal_scores_opportunity_id"), ["opportunity_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("deal_scores")
    op.drop_table("trained_models")
    with op.batch_alter_table("opportunities", schema=None) as batch_op:
        batch_op.drop_column("attributes")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("attributes")
