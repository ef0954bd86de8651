"""The recovery ledger in the review app: the ledger page, a case's account with its steps,
recording a step, write-offs approved by a second user, the printable notice and the
dashboard's recovery figures."""

from __future__ import annotations

from datetime import date

import polars as pl
from fastapi.testclient import TestClient

from sentinel.casestore import CaseStore
from sentinel.casestore.recovery import recovery_events, recovery_ledger
from tests.sentinel.review.test_app import case_of, outcome_form


def confirmed_account(client: TestClient, make_client, login, review_data) -> dict:  # type: ignore[no-untyped-def]
    """A case of township A confirmed by wang (1,200.50 overpaid, 300 recovered at the
    visit) and signed off by qian: an open recovery account."""
    token = login(client, "wang")
    case = case_of(review_data, review_data.township_a)
    client.post(f"/cases/{case['case_id']}/outcome", data=outcome_form(token))
    reviewer = make_client()
    reviewer.post(f"/cases/{case['case_id']}/approve", data={"csrf_token": login(reviewer, "qian")})
    return case


def test_the_ledger_page_sums_accounts_by_township_and_lists_the_open_ones_masked(
    client: TestClient, make_client, login, review_data
) -> None:  # type: ignore[no-untyped-def]
    case = confirmed_account(client, make_client, login, review_data)
    page = client.get("/recovery")
    assert page.status_code == 200
    assert '<b id="rk-accounts">1</b>' in page.text
    assert '<b id="rk-due">1,200.50</b>' in page.text
    assert '<b id="rk-outstanding">900.50</b>' in page.text
    assert '<b id="rk-rate">25%</b>' in page.text
    assert case["case_id"] in page.text and case["person_id"] not in page.text
    assert 'id="ageing"' in page.text and 'id="ladder"' in page.text
    by_typology = client.get("/recovery?by=typology")
    assert by_typology.status_code == 200
    other = make_client()
    login(other, "li")
    assert '<b id="rk-accounts">0</b>' in other.get("/recovery").text


def test_a_payment_recorded_on_the_case_page_reduces_what_is_outstanding(
    client: TestClient, make_client, login, review_data, store: CaseStore
) -> None:  # type: ignore[no-untyped-def]
    case = confirmed_account(client, make_client, login, review_data)
    page = client.get(f"/cases/{case['case_id']}")
    assert 'id="recovery"' in page.text and 'id="r-outstanding">900.50<' in page.text
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    today = date.today().isoformat()
    saved = client.post(
        f"/cases/{case['case_id']}/recovery",
        data={"csrf_token": token, "step": "payment", "on": today, "amount": "400",
              "method": "instalment", "record_id": "SJ-001"},
    )  # fmt: skip
    assert saved.status_code == 303
    ledger = recovery_ledger(store, date.today()).filter(pl.col("case_id") == case["case_id"])
    assert ledger["outstanding"].to_list() == [500.5]
    too_much = client.post(
        f"/cases/{case['case_id']}/recovery",
        data={"csrf_token": token, "step": "payment", "on": today, "amount": "9000",
              "method": "full"},
    )  # fmt: skip
    assert too_much.status_code == 400 and "amount" in too_much.text
    assert recovery_events(store, case["case_id"]).height == 1


def test_a_write_off_counts_only_once_another_user_approves_it(
    client: TestClient, make_client, login, review_data, store: CaseStore
) -> None:  # type: ignore[no-untyped-def]
    case = confirmed_account(client, make_client, login, review_data)
    supervisor = make_client()
    token = login(supervisor, "zhao")
    today = date.today().isoformat()
    supervisor.post(
        f"/cases/{case['case_id']}/recovery",
        data={"csrf_token": token, "step": "write_off", "on": today, "amount": "900.50",
              "reason": "heirs without estate", "record_id": "HX-1"},
    )  # fmt: skip
    ledger = recovery_ledger(store, date.today()).filter(pl.col("case_id") == case["case_id"])
    assert ledger["written_off"].to_list() == [0.0]
    own = supervisor.post(
        f"/cases/{case['case_id']}/write-offs/HX-1/approve", data={"csrf_token": token}
    )
    assert own.status_code == 400
    auditor_page = client.get(f"/cases/{case['case_id']}")
    assert "approve-write-off" not in auditor_page.text
    reviewer = make_client()
    reviewer_token = login(reviewer, "qian")
    assert "approve-write-off" in reviewer.get(f"/cases/{case['case_id']}").text
    assert "write-offs-waiting" in reviewer.get("/recovery").text
    approved = reviewer.post(
        f"/cases/{case['case_id']}/write-offs/HX-1/approve", data={"csrf_token": reviewer_token}
    )
    assert approved.status_code == 303
    ledger = recovery_ledger(store, date.today()).filter(pl.col("case_id") == case["case_id"])
    assert (ledger["written_off"][0], ledger["status"][0]) == (900.5, "written_off")


def test_the_notice_prints_the_amount_and_deadline_for_roles_shown_full_ids(
    client: TestClient, make_client, login, review_data
) -> None:  # type: ignore[no-untyped-def]
    case = confirmed_account(client, make_client, login, review_data)
    notice = client.get(f"/cases/{case['case_id']}/notice")
    assert notice.status_code == 200
    assert "900.50" in notice.text and case["case_id"] in notice.text
    masked = make_client(full_id_roles=["supervisor"])
    login(masked, "wang")
    assert masked.get(f"/cases/{case['case_id']}/notice").status_code == 403


def test_the_dashboard_shows_the_recovery_rate_and_what_is_outstanding(
    client: TestClient, make_client, login, review_data
) -> None:  # type: ignore[no-untyped-def]
    confirmed_account(client, make_client, login, review_data)
    page = client.get("/dashboard")
    assert '<b id="kpi-due">1,200.50</b>' in page.text
    assert '<b id="kpi-rate">25%</b>' in page.text
    assert '<b id="kpi-outstanding">900.50</b>' in page.text
