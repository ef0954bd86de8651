"""The cases: the queue, the visit plan page, a case page (person, evidence, payouts,
death records, certifications, people sharing an account, history), assignment and the
outcome form."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from sentinel.casestore import CASE_STATES
from sentinel.contract import TYPOLOGIES
from sentinel.io.visit_plans import read_visit_plan
from sentinel.masking import mask_account, mask_id, mask_text, short_name
from sentinel.outcomes import import_outcomes
from sentinel.review.auth import Principal
from sentinel.review.case_listing import QueueFilter, month_case_details
from sentinel.review.casefile import PersonFile, read_person_file
from sentinel.review.evidence_text import evidence_sentences, withhold_names
from sentinel.review.i18n import problem_text
from sentinel.review.outcome_form import outcome_form_frame
from sentinel.review.recovery_routes import case_recovery
from sentinel.review.visit_page import plan_trips
from sentinel.review.web import (
    Context,
    Ctx,
    Me,
    MonthQuery,
    Writer,
    case_in_reach,
    case_village,
    month_of_cases,
    page_links,
    recusal_of,
    recused,
    refusals_answered,
    refuse_recused,
    render,
    require,
)

_MAX_NOTE = 2000
_STATES = CASE_STATES
_OUTCOME_CHOICES = ("confirmed_deceased", "confirmed_improper", "cleared", "unreachable")

case_router = APIRouter()


class PlanQuery(MonthQuery):
    """The visit plan's query string: the month and one of the user's townships."""

    township: Annotated[str | None, Query(max_length=100)] = None


class QueueQuery(PlanQuery):
    """The queue's query string: besides the month and the township, the typology, the
    state (``status``), only the cases assigned to the user (``mine=1``) and the page."""

    typology: Annotated[str | None, Query(max_length=100)] = None
    status: Annotated[str | None, Query(max_length=100)] = None
    mine: Annotated[str | None, Query(max_length=1)] = None
    page: Annotated[int, Query(ge=1, le=100_000)] = 1


@dataclass(frozen=True)
class OutcomeForm:
    """The case page's outcome form as posted: each field text, empty when not filled in."""

    outcome: Annotated[str, Form(max_length=40)] = ""
    closed_on: Annotated[str, Form(max_length=40)] = ""
    death_date: Annotated[str, Form(max_length=40)] = ""
    overpaid_amount: Annotated[str, Form(max_length=40)] = ""
    recovered_amount: Annotated[str, Form(max_length=40)] = ""
    note: Annotated[str, Form(max_length=_MAX_NOTE)] = ""

    def stripped(self) -> dict[str, str]:
        """The fields by name, without surrounding white space."""
        return {name: value.strip() for name, value in asdict(self).items()}


# --------------------------------------------------------------- queue


