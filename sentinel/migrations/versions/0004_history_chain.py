"""The hash chain over the case events and the review audit log (``chain_seq``,
``row_hash``; :mod:`sentinel.casestore.chain`). Rows written before this revision are
sealed as they stand when the database is upgraded.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sentinel.casestore.chain import CHAINED, history_chains, seal

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

def upgrade() -> None:
    bind = op.get_bind()
    for name in CHAINED:
        present = {c["name"] for c in sa.inspect(bind).get_columns(name)}
        for column in (sa.Column("chain_seq", sa.Integer), sa.Column("row_hash", sa.String(64))):
            if column.name not in present:
                op.add_column(name, column)
        op.create_index(f"ux_{name}_chain_seq", name, ["chain_seq"], unique=True, if_not_exists=True)
    for chain in history_chains(bind):
        seal(bind, chain)


def downgrade() -> None:
    for name in CHAINED:
        op.drop_index(f"ux_{name}_chain_seq", name)
        with op.batch_alter_table(name) as batch:
            batch.drop_column("row_hash")
            batch.drop_column("chain_seq")
