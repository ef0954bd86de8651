"""The review app's routes with FastAPI's TestClient: sign-in, reach by township, CSRF,
escaping, filters, outcomes through the case store, dashboard, audit trail, users."""

from __future__ import annotations

import re
import shutil
from datetime import date, timedelta

import polars as pl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from sentinel.casestore import CaseStore
from sentinel.review import ReviewStore

FULL_ID = re.compile(r"\b\d{17}[\dX]\b")
# Also next to Chinese text, where \b sees no word boundary.
ANY_FULL_ID = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")


def case_of(review_data, township: str, typology: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    frame = review_data.cases.filter(pl.col("township") == township)
    if typology is not None:
        frame = frame.filter(pl.col("typology") == typology)
    return frame.sort("priority_rank").row(0, named=True)


def outcome_form(token: str, **fields: str) -> dict[str, str]:
    form = {
        "outcome": "confirmed_improper",
        "closed_on": date.today().isoformat(),
        "death_date": "",
        "overpaid_amount": "1200.50",
        "recovered_amount": "300",
        "note": "",
        "csrf_token": token,
    }
    return form | fields


# ------------------------------------------------------------------ sessions and sign-in


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


def test_pages_carry_security_headers(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login(client, "zhao")
    response = client.get("/queue")
    assert response.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"


# ------------------------------------------------------------------ the queue


def test_queue_of_an_auditor_holds_only_their_township_with_ids_masked(
    client: TestClient, login, review_data
) -> None:  # type: ignore[no-untyped-def]
    login(client, "wang")
    page = client.get("/queue")
    assert page.status_code == 200
    listed = set(re.findall(r'href="/cases/([A-Z]{2}-[0-9a-f]{12})', page.text))
    expected = set(
        review_data.cases.filter(pl.col("township") == review_data.township_a)["case_id"]
    )
    assert listed == expected
    assert not FULL_ID.search(page.text)
    for name in review_data.cases["name"].drop_nulls():
        if len(name) > 1:
            assert f">{name}<" not in page.text


def test_queue_is_sorted_by_priority_and_shows_amount_and_reason(
    client: TestClient, login, review_data
) -> None:  # type: ignore[no-untyped-def]
    login(client, "zhao")
    page = client.get(f"/queue?month={review_data.month}")
    listed = re.findall(r'href="/cases/([A-Z]{2}-[0-9a-f]{12})', page.text)
    assert listed == review_data.cases.sort("priority_rank")["case_id"].to_list()
    top = review_data.cases.sort("priority_rank").row(0, named=True)
    assert f"{top['est_overpayment']:,.2f}" in page.text
    assert top["evidence"].split(";")[0].strip() in page.text


@pytest.mark.parametrize(
    "field, column",
    [("typology", "typology"), ("township", "township")],
)
def test_queue_filters(client: TestClient, login, review_data, field: str, column: str) -> None:  # type: ignore[no-untyped-def]
    login(client, "zhao")
    value = review_data.cases[column][0]
    page = client.get("/queue", params={"month": review_data.month, field: value})
    listed = set(re.findall(r'href="/cases/([A-Z]{2}-[0-9a-f]{12})', page.text))
    assert listed == set(review_data.cases.filter(pl.col(column) == value)["case_id"])


def test_queue_filter_by_status_and_month(
    client: TestClient, login, review_data, store: CaseStore
) -> None:  # type: ignore[no-untyped-def]
    login(client, "zhao")
    case_id = review_data.cases["case_id"][0]
    store.assign(case_id, "wang", actor="zhao")
    page = client.get("/queue", params={"month": review_data.month, "status": "assigned"})
    assert set(re.findall(r'href="/cases/([A-Z]{2}-[0-9a-f]{12})', page.text)) == {case_id}
    january = client.get("/queue", params={"month": "2020-01"})
    assert "2020-01" in january.text.split("</h1>")[0]


@pytest.mark.parametrize(
    "params",
    [
        {"township": "' OR '1'='1"},
        {"typology": "x'; DROP TABLE cases; --"},
        {"status": "new' OR 1=1 --"},
        {"township": '" UNION SELECT person_id, 1, 1, 1, 1, 1, 1 FROM cases --'},
        {"month": "2020-02' OR '1'='1"},
    ],
)
def test_sql_metacharacters_in_filters_change_nothing(
    client: TestClient, login, review_data, store: CaseStore, params
) -> None:  # type: ignore[no-untyped-def]
    login(client, "wang")
    before = store.cases()
    baseline = client.get("/queue")
    page = client.get("/queue", params=params)
    assert page.status_code == 200
    listed = re.findall(r'href="/cases/([A-Z]{2}-[0-9a-f]{12})', page.text)
    if "month" in params:  # an unknown month falls back to the latest, within the auditor's reach
        assert listed == re.findall(r'href="/cases/([A-Z]{2}-[0-9a-f]{12})', baseline.text)
    else:
        assert listed == []
    assert not FULL_ID.search(page.text)
    assert store.cases().equals(before)


# ------------------------------------------------------------------ the case page


def test_auditor_gets_404_for_a_case_of_another_township_read_and_write(
    client: TestClient, login, review_data, store: CaseStore
) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "wang")
    other = case_of(review_data, review_data.township_b)["case_id"]
    assert client.get(f"/cases/{other}").status_code == 404
    assert client.post(f"/cases/{other}/outcome", data=outcome_form(token)).status_code == 404
    assert (
        client.post(
            f"/cases/{other}/assign", data={"assignee": "wang", "csrf_token": token}
        ).status_code
        == 404
    )
    assert store.case(other)["state"] != "closed"  # type: ignore[index]
    # Unknown cases answer the same: the reply does not tell which cases exist.
    assert client.get("/cases/SU-000000000000").status_code == 404


def test_admin_sees_no_case(client: TestClient, login, review_data) -> None:  # type: ignore[no-untyped-def]
    login(client, "root")
    case_id = review_data.cases["case_id"][0]
    assert client.get(f"/cases/{case_id}").status_code == 404
    assert client.get("/queue").status_code == 403
    assert client.get("/dashboard").status_code == 403


def test_case_page_shows_the_person_evidence_and_payouts_in_full_to_their_auditor(
    client: TestClient, login, review_data
) -> None:  # type: ignore[no-untyped-def]
    login(client, "wang")
    case = case_of(review_data, review_data.township_a)
    page = client.get(f"/cases/{case['case_id']}")
    assert page.status_code == 200
    assert case["person_id"] in page.text
    assert case["name"] in page.text
    for sentence in case["evidence"].split(";"):
        assert sentence.strip() in page.text
    assert "逐月发放" in page.text and "2020-01" in page.text
    assert "资格认证" in page.text and "死亡记录" in page.text


def test_case_page_states_the_certification_state_detection_reads(
    client: TestClient, login, review_data
) -> None:  # type: ignore[no-untyped-def]
    """Known (months since the last pass or claim) or bounded (no pass since the records
    begin): the same state as the suspension list's, never a guessed month."""
    login(client, "zhao")
    for case in review_data.cases.head(5).iter_rows(named=True):
        page = client.get(f"/cases/{case['case_id']}")
        section = page.text.split("资格认证</h2>")[1].split("</section>")[0]
        assert ("距最后一次认证通过或待遇申领" in section) or ("有记录以来" in section), case["case_id"]


def test_case_page_masks_full_ids_for_roles_not_allowed(review_data, make_client, login) -> None:  # type: ignore[no-untyped-def]
    case = review_data.cases.sort("priority_rank").row(0, named=True)
    with make_client(full_id_roles=[]) as client:
        login(client, "zhao")
        page = client.get(f"/cases/{case['case_id']}")
    assert page.status_code == 200
    assert case["person_id"] not in page.text
    assert case["person_id"][:6] + "********" + case["person_id"][-4:] in page.text


def test_case_page_shows_death_records_with_link_confidence_and_agreeing_fields(
    client: TestClient, login, review_data
) -> None:  # type: ignore[no-untyped-def]
    login(client, "zhao")
    deceased = review_data.cases.filter(pl.col("typology") == "deceased_paid")
    if deceased.height == 0:
        pytest.skip("no deceased_paid case in the tiny county")
    case = deceased.row(0, named=True)
    page = client.get(f"/cases/{case['case_id']}")
    section = page.text.split("死亡记录</h2>")[1].split("</section>")[0]
    assert "关联置信度" in section and "一致的字段" in section
    assert re.search(r'<td class="num">0\.\d\d</td>', section) or ">1.00<" in section
    assert "after-death" in page.text


def test_case_page_lists_people_sharing_the_account_masked(
    client: TestClient, login, review_data
) -> None:  # type: ignore[no-untyped-def]
    login(client, "zhao")
    shared = review_data.cases.filter(pl.col("typology") == "shared_account")
    if shared.height == 0:
        pytest.skip("no shared_account case in the tiny county")
    case = shared.row(0, named=True)
    page = client.get(f"/cases/{case['case_id']}")
    section = page.text.split("共用账户或代领人的人员</h2>")[1].split("</section>")[0]
    rows = re.findall(r"<tr><td>(?:银行账户|代领人)</td>", section)
    assert rows, section
    masked = re.findall(r"\d{6}\*{8}[\dX]{4}", section)
    assert masked and not FULL_ID.search(section)


def test_every_case_view_is_in_the_audit_trail(
    client: TestClient, login, review_data, store: CaseStore
) -> None:  # type: ignore[no-untyped-def]
    login(client, "wang")
    case_id = case_of(review_data, review_data.township_a)["case_id"]
    client.get(f"/cases/{case_id}")
    client.get(f"/cases/{case_id}")
    views = [
        e for e in ReviewStore(store.engine).audit_log(case_id=case_id) if e.action == "view_case"
    ]
    assert len(views) == 2 and {e.username for e in views} == {"wang"}


# ------------------------------------------------------------------ outcomes and assignment


def test_recording_an_outcome_closes_the_case_through_the_case_store(
    client: TestClient, make_client, login, review_data, store: CaseStore
) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "wang")
    case = case_of(review_data, review_data.township_a)
    response = client.post(
        f"/cases/{case['case_id']}/outcome", data=outcome_form(token, note="visited 2 times")
    )
    # A confirmed overpayment waits for a second user's sign-off (cases.signoff_above_yuan).
    assert response.status_code == 303
    assert response.headers["location"].endswith("msg=pending_saved")
    assert store.case(case["case_id"])["state"] == "pending"  # type: ignore[index]
    again = client.post(
        f"/cases/{case['case_id']}/outcome", data=outcome_form(token, note="visited 2 times")
    )
    assert again.headers["location"].endswith("msg=unchanged")
    reviewer = make_client()
    reviewer_token = login(reviewer, "qian")
    page = reviewer.get(f"/cases/{case['case_id']}")
    assert 'id="approve"' in page.text and 'id="proposed-by">wang<' in page.text
    approved = reviewer.post(f"/cases/{case['case_id']}/approve", data={"csrf_token": reviewer_token})
    assert approved.status_code == 303 and approved.headers["location"].endswith("msg=approved")
    closed = store.case(case["case_id"])
    assert closed["state"] == "closed" and closed["outcome"] == "confirmed_improper"  # type: ignore[index]
    assert closed["overpaid_amount"] == 1200.5 and closed["recovered_amount"] == 300.0  # type: ignore[index]
    assert closed["note"] == "visited 2 times"  # type: ignore[index]
    events = store.events(case["case_id"])
    assert events.filter(pl.col("kind") == "proposed")["actor"].to_list() == ["wang"]
    assert events.filter(pl.col("kind") == "closed")["actor"].to_list() == ["qian"]
    trail = ReviewStore(store.engine).audit_log(case_id=case["case_id"])
    recorded = [e for e in trail if e.action == "record_outcome"]
    assert recorded and recorded[0].detail["outcome"] == "confirmed_improper"  # type: ignore[index]
    assert [e.username for e in trail if e.action == "approve_outcome"] == ["qian"]
    assert case["person_id"] not in str([e.detail for e in trail])
    again = client.post(
        f"/cases/{case['case_id']}/outcome", data=outcome_form(token, note="visited 2 times")
    )
    assert again.headers["location"].endswith("msg=unchanged")