@case_router.get("/queue", response_class=HTMLResponse)
def queue(request: Request, ctx: Ctx, me: Me, query: Annotated[QueueQuery, Query()]) -> Response:
    chosen = month_of_cases(ctx, me, query.month)
    size = ctx.config.review.page_size
    rows: list[dict[str, Any]] = []
    total = 0
    if chosen is not None:
        rows, total = ctx.listing.queue(
            QueueFilter(
                month=chosen,
                township=query.township or None,
                typology=query.typology or None,
                state=query.status or None,
                assignee=me.username if query.mine == "1" else None,
                townships=me.township_scope(),
            ),
            limit=size,
            offset=(query.page - 1) * size,
        )
    details = month_case_details(ctx.out, chosen, [r["case_id"] for r in rows]) if chosen else {}
    for r in rows:
        d = details.get(r["case_id"], {})
        sentences = evidence_sentences(d.get("evidence"))
        r["person_masked"] = mask_id(r["person_id"])
        r["name_short"] = short_name(d.get("name"))
        first = sentences[0] if sentences else (r["reasons"] or "")
        # A list page shows no one's name in full (the row's own person is shortened too):
        # the names a sentence lists of other people are on the case page, by its rules.
        first = withhold_names(first, lambda _: False, "**")
        r["reason"] = mask_text(first)
        r["due"] = suspect_countdown(d, date.today())
        del r["person_id"]
    filters = {
        "month": chosen,
        "township": query.township,
        "typology": query.typology,
        "status": query.status,
        "mine": "1" if query.mine == "1" else None,
    }
    return render(
        ctx,
        request,
        "queue.html",
        me,
        rows=rows,
        total=total,
        page=query.page,
        pages=max(1, -(-total // size)),
        months=ctx.listing.months(),
        townships=ctx.listing.townships(me.township_scope()),
        typologies=TYPOLOGIES,
        states=_STATES,
        filters=filters,
        **page_links("/queue", filters, query.page),
    )


# --------------------------------------------------------------- visit plan


@case_router.get("/plan", response_class=HTMLResponse)
def visit_plan_page(
    request: Request, ctx: Ctx, me: Me, query: Annotated[PlanQuery, Query()]
) -> Response:
    chosen = month_of_cases(ctx, me, query.month)
    township = query.township
    reach = me.township_scope()
    # The plan of the user's townships (every township for a supervisor), or of the one
    # chosen among them: trips are numbered within what is planned.
    planned = reach
    if township:
        planned = frozenset({township}) if reach is None else reach & {township}
    trips: list[dict[str, Any]] = []
    if chosen is not None:
        listed = ctx.listing.month_frame(chosen, reach).select("case_id", "state")
        closed = listed.filter(pl.col("state") == "closed")["case_id"]
        try:
            plan = read_visit_plan(
                ctx.out, chosen, ctx.config.visits, townships=planned, leave_out=closed
            )
        except FileNotFoundError:
            plan = None
        if plan is not None and plan.height:
            trips = plan_trips(plan, dict(listed.iter_rows()))
    return render(
        ctx,
        request,
        "plan.html",
        me,
        trips=trips,
        stops=sum(len(t["rows"]) for t in trips),
        months=ctx.listing.months(),
        townships=ctx.listing.townships(reach),
        filters={"month": chosen, "township": township or None},
        max_visits=ctx.config.visits.max_visits_per_trip,
    )


# --------------------------------------------------------------- case page


@case_router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    request: Request,
    case_id: str,
    ctx: Ctx,
    me: Me,
    month: Annotated[str | None, Query(max_length=20)] = None,
    msg: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    case = case_in_reach(ctx, me, case_id)
    ctx.review.log(me.username, "view_case", case_id, {"month": month or case["last_listed"]})
    return _case_response(ctx, request, me, case, month, message=msg)


@case_router.post("/cases/{case_id}/assign")
def assign_case(
    case_id: str,
    ctx: Ctx,
    me: Writer,
    assignee: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    case = case_in_reach(ctx, me, case_id)
    require(me.is_supervisor)
    recused = recusal_of(ctx, assignee, case)
    if recused is not None:
        ctx.review.log(
            me.username, "assign_refused", case_id, {"assignee": assignee, "recusal": recused}
        )
        raise HTTPException(400, "!" + ctx.env.globals["t"](f"recused_{recused}", user=assignee))
    auditors = _auditors_for(ctx, case)
    if assignee not in auditors:
        raise HTTPException(400, "!" + ctx.env.globals["t"]("no_auditor"))
    with refusals_answered(ctx, me.username, case_id, None):
        changed = ctx.cases.assign(case_id, assignee, actor=me.username)
    if changed:
        ctx.review.log(me.username, "assign_case", case_id, {"assignee": assignee})
    return RedirectResponse(f"/cases/{case_id}?msg=assigned", status_code=303)


@case_router.post("/cases/{case_id}/outcome", response_class=HTMLResponse)
def record_outcome(
    request: Request,
    case_id: str,
    ctx: Ctx,
    me: Writer,
    posted: Annotated[OutcomeForm, Depends()],
) -> Response:
    case = case_in_reach(ctx, me, case_id)
    refuse_recused(ctx, me.username, case, "outcome_refused")
    form = posted.stripped()
    row, problems = outcome_form_frame(case, form)
    report = import_outcomes(ctx.cases, row, actor=me.username)
    errors = [(e.column, e.problem) for e in report.errors]
    if not errors and report.rejected:
        errors = problems or [("outcome", "not recorded")]
    if errors:
        ctx.review.log(
            me.username, "outcome_rejected", case_id, {"fields": sorted({c for c, _ in errors})}
        )
        errors = [(c, problem_text(p, ctx.config.review.language)) for c, p in errors]
        return _case_response(ctx, request, me, case, None, errors=errors, form=form, status=422)
    ctx.review.log(
        me.username,
        "record_outcome",
        case_id,
        {
            "outcome": row["outcome"][0],
            "closed_on": form["closed_on"],
            "death_date": form["death_date"] or None,
            "overpaid_amount": row["overpaid_amount"][0],
            "recovered_amount": row["recovered_amount"][0],
            "note_given": bool(form["note"]),
            "changed": report.applied == 1,
        },
    )
    message = "pending_saved" if report.pending else ("saved" if report.applied else "unchanged")
    return RedirectResponse(f"/cases/{case_id}?msg={message}", status_code=303)


def _auditors_for(ctx: Context, case: dict[str, Any]) -> list[str]:
    """Active auditors who work the case's township and are not recused from it."""
    township = case["township"]
    village = case_village(ctx, case)
    return [
        u.username
        for u in ctx.review.users()
        if u.active
        and u.role == "auditor"
        and township is not None
        and township in u.townships
        and recused(ctx, u, case, village) is None
    ]


def _case_response(
    ctx: Context,
    request: Request,
    me: Principal,
    case: dict[str, Any],
    month: str | None,
    *,
    message: str | None = None,
    errors: list[tuple[str, str]] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The case page as of ``month`` (default: the latest month it was listed), with the
    outcome form as ``form`` holds it (default: the case's audit) and its ``errors``."""
    case_id = case["case_id"]
    listed = ctx.listing.months_of(case_id)
    chosen = month if month in listed else (listed[-1] if listed else case["last_listed"])
    listing = ctx.listing.listing_of(case_id, chosen) or {}
    details = month_case_details(ctx.out, chosen, [case_id]).get(case_id, {})
    person = read_person_file(ctx.out, chosen, case["person_id"], ctx.config, curated=ctx.curated)
    full = me.sees_full_ids
    sharing, elsewhere, withheld = _account_sharers(ctx, me, person, details)
    evidence = withhold_names(
        details.get("evidence"),
        lambda name: name not in withheld,
        ctx.env.globals["t"]("elsewhere_person"),
    )
    today = datetime.now(UTC).date().isoformat()
    return render(
        ctx,
        request,
        "case.html",
        me,
        status=status,
        case=case,
        month=chosen,
        listed=listed,
        listing=listing,
        details=details,
        sentences=evidence_sentences(evidence if full else mask_text(evidence)),
        reasons=[c for c in (listing.get("reasons") or case.get("reasons") or "").split(",") if c],
        person=person.latest,
        shown_id=case["person_id"] if full else mask_id(case["person_id"]),
        full=full,
        registers=_registers_shown(person, full),
        timeline=_payout_bars(person),
        deaths=person.deaths.to_dicts(),
        certifications=person.certifications.to_dicts(),
        certification=person.certification,
        sharing=sharing,
        elsewhere=elsewhere,
        events=ctx.cases.events(case_id).sort("id", descending=True).to_dicts(),
        auditors=_auditors_for(ctx, case) if me.is_supervisor else [],
        outcomes=_OUTCOME_CHOICES,
        message=message,
        errors=errors or [],
        form=form or _recorded_outcome(case, today),
        today=today,
        due=suspect_countdown(details, date.today()),
        proposal=_proposal_shown(ctx, case["case_id"]),
        recovery=case_recovery(ctx, case, date.fromisoformat(today)),
    )


def _payout_bars(person: PersonFile) -> list[dict[str, Any]]:
    """The person's payouts by period with a bar width (the largest payout 200 pixels),
    whether the period is after the first accepted death and the account masked."""
    accepted = person.deaths.filter(pl.col("accepted"))
    death_month = accepted["death_date"].min().strftime("%Y-%m") if accepted.height else None  # type: ignore[union-attr]
    top = max([abs(a) for a in person.payouts["amount"].drop_nulls().to_list()] + [0.0])
    return [
        r
        | {
            "width": round(200 * abs(r["amount"] or 0.0) / top, 1) if top else 0.0,
            "after_death": death_month is not None and r["period"] > death_month,
            "account": mask_account(r["bank_account"]),
        }
        for r in person.payouts.to_dicts()
    ]


def _registers_shown(person: PersonFile, full: bool) -> list[dict[str, Any]]:
    """The person's register rows, accounts and collectors masked unless ``full``."""
    return [
        r
        | {
            "account": r.get("bank_account") if full else mask_account(r.get("bank_account")),
            "collector": (r.get("collector_id") if full else mask_account(r.get("collector_id"))),
        }
        for r in person.register.to_dicts()
    ]


def _account_sharers(
    ctx: Context, me: Principal, person: PersonFile, details: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], set[str]]:
    """The people sharing the person's accounts or collectors as this user may see them:
    those of the user's townships in full (with the cases they may open), those elsewhere
    only counted per account and township, and the names to withhold from the evidence."""
    # docs/review.md, "People sharing an account": outside the user's townships only how
    # many share and where; no name, village, status or number of those people.
    shared = person.sharing.to_dicts()
    inside = [r for r in shared if me.may_see_person_of(r["township"])]
    outside = [r for r in shared if not me.may_see_person_of(r["township"])]
    their_cases = _cases_of(ctx, me, list({r["person_id"] for r in inside})) if inside else {}
    sharing = [
        {
            "kind": r["kind"],
            "receiver": r["receiver_masked"],
            "person": r["person_masked"],
            "name": r["name"],
            "township": r["township"],
            "village": r["village"],
            "status": r["status"],
            "cases": their_cases.get(r["person_id"], []),
        }
        for r in inside
    ]
    elsewhere = (
        pl.DataFrame(outside, schema={"kind": pl.String, "receiver_masked": pl.String,
                                      "township": pl.String, "person_id": pl.String})
        .group_by("kind", "receiver_masked", "township")
        .agg(pl.col("person_id").n_unique().alias("people"))
        .sort("kind", "receiver_masked", "township", nulls_last=True)
        .rename({"receiver_masked": "receiver"})
        .to_dicts()
        if outside
        else []
    )  # fmt: skip
    shown_names = {r["name"] for r in inside if r["name"]} | {
        details.get("name"),
        person.latest.get("name"),
    }
    withheld = {r["name"] for r in outside if r["name"]} - shown_names
    return sharing, elsewhere, withheld


def _recorded_outcome(case: dict[str, Any], today: str) -> dict[str, str]:
    """The outcome form filled in with the case's audit (closed today when it has none)."""
    return {
        "outcome": case.get("outcome") or "",
        "closed_on": case["closed_on"].isoformat() if case.get("closed_on") else today,
        "death_date": case["death_date"].isoformat() if case.get("death_date") else "",
        "overpaid_amount": ""
        if case.get("overpaid_amount") is None
        else f"{case['overpaid_amount']:.2f}",
        "recovered_amount": ""
        if case.get("recovered_amount") is None
        else f"{case['recovered_amount']:.2f}",
        "note": case.get("note") or "",
    }


def _proposal_shown(ctx: Context, case_id: str) -> dict[str, Any] | None:
    """The result waiting for sign-off, with why in the UI language."""
    proposal = ctx.cases.proposal(case_id)
    if proposal is None:
        return None
    return proposal | {"why": problem_text(proposal["signoff"], ctx.config.review.language)}


def suspect_countdown(details: dict[str, Any], today: date) -> dict[str, Any] | None:
    """The open upstream suspect of a case as the pages show it: batch, due date, days
    left (negative: overdue) and ``overdue``; None when the case answers no suspect."""
    due = details.get("suspect_due")
    if due is None:
        return None
    left = (due - today).days
    return {
        "batch": details.get("suspect_batch"),
        "date": due.isoformat(),
        "left": left,
        "overdue": left < 0,
    }


def _cases_of(ctx: Context, me: Principal, persons: list[str]) -> dict[str, list[str]]:
    """Case ids of these persons that this user may open."""
    frame = ctx.cases.cases().filter(pl.col("person_id").is_in(persons))
    found: dict[str, list[str]] = {}
    for r in frame.iter_rows(named=True):
        if me.may_work(r["township"]):
            found.setdefault(r["person_id"], []).append(r["case_id"])
    return found
