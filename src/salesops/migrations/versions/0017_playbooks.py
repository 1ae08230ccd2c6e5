"""playbooks (methodology revisions), deal checklists, coaching notes, hygiene snapshots,
feedback and votes, digest subscriptions, the sales tool stack

Revision ID: 0017
Revises: 0009
Create Date: 2026-12-08 02:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import salesops.db.types

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "playbooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("methodology", sa.String(length=80), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("loaded_at", salesops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("loaded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["loaded_by_id"], ["users.id"], name=op.f("fk_playbooks_loaded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playbooks")),
        sa.UniqueConstraint(
            "methodology", "revision", name=op.f("uq_playbooks_methodology_revision")
        ),
    )
    with op.batch_alter_table("playbooks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_playbooks_is_active"), ["is_active"], unique=False)

    op.create_table(
        "hygiene_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("taken_on", sa.Date(), nullable=False),
        sa.Column("rep_id", sa.Integer(), nullable=False),
        sa.Column("open_deals", sa.Integer(), nullable=False),
        sa.Column("flagged_deals", sa.Integer(), nullable=False),
        sa.Column("flag_counts", sa.JSON(), nullable=False),
        sa.Column(
            "score", salesops.db.types.Ratio(precision=7, scale=4, asdecimal=False), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["rep_id"],
            ["reps.id"],
            name=op.f("fk_hygiene_snapshots_rep_id_reps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hygiene_snapshots")),
        sa.UniqueConstraint(
            "taken_on", "rep_id", name=op.f("uq_hygiene_snapshots_taken_on_rep_id")
        ),
    )
    with op.batch_alter_table("hygiene_snapshots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hygiene_snapshots_rep_id"), ["rep_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_hygiene_snapshots_taken_on"), ["taken_on"], unique=False
        )

    op.create_table(
        "coaching_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("at", salesops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("flag", sa.String(length=30), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("resolved_at", salesops.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_coaching_notes_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_coaching_notes_opportunity_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coaching_notes")),
    )
    with op.batch_alter_table("coaching_notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_coaching_notes_opportunity_id"), ["opportunity_id"], unique=False
        )

    op.create_table(
        "deal_checklist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=False),
        sa.Column("item_key", sa.String(length=60), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=255), nullable=True),
        sa.Column("updated_at", salesops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_deal_checklist_opportunity_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_deal_checklist_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_checklist")),
        sa.UniqueConstraint(
            "opportunity_id", "item_key", name=op.f("uq_deal_checklist_opportunity_id_item_key")
        ),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("opportunity_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("change_made", sa.Text(), nullable=True),
        sa.Column("created_at", salesops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", salesops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_feedback_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_feedback_opportunity_id_opportunities"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_feedback_owner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_author_id"), ["author_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_feedback_opportunity_id"), ["opportunity_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_feedback_status"), ["status"], unique=False)

    op.create_table(
        "feedback_votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", salesops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["feedback_id"],
            ["feedback.id"],
            name=op.f("fk_feedback_votes_feedback_id_feedback"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_feedback_votes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_votes")),
        sa.UniqueConstraint(
            "feedback_id", "user_id", name=op.f("uq_feedback_votes_feedback_id_user_id")
        ),
    )
    with op.batch_alter_table("feedback_votes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_votes_user_id"), ["user_id"], unique=False)

    op.create_table(
        "notification_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=30), nullable=False),
        sa.Column("frequency", sa.String(length=10), nullable=False),
        sa.Column("created_at", salesops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_subscriptions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_subscriptions")),
        sa.UniqueConstraint(
            "user_id", "topic", name=op.f("uq_notification_subscriptions_user_id_topic")
        ),
    )

    op.create_table(
        "sales_tools",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("vendor", sa.String(length=120), nullable=False),
        sa.Column("category", sa.String(length=60), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column(
            "annual_cost",
            salesops.db.types.Money(precision=18, scale=2, asdecimal=False),
            nullable=False,
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("renewal_date", sa.Date(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("capabilities", sa.JSON(), nullable=False),
        sa.Column("created_at", salesops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_sales_tools_owner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_tools")),
        sa.UniqueConstraint("name", name=op.f("uq_sales_tools_name")),
    )
    op.create_table(
        "tool_usage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tool_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("active_users", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tool_id"],
            ["sales_tools.id"],
            name=op.f("fk_tool_usage_tool_id_sales_tools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tool_usage")),
        sa.UniqueConstraint("tool_id", "month", name=op.f("uq_tool_usage_tool_id_month")),
    )
    op.create_table(
        "tool_evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("requirements", sa.JSON(), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("decision", sa.String(length=120), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", salesops.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", salesops.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_tool_evaluations_decided_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tool_evaluations")),
    )


def downgrade() -> None:
    op.drop_table("tool_evaluations")
    op.drop_table("tool_usage")
    op.drop_table("sales_tools")
    op.drop_table("notification_subscriptions")
    with op.batch_alter_table("feedback_votes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_votes_user_id"))

    op.drop_table("feedback_votes")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_status"))
        batch_op.drop_index(batch_op.f("ix_feedback_opportunity_id"))
        batch_op.drop_index(batch_op.f("ix_feedback_author_id"))

    op.drop_table("feedback")
    op.drop_table("deal_checklist")
    with op.batch_alter_table("coaching_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coaching_notes_opportunity_id"))

    op.drop_table("coaching_notes")
    with op.batch_alter_table("hygiene_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hygiene_snapshots_taken_on"))
        batch_op.drop_index(batch_op.f("ix_hygiene_snapshots_rep_id"))

    op.drop_table("hygiene_snapshots")
    with op.batch_alter_table("playbooks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_playbooks_is_active"))

    op.drop_table("playbooks")
