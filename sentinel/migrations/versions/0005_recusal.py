"""Recusal (回避) of review app users: the village a user lives in and their relatives'
identity numbers (``review_users.village``, ``review_users.relatives``).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_COLUMNS = (sa.Column("village", sa.Text), sa.Column("relatives", sa.JSON))


def upgrade() -> None:
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("review_users")}
    for column in _COLUMNS:
        if column.name not in present:
            op.add_column("review_users", column.copy())


def downgrade() -> None:
    with op.batch_alter_table("review_users") as batch:
        for column in _COLUMNS:
            batch.drop_column(column.name)