def test_nobody_signs_off_their_own_result(
    client: TestClient, login, review_data, store: CaseStore
) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "zhao")
    case_id = case_of(review_data, review_data.township_a)["case_id"]
    client.post(f"/cases/{case_id}/outcome", data=outcome_form(token))
    page = client.get(f"/cases/{case_id}")
    assert 'id="approve"' not in page.text and 'id="proposed-by">zhao<' in page.text
    refused = client.post(f"/cases/{case_id}/approve", data={"csrf_token": token})
    assert refused.status_code == 400
    assert store.case(case_id)["state"] == "pending"  # type: ignore[index]
    trail = ReviewStore(store.engine).audit_log(case_id=case_id)
    assert [e.action for e in trail if e.action == "signoff_refused"] == ["signoff_refused"]


def test_an_auditor_may_not_sign_off_and_sees_no_signoff_page(
    client: TestClient, make_client, login, review_data, store: CaseStore
) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "zhao")
    case_id = case_of(review_data, review_data.township_a)["case_id"]
    client.post(f"/cases/{case_id}/outcome", data=outcome_form(token))
    auditor = make_client()
    auditor_token = login(auditor, "wang")
    assert auditor.post(f"/cases/{case_id}/approve", data={"csrf_token": auditor_token}).status_code == 403
    assert auditor.get("/signoff").status_code == 403
    assert 'href="/signoff"' not in auditor.get("/queue").text
    assert store.case(case_id)["state"] == "pending"  # type: ignore[index]


