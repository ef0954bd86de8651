"""The review app as a whole with FastAPI's TestClient: no page without a session, CSRF
on every form, security headers, static files and scripts, errors that echo nothing, the
history check said on every page, logs without full IDs, and what an auditor sees of the
people sharing an account in other townships (docs/review.md)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from sentinel.casestore import CaseStore

sys.path.insert(0, str(Path(__file__).parent))  # the shared page helpers (importlib mode)
from review_pages import FULL_ID, case_of, outcome_form, token_of_page  # noqa: E402


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/queue",
        "/queue?month=2020-02",
        "/plan?month=2020-02",
        "/dashboard",
        "/audit",
        "/users",
        "/cases/SU-aaaaaaaaaaaa",
    ],
)
def test_no_session_redirects_to_login(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_htmx_request_without_session_redirects_the_whole_page(client: TestClient) -> None:
    response = client.get("/queue?typology=deceased_paid", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["hx-redirect"] == "/login?next=%2Fqueue%3Ftypology%3Ddeceased_paid"


@pytest.mark.parametrize(
    "path",
    [
        "/logout",
        "/cases/SU-aaaaaaaaaaaa/outcome",
        "/cases/SU-aaaaaaaaaaaa/assign",
        "/users",
        "/users/wang/active",
    ],
)
def test_post_without_session_redirects_to_login(client: TestClient, path: str) -> None:
    response = client.post(path, data={"csrf_token": "x"})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_pages_carry_security_headers(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login(client, "zhao")
    response = client.get("/queue")
    assert response.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_a_form_without_a_valid_csrf_token_is_rejected(
    client: TestClient, login, review_data, store: CaseStore, token
) -> None:  # type: ignore[no-untyped-def]
    login(client, "zhao")
    case_id = case_of(review_data, review_data.township_a)["case_id"]
    data = outcome_form(token or "")
    if token is None:
        del data["csrf_token"]
    assert client.post(f"/cases/{case_id}/outcome", data=data).status_code == 403
    assert (
        client.post(
            f"/cases/{case_id}/assign", data={"assignee": "wang", "csrf_token": token or ""}
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/users", data={"username": "x", "role": "admin", "password": "y" * 12}
        ).status_code
        == 403
    )
    case = store.case(case_id)
    assert case["state"] == "new" and case["assignee"] is None  # type: ignore[index]


def test_another_sessions_token_is_not_valid(review_data, make_client, login) -> None:  # type: ignore[no-untyped-def]
    case_id = case_of(review_data, review_data.township_a)["case_id"]
    with make_client() as first, make_client() as second:
        stolen = login(first, "zhao")
        login(second, "zhao")
        response = second.post(
            f"/cases/{case_id}/assign", data={"assignee": "wang", "csrf_token": stolen}
        )
    assert response.status_code == 403


def test_english_texts_from_configuration(review_data, make_client, login) -> None:  # type: ignore[no-untyped-def]
    with make_client(language="en") as client:
        login(client, "zhao")
        page = client.get("/queue")
    assert "Case queue" in page.text and "Strongest reason" in page.text
    assert "案件队列" not in page.text


def test_static_files_are_served_without_a_session(client: TestClient) -> None:
    response = client.get("/static/review.css")
    assert response.status_code == 200 and "--main" in response.text
    assert client.get("/static/htmx.min.js").status_code == 200


def test_pages_load_only_their_own_scripts_and_keep_no_history_snapshots(
    client: TestClient, login
) -> None:  # type: ignore[no-untyped-def]
    login(client, "zhao")
    page = client.get("/queue")
    assert re.findall(r"<script[^>]*>", page.text) == ['<script src="/static/htmx.min.js" defer>']
    assert '"historyCacheSize": 0' in page.text
    assert "http://" not in page.text and "https://" not in page.text


def test_logs_never_hold_full_ids_names_or_accounts(
    client: TestClient, login, token_of, review_data, caplog
) -> None:  # type: ignore[no-untyped-def]
    import logging

    caplog.set_level(logging.DEBUG)
    token = login(client, "zhao")
    for case in review_data.cases.head(5).iter_rows(named=True):
        client.get(f"/cases/{case['case_id']}")
    case_id = review_data.cases["case_id"][0]
    client.post(f"/cases/{case_id}/outcome", data=outcome_form(token, outcome="probably"))
    client.post(f"/cases/{case_id}/outcome", data=outcome_form(token))
    statuses = [
        client.post(
            "/login",
            data={
                "username": "zhao",
                "password": "wrong",
                "csrf_token": token_of(client.get("/login").text),
            },
        ).status_code
        for _ in range(7)
    ]
    assert statuses[-1] == 429
    logged = caplog.text
    assert "throttled" in logged
    assert not FULL_ID.search(logged)
    for name in review_data.cases["name"].drop_nulls():
        assert name not in logged


def sharing_elsewhere(review_data, township: str) -> tuple[dict, pl.DataFrame]:  # type: ignore[no-untyped-def]
    """A case of ``township`` whose account or collector is shared with people of other
    townships, and those people."""
    from sentinel.config import load_config
    from sentinel.review.casefile import read_person_file

    for case in review_data.cases.filter(pl.col("township") == township).iter_rows(named=True):
        person = read_person_file(
            review_data.out, review_data.month, case["person_id"], load_config()
        )
        outside = person.sharing.filter(pl.col("township") != township)
        if outside.height and "SA_" in (case["reasons"] or ""):
            return case, outside
    raise AssertionError(f"no case of {township} shares with another township")


def test_an_auditor_sees_only_counts_and_townships_of_other_townships_sharers(
    client: TestClient, login, review_data
) -> None:  # type: ignore[no-untyped-def]
    """Policy (docs/review.md): outside their townships an auditor reads that N others
    share the account or collector and their townships; no names, villages, statuses."""
    township = review_data.township_a
    case, outside = sharing_elsewhere(review_data, township)
    login(client, "wang")
    page = client.get(f"/cases/{case['case_id']}")
    assert page.status_code == 200
    for person in outside.iter_rows(named=True):
        assert person["name"] not in page.text
        assert person["person_masked"] not in page.text
    elsewhere = page.text.split('id="sharing-elsewhere"')[1].split("</section>")[0]
    for town in outside["township"].unique().to_list():
        assert town in elsewhere
    assert "其他乡镇人员" in page.text  # the names in the evidence sentence, withheld
    queue = client.get(f"/queue?month={review_data.month}&township={township}")
    for person in outside.iter_rows(named=True):
        assert person["name"] not in queue.text


def test_a_supervisor_sees_every_sharer(client: TestClient, login, review_data) -> None:  # type: ignore[no-untyped-def]
    case, outside = sharing_elsewhere(review_data, review_data.township_a)
    login(client, "zhao")
    page = client.get(f"/cases/{case['case_id']}")
    for person in outside.iter_rows(named=True):
        assert person["name"] in page.text
    assert 'id="sharing-elsewhere"' not in page.text


def test_an_invalid_form_is_refused_without_echoing_what_was_sent(
    client: TestClient, login
) -> None:  # type: ignore[no-untyped-def]
    """Regression: FastAPI's default 422 body repeated the submitted values, a password of
    over 1000 characters included."""
    token = token_of_page(client.get("/login").text)
    secret = "430923195001011235" + "s3cret-" * 200
    refused = client.post(
        "/login", data={"username": "wang", "password": secret, "csrf_token": token}
    )
    assert refused.status_code == 422
    assert "s3cret" not in refused.text and "430923195001011235" not in refused.text
    assert "password" in refused.text  # the field is named, its value is not
    login(client, "zhao")
    assert client.get("/queue", params={"page": "430923195001011235x"}).status_code == 422
    assert (
        "430923195001011235"
        not in client.get("/queue", params={"page": "430923195001011235x"}).text
    )


def test_a_broken_history_is_said_on_every_page_after_start(
    review_data, database_copy, client_on, login
) -> None:  # type: ignore[no-untyped-def]
    with CaseStore(database_copy) as opened, opened.engine.begin() as conn:
        conn.execute(text("UPDATE events SET actor = 'mallory' WHERE chain_seq = 1"))
    with client_on(review_data.out) as client:
        login(client, "wang")
        page = client.get("/queue").text
        assert 'id="history-broken"' in page and "chain position 1" in page


def test_an_intact_history_says_nothing(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login(client, "wang")
    assert 'id="history-broken"' not in client.get("/queue").text
