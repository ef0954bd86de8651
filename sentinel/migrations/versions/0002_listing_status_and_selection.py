"""Each listing month's case status and its field-visit selection (with its probability).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_COLUMNS = (
    sa.Column("status", sa.String(20)),
    sa.Column("selection", sa.String(12)),
    sa.Column("selection_probability", sa.Float),
)


def upgrade() -> None:
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("case_months")}
    for column in _COLUMNS:
        if column.name not in present:
            op.add_column("case_months", column.copy())


def downgrade() -> None:
    with op.batch_alter_table("case_months") as batch:
        for column in _COLUMNS:
            batch.drop_column(column.name)