def test_the_signoff_page_lists_what_waits_and_a_reviewer_sends_one_back(
    client: TestClient, make_client, login, review_data, store: CaseStore
) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "wang")
    case = case_of(review_data, review_data.township_a)
    client.post(f"/cases/{case['case_id']}/outcome", data=outcome_form(token))
    reviewer = make_client()
    reviewer_token = login(reviewer, "qian")
    page = reviewer.get("/signoff")
    assert page.status_code == 200 and case["case_id"] in page.text
    assert case["person_id"] not in page.text  # list pages mask identity numbers
    empty = reviewer.post(f"/cases/{case['case_id']}/reject", data={"csrf_token": reviewer_token})
    assert empty.status_code == 400
    back = reviewer.post(
        f"/cases/{case['case_id']}/reject",
        data={"csrf_token": reviewer_token, "note": "no bank record of the payments"},
    )
    assert back.headers["location"].endswith("msg=rejected")
    assert store.case(case["case_id"])["state"] in ("new", "assigned")  # type: ignore[index]
    assert 'id="signoff-empty"' in reviewer.get("/signoff").text


@pytest.mark.parametrize(
    "fields, column, problem",
    [
        ({"outcome": "probably"}, "outcome", "不是有效的核查结果"),
        ({"closed_on": (date.today() + timedelta(days=3)).isoformat()}, "closed_on", "晚于今天"),
        ({"closed_on": "2019-01-01"}, "closed_on", "早于案件首次列出的月份"),
        ({"closed_on": "yesterday"}, "closed_on", "识别为日期"),
        ({"overpaid_amount": "12 yuan-ish"}, "overpaid_amount", "识别为金额"),
        ({"overpaid_amount": "-5"}, "overpaid_amount", "为负数"),
        # Regression (issue 18): 1e308 was accepted and the dashboard showed inf.
        ({"overpaid_amount": "1e308", "recovered_amount": ""}, "overpaid_amount", "不小于上限 2,000,000 元"),
        # Regression (issue 18): a death date of 0001-01-01 was accepted.
        ({"outcome": "确认死亡", "death_date": "0001-01-01"}, "death_date", "早于本人出生日期"),
        ({"overpaid_amount": "100", "recovered_amount": "200"}, "recovered_amount", "超过多发金额"),
        (
            {"outcome": "cleared", "overpaid_amount": "100", "recovered_amount": ""},
            "overpaid_amount",
            "没有多发金额",
        ),
        (
            {
                "outcome": "cleared",
                "death_date": "2020-01-05",
                "overpaid_amount": "",
                "recovered_amount": "",
            },
            "death_date",
            "不应填写死亡日期",
        ),
    ],
)
def test_outcome_form_is_validated_with_clear_errors(
    client: TestClient, login, review_data, store: CaseStore, fields, column, problem
) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "wang")
    case = case_of(review_data, review_data.township_a)
    response = client.post(f"/cases/{case['case_id']}/outcome", data=outcome_form(token, **fields))
    assert response.status_code == 422
    errors = response.text.split('id="outcome-errors"')[1].split("</div>")[0]
    assert problem in errors
    assert store.case(case["case_id"])["state"] != "closed"  # type: ignore[index]


