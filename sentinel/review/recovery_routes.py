"""The recovery ledger in the review app: the ledger page (``/recovery``), a case's
recovery account on its case page (steps, a form to record the next one, the printable
notice) and write-offs waiting for a second user.

Every confirmed case with a sum overpaid is an account
(:func:`sentinel.casestore.recovery.recovery_ledger`): due, recovered, written off,
outstanding, how far the ladder went (notice -> administrative order -> court or police)
and how long the sum has been outstanding (0-30, 31-90, 91-180, >180 days). Steps entered
here are the same chained events as those of a drop's ``recoveries.*`` file. A write-off
counts only once a user with a sign-off role who did not propose it approves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from features.recovery import AGEING_BUCKETS, LADDER_STEPS
from sentinel.casestore.recovery import (
    RecoveryEntry,
    approve_write_off,
    record_recovery,
    recovery_events,
    recovery_ledger,
    recovery_summary,
)
from sentinel.contract import ESCALATION_METHODS, PAYMENT_METHODS
from sentinel.io.notices import addressees, render_notice
from sentinel.masking import mask_id
from sentinel.review import dashboard
from sentinel.review.web import (
    Context,
    Ctx,
    Me,
    Writer,
    case_in_reach,
    case_to_sign_off,
    refusals_answered,
    refuse_recused,
    render,
    require,
)

__all__ = ["case_recovery", "ledger_in_reach", "recovery_router"]

recovery_router = APIRouter()
_STEPS = ("notice", "payment", "escalation", "write_off")
_PAYMENT_METHODS = tuple(dict.fromkeys(PAYMENT_METHODS.values()))
_ESCALATION_METHODS = tuple(dict.fromkeys(ESCALATION_METHODS.values()))
_MAX_TEXT = 500


class LedgerQuery(BaseModel):
    """The ledger page's query string: summed ``by`` township or typology, ``as_of`` a day
    (YYYY-MM-DD, default today)."""

    by: Annotated[str, Query(max_length=10)] = "township"
    as_of: Annotated[str | None, Query(max_length=10)] = None


@dataclass(frozen=True)
class RecoveryStepForm:
    """A recovery step as the case page's form posts it: each field text, empty when not
    filled in (``record_id``: the receipt or document number)."""

    step: Annotated[str, Form(max_length=20)] = ""
    on: Annotated[str, Form(max_length=20)] = ""
    amount: Annotated[str, Form(max_length=40)] = ""
    method: Annotated[str, Form(max_length=40)] = ""
    deadline: Annotated[str, Form(max_length=20)] = ""
    reason: Annotated[str, Form(max_length=_MAX_TEXT)] = ""
    record_id: Annotated[str, Form(max_length=80)] = ""


def ledger_in_reach(ctx: Context, townships: frozenset[str] | None, as_of: date) -> pl.DataFrame:
    """The recovery accounts on ``as_of`` of the townships a user works (all for None)."""
    ledger = recovery_ledger(ctx.cases, as_of)
    if townships is None:
        return ledger
    return ledger.filter(pl.col("township").is_in(sorted(townships)))


def case_recovery(ctx: Context, case: dict[str, Any], as_of: date) -> dict[str, Any] | None:
    """A case's recovery account for its case page: the ledger row, its steps (newest
    first) and the write-offs waiting for approval; None when the case is no account."""
    ledger = recovery_ledger(ctx.cases, as_of).filter(pl.col("case_id") == case["case_id"])
    if ledger.height == 0:
        return None
    steps = recovery_events(ctx.cases, case["case_id"])
    waiting = steps.filter((pl.col("step") == "write_off") & pl.col("approved_on").is_null())
    return {
        "account": ledger.row(0, named=True),
        "steps": steps.reverse().to_dicts(),
        "waiting": waiting.to_dicts(),
        "step_choices": _STEPS,
        "payment_methods": _PAYMENT_METHODS,
        "escalation_methods": _ESCALATION_METHODS,
    }


@recovery_router.get("/recovery", response_class=HTMLResponse)
def recovery_page(
    request: Request, ctx: Ctx, me: Me, query: Annotated[LedgerQuery, Query()]
) -> Response:
    """The ledger: per township or typology the yuan due, recovered, written off and
    outstanding, the recovery rate, open accounts by age and by the ladder's step; then
    the open accounts, longest outstanding first (identity numbers masked), and the
    write-offs waiting for a second user."""
    require(me.sees_cases)
    grouping = query.by if query.by in ("township", "typology") else "township"
    day = _day_or_today(query.as_of)
    ledger = ledger_in_reach(ctx, me.township_scope(), day)
    summary = recovery_summary(ledger, grouping)  # type: ignore[arg-type]
    total = summary.row(summary.height - 1, named=True)
    ageing = pl.DataFrame(
        {"label": list(AGEING_BUCKETS), "value": [total[f"aged_{b}"] for b in AGEING_BUCKETS]}
    )
    ladder = pl.DataFrame(
        {"label": list(LADDER_STEPS), "value": [total[f"step_{s}"] for s in LADDER_STEPS]}
    )
    open_accounts = (
        ledger.filter(pl.col("status") == "open")
        .sort("days_outstanding", "outstanding", descending=[True, True])
        .with_columns(pl.col("person_id").map_elements(mask_id, return_dtype=pl.String))
        .to_dicts()
    )
    events = recovery_events(ctx.cases)
    waiting = (
        events.filter((pl.col("step") == "write_off") & pl.col("approved_on").is_null())
        .join(ledger.select("case_id", "township", "outstanding"), on="case_id", how="inner")
        .to_dicts()
    )
    return render(
        ctx,
        request,
        "recovery.html",
        me,
        by=grouping,
        as_of=day.isoformat(),
        total=total,
        rows=summary.to_dicts()[:-1],
        ageing=_bars(ageing),
        ladder=_bars(ladder),
        open_accounts=open_accounts,
        waiting=waiting,
    )


@recovery_router.post("/cases/{case_id}/recovery", response_class=HTMLResponse)
def record_step(
    case_id: str,
    ctx: Ctx,
    me: Writer,
    form: Annotated[RecoveryStepForm, Depends()],
) -> Response:
    """Record a recovery step of the case (a notice, a payment, an escalation, or a
    write-off proposal); a problem is answered 400 naming the field."""
    case = case_in_reach(ctx, me, case_id)
    refuse_recused(ctx, me.username, case, "recovery_refused")
    with refusals_answered(ctx, me.username, case_id, "recovery_rejected"):
        entry = RecoveryEntry(
            step=form.step.strip(),
            on=_form_day(form.on, "on"),
            amount=_form_amount(form.amount),
            method=form.method.strip() or None,
            deadline=_form_day(form.deadline, "deadline") if form.deadline.strip() else None,
            reason=form.reason.strip() or None,
            record_id=form.record_id.strip() or None,
        )
        recorded = record_recovery(ctx.cases, case_id, entry, actor=me.username, source="app")
    ctx.review.log(
        me.username,
        "record_recovery",
        case_id,
        {"step": form.step.strip(), "amount": _form_amount(form.amount), "changed": recorded},
    )
    return RedirectResponse(f"/cases/{case_id}?msg=recovery_saved#recovery", status_code=303)


@recovery_router.post("/cases/{case_id}/write-offs/{record_id}/approve")
def approve_case_write_off(case_id: str, record_id: str, ctx: Ctx, me: Writer) -> Response:
    """Approve a write-off another user proposed (roles in ``cases.signoff_roles``)."""
    case_to_sign_off(ctx, me, case_id, "recovery_refused")
    with refusals_answered(ctx, me.username, case_id, "signoff_refused"):
        approve_write_off(ctx.cases, case_id, record_id, actor=me.username)
    ctx.review.log(me.username, "approve_write_off", case_id, {"record_id": record_id})
    return RedirectResponse(f"/cases/{case_id}?msg=write_off_approved#recovery", status_code=303)


@recovery_router.get("/cases/{case_id}/notice", response_class=HTMLResponse)
def case_notice(
    case_id: str, ctx: Ctx, me: Me, deadline: Annotated[str | None, Query(max_length=10)] = None
) -> Response:
    """The printable recovery notice of an open account (追回通知书), in the app's
    language, addressed by name: for the roles shown full identity numbers only."""
    case = case_in_reach(ctx, me, case_id)
    require(me.sees_full_ids)
    today = datetime.now(UTC).date()
    ledger = recovery_ledger(ctx.cases, today).filter(pl.col("case_id") == case_id)
    if ledger.height == 0:
        raise HTTPException(404)
    account = ledger.row(0, named=True) | {"death_date": case.get("death_date")}
    found = addressees(ctx.out, [case_id])
    if found.height:
        account |= {k: v for k, v in found.row(0, named=True).items() if v is not None}
    due_by = (
        _form_day(deadline, "deadline")
        if deadline
        else date.fromordinal(today.toordinal() + ctx.config.recovery.notice_deadline_days)
    )
    ctx.review.log(me.username, "print_notice", case_id, {"deadline": due_by.isoformat()})
    html = render_notice(
        account, issued_on=today, deadline=due_by, language=ctx.config.review.language
    )
    return HTMLResponse(html)


def _bars(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return dashboard.bar_rows(frame, "label", "value")


def _day_or_today(text: str | None) -> date:
    if text:
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise HTTPException(
                400, "!" + f"as_of: {text[:20]!r} is not a date (YYYY-MM-DD)"
            ) from None
    return datetime.now(UTC).date()


def _form_day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise HTTPException(
            400, "!" + f"{field}: {text[:20]!r} is not a date (YYYY-MM-DD)"
        ) from None


def _form_amount(text: str) -> float | None:
    cleaned = text.replace(",", "").replace("元", "").strip()
    if not cleaned:
        return None
    try:
        return float(cleaned)
    except ValueError:
        raise HTTPException(400, "!" + f"amount: {text[:20]!r} is not an amount") from None
