"""The case store's tables (migrations: :mod:`sentinel.migrations`)."""

from __future__ import annotations

import polars as pl
from sqlalchemy.schema import Column, Index, MetaData, Table, UniqueConstraint
from sqlalchemy.types import JSON, Date, DateTime, Float, Integer, String, Text

from sentinel.casestore.chain import CHAINED, Chain

_metadata = MetaData()

_cases = Table(
    "cases",
    _metadata,
    Column("case_id", String(40), primary_key=True),
    Column("person_id", String(40), nullable=False, index=True),
    Column("typology", String(40), nullable=False),
    Column("township", Text),
    Column("first_flagged", String(7), nullable=False),
    Column("state", String(10), nullable=False),
    Column("assignee", Text),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("outcome", String(20)),
    Column("closed_on", Date),
    Column("death_date", Date),
    Column("overpaid_amount", Float),
    Column("recovered_amount", Float),
    Column("audited_reasons", Text),
    Column("est_overpayment", Float),
    Column("reasons", Text),
    Column("last_listed", String(7), nullable=False),
    Column("note", Text),
)

_case_months = Table(
    "case_months",
    _metadata,
    Column("case_id", String(40), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("priority_rank", Integer),
    Column("risk_score", Float),
    Column("est_overpayment", Float),
    Column("reasons", Text),
    Column("note", Text),
    Column("status", String(20)),
    Column("selection", String(12)),
    Column("selection_probability", Float),
)

_events = Table(
    "events",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # No foreign key: a suppressed case of a cleared person may never have been listed.
    Column("case_id", String(40), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("kind", String(12), nullable=False),
    # Set for events of a monthly listing; NULLs are distinct, so hand-made events repeat.
    Column("month", String(7)),
    Column("detail", JSON),
    # The event's place in the hash chain and its hash (sentinel.casestore.chain).
    Column("chain_seq", Integer),
    Column("row_hash", String(64)),
    UniqueConstraint("case_id", "month", "kind", name="uq_events_case_month_kind"),
)
_events_chain_seq = Index("ux_events_chain_seq", _events.c.chain_seq, unique=True)
#: The case events' hash chain (every row).
EVENTS_CHAIN = Chain(_events, CHAINED["events"][0])

_CHUNK = 500

#: The frame type of each column type of the store's tables, as
#: :class:`sentinel.casestore.queries.CaseQueries` reads them back (times as naive UTC).
_FRAME_TYPES: dict[type, pl.DataType] = {
    String: pl.String(),
    Text: pl.String(),
    Date: pl.Date(),
    DateTime: pl.Datetime("us"),
    Float: pl.Float64(),
    Integer: pl.Int64(),
}
#: A frame of :data:`_cases` rows.
_CASE_SCHEMA: dict[str, pl.DataType] = {c.name: _FRAME_TYPES[type(c.type)] for c in _cases.columns}

_EVENT_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Int64(),
    "case_id": pl.String(),
    "at": pl.Datetime("us"),
    "actor": pl.String(),
    "kind": pl.String(),
    "month": pl.String(),
    "detail": pl.String(),
}
