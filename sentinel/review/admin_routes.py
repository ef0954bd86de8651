"""Users (admins only): add, disable and enable."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from sentinel.review.auth import hash_password
from sentinel.review.tables import ROLES
from sentinel.review.web import Ctx, Me, Writer, render, require

admin_router = APIRouter()


# --------------------------------------------------------------- users (admin)


@admin_router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, ctx: Ctx, me: Me) -> Response:
    require(me.is_admin)
    return render(ctx, request, "users.html", me, users=ctx.review.users(), roles=ROLES)


@admin_router.post("/users", response_class=HTMLResponse)
def add_user(
    request: Request,
    ctx: Ctx,
    me: Writer,
    username: Annotated[str, Form(max_length=100)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
    townships: Annotated[str, Form(max_length=2000)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    require(me.is_admin)
    places = tuple(t.strip() for t in re.split(r"[,，;；\n]", townships) if t.strip())
    try:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        added = ctx.review.add_user(username, role, hash_password(password), places)  # type: ignore[arg-type]
    except ValueError as exc:
        return render(
            ctx,
            request,
            "users.html",
            me,
            status=400,
            users=ctx.review.users(),
            roles=ROLES,
            error=str(exc),
            form={"username": username, "role": role, "townships": townships},
        )
    ctx.review.log(me.username, "user_added", None, {"user": added.username, "role": added.role})
    return RedirectResponse("/users", status_code=303)


@admin_router.post("/users/{username}/active")
def set_active(
    username: str,
    ctx: Ctx,
    me: Writer,
    active: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    require(me.is_admin)
    enable = active == "1"
    if username == me.username and not enable:
        raise HTTPException(400)
    if not ctx.review.set_active(username, enable):
        raise HTTPException(404)
    ctx.review.log(
        me.username, "user_enabled" if enable else "user_disabled", None, {"user": username}
    )
    return RedirectResponse("/users", status_code=303)
