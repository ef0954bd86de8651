"""The case review web app: FastAPI routes rendering Jinja2 templates on the server.

Every page but the login needs a session (a random cookie token; the session row holds
the user and a per-session CSRF token that every POST must carry). Every view of a case
page and every change is written to the audit trail. See docs/review.md.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException

from sentinel.audit_result import OutcomeLimits, SignOff
from sentinel.casestore import CaseStore, database_url
from sentinel.casestore.chain import check_history
from sentinel.config import SentinelConfig
from sentinel.io.store import history_anchors
from sentinel.review import dashboard
from sentinel.review.admin_routes import admin_router
from sentinel.review.auth import HashingPool
from sentinel.review.case_listing import CaseListing
from sentinel.review.case_routes import case_router
from sentinel.review.i18n import translator
from sentinel.review.login_routes import login_router
from sentinel.review.recovery_routes import recovery_router
from sentinel.review.report_routes import report_router
from sentinel.review.signoff_routes import signoff_router
from sentinel.review.store import ReviewStore
from sentinel.review.web import (
    SESSION_COOKIE,
    Context,
    LoginRequired,
    money,
    percent,
    render,
)

__all__ = ["SESSION_COOKIE", "create_app"]

_HERE = Path(__file__).parent

_log = logging.getLogger("sentinel.review")


def create_app(
    out: Path,
    config: SentinelConfig,
    *,
    database: str | None = None,
    curated: Path | None = None,
) -> FastAPI:
    """The review app on the case store of ``out`` (``$SENTINEL_DATABASE_URL`` or
    ``OUT/cases.sqlite``; ``database`` overrides both) and the curated history
    ``curated`` (default ``OUT/curated``)."""
    out = Path(out)
    cases = CaseStore(
        database or database_url(out / config.cases.database_file),
        limits=OutcomeLimits.from_config(config),
        signoff=SignOff.from_config(config),
    )
    review = ReviewStore(cases.engine)
    # The history is checked on every start: a broken chain is said on every page.
    history = check_history(cases.engine, history_anchors(out))
    if not history.holds:
        _log.error("history check failed: %s", history.broken)
    env = _templates(config, None if history.holds else str(history.broken))
    app = FastAPI(
        title="payout-sentinel case review", docs_url=None, redoc_url=None, openapi_url=None
    )
    hashing = HashingPool(config.review.hash_workers, config.review.hash_queue)
    app.state.ctx = Context(
        out, config, cases, review, CaseListing(cases.engine), env, curated, hashing
    )
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    for router in ROUTERS:
        app.include_router(router)
    app.middleware("http")(_security_headers)
    app.exception_handler(LoginRequired)(_to_login)
    app.exception_handler(RequestValidationError)(_invalid_request)
    app.exception_handler(HTTPException)(_error_page)
    return app


def _templates(config: SentinelConfig, history_broken: str | None) -> Environment:
    """The pages' templates, with the texts of the UI language and whether the history
    check failed (said on every page)."""
    text, label = translator(config.review.language)
    env = Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        t=text,
        label=label,
        money=money,
        percent=percent,
        lang=config.review.language,
        bar_width=dashboard.BAR_WIDTH,
        history_broken=history_broken,
    )
    return env


async def _security_headers(request: Request, call_next: Any) -> Response:
    """Every answer forbids other origins' content and framing, and pages are not cached."""
    response: Response = await call_next(request)
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if not request.url.path.startswith("/static/"):
        # Pages hold personal data: never kept in a browser or proxy cache.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


async def _to_login(request: Request, exc: LoginRequired) -> Response:
    """No session: to the login page, which comes back to the page asked for (a GET)."""
    target = request.url.path if request.method == "GET" else "/"
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    login = "/login?" + urlencode({"next": target})
    if request.headers.get("HX-Request") == "true":
        # An htmx request would swap the login page into a fragment: send the whole
        # browser to the login page instead.
        return Response(status_code=204, headers={"HX-Redirect": login})
    return RedirectResponse(login, status_code=303)


async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
    """A request whose fields are wrong: the error page names the fields."""
    # FastAPI's own handler echoes the submitted values (a long password included):
    # only the names of the fields that were wrong are said.
    ctx: Context = request.app.state.ctx
    text = ctx.env.globals["t"]
    fields = sorted({str(e.get("loc", ("?",))[-1])[:40] for e in exc.errors()})
    return render(
        ctx,
        request,
        "error.html",
        None,
        status=422,
        message=f"{text('bad_request')} ({', '.join(fields)})",
        code=422,
    )


async def _error_page(request: Request, exc: HTTPException) -> Response:
    """The error page: the message a route gave (``!``-prefixed), else the status's."""
    ctx: Context = request.app.state.ctx
    text = ctx.env.globals["t"]
    key = {403: "forbidden", 404: "not_found", 429: "login_throttled"}.get(
        exc.status_code, "bad_request"
    )
    message = exc.detail if isinstance(exc.detail, str) and exc.detail.startswith("!") else None
    return render(
        ctx,
        request,
        "error.html",
        None,
        status=exc.status_code,
        message=message[1:] if message else text(key),
        code=exc.status_code,
    )


#: The routes by what they serve: signing in, the cases, sign-off, recovery, the month's
#: reports, the users.
ROUTERS: tuple[APIRouter, ...] = (
    login_router,
    case_router,
    signoff_router,
    recovery_router,
    report_router,
    admin_router,
)
