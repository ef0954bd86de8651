"""Read-only queries and reports over the case store: selections, events, precision by typology and reason, recoveries (:mod:`sentinel.casestore`)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import (
    Engine,
    select,
)

from sentinel.casestore.constants import CONFIRMED, OPEN_STATES
from sentinel.casestore.schema import _CASE_SCHEMA, _EVENT_SCHEMA, _case_months, _cases, _events
from sentinel.casestore.sql import _naive_utc, _precision, _ratio, rows_of

_SELECTION_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String,
    "person_id": pl.String,
    "month": pl.String,
    "selection": pl.String,
    "selection_probability": pl.Float64,
}


class CaseQueries:
    """Read-only queries and reports over the case store (:class:`CaseStore` has them)."""

    engine: Engine

    def selections(self, up_to: str | None = None) -> pl.DataFrame:
        """Cases chosen for a field visit, per month: ``case_id, person_id, month,
        selection, selection_probability`` (:data:`SELECTIONS`), up to ``up_to`` when given."""
        query = (
            select(
                _case_months.c.case_id,
                _cases.c.person_id,
                _case_months.c.month,
                _case_months.c.selection,
                _case_months.c.selection_probability,
            )
            .join(_cases, _cases.c.case_id == _case_months.c.case_id)
            .where(_case_months.c.selection.is_not(None))
            .order_by(_case_months.c.month, _case_months.c.case_id)
        )
        if up_to is not None:
            query = query.where(_case_months.c.month <= up_to)
        return pl.DataFrame(rows_of(self.engine, query), schema=_SELECTION_SCHEMA)

    def cases(self) -> pl.DataFrame:
        """Every case, one row each, ordered by ``case_id``."""
        return self._frame(select(_cases).order_by(_cases.c.case_id), _CASE_SCHEMA)

    def events(self, case_id: str | None = None) -> pl.DataFrame:
        """The event log (``id``, ``case_id``, ``at``, ``actor``, ``kind``, ``month``,
        ``detail`` as JSON text), oldest first; only ``case_id``'s when given."""
        query = select(_events).order_by(_events.c.id)
        if case_id is not None:
            query = query.where(_events.c.case_id == case_id)
        rows = rows_of(self.engine, query)
        for r in rows:
            r["detail"] = json.dumps(r["detail"], ensure_ascii=False, sort_keys=True)
            r["at"] = _naive_utc(r["at"])
        return pl.DataFrame(rows, schema=_EVENT_SCHEMA)

    def precision_by_typology(self) -> pl.DataFrame:
        """Share of audited cases that were right, per typology.

        From each case's latest audit: ``confirmed_*`` is a hit, ``cleared`` a miss,
        ``unreachable`` is counted apart and left out of ``precision`` (null with no
        hit or miss). Columns: typology, audited, confirmed, cleared, unreachable, precision,
        weighted_audited, weighted_precision (outcomes weighted by the inverse probability
        that the case was chosen for the visit, see :mod:`sentinel.selection`).
        """
        return _precision(self._audited(), "typology")

    def precision_by_reason(self) -> pl.DataFrame:
        """As :meth:`precision_by_typology`, per reason code the case had when audited
        (a case with two reasons counts for both)."""
        audited = (
            self._audited()
            .with_columns(pl.col("audited_reasons").fill_null("").str.split(",").alias("reason"))
            .explode("reason")
            .filter(pl.col("reason") != "")
        )
        return _precision(audited, "reason")

    def recovered_vs_estimated(self) -> pl.DataFrame:
        """Per typology, over confirmed cases: the estimate when last listed against the
        overpayment the audit established and the money recovered (yuan).

        Columns: typology, confirmed, est_overpayment, overpaid_amount, recovered_amount,
        overpaid_per_estimated, recovered_share (of overpaid; null when nothing overpaid).
        """
        confirmed = self._audited().filter(pl.col("outcome").is_in(CONFIRMED))
        return (
            confirmed.group_by("typology")
            .agg(
                pl.len().cast(pl.Int64).alias("confirmed"),
                pl.col("est_overpayment").fill_null(0.0).sum(),
                pl.col("overpaid_amount").fill_null(0.0).sum(),
                pl.col("recovered_amount").fill_null(0.0).sum(),
            )
            .with_columns(
                _ratio("overpaid_amount", "est_overpayment").alias("overpaid_per_estimated"),
                _ratio("recovered_amount", "overpaid_amount").alias("recovered_share"),
            )
            .sort("typology")
        )

    def open_longer_than(self, days: int, today: date) -> pl.DataFrame:
        """Open cases (new or assigned) opened more than ``days`` days before ``today``.

        A case opens when first listed or when reopened. Columns: case_id, person_id,
        typology, township, state, assignee, first_flagged, opened_on, days_open; longest
        open first.
        """
        open_cases = self.cases().filter(pl.col("state").is_in(OPEN_STATES))
        return (
            open_cases.with_columns(pl.col("opened_at").dt.date().alias("opened_on"))
            .with_columns((pl.lit(today) - pl.col("opened_on")).dt.total_days().alias("days_open"))
            .filter(pl.col("days_open") > days)
            .select(
                "case_id",
                "person_id",
                "typology",
                "township",
                "state",
                "assignee",
                "first_flagged",
                "opened_on",
                "days_open",
            )
            .sort(["days_open", "case_id"], descending=[True, False])
        )

    def _audited(self) -> pl.DataFrame:
        """Audited cases with ``weight``: the inverse probability that the case was chosen
        for the visit (its latest selection up to the audit's month; 1 when it was not
        chosen by the list, e.g. audited on a tip)."""
        audited = self.cases().filter(pl.col("outcome").is_not_null())
        chosen = (
            self.selections()
            .join(audited.select("case_id", "closed_on"), on="case_id", how="inner")
            .filter(pl.col("month") <= pl.col("closed_on").dt.strftime("%Y-%m"))
            .sort("month")
            .group_by("case_id")
            .agg(pl.col("selection_probability").last())
        )
        return audited.join(chosen, on="case_id", how="left").with_columns(
            (1.0 / pl.col("selection_probability").fill_null(1.0).clip(lower_bound=1e-9)).alias(
                "weight"
            )
        )

    def _frame(self, query: Any, schema: dict[str, pl.DataType]) -> pl.DataFrame:
        rows = rows_of(self.engine, query)
        for r in rows:
            if "opened_at" in r:
                r["opened_at"] = _naive_utc(r["opened_at"])
        return pl.DataFrame(rows, schema=schema)
