"""Users in the review app (review/admin_routes.py): admins add and disable users; a
disabled user's session ends."""

from __future__ import annotations

from fastapi.testclient import TestClient

from sentinel.casestore import CaseStore
from sentinel.review import ReviewStore


def test_admin_adds_and_disables_users(client: TestClient, login, database_copy) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "root")
    assert client.get("/users").status_code == 200
    bad = client.post(
        "/users",
        data={
            "username": "chen",
            "role": "auditor",
            "townships": "",
            "password": "long enough pw",
            "csrf_token": token,
        },
    )
    assert bad.status_code == 400 and "township" in bad.text
    short = client.post(
        "/users",
        data={
            "username": "chen",
            "role": "auditor",
            "townships": "梅城镇",
            "password": "short",
            "csrf_token": token,
        },
    )
    assert short.status_code == 400
    added = client.post(
        "/users",
        data={
            "username": "chen",
            "role": "auditor",
            "townships": "梅城镇, 清塘铺镇",
            "password": "long enough pw",
            "csrf_token": token,
        },
    )
    assert added.status_code == 303
    with CaseStore(database_copy) as cases:
        chen = ReviewStore(cases.engine).user("chen")
    assert chen is not None and chen.townships == ("梅城镇", "清塘铺镇")
    assert chen.password_hash.startswith("$argon2id$")
    assert (
        client.post("/users/wang/active", data={"active": "0", "csrf_token": token}).status_code
        == 303
    )
    with CaseStore(database_copy) as cases:
        assert ReviewStore(cases.engine).user("wang").active is False  # type: ignore[union-attr]


def test_disabled_user_loses_the_session(review_data, make_client, login) -> None:  # type: ignore[no-untyped-def]
    with make_client() as auditor, make_client() as admin:
        login(auditor, "wang")
        token = login(admin, "root")
        admin.post("/users/wang/active", data={"active": "0", "csrf_token": token})
        assert auditor.get("/queue").status_code == 303


def test_only_admins_manage_users(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "zhao")
    assert client.get("/users").status_code == 403
    assert (
        client.post(
            "/users",
            data={
                "username": "x",
                "role": "admin",
                "password": "long enough pw",
                "csrf_token": token,
            },
        ).status_code
        == 403
    )
