"""The case store and the review app's tables as first released.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # IF NOT EXISTS: a database made before versioning already holds some or all of them.
    _create_case_tables()
    _create_review_tables()


def _create_table(name: str, *columns: sa.SchemaItem, indexed: tuple[str, ...] = ()) -> None:
    """Create the table ``name`` unless it exists, then an index ``ix_<name>_<column>`` on
    each column named in ``indexed`` (likewise unless it exists)."""
    op.create_table(name, *columns, if_not_exists=True)
    for column in indexed:
        op.create_index(f"ix_{name}_{column}", name, [column], if_not_exists=True)


def _create_case_tables() -> None:
    """The case store's tables: cases, their monthly listings, their events."""
    _create_table(
        "cases",
        sa.Column("case_id", sa.String(40), primary_key=True),
        sa.Column("person_id", sa.String(40), nullable=False),
        sa.Column("typology", sa.String(40), nullable=False),
        sa.Column("township", sa.Text),
        sa.Column("first_flagged", sa.String(7), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("assignee", sa.Text),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(20)),
        sa.Column("closed_on", sa.Date),
        sa.Column("death_date", sa.Date),
        sa.Column("overpaid_amount", sa.Float),
        sa.Column("recovered_amount", sa.Float),
        sa.Column("audited_reasons", sa.Text),
        sa.Column("est_overpayment", sa.Float),
        sa.Column("reasons", sa.Text),
        sa.Column("last_listed", sa.String(7), nullable=False),
        sa.Column("note", sa.Text),
        indexed=("person_id",),
    )
    _create_table(
        "case_months",
        sa.Column("case_id", sa.String(40), primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("priority_rank", sa.Integer),
        sa.Column("risk_score", sa.Float),
        sa.Column("est_overpayment", sa.Float),
        sa.Column("reasons", sa.Text),
        sa.Column("note", sa.Text),
    )
    _create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("month", sa.String(7)),
        sa.Column("detail", sa.JSON),
        sa.UniqueConstraint("case_id", "month", "kind", name="uq_events_case_month_kind"),
        indexed=("case_id",),
    )


def _create_review_tables() -> None:
    """The review app's tables: users, sessions, failed logins, the audit trail."""
    _create_table(
        "review_users",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(12), nullable=False),
        sa.Column("townships", sa.JSON, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    _create_table(
        "review_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        indexed=("username",),
    )
    _create_table(
        "review_login_failures",
        *_log_columns(),
        sa.Column("client", sa.String(64), nullable=False),
        indexed=("at",),
    )
    _create_table(
        "review_audit",
        *_log_columns(),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("case_id", sa.String(40)),
        sa.Column("detail", sa.JSON),
        indexed=("username", "case_id"),
    )


def _log_columns() -> tuple[sa.Column, ...]:
    """The columns the review app's logs (failed logins, the audit trail) start with: the
    row's number, when and the user name (as typed, for a failed login)."""
    return (
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "review_audit",
        "review_login_failures",
        "review_sessions",
        "review_users",
        "events",
        "case_months",
        "cases",
    ):
        op.drop_table(table)