def test_outcome_errors_in_english_name_the_field_and_the_problem(
    review_data, make_client, login
) -> None:  # type: ignore[no-untyped-def]
    case = case_of(review_data, review_data.township_a)
    with make_client(language="en") as client:
        token = login(client, "wang")
        response = client.post(
            f"/cases/{case['case_id']}/outcome",
            data=outcome_form(
                token, overpaid_amount="100", recovered_amount="200", closed_on="2019-01-01"
            ),
        )
    errors = response.text.split('id="outcome-errors"')[1].split("</div>")[0]
    assert "<b>recovered</b>: 200.0 is more than overpaid_amount 100.0" in errors
    assert "<b>closed on</b>: 2019-01-01 is before the case was first listed" in errors


def test_outcome_accepts_the_chinese_vocabulary_and_amount_text(
    client: TestClient, login, review_data, store: CaseStore
) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "wang")
    case = case_of(review_data, review_data.township_a)
    response = client.post(
        f"/cases/{case['case_id']}/outcome",
        data=outcome_form(
            token, outcome="确认违规", overpaid_amount="1,200.50元", recovered_amount=""
        ),
    )
    assert response.status_code == 303
    proposal = store.proposal(case["case_id"])
    assert proposal is not None
    assert proposal["result"]["outcome"] == "confirmed_improper"
    assert proposal["result"]["overpaid_amount"] == 1200.5


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


