"""Signing in and out (review/login_routes.py): the session cookie, throttled wrong
passwords, the same answer for an unknown user, local redirects only, password hashes
upgraded, the password check's worker pool and failed logins counted per minute."""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from sentinel.casestore import CaseStore
from sentinel.review import ReviewStore

sys.path.insert(0, str(Path(__file__).parent))  # the shared page helpers (importlib mode)
from review_pages import token_of_page  # noqa: E402


def test_login_sets_a_httponly_samesite_session_cookie(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/login")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login",
        data={"username": "wang", "password": "correct horse battery", "csrf_token": token},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/queue"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("sentinel_session=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # the test client's config: plain http


def test_secure_cookie_when_configured(make_client, login) -> None:  # type: ignore[no-untyped-def]
    with make_client(secure_cookies=True) as client:
        page = client.get("/login")
        assert "Secure" in page.headers["set-cookie"]


def test_wrong_password_is_refused_and_the_sixth_within_a_minute_is_throttled(
    client: TestClient,
) -> None:
    def attempt(username: str, password: str):  # type: ignore[no-untyped-def]
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        return client.post(
            "/login", data={"username": username, "password": password, "csrf_token": token}
        )

    for _ in range(5):
        refused = attempt("wang", "not the password")
        assert refused.status_code == 401
        assert "sentinel_session" not in refused.cookies
    throttled = attempt("wang", "not the password")
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "60"
    # Even the right password waits out the minute: guessing gains nothing.
    assert attempt("wang", "correct horse battery").status_code == 429


def test_throttling_counts_per_user_and_per_address_within_the_window(database_copy) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    with CaseStore(database_copy) as cases:
        users = ReviewStore(cases.engine)
        start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        window = timedelta(seconds=60)

        def reserve(name: str, client: str, seconds: int) -> int | None:
            return users.reserve_login(
                name, client, max_failures=5, window=window, now=start + timedelta(seconds=seconds)
            )

        for i in range(5):
            assert reserve("li", "10.0.0.1", i) is not None
        assert reserve("li", "10.0.0.9", 30) is None  # same user, other address
        assert reserve("zhao", "10.0.0.1", 30) is None  # same address
        kept = reserve("zhao", "10.0.0.9", 30)
        assert kept is not None
        users.release_login(kept)  # a right password: not counted
        assert reserve("li", "10.0.0.1", 70) is not None  # the window has passed


def test_login_form_without_its_csrf_token_is_rejected(client: TestClient) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": "wang", "password": "correct horse battery"})
    assert response.status_code == 403
    assert "sentinel_session" not in response.cookies


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client: TestClient) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login", data={"username": "nobody", "password": "whatever123", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text


def test_logout_needs_the_token_and_ends_the_session(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "wang")
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    assert client.get("/queue").status_code == 200
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/queue").status_code == 303


def test_login_redirects_only_to_local_pages(client: TestClient) -> None:
    page = client.get("/login?next=https://evil.example/")
    assert 'name="next" value="/"' in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/login",
        data={
            "username": "wang",
            "password": "correct horse battery",
            "csrf_token": token,
            "next": "//evil.example/",
        },
    )
    assert response.headers["location"] == "/queue"


def test_a_hash_with_weaker_parameters_is_upgraded_at_login(
    client: TestClient, login, database_copy
) -> None:  # type: ignore[no-untyped-def]
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1).hash("an old long password")
    with CaseStore(database_copy) as cases:
        ReviewStore(cases.engine).add_user("old", "supervisor", weak)
    login(client, "old", "an old long password")
    with CaseStore(database_copy) as cases:
        upgraded = ReviewStore(cases.engine).user("old").password_hash  # type: ignore[union-attr]
    assert upgraded != weak and "m=512" not in upgraded


def test_twenty_simultaneous_wrong_passwords_get_at_most_five_401(make_client) -> None:  # type: ignore[no-untyped-def]
    """Regression: the failure count was read, argon2 ran, then the failure was written,
    so 20 simultaneous tries were all answered 401 (limit 5)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    tries = 20
    clients = [make_client() for _ in range(tries)]
    start = threading.Barrier(tries)

    def attempt(client: TestClient) -> int:
        with client:
            token = token_of_page(client.get("/login").text)
            start.wait()
            return client.post(
                "/login",
                data={"username": "wang", "password": "not the password", "csrf_token": token},
            ).status_code

    with ThreadPoolExecutor(max_workers=tries) as pool:
        statuses = list(pool.map(attempt, clients))
    assert statuses.count(401) <= 5
    assert statuses.count(401) + statuses.count(429) == tries, statuses


def test_a_login_beyond_the_password_check_workers_is_answered_503(
    make_client, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Each check holds 64 MiB of argon2 memory: with every worker busy and no waiting place
    free the server answers 503 at once instead of starting another."""
    import threading

    from sentinel.review import login_routes as review_app

    entered, release = threading.Event(), threading.Event()
    real = review_app.check_password

    def slow_check(user, password):  # type: ignore[no-untyped-def]
        entered.set()
        release.wait(timeout=60)
        return real(user, password)

    monkeypatch.setattr(review_app, "check_password", slow_check)
    with make_client(hash_workers=1, hash_queue=0) as first, make_client() as second:
        tokens = [token_of_page(c.get("/login").text) for c in (first, second)]
        form = {"username": "wang", "password": "not the password"}
        result: list[int] = []
        holder = threading.Thread(
            target=lambda: result.append(
                first.post("/login", data=form | {"csrf_token": tokens[0]}).status_code
            )
        )
        holder.start()
        try:
            assert entered.wait(timeout=60)
            busy = first.post("/login", data=form | {"csrf_token": tokens[0]})
        finally:
            release.set()
            holder.join(timeout=60)
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert result == [401]


def test_a_flood_of_failed_logins_is_one_counted_audit_row_per_minute(
    client: TestClient, login, database_copy
) -> None:  # type: ignore[no-untyped-def]
    """Regression: 200 throttled posts wrote 200 audit rows, pushing real entries off /audit."""
    for _ in range(200):
        token = token_of_page(client.get("/login").text)
        client.post("/login", data={"username": "wang", "password": "nope", "csrf_token": token})
    with CaseStore(database_copy) as cases:
        entries = ReviewStore(cases.engine).audit_log(limit=1000)
    failed = [e for e in entries if e.action == "login_failed"]
    throttled = [e for e in entries if e.action == "login_throttled"]
    # One row per user and minute (two when the flood straddled a minute).
    assert 1 <= len(failed) <= 2 and 1 <= len(throttled) <= 2
    assert sum(e.count for e in failed) == 5
    assert sum(e.count for e in throttled) == 195
    assert {e.username for e in failed + throttled} == {"wang"}


def test_failed_logins_of_unknown_names_are_counted_under_no_name(
    client: TestClient, database_copy
) -> None:  # type: ignore[no-untyped-def]
    for name in ("a-password-typed-as-name", "zz1", "zz2"):
        token = token_of_page(client.get("/login").text)
        client.post("/login", data={"username": name, "password": "nope", "csrf_token": token})
    with CaseStore(database_copy) as cases:
        entries = ReviewStore(cases.engine).audit_log(action="login_failed")
    assert [(e.username, e.count) for e in entries] == [("-", 3)]
