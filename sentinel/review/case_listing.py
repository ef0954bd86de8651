"""A month's listed cases as the review app reads them: the queue from the case store's
``case_months`` and ``cases`` tables (SQL, every filter a bound parameter) and the case
list's details (name, village, evidence, upstream suspect) from ``OUT/<month>/cases.parquet``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine, MetaData, Table, and_, func, select

from sentinel.casestore.sql import rows_of

__all__ = ["CaseListing", "QueueFilter", "month_case_details"]


@dataclass(frozen=True)
class QueueFilter:
    """The queue's filters; None means any. ``townships`` is the user's reach."""

    month: str
    township: str | None = None
    typology: str | None = None
    state: str | None = None
    assignee: str | None = None
    townships: frozenset[str] | None = None


class CaseListing:
    """Read-only SQL over the case store's tables: months, a month's listed cases."""

    def __init__(self, engine: Engine) -> None:
        meta = MetaData()
        self._cases = Table("cases", meta, autoload_with=engine)
        self._months = Table("case_months", meta, autoload_with=engine)
        self.engine = engine

    def months(self) -> list[str]:
        """Months with a listing, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(self._months.c.month).distinct().order_by(self._months.c.month.desc())
            ).scalars()
            return list(rows)

    def townships(self, reach: frozenset[str] | None) -> list[str]:
        """Townships with cases, limited to ``reach`` when given."""
        query = select(self._cases.c.township).distinct().where(self._cases.c.township.is_not(None))
        if reach is not None:
            query = query.where(self._cases.c.township.in_(sorted(reach)))
        with self.engine.connect() as conn:
            return sorted(conn.execute(query).scalars())

    def _where(self, f: QueueFilter) -> Any:
        c, m = self._cases.c, self._months.c
        conditions = [m.month == f.month]
        if f.townships is not None:
            conditions.append(c.township.in_(sorted(f.townships)))
        if f.township:
            conditions.append(c.township == f.township)
        if f.typology:
            conditions.append(c.typology == f.typology)
        if f.state:
            conditions.append(c.state == f.state)
        if f.assignee:
            conditions.append(c.assignee == f.assignee)
        return and_(*conditions)

    def queue(
        self, f: QueueFilter, *, limit: int, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of the month's cases in priority order, and how many match in all."""
        c, m = self._cases.c, self._months.c
        joined = self._months.join(self._cases, m.case_id == c.case_id)
        query = (
            select(
                m.case_id,
                m.priority_rank,
                m.risk_score,
                m.est_overpayment,
                m.reasons,
                m.note,
                c.person_id,
                c.typology,
                c.township,
                c.state,
                c.assignee,
                c.outcome,
                c.first_flagged,
            )
            .select_from(joined)
            .where(self._where(f))
            .order_by(m.priority_rank, m.case_id)
            .limit(limit)
            .offset(offset)
        )
        count = select(func.count()).select_from(joined).where(self._where(f))
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
            total = int(conn.execute(count).scalar_one())
        return rows, total

    def month_frame(self, month: str, reach: frozenset[str] | None) -> pl.DataFrame:
        """Every case listed in ``month`` within ``reach``, with its listing and audit."""
        rows, _ = self.queue(QueueFilter(month=month, townships=reach), limit=1_000_000)
        ids = [r["case_id"] for r in rows]
        audits: dict[str, dict[str, Any]] = {}
        c = self._cases.c
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                for r in conn.execute(
                    select(c.case_id, c.overpaid_amount, c.recovered_amount, c.closed_on).where(
                        c.case_id.in_(ids[start : start + 500])
                    )
                ).mappings():
                    audits[r["case_id"]] = dict(r)
        return pl.DataFrame(
            [r | audits.get(r["case_id"], {}) for r in rows],
            schema=_MONTH_SCHEMA,
        )

    def audited(self, reach: frozenset[str] | None) -> pl.DataFrame:
        """Every case with an audit outcome within ``reach`` (all months): typology,
        township, outcome, est_overpayment, overpaid_amount, recovered_amount."""
        c = self._cases.c
        query = select(
            c.case_id,
            c.typology,
            c.township,
            c.outcome,
            c.est_overpayment,
            c.overpaid_amount,
            c.recovered_amount,
        ).where(c.outcome.is_not(None))
        if reach is not None:
            query = query.where(c.township.in_(sorted(reach)))
        return pl.DataFrame(rows_of(self.engine, query), schema=_AUDITED_SCHEMA)

    def listing_of(self, case_id: str, month: str) -> dict[str, Any] | None:
        """The case as listed in ``month`` (rank, score, estimate, reasons, note)."""
        m = self._months.c
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(self._months).where(and_(m.case_id == case_id, m.month == month))
                )
                .mappings()
                .first()
            )
        return dict(row) if row is not None else None

    def months_of(self, case_id: str) -> list[str]:
        """Months the case was listed, oldest first."""
        m = self._months.c
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(m.month).where(m.case_id == case_id).order_by(m.month)
                ).scalars()
            )


_AUDITED_SCHEMA: dict[str, Any] = {
    "case_id": pl.String,
    "typology": pl.String,
    "township": pl.String,
    "outcome": pl.String,
    "est_overpayment": pl.Float64,
    "overpaid_amount": pl.Float64,
    "recovered_amount": pl.Float64,
}
_MONTH_SCHEMA: dict[str, Any] = {
    "case_id": pl.String,
    "priority_rank": pl.Int64,
    "risk_score": pl.Float64,
    "est_overpayment": pl.Float64,
    "reasons": pl.String,
    "note": pl.String,
    "person_id": pl.String,
    "typology": pl.String,
    "township": pl.String,
    "state": pl.String,
    "assignee": pl.String,
    "outcome": pl.String,
    "first_flagged": pl.String,
    "overpaid_amount": pl.Float64,
    "recovered_amount": pl.Float64,
    "closed_on": pl.Date,
}


def month_case_details(out: Path, month: str, case_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Name, scheme, village, evidence and the open upstream suspect (batch, due date) of
    these cases from ``OUT/month/cases.parquet``
    (only their rows are read); empty when the month has no case list."""
    path = Path(out) / month / "cases.parquet"
    if not case_ids or not path.exists():
        return {}
    wanted = (
        "case_id",
        "name",
        "scheme",
        "village",
        "evidence",
        "status",
        "suspect_batch",
        "suspect_due",
    )
    frame = pl.scan_parquet(path)
    present = [c for c in wanted if c in frame.collect_schema().names()]
    rows = frame.filter(pl.col("case_id").is_in(case_ids)).select(present).collect()
    return {r["case_id"]: r for r in rows.to_dicts()}
