"""Sign-off (经办 / 复核) in the review app: the results waiting for a second user
(``/signoff``) and approving or sending back one of them from its case page.

A result that confirms an overpayment above ``cases.signoff_above_yuan`` or clears a case
with proof is recorded as a proposal (:meth:`sentinel.casestore.CaseStore.close`); a user
with a role in ``cases.signoff_roles`` who did not record it approves it (the case closes)
or sends it back with a reason (the case is open again). Nobody approves their own result,
and recusal (回避) holds for the one who signs off as for the one who audits.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sentinel.masking import mask_id
from sentinel.review.i18n import problem_text
from sentinel.review.web import (
    Ctx,
    Me,
    Writer,
    case_to_sign_off,
    refusals_answered,
    render,
    require,
)

__all__ = ["signoff_router"]

signoff_router = APIRouter()
_MAX_NOTE = 2000


@signoff_router.get("/signoff", response_class=HTMLResponse)
def signoff_page(request: Request, ctx: Ctx, me: Me) -> Response:
    """The results waiting for sign-off in the user's reach, oldest first (list pages
    show identity numbers masked)."""
    require(me.signs_off)
    language = ctx.config.review.language
    waiting = [
        r
        | {
            "person": mask_id(r["person_id"]),
            "own": r["proposed_by"] == me.username,
            "why": problem_text(r["signoff"], language),
        }
        for r in ctx.cases.pending_signoffs().to_dicts()
        if me.may_work(r["township"])
    ]
    return render(ctx, request, "signoff.html", me, waiting=waiting)


@signoff_router.post("/cases/{case_id}/approve")
def approve_result(case_id: str, ctx: Ctx, me: Writer) -> Response:
    case_to_sign_off(ctx, me, case_id, "signoff_refused")
    with refusals_answered(ctx, me.username, case_id, "signoff_refused"):
        result = ctx.cases.approve(case_id, actor=me.username)
    ctx.review.log(
        me.username,
        "approve_outcome",
        case_id,
        {"outcome": result["outcome"], "overpaid_amount": result["overpaid_amount"]},
    )
    return RedirectResponse(f"/cases/{case_id}?msg=approved", status_code=303)


@signoff_router.post("/cases/{case_id}/reject")
def reject_result(
    case_id: str,
    ctx: Ctx,
    me: Writer,
    note: Annotated[str, Form(max_length=_MAX_NOTE)] = "",
) -> Response:
    case_to_sign_off(ctx, me, case_id, "signoff_refused")
    with refusals_answered(ctx, me.username, case_id, None):
        ctx.cases.reject(case_id, actor=me.username, note=note)
    ctx.review.log(me.username, "reject_outcome", case_id, {"note_given": True})
    return RedirectResponse(f"/cases/{case_id}?msg=rejected", status_code=303)
