"""Each listing month's case status and its field-visit selection (with its probability).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa

from sentinel.migrations.columns import add_missing_columns, drop_columns

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
    add_missing_columns("case_months", _COLUMNS)


def downgrade() -> None:
    drop_columns("case_months", _COLUMNS)
