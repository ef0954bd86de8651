"""Failed logins counted per user and minute in one audit row (``count``, ``bucket``), and
the audit log searchable by day.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("review_audit")}
    for column in (sa.Column("count", sa.Integer), sa.Column("bucket", sa.String(160))):
        if column.name not in present:
            op.add_column("review_audit", column)
    op.create_index("ux_review_audit_bucket", "review_audit", ["bucket"], unique=True, if_not_exists=True)
    op.create_index("ix_review_audit_at", "review_audit", ["at"], if_not_exists=True)


def downgrade() -> None:
    op.drop_index("ix_review_audit_at", "review_audit")
    op.drop_index("ux_review_audit_bucket", "review_audit")
    with op.batch_alter_table("review_audit") as batch:
        batch.drop_column("bucket")
        batch.drop_column("count")
