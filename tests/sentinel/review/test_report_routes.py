"""The month's reports in the review app (review/report_routes.py): the dashboard within
the user's reach and the audit log for supervisors."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import polars as pl
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parent))  # the shared page helpers (importlib mode)
from review_pages import FULL_ID, case_of, outcome_form  # noqa: E402


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


def test_audit_log_is_filtered_by_kind_user_and_day(client: TestClient, login, review_data) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    login(client, "wang")
    case_id = case_of(review_data, review_data.township_a)["case_id"]
    client.get(f"/cases/{case_id}")
    login(client, "zhao")
    today = datetime.now(UTC).date()
    page = client.get(
        "/audit", params={"kind": "view_case", "user": "wang", "day": today.isoformat()}
    )
    assert page.status_code == 200
    rows = page.text.split("<tbody>")[1].split("</tbody>")[0]
    assert case_id in rows and rows.count("<tr>") == 1
    assert "查看案件" in rows and "登录成功" not in rows
    yesterday = client.get(
        "/audit", params={"kind": "view_case", "day": (today - timedelta(days=1)).isoformat()}
    )
    assert yesterday.text.split("<tbody>")[1].split("</tbody>")[0].count("<tr>") == 0
    assert client.get("/audit", params={"day": "2020-13-45"}).status_code == 400
