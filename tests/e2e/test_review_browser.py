"""The case review web app in headless Chromium: sign in, filter the queue, open a case,
record an outcome, have a second user sign it off, find it on the month dashboard, and go from the queue to the month's
visit plan and from a stop to its case.

Drives Debian's Chromium (/usr/bin/chromium; .ci/run installs it) with Playwright and a
new, empty profile; never downloads a browser. Screenshots of the queue, a case page, the
sign-off page, a recovery account, its printed notice, the recovery ledger, the dashboard
and the visit plan are written only when SENTINEL_SCREENSHOTS names a folder
(``SENTINEL_SCREENSHOTS=docs/screenshots``), so a CI run leaves the tree clean."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pytest
from playwright.sync_api import expect, sync_playwright

from sentinel.casestore import CaseStore

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS_ENV = "SENTINEL_SCREENSHOTS"
#: The auditor's note: markup in it is shown as text.
NOTE = "核查属实，已约谈家属 <b>不是标记</b>"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


def shoot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """A full-page screenshot into $SENTINEL_SCREENSHOTS, when it is set."""
    folder = os.environ.get(SCREENSHOTS_ENV)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@contextmanager
def chromium_page(tmp_path: Path) -> Iterator:  # type: ignore[type-arg]
    """A page of a new Chromium profile; yields the page and the console errors seen so
    far."""
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1360, "height": 900},
            locale="zh-CN",
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(20_000)
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            yield page, errors
        finally:
            browser.close()


@contextmanager
def signed_in(served_app, tmp_path: Path) -> Iterator:  # type: ignore[no-untyped-def]
    """A page of a new Chromium profile, signed in as the served app's user; yields the
    page and the console errors seen so far."""
    with chromium_page(tmp_path) as (page, errors):
        page.goto(f"{served_app.url}/login")
        fill_login(page, served_app.username, served_app.password)
        expect(page).to_have_url(f"{served_app.url}/queue")
        yield page, errors


def fill_login(page, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_sign_in_filter_open_record_and_see_it_on_the_dashboard(served_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # A pension paid after death: the case page then shows a linked death record.
    typology = "deceased_paid"
    expected = served_app.cases.filter(pl.col("typology") == typology).sort("priority_rank")
    case = expected.row(0, named=True)
    with chromium_page(tmp_path) as (page, console_errors):
        sign_in_from_the_queue(page, served_app)
        filter_the_queue(page, typology, expected)
        death_date = open_the_case(page, case)
        propose_the_outcome(page, death_date)
        # The supervisor finds the view and the change in the audit log.
        page.click("header nav a[href='/audit']")
        expect(page.locator("table.audit")).to_contain_text("登记结果")
        expect(page.locator("table.audit")).to_contain_text("查看案件")
        sign_it_off_as_reviewer(page, served_app, case)
        recover_part_of_it(page)
        see_it_on_the_ledger_and_dashboard(page)
        # Nothing was blocked by the Content-Security-Policy, nothing failed in the page.
        assert console_errors == []


def sign_in_from_the_queue(page, served_app) -> None:  # type: ignore[no-untyped-def]
    """No session: the queue sends the browser to the login page, and back after it."""
    page.goto(f"{served_app.url}/queue")
    expect(page).to_have_url(f"{served_app.url}/login?next=%2Fqueue")
    fill_login(page, served_app.username, served_app.password)
    expect(page).to_have_url(f"{served_app.url}/queue")
    expect(page.locator("table.queue tbody tr")).to_have_count(served_app.cases.height)
    shoot(page, "queue")


def filter_the_queue(page, typology: str, expected: pl.DataFrame) -> None:  # type: ignore[no-untyped-def]
    """Filter the queue by typology: htmx replaces the list as soon as the choice changes
    (and the Filter button does the same without JavaScript)."""
    page.select_option("#f-typology", typology)
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(expected.height)
    expect(page).to_have_url(re.compile(r"typology=deceased_paid"))
    page.click("#f-submit")
    expect(rows).to_have_count(expected.height)
    assert (
        page.locator("table.queue tbody tr td:nth-child(2) a").all_inner_texts()
        == expected["case_id"].to_list()
    )


def open_the_case(page, case: dict) -> str:  # type: ignore[no-untyped-def, type-arg]
    """Open the top case of the filtered queue; returns the date of its death record."""
    page.click(f"a[href^='/cases/{case['case_id']}']")
    expect(page.locator("h1")).to_contain_text(case["case_id"])
    expect(page.locator("#person-id")).to_contain_text(case["person_id"])
    shoot(page, "case")
    deaths = page.locator("section.card", has=page.locator("h2", has_text="死亡记录"))
    expect(deaths.locator("tbody tr")).not_to_have_count(0)
    death_date = deaths.locator("tbody tr td:nth-child(2)").first.inner_text()
    expect(page.locator("tr.after-death").first).to_be_visible()
    return death_date


def propose_the_outcome(page, death_date: str) -> None:  # type: ignore[no-untyped-def]
    """Record the outcome of the field audit: a confirmed overpayment waits for a second
    user's sign-off (经办 / 复核)."""
    page.select_option("#outcome", "confirmed_deceased")
    page.fill("#death_date", death_date)
    page.fill("#overpaid_amount", "146.40")
    page.fill("#recovered_amount", "100")
    page.fill("#note", NOTE)
    page.click("#save-outcome")
    expect(page.locator(".notice")).to_contain_text("待另一名复核人员")
    expect(page.locator("#case-state")).to_contain_text("待复核")
    expect(page.locator("#proposed-note")).to_have_text(NOTE)
    expect(page.locator("#approve")).to_have_count(0)


