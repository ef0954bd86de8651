"""The month's reports: the dashboard and the audit log."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated
from urllib.parse import urlencode

import polars as pl
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException

from sentinel.review import dashboard
from sentinel.review.recovery_routes import ledger_in_reach
from sentinel.review.web import Ctx, Me, month_or_latest, render, require

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
    figures = dashboard.month_figures(month_cases, audited, ledger) if chosen is not None else {}
    recovery_total = dashboard.recovery_totals(ledger, as_of)
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
