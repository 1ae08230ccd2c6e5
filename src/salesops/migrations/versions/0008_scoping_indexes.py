"""indexes for scoped lists and their default orders

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 23:15:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # (owner_id, account_id) serves every lookup by owner_id, so it replaces that index.
    op.create_index(
        op.f("ix_opportunities_owner_id_account_id"),
        "opportunities",
        ["owner_id", "account_id"],
        unique=False,
    )
    op.drop_index(op.f("ix_opportunities_owner_id"), table_name="opportunities")
    op.create_index(op.f("ix_contacts_last_name_id"), "contacts", ["last_name", "id"], unique=False)
    op.create_index(
        op.f("ix_contracts_start_date_id"), "contracts", ["start_date", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_contracts_start_date_id"), table_name="contracts")
    op.drop_index(op.f("ix_contacts_last_name_id"), table_name="contacts")
    op.create_index(op.f("ix_opportunities_owner_id"), "opportunities", ["owner_id"], unique=False)
    op.drop_index(op.f("ix_opportunities_owner_id_account_id"), table_name="opportunities")
