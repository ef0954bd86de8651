"""The month's reports: the dashboard and the audit log."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import polars as pl
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from sentinel.review import dashboard
from sentinel.review.recovery_routes import ledger_in_reach
from sentinel.review.web import Ctx, Me, MonthQuery, month_of_cases, page_links, render, require

report_router = APIRouter()


# --------------------------------------------------------------- dashboard


@report_router.get("/dashboard", response_class=HTMLResponse)
def month_dashboard(
    request: Request, ctx: Ctx, me: Me, query: Annotated[MonthQuery, Query()]
) -> Response:
    chosen = month_of_cases(ctx, me, query.month)
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


class AuditQuery(BaseModel):
    """The audit log's query string: the user, the case, the action (``kind``), the day
    (YYYY-MM-DD) and the page shown."""

    user: Annotated[str | None, Query(max_length=100)] = None
    case: Annotated[str | None, Query(max_length=100)] = None
    kind: Annotated[str | None, Query(max_length=40)] = None
    day: Annotated[str | None, Query(max_length=10)] = None
    page: Annotated[int, Query(ge=1, le=100_000)] = 1


@report_router.get("/audit", response_class=HTMLResponse)
def audit_log(
    request: Request, ctx: Ctx, me: Me, query: Annotated[AuditQuery, Query()]
) -> Response:
    require(me.is_supervisor)
    size = 200
    try:
        on = date.fromisoformat(query.day) if query.day else None
    except ValueError:
        raise HTTPException(400) from None
    entries = ctx.review.audit_log(
        username=query.user or None,
        case_id=query.case or None,
        action=query.kind or None,
        day=on,
        limit=size + 1,
        offset=(query.page - 1) * size,
    )
    filters = {"user": query.user, "case": query.case, "kind": query.kind, "day": query.day}
    return render(
        ctx,
        request,
        "audit.html",
        me,
        entries=entries[:size],
        user=query.user or "",
        case=query.case or "",
        kind=query.kind or "",
        day=query.day or "",
        kinds=ctx.review.audit_actions(),
        page=query.page,
        has_next=len(entries) > size,
        **page_links("/audit", filters, query.page),
    )
