"""What every page of the review app shares: the app's context, the signed-in user, the
CSRF check, rendering, and the reach of a user (which cases they may open).

The routes live in one module per area (``login_routes``, ``case_routes``,
``signoff_routes``, ``recovery_routes``, ``report_routes``, ``admin_routes``), each a
router that :func:`sentinel.review.app.create_app` includes; each imports these.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Form, Query, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from sentinel.casestore import CaseStore, CaseValidationError
from sentinel.config import SentinelConfig
from sentinel.review.auth import HashingPool, Principal, tokens_match
from sentinel.review.case_listing import CaseListing, month_case_details
from sentinel.review.i18n import problem_text
from sentinel.review.store import ReviewStore, User

__all__ = [
    "MONTH",
    "SESSION_COOKIE",
    "Context",
    "Ctx",
    "Me",
    "MonthQuery",
    "Writer",
    "LoginRequired",
    "case_in_reach",
    "case_to_sign_off",
    "case_village",
    "check_csrf",
    "csrf_checked",
    "context",
    "money",
    "month_of_cases",
    "month_or_latest",
    "page_links",
    "percent",
    "principal",
    "recusal_of",
    "refusals_answered",
    "refuse_recused",
    "recused",
    "render",
    "require",
]

SESSION_COOKIE = "sentinel_session"
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class LoginRequired(Exception):
    """No live session: the browser is sent to the login page."""


@dataclass
class Context:
    """The app's state: output folder, configuration, stores and templates."""

    out: Path
    config: SentinelConfig
    cases: CaseStore
    review: ReviewStore
    listing: CaseListing
    env: Environment
    curated: Path | None
    hashing: HashingPool


def context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def principal(request: Request) -> Principal:
    """The signed-in user, or :class:`LoginRequired`."""
    ctx = context(request)
    session = ctx.review.session(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise LoginRequired()
    user = ctx.review.user(session.username)
    if user is None or not user.active:
        raise LoginRequired()
    return Principal(
        username=user.username,
        role=user.role,
        townships=frozenset(user.townships),
        csrf_token=session.csrf_token,
        full_id_roles=frozenset(ctx.config.review.full_id_roles),
        signoff_roles=frozenset(ctx.config.cases.signoff_roles),
    )


def check_csrf(ctx: Context, principal: Principal, token: str | None) -> None:
    """Every POST of a session carries the session's CSRF token, or is refused (403)."""
    if not tokens_match(principal.csrf_token, token):
        raise HTTPException(403, "!" + ctx.env.globals["t"]("csrf_failed"))


def render(
    ctx: Context,
    request: Request,
    template: str,
    principal: Principal | None,
    *,
    status: int = 200,
    **values: Any,
) -> HTMLResponse:
    html = ctx.env.get_template(template).render(
        request=request, me=principal, path=request.url.path, **values
    )
    return HTMLResponse(html, status_code=status)


def money(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.0f}%"


class MonthQuery(BaseModel):
    """The query string of a month's page: ``month`` (YYYY-MM), the latest listed month
    when it is missing or not listed (:func:`month_or_latest`)."""

    month: Annotated[str | None, Query(max_length=20)] = None


def month_or_latest(ctx: Context, month: str | None) -> str | None:
    months = ctx.listing.months()
    if month and MONTH.match(month) and month in months:
        return month
    return months[0] if months else None


def month_of_cases(ctx: Context, me: Principal, month: str | None) -> str | None:
    """The month a page of the month's cases shows (:func:`month_or_latest`), for a user
    who sees cases (403 for the others)."""
    require(me.sees_cases)
    return month_or_latest(ctx, month)


def page_links(path: str, filters: dict[str, Any], page: int) -> dict[str, str]:
    """``prev_url`` and ``next_url`` of a paged list at ``path``: the filters that are set
    and the page before or after ``page``."""
    base = {k: v for k, v in filters.items() if v}
    return {
        "prev_url": f"{path}?" + urlencode(base | {"page": page - 1}),
        "next_url": f"{path}?" + urlencode(base | {"page": page + 1}),
    }


def case_in_reach(ctx: Context, principal: Principal, case_id: str) -> dict[str, Any]:
    """The case if this user may work it; 404 otherwise (its existence is not revealed)."""
    if len(case_id) > 40:
        raise HTTPException(404)
    case = ctx.cases.case(case_id)
    if case is None or not principal.may_work(case["township"]):
        raise HTTPException(404)
    return case


def require(condition: bool) -> None:
    if not condition:
        raise HTTPException(403)


def case_village(ctx: Context, case: dict[str, Any]) -> str | None:
    """The case's village on its latest list (the case store keeps only the township)."""
    month = case.get("last_listed")
    if not month:
        return None
    return (
        month_case_details(ctx.out, month, [case["case_id"]])
        .get(case["case_id"], {})
        .get("village")
    )


def recused(ctx: Context, user: User, case: dict[str, Any], village: str | None) -> str | None:
    """Why ``user`` may not work ``case`` of ``village`` (回避), or None."""
    return user.recused_from(
        case["person_id"],
        village,
        own_village=ctx.config.review.recuse_own_village,
        relatives=ctx.config.review.recuse_relatives,
    )


def recusal_of(ctx: Context, username: str, case: dict[str, Any]) -> str | None:
    """Why ``username`` may not work ``case`` (回避: ``relative`` or ``own_village``, as
    ``review.recuse_*`` asks), or None."""
    user = ctx.review.user(username)
    return None if user is None else recused(ctx, user, case, case_village(ctx, case))


def refuse_recused(ctx: Context, username: str, case: dict[str, Any], action: str) -> None:
    """403 when ``username`` may not work ``case`` (回避), logged as ``action`` with why."""
    recused = recusal_of(ctx, username, case)
    if recused is not None:
        ctx.review.log(username, action, case["case_id"], {"recusal": recused})
        raise HTTPException(403, "!" + ctx.env.globals["t"](f"recused_{recused}", user=username))


def case_to_sign_off(ctx: Context, me: Principal, case_id: str, action: str) -> dict[str, Any]:
    """The case a second user signs off: in their reach (404), their role one that signs
    off (403), and they not recused from it (403, logged as ``action``)."""
    case = case_in_reach(ctx, me, case_id)
    require(me.signs_off)
    refuse_recused(ctx, me.username, case, action)
    return case


def csrf_checked(request: Request, csrf_token: Annotated[str | None, Form()] = None) -> Principal:
    """The signed-in user of a POST whose form carries the session's CSRF token (403 when
    it does not; :class:`LoginRequired` without a session)."""
    me = principal(request)
    check_csrf(context(request), me, csrf_token)
    return me


#: Route parameters: the app's context, the signed-in user, and the signed-in user of a
#: form checked against the session's CSRF token.
Ctx = Annotated[Context, Depends(context)]
Me = Annotated[Principal, Depends(principal)]
Writer = Annotated[Principal, Depends(csrf_checked)]


@contextmanager
def refusals_answered(
    ctx: Context, username: str, case_id: str, action: str | None
) -> Iterator[None]:
    """Answer a change the case store refuses (:class:`CaseValidationError`) with 400,
    naming the field and the problem in the UI language; logged as ``action`` (with the
    field) when one is given."""
    try:
        yield
    except CaseValidationError as exc:
        if action is not None:
            ctx.review.log(username, action, case_id, {"field": exc.field})
        problem = problem_text(exc.problem, ctx.config.review.language)
        raise HTTPException(400, "!" + f"{exc.field}: {problem}") from None