def test_a_note_with_a_script_is_shown_escaped(client: TestClient, login, review_data) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "wang")
    case_id = case_of(review_data, review_data.township_a)["case_id"]
    note = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    client.post(f"/cases/{case_id}/outcome", data=outcome_form(token, note=note))
    page = client.get(f"/cases/{case_id}")
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text


def test_supervisor_assigns_to_an_auditor_of_the_township(
    client: TestClient, login, review_data, store: CaseStore
) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "zhao")
    case_id = case_of(review_data, review_data.township_a)["case_id"]
    page = client.get(f"/cases/{case_id}")
    assert '<option value="wang"' in page.text and '<option value="li"' not in page.text
    assert (
        client.post(
            f"/cases/{case_id}/assign", data={"assignee": "li", "csrf_token": token}
        ).status_code
        == 400
    )
    response = client.post(
        f"/cases/{case_id}/assign", data={"assignee": "wang", "csrf_token": token}
    )
    assert response.status_code == 303
    case = store.case(case_id)
    assert case["state"] == "assigned" and case["assignee"] == "wang"  # type: ignore[index]
    assert [e.action for e in ReviewStore(store.engine).audit_log(case_id=case_id)][
        0
    ] == "assign_case"


def test_auditor_cannot_assign(client: TestClient, login, review_data) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "wang")
    case_id = case_of(review_data, review_data.township_a)["case_id"]
    assert (
        client.post(
            f"/cases/{case_id}/assign", data={"assignee": "wang", "csrf_token": token}
        ).status_code
        == 403
    )


