"""Sign-off in the review app (review/signoff_routes.py): a second user with a sign-off
role approves or sends back a proposed result, never their own."""

from __future__ import annotations

import sys
from pathlib import Path

from fastapi.testclient import TestClient

from sentinel.casestore import CaseStore
from sentinel.review import ReviewStore

sys.path.insert(0, str(Path(__file__).parent))  # the shared page helpers (importlib mode)
from review_pages import case_of, outcome_form  # noqa: E402


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
    assert (
        auditor.post(f"/cases/{case_id}/approve", data={"csrf_token": auditor_token}).status_code
        == 403
    )
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
