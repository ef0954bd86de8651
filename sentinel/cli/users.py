"""The review app and its users."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sentinel.cli.common import (
    REVIEW_PASSWORD_ENV,
    CaseStoreOutOption,
    CuratedOption,
    RelativesOption,
    StoreConfigOption,
    app,
    command_group,
    console,
    err,
    existing_store_url,
    fail,
    known_names_hint,
    private,
    review_store,
    site_config,
)

users_app = command_group("users", "Users of the case review web app (`sentinel review`).")


@app.command()
def review(
    out: Annotated[
        Path,
        typer.Option(
            help="Output folder: its case store (or $SENTINEL_DATABASE_URL), OUT/YYYY-MM/cases.parquet and OUT/curated."
        ),
    ],
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8000,
    host: Annotated[
        str,
        typer.Option(
            help="Address to listen on (127.0.0.1: this machine only; put HTTPS in front for others)."
        ),
    ] = "127.0.0.1",
    store: CuratedOption = None,
    config: Annotated[
        Path | None,
        typer.Option(help="Site configuration TOML (\\[review]: language, sessions, throttling)."),
    ] = None,
    trusted_proxy: Annotated[
        str | None,
        typer.Option(
            help="Address of the HTTPS reverse proxy in front: its X-Forwarded-For then names the client (for login throttling per address)."
        ),
    ] = None,
) -> None:
    """Serve the case review web app: queue, case pages, outcomes, month dashboard, audit log.

    Create users first with `sentinel users add`. Session cookies are Secure (HTTPS only)
    unless the configuration sets review.secure_cookies = false for plain-http localhost.

    Example: sentinel review --out demo/out --port 8000
    """
    import uvicorn

    from sentinel.review import create_app

    cfg = site_config(config)
    url = existing_store_url(out, cfg)
    private(out, cfg)
    web = create_app(out, cfg, database=url, curated=store)
    # uvicorn serves plain HTTP: Secure cookies then need the HTTPS proxy in front.
    address = f"[{host}]" if ":" in host else host
    cookies = ", Secure cookies: HTTPS in front for others" if cfg.review.secure_cookies else ""
    console.print(
        f"case review on http://{address}:{port}/ (plain HTTP{cookies}; Ctrl-C stops)",
        highlight=False,
    )
    # Access logs are off: paths hold case ids and filters, and the audit trail is the record.
    # Forwarded headers are believed only from the named proxy: anyone else could forge them
    # to escape the per-address login throttling.
    uvicorn.run(
        web,
        host=host,
        port=port,
        access_log=False,
        log_level="warning",
        proxy_headers=trusted_proxy is not None,
        forwarded_allow_ips=trusted_proxy,
    )


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name (no spaces).")],
    role: Annotated[
        str,
        typer.Option(
            help="auditor (works the townships given), reviewer (all townships; signs off results), supervisor (all townships; assigns, signs off) or admin (users)."
        ),
    ],
    township: Annotated[
        list[str] | None,
        typer.Option("--township", help="A township the auditor works; repeat for several."),
    ] = None,
    village: Annotated[
        str | None,
        typer.Option(
            help="The village the user lives in: not assigned its cases (recusal, review.recuse_own_village)."
        ),
    ] = None,
    relative: RelativesOption = None,
    out: CaseStoreOutOption = Path("demo/out"),
    config: StoreConfigOption = None,
) -> None:
    """Create a user of the case review web app.

    The password is asked twice at a hidden prompt, or read from $SENTINEL_REVIEW_PASSWORD
    for scripts; it is never an option (a command line is visible to other users and kept
    in shell history). Only its argon2 hash is stored.

    Example: sentinel users add wang --role auditor --township 梅城镇 --township 清塘铺镇 --out demo/out
    """
    from sentinel.review import ROLES, hash_password

    if role not in ROLES:
        fail(ValueError(f"--role must be one of {', '.join(ROLES)}, got {role!r}"))
    password = os.environ.get(REVIEW_PASSWORD_ENV)
    if not password:
        password = typer.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True)
    cases, users = review_store(out, config)
    try:
        _refuse_unlisted_townships(cases, township or ())
        user = users.add_user(
            name, role, hash_password(password), tuple(township or ()),  # type: ignore[arg-type]
            village=village, relatives=tuple(relative or ()),
        )  # fmt: skip
        users.log(
            "cli", "user_added", None,
            {"user": user.username, "role": user.role, "relatives": len(user.relatives)},
        )  # fmt: skip
    except ValueError as exc:
        fail(exc)
    finally:
        cases.dispose()
    places = f" ({', '.join(user.townships)})" if user.townships else ""
    console.print(f"user {user.username} added: {user.role}{places}", highlight=False)
    _warn_check_characters(relative or ())


def _refuse_unlisted_townships(cases, townships: list[str] | tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    """A refused input for a township no case list of the store has named (a typo such as
    梅城 for 梅城镇 would leave the auditor's queue empty), naming the closest known ones;
    nothing to check against while the store holds no case."""
    from sentinel.review.case_listing import CaseListing

    known = CaseListing(cases.engine).townships(None)
    if not known:
        return
    for name in townships:
        if name.strip() and name.strip() not in known:
            hint = known_names_hint(name.strip(), known)
            fail(ValueError(f"--township {name}: no case list names it{hint}"))


def _warn_check_characters(relatives: list[str] | tuple[str, ...]) -> None:
    """One warning line per relative whose GB 11643 check character does not match (kept:
    a register holds such numbers, and the recusal must reach them)."""
    from sentinel.masking import mask_id
    from sentinel.review.store import relatives_failing_check

    for number in relatives_failing_check(relatives):
        err.print(
            f"warning: relative {mask_id(number)}: the check character does not match "
            "(kept; check the number against the register)",
            highlight=False,
            soft_wrap=True,
        )


@users_app.command("list")
def users_list(
    out: CaseStoreOutOption = Path("demo/out"),
    config: StoreConfigOption = None,
) -> None:
    """List the users of the case review web app (never their passwords).

    Example: sentinel users list --out demo/out
    """
    cases, users = review_store(out, config)
    try:
        table = Table(title="review users")
        for col in ("user", "role", "townships", "active"):
            table.add_column(col)
        for u in users.users():
            table.add_row(u.username, u.role, ", ".join(u.townships), "yes" if u.active else "no")
    finally:
        cases.dispose()
    console.print(table)


@users_app.command("recuse")
def users_recuse(
    name: Annotated[str, typer.Argument(help="User name.")],
    village: Annotated[
        str | None, typer.Option(help="The village the user lives in (empty: none).")
    ] = None,
    relative: RelativesOption = None,
    out: CaseStoreOutOption = Path("demo/out"),
    config: StoreConfigOption = None,
) -> None:
    """Set whose cases a user may not work (回避): their village and their relatives.

    Both replace what was set before: without --relative the user has no relatives on record.

    Example: sentinel users recuse wang --village 一村 --relative <身份证号> --out demo/out
    """
    cases, users = review_store(out, config)
    try:
        found = users.set_recusal(name, village=village, relatives=tuple(relative or ()))
        if found:
            users.log("cli", "user_recusal", None, {"user": name, "relatives": len(relative or ())})
    except ValueError as exc:
        fail(exc)
    finally:
        cases.dispose()
    if not found:
        fail(ValueError(f"no user {name}"))
    console.print(f"user {name}: recusal set", highlight=False)
    _warn_check_characters(relative or ())


@users_app.command("disable")
def users_disable(
    name: Annotated[str, typer.Argument(help="User name.")],
    out: CaseStoreOutOption = Path("demo/out"),
    config: StoreConfigOption = None,
) -> None:
    """Disable a user: their sessions end and they can no longer sign in.

    Example: sentinel users disable wang --out demo/out
    """
    cases, users = review_store(out, config)
    try:
        found = users.set_active(name, False)
        if found:
            users.log("cli", "user_disabled", None, {"user": name})
    finally:
        cases.dispose()
    if not found:
        fail(ValueError(f"no user {name}"))
    console.print(f"user {name} disabled", highlight=False)