# ------------------------------------------------------------------ dashboard, audit log, users


def test_dashboard_shows_the_month_and_outcomes_so_far(
    client: TestClient, make_client, login, review_data
) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "zhao")
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert f'<b id="kpi-cases">{review_data.cases.height}</b>' in page.text
    assert '<b id="kpi-closed">0</b>' in page.text
    case_id = review_data.cases.sort("priority_rank")["case_id"][0]
    client.post(f"/cases/{case_id}/outcome", data=outcome_form(token))
    page = client.get(f"/dashboard?month={review_data.month}")
    assert '<b id="kpi-closed">0</b>' in page.text  # waiting for sign-off
    reviewer = make_client()
    reviewer.post(f"/cases/{case_id}/approve", data={"csrf_token": login(reviewer, "qian")})
    page = client.get(f"/dashboard?month={review_data.month}")
    assert '<b id="kpi-closed">1</b>' in page.text
    assert '<b id="kpi-recovered">300.00</b>' in page.text
    precision = page.text.split('id="precision"')[1].split("</section>")[0]
    assert "100%" in precision
    assert "<svg" in page.text and "cdn" not in page.text.lower()


def test_dashboard_of_an_auditor_counts_only_their_townships(
    client: TestClient, login, review_data
) -> None:  # type: ignore[no-untyped-def]
    login(client, "wang")
    page = client.get("/dashboard")
    count = review_data.cases.filter(pl.col("township") == review_data.township_a).height
    assert f'<b id="kpi-cases">{count}</b>' in page.text
    assert review_data.township_b not in page.text


def test_audit_log_is_for_supervisors(client: TestClient, login, review_data) -> None:  # type: ignore[no-untyped-def]
    login(client, "wang")
    case_id = case_of(review_data, review_data.township_a)["case_id"]
    client.get(f"/cases/{case_id}")
    assert client.get("/audit").status_code == 403
    login(client, "zhao")
    page = client.get("/audit", params={"user": "wang"})
    assert page.status_code == 200
    assert case_id in page.text and "查看案件" in page.text
    assert not FULL_ID.search(page.text)
    assert client.get("/audit", params={"case": "' OR 1=1 --"}).status_code == 200


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


