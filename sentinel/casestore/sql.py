"""Small SQL and value helpers of the case store (:mod:`sentinel.casestore`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from sqlalchemy import (
    Engine,
    Executable,
    Table,
    insert,
    select,
)
from sqlalchemy.engine import Connection

from sentinel.casestore.chain import seal
from sentinel.casestore.constants import CONFIRMED, CaseValidationError
from sentinel.casestore.schema import _CHUNK, EVENTS_CHAIN, _cases, _events


def rows_of(engine: Engine, query: Executable) -> list[dict[str, Any]]:
    """The rows ``query`` returns, each a dict by column name."""
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def _precision(audited: pl.DataFrame, by: str) -> pl.DataFrame:
    """Per ``by``: counts of outcomes and the share confirmed, plain and weighted by the
    inverse selection probability (``weighted_precision``: an unbiased estimate of how often
    the listed cases of that kind are right, the exploration draws below the cut speaking
    for the cases like them that were not visited)."""
    outcome = pl.col("outcome")
    judged = outcome.is_in([*CONFIRMED, "cleared"])
    weight = pl.col("weight") if "weight" in audited.columns else pl.lit(1.0)
    return (
        audited.group_by(by)
        .agg(
            outcome.is_in(CONFIRMED).sum().cast(pl.Int64).alias("confirmed"),
            (outcome == "cleared").sum().cast(pl.Int64).alias("cleared"),
            (outcome == "unreachable").sum().cast(pl.Int64).alias("unreachable"),
            weight.filter(outcome.is_in(CONFIRMED)).sum().alias("_w_confirmed"),
            weight.filter(judged).sum().alias("weighted_audited"),
        )
        .with_columns((pl.col("confirmed") + pl.col("cleared")).alias("audited"))
        .with_columns(
            _ratio("confirmed", "audited").alias("precision"),
            _ratio("_w_confirmed", "weighted_audited").alias("weighted_precision"),
        )
        .select(
            by,
            "audited",
            "confirmed",
            "cleared",
            "unreachable",
            "precision",
            "weighted_audited",
            "weighted_precision",
        )
        .sort(by)
    )


def _ratio(numerator: str, denominator: str) -> pl.Expr:
    return (
        pl.when(pl.col(denominator) > 0)
        .then(pl.col(numerator) / pl.col(denominator))
        .otherwise(None)
        .cast(pl.Float64)
    )


def _money(amount: float | None) -> float | None:
    return None if amount is None else round(float(amount), 2)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items()}


def _naive_utc(at: datetime | None) -> datetime | None:
    if at is None or at.tzinfo is None:
        return at
    return at.astimezone(UTC).replace(tzinfo=None)


def _one_case(conn: Connection, case_id: str) -> dict[str, Any]:
    found = conn.execute(select(_cases).where(_cases.c.case_id == case_id)).mappings().first()
    if found is None:
        raise CaseValidationError(case_id, "case_id", "unknown case")
    return dict(found)


def _add_event(
    conn: Connection,
    case_id: str,
    at: datetime,
    actor: str,
    kind: str,
    month: str | None,
    detail: dict[str, Any],
) -> None:
    conn.execute(
        insert(_events).values(
            case_id=case_id, at=at, actor=actor, kind=kind, month=month, detail=detail
        )
    )
    seal(conn, EVENTS_CHAIN)


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _select_in(
    conn: Connection, table: Table, column: Any, values: Iterable[str]
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for chunk in _chunks(list(values)):
        found.extend(
            dict(r) for r in conn.execute(select(table).where(column.in_(chunk))).mappings()
        )
    return found
