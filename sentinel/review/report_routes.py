"""The month's reports: the dashboard and the audit log."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import polars as pl
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException

from sentinel.review import dashboard
from sentinel.review.recovery_routes import ledger_in_reach
from sentinel.review.web import (
    Ctx,
    Me,
    month_or_latest,
    render,
    require,
)

report_router = APIRouter()


# --------------------------------------------------------------- dashboard


@report_router.get("/dashboard", response_class=HTMLResponse)
def month_dashboard(
    request: Request,
    ctx: Ctx,
    me: Me,
    month: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    require(me.sees_cases)
    chosen = month_or_latest(ctx, month)
    reach = me.township_scope()
    month_cases = (
        ctx.listing.month_frame(chosen, reach)
        if chosen
        else pl.DataFrame(schema={"est_overpayment": pl.Float64})
    )
    audited = ctx.listing.audited(reach)
    # The recovery ledger today: like the outcomes of the month's cases, what has been
    # recovered of them so far.
    as_of = datetime.now(UTC).date()
    ledger = ledger_in_reach(ctx, reach, as_of)
    figures: dict[str, Any] = {}
    if chosen is not None:
        typ = dashboard.by_column(month_cases, "typology")
        town = dashboard.by_column(month_cases, "township")
        outcomes = dashboard.outcome_counts(month_cases)
        precision = dashboard.precision_by_typology(audited)
        recovery = dashboard.recovery_by_typology(audited, ledger)
        top = max(
            [
                *recovery["estimated"].to_list(),
                *recovery["overpaid"].to_list(),
                *recovery["recovered"].to_list(),
                0.0,
            ]
        )
        figures = {
            "cases": month_cases.height,
            "amount": float(month_cases["est_overpayment"].fill_null(0.0).sum()),
            "closed": int(month_cases.filter(pl.col("state") == "closed").height),
            "recovered": float(
                ledger.filter(pl.col("case_id").is_in(month_cases["case_id"].to_list()))[
                    "recovered"
                ].sum()
            ),
            "typology_cases": dashboard.bar_rows(_by_count(typ, "typology"), "typology", "cases"),
            "typology_amount": dashboard.bar_rows(typ, "typology", "amount"),
            "township_cases": dashboard.bar_rows(_by_count(town, "township"), "township", "cases"),
            "township_amount": dashboard.bar_rows(town, "township", "amount"),
            "outcomes": dashboard.bar_rows(outcomes, "outcome", "cases"),
            "precision": [
                r | {"width": round(dashboard.BAR_WIDTH * (r["precision"] or 0.0), 1)}
                for r in precision.to_dicts()
            ],
            "recovery": [
                r
                | {
                    k + "_width": round(dashboard.BAR_WIDTH * r[k] / top, 1) if top else 0.0
                    for k in ("estimated", "overpaid", "recovered")
                }
                for r in recovery.to_dicts()
            ],
        }
    recovery_total: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "due": float(ledger["due"].sum()),
        "recovered": float(ledger["recovered"].sum()),
        "outstanding": float(ledger["outstanding"].sum()),
        "aged": int(ledger.filter(pl.col("ageing_bucket") == ">180").height),
    }
    recovery_total["rate"] = (
        recovery_total["recovered"] / recovery_total["due"] if recovery_total["due"] else None
    )
    return render(
        ctx,
        request,
        "dashboard.html",
        me,
        month=chosen,
        months=ctx.listing.months(),
        f=figures,
        r=recovery_total,
    )


# --------------------------------------------------------------- audit log


@report_router.get("/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    ctx: Ctx,
    me: Me,
    user: Annotated[str | None, Query(max_length=100)] = None,
    case: Annotated[str | None, Query(max_length=100)] = None,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    day: Annotated[str | None, Query(max_length=10)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    require(me.is_supervisor)
    size = 200
    try:
        on = date.fromisoformat(day) if day else None
    except ValueError:
        raise HTTPException(400) from None
    entries = ctx.review.audit_log(
        username=user or None,
        case_id=case or None,
        action=kind or None,
        day=on,
        limit=size + 1,
        offset=(page - 1) * size,
    )
    filters = {"user": user, "case": case, "kind": kind, "day": day}
    base = {k: v for k, v in filters.items() if v}
    return render(
        ctx,
        request,
        "audit.html",
        me,
        entries=entries[:size],
        user=user or "",
        case=case or "",
        kind=kind or "",
        day=day or "",
        kinds=ctx.review.audit_actions(),
        page=page,
        has_next=len(entries) > size,
        prev_url="/audit?" + urlencode(base | {"page": page - 1}),
        next_url="/audit?" + urlencode(base | {"page": page + 1}),
    )


def _by_count(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    return frame.sort(["cases", column], descending=[True, False], nulls_last=True)