def test_case_page_without_curated_history_shows_empty_sections(
    review_data, make_client, login, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    case_id = review_data.cases["case_id"][0]
    with make_client(curated=tmp_path / "no-history") as client:
        login(client, "zhao")
        page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200
    assert "没有关联到此人的死亡记录" in page.text and "没有认证记录" in page.text


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


def test_auditor_filters_the_cases_assigned_to_them(
    client: TestClient, login, review_data, store: CaseStore
) -> None:  # type: ignore[no-untyped-def]
    mine = review_data.cases.filter(pl.col("township") == review_data.township_a)["case_id"][0]
    store.assign(mine, "wang", actor="zhao")
    login(client, "wang")
    page = client.get("/queue", params={"mine": "1"})
    assert set(re.findall(r'href="/cases/([A-Z]{2}-[0-9a-f]{12})', page.text)) == {mine}
    assert 'id="f-mine" checked' in page.text


def test_evidence_text_is_masked_for_roles_not_shown_full_ids(review_data, make_client, login) -> None:  # type: ignore[no-untyped-def]
    """Regression (issue 18): the ID field was masked, the identity_anomaly sentence below
    it printed the raw number."""
    with_ids = review_data.cases.filter(
        pl.col("evidence").map_elements(lambda e: bool(ANY_FULL_ID.search(e)), return_dtype=pl.Boolean)
    )
    assert with_ids.height, "the tiny county has evidence naming an identity number"
    with make_client(full_id_roles=[]) as client:
        login(client, "zhao")
        for case in with_ids.iter_rows(named=True):
            page = client.get(f"/cases/{case['case_id']}")
            assert page.status_code == 200
            assert not ANY_FULL_ID.search(page.text), case["typology"]
        queue = client.get(f"/queue?month={review_data.month}")
        assert not ANY_FULL_ID.search(queue.text)
    # The roles shown full IDs still read the evidence as written.
    with make_client() as client:
        login(client, "zhao")
        case = with_ids.row(0, named=True)
        number = ANY_FULL_ID.search(case["evidence"]).group(0)  # type: ignore[union-attr]
        assert number in client.get(f"/cases/{case['case_id']}").text


def sharing_elsewhere(review_data, township: str) -> tuple[dict, pl.DataFrame]:  # type: ignore[no-untyped-def]
    """A case of ``township`` whose account or collector is shared with people of other
    townships, and those people."""
    from sentinel.config import load_config
    from sentinel.review.casefile import read_person_file

    for case in review_data.cases.filter(pl.col("township") == township).iter_rows(named=True):
        person = read_person_file(review_data.out, review_data.month, case["person_id"], load_config())
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


# ------------------------------------------------------------------ hardening (issue 18)


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
                "/login", data={"username": "wang", "password": "not the password", "csrf_token": token}
            ).status_code

    with ThreadPoolExecutor(max_workers=tries) as pool:
        statuses = list(pool.map(attempt, clients))
    assert statuses.count(401) <= 5
    assert statuses.count(401) + statuses.count(429) == tries, statuses


