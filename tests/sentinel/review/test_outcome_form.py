"""The outcome form of the case page (review/outcome_form.py, review/case_routes.py):
a result recorded through the case store, checked with clear errors in the UI language,
the Chinese vocabulary accepted, the note shown escaped."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from sentinel.casestore import CaseStore
from sentinel.review import ReviewStore

sys.path.insert(0, str(Path(__file__).parent))  # the shared page helpers (importlib mode)
from review_pages import case_of, outcome_form  # noqa: E402


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
    approved = reviewer.post(
        f"/cases/{case['case_id']}/approve", data={"csrf_token": reviewer_token}
    )
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
        (
            {"overpaid_amount": "1e308", "recovered_amount": ""},
            "overpaid_amount",
            "不小于上限 2,000,000 元",
        ),
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


def test_a_note_with_a_script_is_shown_escaped(client: TestClient, login, review_data) -> None:  # type: ignore[no-untyped-def]
    token = login(client, "wang")
    case_id = case_of(review_data, review_data.township_a)["case_id"]
    note = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    client.post(f"/cases/{case_id}/outcome", data=outcome_form(token, note=note))
    page = client.get(f"/cases/{case_id}")
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
