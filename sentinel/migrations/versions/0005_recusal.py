"""Recusal (回避) of review app users: the village a user lives in and their relatives'
identity numbers (``review_users.village``, ``review_users.relatives``).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa

from sentinel.migrations.columns import add_missing_columns, drop_columns

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_COLUMNS = (sa.Column("village", sa.Text), sa.Column("relatives", sa.JSON))


def upgrade() -> None:
    add_missing_columns("review_users", _COLUMNS)


def downgrade() -> None:
    drop_columns("review_users", _COLUMNS)
