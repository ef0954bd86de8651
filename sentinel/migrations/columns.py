"""Columns a revision adds to an existing table, the way every revision adds them: only
those the table lacks (a database made before the store was versioned may have them)."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from alembic import op

__all__ = ["add_missing_columns", "drop_columns"]


def add_missing_columns(table: str, columns: Iterable[sa.Column]) -> None:
    """Add to ``table`` each of ``columns`` it does not have yet (a copy of each, so the
    revision's column objects stay unattached)."""
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}
    for column in columns:
        if column.name not in present:
            op.add_column(table, column.copy())


def drop_columns(table: str, columns: Iterable[sa.Column]) -> None:
    """Drop ``columns`` from ``table`` (in a batch: SQLite rebuilds the table once)."""
    with op.batch_alter_table(table) as batch:
        for column in columns:
            batch.drop_column(column.name)