def sign_it_off_as_reviewer(page, served_app, case: dict) -> None:  # type: ignore[no-untyped-def, type-arg]
    """The reviewer signs it off from the sign-off page."""
    page.click("form.who button")
    expect(page).to_have_url(re.compile(r"/login"))
    fill_login(page, served_app.reviewer, served_app.password)
    page.click("header nav a[href='/signoff']")
    expect(page.locator("#signoff-table tbody tr")).to_have_count(1)
    expect(page.locator("#signoff-table")).to_contain_text(served_app.username)
    shoot(page, "signoff")
    page.click(f"#signoff-table a[href='/cases/{case['case_id']}']")
    page.click("#approve")
    expect(page.locator(".notice")).to_contain_text("已复核通过")
    expect(page.locator("#case-state")).to_contain_text("确认死亡")
    expect(page.locator("#saved-note")).to_have_text(NOTE)


def recover_part_of_it(page) -> None:  # type: ignore[no-untyped-def]
    """The confirmed overpayment is a recovery account: a repayment by instalment, then
    the printable notice for what is still outstanding."""
    expect(page.locator("#r-outstanding")).to_have_text("46.40")
    page.select_option("#r-step-choice", "payment")
    page.fill("#r-amount", "20")
    page.select_option("#r-method", "instalment")
    page.fill("#r-record-id", "SJ-0001")
    page.click("#save-recovery")
    expect(page.locator("#r-outstanding")).to_have_text("26.40")
    expect(page.locator("#recovery-steps")).to_contain_text("分期退回")
    page.locator("#recovery").screenshot(
        path=str(Path(os.environ[SCREENSHOTS_ENV]) / "case-recovery.png")
    ) if os.environ.get(SCREENSHOTS_ENV) else None
    with page.expect_popup() as popup:
        page.click("#print-notice")
    notice = popup.value
    expect(notice.locator("body")).to_contain_text("26.40")
    shoot(notice, "notice")
    notice.close()


def see_it_on_the_ledger_and_dashboard(page) -> None:  # type: ignore[no-untyped-def]
    """The recovery ledger sums it by township; the month dashboard counts it."""
    page.click("header nav a[href='/recovery']")
    expect(page.locator("#rk-accounts")).to_have_text("1")
    expect(page.locator("#rk-recovered")).to_have_text("120.00")
    expect(page.locator("#open-accounts tbody tr")).to_have_count(1)
    shoot(page, "recovery")
    page.click("header nav a[href='/dashboard']")
    expect(page.locator("#kpi-closed")).to_have_text("1")
    expect(page.locator("#kpi-recovered")).to_have_text("120.00")
    expect(page.locator("#outcomes")).to_contain_text("确认死亡")
    expect(page.locator("#precision")).to_contain_text("100%")
    expect(page.locator("#kpi-rate")).to_have_text("82%")
    shoot(page, "dashboard")


def test_from_the_queue_to_the_visit_plan_and_a_stop_to_its_case(
    served_app, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # The month's cases within capacity, less those an earlier test's outcome closed.
    with CaseStore(served_app.out / "cases.sqlite") as store:
        closed = store.cases().filter(pl.col("state") == "closed")["case_id"]
    planned = served_app.cases.filter(
        pl.col("audit_selection").is_not_null() & ~pl.col("case_id").is_in(closed.implode())
    )
    # The township with the most people to see: a supervisor narrows the plan to it.
    busiest = (
        planned.group_by("township")
        .agg(pl.col("person_id").n_unique())
        .sort(["person_id", "township"], descending=[True, False])
        .row(0, named=True)
    )
    with signed_in(served_app, tmp_path) as (page, console_errors):
        page.click("#plan-link")
        expect(page).to_have_url(re.compile(rf"/plan\?month={served_app.month}"))
        expect(page.locator("header nav a.on")).to_have_attribute("href", "/plan")
        stops = page.locator("section.trip table.plan tbody tr")
        # One row per person to see, in day trips numbered from the most valuable.
        expect(stops).to_have_count(planned["person_id"].n_unique())
        expect(page.locator("section.trip").first).to_contain_text("第 1 趟")

        page.select_option("#p-township", busiest["township"])
        page.click("#p-submit")
        expect(stops).to_have_count(busiest["person_id"])
        expect(page.locator("section.trip").first).to_contain_text(busiest["township"])
        shoot(page, "plan")

        stop_case = page.locator("section.trip table.plan tbody tr td:nth-child(5) a").first
        case_id = stop_case.inner_text()
        stop_case.click()
        expect(page.locator("h1")).to_contain_text(case_id)
        assert console_errors == []