def token_of_page(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


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
            target=lambda: result.append(first.post("/login", data=form | {"csrf_token": tokens[0]}).status_code)
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


def test_failed_logins_of_unknown_names_are_counted_under_no_name(client: TestClient, database_copy) -> None:  # type: ignore[no-untyped-def]
    for name in ("a-password-typed-as-name", "zz1", "zz2"):
        token = token_of_page(client.get("/login").text)
        client.post("/login", data={"username": name, "password": "nope", "csrf_token": token})
    with CaseStore(database_copy) as cases:
        entries = ReviewStore(cases.engine).audit_log(action="login_failed")
    assert [(e.username, e.count) for e in entries] == [("-", 3)]


def test_audit_log_is_filtered_by_kind_user_and_day(client: TestClient, login, review_data) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    login(client, "wang")
    case_id = case_of(review_data, review_data.township_a)["case_id"]
    client.get(f"/cases/{case_id}")
    login(client, "zhao")
    today = datetime.now(UTC).date()
    page = client.get("/audit", params={"kind": "view_case", "user": "wang", "day": today.isoformat()})
    assert page.status_code == 200
    rows = page.text.split("<tbody>")[1].split("</tbody>")[0]
    assert case_id in rows and rows.count("<tr>") == 1
    assert "查看案件" in rows and "登录成功" not in rows
    yesterday = client.get("/audit", params={"kind": "view_case", "day": (today - timedelta(days=1)).isoformat()})
    assert yesterday.text.split("<tbody>")[1].split("</tbody>")[0].count("<tr>") == 0
    assert client.get("/audit", params={"day": "2020-13-45"}).status_code == 400


def test_an_invalid_form_is_refused_without_echoing_what_was_sent(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    """Regression: FastAPI's default 422 body repeated the submitted values, a password of
    over 1000 characters included."""
    token = token_of_page(client.get("/login").text)
    secret = "430923195001011235" + "s3cret-" * 200
    refused = client.post("/login", data={"username": "wang", "password": secret, "csrf_token": token})
    assert refused.status_code == 422
    assert "s3cret" not in refused.text and "430923195001011235" not in refused.text
    assert "password" in refused.text  # the field is named, its value is not
    login(client, "zhao")
    assert client.get("/queue", params={"page": "430923195001011235x"}).status_code == 422
    assert "430923195001011235" not in client.get("/queue", params={"page": "430923195001011235x"}).text


# ------------------------------------------------------------ upstream suspects


def test_queue_and_case_page_count_down_to_a_suspect_due_date(
    review_data, client_on, tmp_path, login
) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    shutil.copytree(review_data.out, out, ignore=shutil.ignore_patterns("*.sqlite"))
    path = out / review_data.month / "cases.parquet"
    ranked = review_data.cases.sort("priority_rank")
    soon, late = ranked["case_id"][0], ranked["case_id"][1]
    today = date.today()
    due = {soon: today + timedelta(days=12), late: today - timedelta(days=3)}
    pl.read_parquet(path).with_columns(
        pl.col("case_id").replace_strict(due, default=None, return_dtype=pl.Date).alias("suspect_due"),
        pl.when(pl.col("case_id").is_in(list(due))).then(pl.lit("YZ2020021")).alias("suspect_batch"),
    ).write_parquet(path)
    with client_on(out) as client:
        login(client, "zhao")
        queue = client.get(f"/queue?month={review_data.month}").text
        assert "剩 12 天" in queue and "已逾期 3 天" in queue
        assert queue.count("YZ2020021") == 2
        page = client.get(f"/cases/{late}?month={review_data.month}").text
        assert 'id="suspect-due"' in page and "已逾期 3 天" in page
        other = client.get(f"/cases/{ranked['case_id'][2]}?month={review_data.month}").text
        assert 'id="suspect-due"' not in other


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


# ---------------------------------------------------------------------- recusal


def test_an_auditor_is_not_assigned_a_relative_s_case_nor_records_its_outcome(
    client: TestClient, login, review_data, store: CaseStore
) -> None:  # type: ignore[no-untyped-def]
    case = case_of(review_data, review_data.township_a)
    ReviewStore(store.engine).set_recusal("wang", village=None, relatives=(case["person_id"],))
    token = login(client, "zhao")
    page = client.get(f"/cases/{case['case_id']}")
    assert '<option value="wang"' not in page.text
    refused = client.post(f"/cases/{case['case_id']}/assign", data={"assignee": "wang", "csrf_token": token})
    assert refused.status_code == 400 and "回避" in refused.text
    assert store.case(case["case_id"])["assignee"] is None  # type: ignore[index]
    # Another case of the township is theirs as before.
    other = review_data.cases.filter(
        (pl.col("township") == review_data.township_a) & (pl.col("person_id") != case["person_id"])
    ).row(0, named=True)
    ok = client.post(f"/cases/{other['case_id']}/assign", data={"assignee": "wang", "csrf_token": token})
    assert ok.status_code == 303
    # Nor may they record the outcome of the relative's case themselves.
    client.post("/logout", data={"csrf_token": token})
    token = login(client, "wang")
    form = outcome_form(token, outcome="cleared", overpaid_amount="", recovered_amount="")
    assert client.post(f"/cases/{case['case_id']}/outcome", data=form).status_code == 403
    assert store.case(case["case_id"])["state"] != "closed"  # type: ignore[index]
    actions = [e.action for e in ReviewStore(store.engine).audit_log(case_id=case["case_id"])]
    assert "assign_refused" in actions and "outcome_refused" in actions


def test_own_village_recusal_follows_the_configuration(
    review_data, make_client, login, store: CaseStore
) -> None:  # type: ignore[no-untyped-def]
    case = review_data.cases.filter(
        (pl.col("township") == review_data.township_a) & pl.col("village").is_not_null()
    ).row(0, named=True)
    ReviewStore(store.engine).set_recusal("wang", village=case["village"], relatives=())
    with make_client() as client:
        token = login(client, "zhao")
        response = client.post(f"/cases/{case['case_id']}/assign", data={"assignee": "wang", "csrf_token": token})
        assert response.status_code == 400
    with make_client(recuse_own_village=False) as client:
        token = login(client, "zhao")
        response = client.post(f"/cases/{case['case_id']}/assign", data={"assignee": "wang", "csrf_token": token})
        assert response.status_code == 303
