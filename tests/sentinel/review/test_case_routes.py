"""The cases in the review app (review/case_routes.py): the queue within the user's reach
and its filters, the case page (person, evidence, payouts, death records, sharers,
upstream suspects), assignment and recusal."""

from __future__ import annotations

import re
import shutil
import sys
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from sentinel.casestore import CaseStore
from sentinel.review import ReviewStore
from sentinel.review.evidence_text import withhold_names

sys.path.insert(0, str(Path(__file__).parent))  # the shared page helpers (importlib mode)
from review_pages import ANY_FULL_ID, FULL_ID, case_of, outcome_form  # noqa: E402


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
    first = withhold_names(top["evidence"].split(";")[0].strip(), lambda _: False, "**")
    assert first in page.text


def test_a_supervisor_reads_no_full_name_on_the_queue(client: TestClient, login, review_data) -> None:  # type: ignore[no-untyped-def]
    """Regression: a supervisor's or reviewer's queue showed the row's own person as
    `张**` but the names a shared-account sentence lists of other people in full."""
    login(client, "zhao")
    page = client.get(f"/queue?month={review_data.month}").text
    sharers = [e for e in review_data.cases["evidence"].drop_nulls() if "、" in e]
    assert sharers, "the review data has a sentence naming other people"
    for name in review_data.cases["name"].drop_nulls():
        if len(name) > 1:
            assert name not in page, name


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
        assert ("距最后一次认证通过或待遇申领" in section) or ("有记录以来" in section), case[
            "case_id"
        ]


def test_case_page_masks_full_ids_for_roles_not_allowed(review_data, make_client, login) -> None:  # type: ignore[no-untyped-def]
    case = review_data.cases.sort("priority_rank").row(0, named=True)
    with make_client(full_id_roles=[]) as client:
        login(client, "zhao")
        page = client.get(f"/cases/{case['case_id']}")
    assert page.status_code == 200
    assert case["person_id"] not in page.text
    assert case["person_id"][:6] + "********" + case["person_id"][-4:] in page.text


def first_case_page(signed_in, review_data, typology: str) -> str:  # type: ignore[no-untyped-def]
    """The page of the month's first case of ``typology`` as the supervisor sees it; the
    test is skipped when the tiny county has no such case."""
    cases = review_data.cases.filter(pl.col("typology") == typology)
    if cases.height == 0:
        pytest.skip(f"no {typology} case in the tiny county")
    return signed_in("zhao").get(f"/cases/{cases['case_id'][0]}").text


def section_of(page: str, heading: str) -> str:
    return page.split(f"{heading}</h2>")[1].split("</section>")[0]


def test_case_page_shows_death_records_with_link_confidence_and_agreeing_fields(  # type: ignore[no-untyped-def]
    signed_in, review_data
) -> None:
    page = first_case_page(signed_in, review_data, "deceased_paid")
    section = section_of(page, "死亡记录")
    assert "关联置信度" in section and "一致的字段" in section
    assert re.search(r'<td class="num">0\.\d\d</td>', section) or ">1.00<" in section
    assert "after-death" in page


def test_case_page_lists_people_sharing_the_account_masked(signed_in, review_data) -> None:  # type: ignore[no-untyped-def]
    section = section_of(
        first_case_page(signed_in, review_data, "shared_account"), "共用账户或代领人的人员"
    )
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


def test_case_page_without_curated_history_shows_empty_sections(
    review_data, make_client, login, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    case_id = review_data.cases["case_id"][0]
    with make_client(curated=tmp_path / "no-history") as client:
        login(client, "zhao")
        page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200
    assert "没有关联到此人的死亡记录" in page.text and "没有认证记录" in page.text


def test_auditor_filters_the_cases_assigned_to_them(
    client: TestClient, login, review_data, store: CaseStore
) -> None:  # type: ignore[no-untyped-def]
    mine = review_data.cases.filter(pl.col("township") == review_data.township_a)["case_id"][0]
    store.assign(mine, "wang", actor="zhao")
    login(client, "wang")
    page = client.get("/queue", params={"mine": "1"})
    assert set(re.findall(r'href="/cases/([A-Z]{2}-[0-9a-f]{12})', page.text)) == {mine}
    assert 'id="f-mine" checked' in page.text


def test_evidence_text_is_masked_for_roles_not_shown_full_ids(
    review_data, make_client, login
) -> None:  # type: ignore[no-untyped-def]
    """Regression (issue 18): the ID field was masked, the identity_anomaly sentence below
    it printed the raw number."""
    with_ids = review_data.cases.filter(
        pl.col("evidence").map_elements(
            lambda e: bool(ANY_FULL_ID.search(e)), return_dtype=pl.Boolean
        )
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
        pl.col("case_id")
        .replace_strict(due, default=None, return_dtype=pl.Date)
        .alias("suspect_due"),
        pl.when(pl.col("case_id").is_in(list(due)))
        .then(pl.lit("YZ2020021"))
        .alias("suspect_batch"),
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


def test_an_auditor_is_not_assigned_a_relative_s_case_nor_records_its_outcome(
    client: TestClient, login, review_data, store: CaseStore
) -> None:  # type: ignore[no-untyped-def]
    case = case_of(review_data, review_data.township_a)
    ReviewStore(store.engine).set_recusal("wang", village=None, relatives=(case["person_id"],))
    token = login(client, "zhao")
    page = client.get(f"/cases/{case['case_id']}")
    assert '<option value="wang"' not in page.text
    refused = client.post(
        f"/cases/{case['case_id']}/assign", data={"assignee": "wang", "csrf_token": token}
    )
    assert refused.status_code == 400 and "回避" in refused.text
    assert store.case(case["case_id"])["assignee"] is None  # type: ignore[index]
    # Another case of the township is theirs as before.
    other = review_data.cases.filter(
        (pl.col("township") == review_data.township_a) & (pl.col("person_id") != case["person_id"])
    ).row(0, named=True)
    ok = client.post(
        f"/cases/{other['case_id']}/assign", data={"assignee": "wang", "csrf_token": token}
    )
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
        response = client.post(
            f"/cases/{case['case_id']}/assign", data={"assignee": "wang", "csrf_token": token}
        )
        assert response.status_code == 400
    with make_client(recuse_own_village=False) as client:
        token = login(client, "zhao")
        response = client.post(
            f"/cases/{case['case_id']}/assign", data={"assignee": "wang", "csrf_token": token}
        )
        assert response.status_code == 303
