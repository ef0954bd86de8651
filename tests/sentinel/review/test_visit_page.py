"""The visit plan page (/plan): the month's day trips of the user's townships, masked like
every list page, each stop linking to its case page; reached from the queue and the nav."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from features.visits import WITHIN_CAPACITY

ANY_FULL_ID = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")
CASE_LINK = re.compile(r'href="/cases/([A-Z]{2}-[0-9a-f]+)\?month=(\d{4}-\d{2})"')
TRIP = re.compile(r'<section class="card trip" id="trip-(\d+)">')


def within_capacity(review_data, township: str | None = None) -> list[str]:  # type: ignore[no-untyped-def]
    cases = review_data.cases.filter(pl.col("audit_selection").is_in(WITHIN_CAPACITY))
    if township is not None:
        cases = cases.filter(pl.col("township") == township)
    return sorted(cases["case_id"])


def linked_cases(html: str, month: str) -> list[str]:
    found = CASE_LINK.findall(html)
    assert all(m == month for _, m in found)
    return sorted(c for c, _ in found)


def test_a_supervisor_sees_every_case_within_capacity_once_with_masked_ids(  # type: ignore[no-untyped-def]
    signed_in, review_data
) -> None:
    client = signed_in("zhao")
    page = client.get(f"/plan?month={review_data.month}")
    assert page.status_code == 200
    assert linked_cases(page.text, review_data.month) == within_capacity(review_data)
    assert not ANY_FULL_ID.search(page.text)
    trips = [int(n) for n in TRIP.findall(page.text)]
    assert trips == list(range(1, len(trips) + 1))
    for person in review_data.cases.filter(pl.col("audit_selection").is_not_null())["person_id"]:
        assert person[:6] + "*" * 8 + person[-4:] in page.text


def test_a_case_closed_since_the_listing_leaves_the_plan(signed_in, review_data, store) -> None:  # type: ignore[no-untyped-def]
    """Regression: a case an outcome closed after the month was listed stayed on the plan
    (marked closed) and in its trip's expected yuan."""
    from datetime import date, datetime

    from sentinel.casestore import AuditOutcome

    planned = within_capacity(review_data)
    closed = planned[0]
    store.close(
        closed,
        AuditOutcome("cleared", date(2020, 4, 20)),
        actor="wang",
        reviewed_by="reviewer-li",
        now=datetime(2020, 4, 20),
    )
    page = signed_in("zhao").get(f"/plan?month={review_data.month}").text
    assert linked_cases(page, review_data.month) == [c for c in planned if c != closed]


def test_an_auditor_sees_only_the_trips_of_their_townships(signed_in, review_data) -> None:  # type: ignore[no-untyped-def]
    client = signed_in("wang")
    page = client.get(f"/plan?month={review_data.month}")
    assert page.status_code == 200
    assert linked_cases(page.text, review_data.month) == within_capacity(
        review_data, review_data.township_a
    )
    assert review_data.township_b not in page.text
    assert not ANY_FULL_ID.search(page.text)
    # Another township asked for by hand: nothing of it.
    other = client.get(f"/plan?month={review_data.month}&township={review_data.township_b}")
    assert other.status_code == 200
    assert linked_cases(other.text, review_data.month) == []
    assert 'id="plan-empty"' in other.text


def test_an_auditor_reads_no_full_name_on_the_plan(signed_in, review_data) -> None:  # type: ignore[no-untyped-def]
    client = signed_in("wang")
    page = client.get(f"/plan?month={review_data.month}").text
    for name in review_data.cases["name"].drop_nulls():
        if len(name) > 1:
            assert name not in page, name
    planned = review_data.cases.filter(
        pl.col("audit_selection").is_not_null() & (pl.col("township") == review_data.township_a)
    )
    for name in planned["name"].drop_nulls():
        assert name[0] + "**" in page


def test_a_supervisor_narrows_the_plan_to_one_township(signed_in, review_data) -> None:  # type: ignore[no-untyped-def]
    client = signed_in("zhao")
    page = client.get(f"/plan?month={review_data.month}&township={review_data.township_b}")
    assert linked_cases(page.text, review_data.month) == within_capacity(
        review_data, review_data.township_b
    )
    assert TRIP.findall(page.text)[0] == "1"  # trips numbered within what is planned


def test_trips_hold_at_most_the_configured_visits(signed_in, review_data) -> None:  # type: ignore[no-untyped-def]
    client = signed_in("zhao")
    page = client.get(f"/plan?month={review_data.month}").text
    limit = 6  # visits.max_visits_per_trip of the committed configuration
    for section in page.split('<section class="card trip"')[1:]:
        assert 0 < section.split("</section>")[0].count("<tr>") - 1 <= limit


def test_each_stop_links_to_its_case_page_which_opens(signed_in, review_data) -> None:  # type: ignore[no-untyped-def]
    client = signed_in("wang")
    page = client.get(f"/plan?month={review_data.month}").text
    case_id = linked_cases(page, review_data.month)[0]
    opened = client.get(f"/cases/{case_id}?month={review_data.month}")
    assert opened.status_code == 200 and case_id in opened.text


def test_the_queue_and_the_nav_lead_to_the_plan(signed_in, review_data) -> None:  # type: ignore[no-untyped-def]
    client = signed_in("wang")
    queue = client.get(f"/queue?month={review_data.month}").text
    assert f'href="/plan?month={review_data.month}&amp;township="' in queue
    assert '<a href="/plan"' in queue


def test_an_admin_may_not_open_the_plan(client: TestClient, login) -> None:  # type: ignore[no-untyped-def]
    login(client, "root")
    assert client.get("/plan").status_code == 403


def test_a_month_without_case_list_shows_no_plan(
    client_on,
    login,
    review_data,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    out = tmp_path / "out"
    shutil.copytree(review_data.out, out)
    (out / review_data.month / "cases.parquet").unlink()
    with client_on(out) as browser:
        login(browser, "zhao")
        page = browser.get(f"/plan?month={review_data.month}")
    assert page.status_code == 200
    assert 'id="plan-empty"' in page.text


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_plan_speaks_the_review_language(
    make_client, login, review_data, language: str
) -> None:  # type: ignore[no-untyped-def]
    with make_client(language=language) as browser:
        login(browser, "zhao")
        page = browser.get(f"/plan?month={review_data.month}").text
    assert ("走访计划" in page) == (language == "zh")
    assert ("Visit plan" in page) == (language == "en")
