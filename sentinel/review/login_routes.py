"""Signing in and out of the review app: the login form (throttled, with its own CSRF
cookie), the session cookie, logout."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from sentinel.review.auth import (
    MIN_PASSWORD_LENGTH,
    HashingBusy,
    Principal,
    check_password,
    hash_password,
    needs_rehash,
    tokens_match,
)
from sentinel.review.web import (
    SESSION_COOKIE,
    Context,
    check_csrf,
    context,
    principal,
    render,
)

LOGIN_COOKIE = "sentinel_login"
_log = logging.getLogger("sentinel.review")

login_router = APIRouter()


def _home(principal: Principal) -> str:
    return "/users" if principal.is_admin else "/queue"


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@login_router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    return RedirectResponse(_home(principal(request)), status_code=303)


# --------------------------------------------------------------- login


@login_router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    ctx = context(request)
    token = secrets.token_urlsafe(32)
    response = render(ctx, request, "login.html", None, login_token=token, next=_safe_next(next))
    _set_cookie(ctx, response, LOGIN_COOKIE, token, max_age=3600)
    return response


@login_router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str | None, Form()] = None,
    next: Annotated[str, Form()] = "/",
) -> Response:
    ctx = context(request)
    text = ctx.env.globals["t"]
    expected = request.cookies.get(LOGIN_COOKIE)
    if not expected or not tokens_match(expected, csrf_token):
        raise HTTPException(403, "!" + text("csrf_failed"))
    client = request.client.host if request.client else "unknown"
    name = username.strip()
    settings = ctx.config.review
    window = timedelta(seconds=settings.login_window_seconds)

    def again(status: int, message: str) -> Response:
        token = secrets.token_urlsafe(32)
        response = render(
            ctx,
            request,
            "login.html",
            None,
            status=status,
            error=message,
            login_token=token,
            next=_safe_next(next),
            username=name,
        )
        _set_cookie(ctx, response, LOGIN_COOKIE, token, max_age=3600)
        return response

    user = ctx.review.user(name) if name else None
    # Counted under the name only when it is a user's: names typed at random (or a
    # password typed into the name field) do not each get rows of their own.
    logged_as = user.username if user is not None else "-"
    # Decided before hashing, atomically: simultaneous tries cannot all pass the check.
    reservation = ctx.review.reserve_login(
        name, client, max_failures=settings.login_max_failures, window=window
    )
    if reservation is None:
        ctx.review.count_event(logged_as, "login_throttled", {"client": client})
        _log.warning("login throttled for a user name/client after repeated failures")
        response = again(429, text("login_throttled"))
        response.headers["Retry-After"] = str(settings.login_window_seconds)
        return response
    try:
        right = ctx.hashing.run(check_password, user, password)
    except HashingBusy:
        ctx.review.release_login(reservation)
        _log.warning("login refused: every password-check worker is busy")
        response = again(503, text("busy"))
        response.headers["Retry-After"] = "1"
        return response
    if not right:
        ctx.review.count_event(logged_as, "login_failed", {"client": client})
        return again(401, text("login_failed"))
    ctx.review.release_login(reservation)
    assert user is not None
    if needs_rehash(user) and len(password) >= MIN_PASSWORD_LENGTH:
        # Hashed with weaker parameters than today's: upgrade while the password is at hand.
        ctx.review.set_password_hash(user.username, ctx.hashing.run(hash_password, password))
    ctx.review.close_session(request.cookies.get(SESSION_COOKIE))
    token = ctx.review.open_session(user.username, timedelta(minutes=settings.session_minutes))
    ctx.review.log(user.username, "login_ok", detail={"client": client})
    target = _safe_next(next)
    if target == "/":
        target = "/users" if user.role == "admin" else "/queue"
    response = RedirectResponse(target, status_code=303)
    _set_cookie(ctx, response, SESSION_COOKIE, token, max_age=settings.session_minutes * 60)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@login_router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str | None, Form()] = None) -> Response:
    ctx = context(request)
    me = principal(request)
    check_csrf(ctx, me, csrf_token)
    ctx.review.close_session(request.cookies.get(SESSION_COOKIE))
    ctx.review.log(me.username, "logout")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _set_cookie(ctx: Context, response: Response, key: str, value: str, *, max_age: int) -> None:
    response.set_cookie(
        key,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=ctx.config.review.secure_cookies,
    )
