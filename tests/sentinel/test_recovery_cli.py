"""The recovery commands on a hand-made case store: notices for the accounts without one,
the report's tables and files, and a write-off's approval refused to its proposer."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from sentinel.casestore import CaseStore
from sentinel.casestore.recovery import recovery_events
from sentinel.cli import app

sys.path.insert(0, str(Path(__file__).parent))  # the shared case builders
from case_builders import close_reviewed, record_step  # noqa: E402

runner = CliRunner()
NOW = datetime(2020, 6, 1, tzinfo=UTC)
FULL_ID = re.compile(r"\d{17}[\dX]")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def fake_id(serial: int) -> str:
    body = f"43092319400101{serial:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]


@pytest.fixture
def out(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    persons = [fake_id(i) for i in (1, 2, 3)]
    listing = pl.DataFrame(
        {
            "case_id": ["DP-000000000001", "DP-000000000002", "DP-000000000003"],
            "person_id": persons,
            "name": ["王一", "李二", "张三"],
            "typology": ["deceased_paid", "duplicate_receipt", "deceased_paid"],
            "township": ["城关镇", "梅城镇", "城关镇"],
            "village": ["东村", None, "西村"],
            "priority_rank": [1, 2, 3],
            "risk_score": [0.9, 0.8, 0.7],
            "est_overpayment": [1000.0, 500.0, 300.0],
            "reasons": ["DP_PAID_AFTER_DEATH"] * 3,
            "last_paid_period": ["2020-03"] * 3,
        }
    )
    for month in ("2020-03", "2020-04"):  # notices go out for months that were run
        (out / month).mkdir(parents=True)
        listing.write_parquet(out / month / "cases.parquet")
        (out / month / "manifest.json").write_text(json.dumps({"month": month}))
    with CaseStore(out / "cases.sqlite") as store:
        store.record_month("2020-03", listing, clear_months=12)
        close_reviewed(
            store,
            [
                (
                    "DP-000000000001",
                    "confirmed_deceased",
                    date(2020, 4, 10),
                    {"death_date": date(2019, 12, 3), "overpaid_amount": 1000.0},
                ),
                (
                    "DP-000000000002",
                    "confirmed_improper",
                    date(2020, 4, 12),
                    {"overpaid_amount": 500.0, "recovered_amount": 100.0},
                ),
                (
                    "DP-000000000003",
                    "confirmed_improper",
                    date(2020, 4, 12),
                    {"overpaid_amount": 300.0},
                ),
            ],
            now=NOW,
        )
        repaid = {"amount": 300.0, "method": "offset"}
        record_step(store, "DP-000000000003", "payment", date(2020, 4, 20), now=NOW, **repaid)
    return out


def write_notices(out: Path, month: str, *options: str):  # type: ignore[no-untyped-def]
    """The notices command for ``month`` on the output folder ``out``."""
    return runner.invoke(app, ["notices", "--month", month, "--out", str(out), *options])


def test_notices_for_open_accounts_without_one_in_either_language(out: Path) -> None:
    result = write_notices(out, "2020-04", "--issued-on", "2020-05-04")
    assert result.exit_code == 0, result.output
    assert "2 notices written" in result.output and not FULL_ID.search(result.output)
    folder = out / "2020-04" / "notices"
    assert sorted(p.name for p in folder.iterdir()) == [
        "DP-000000000001.html",
        "DP-000000000002.html",
    ]
    deceased = (folder / "DP-000000000001.html").read_text(encoding="utf-8")
    assert "王一（已故" in deceased and "的继承人或亲属" in deceased and fake_id(1) in deceased
    assert "1,000.00" in deceased and "2020年6月3日" in deceased and "城关镇东村" in deceased
    living = (folder / "DP-000000000002.html").read_text(encoding="utf-8")
    assert "李二（公民身份号码" in living and "400.00" in living  # 500 due, 100 at closing
    with CaseStore(out / "cases.sqlite") as store:
        notices = recovery_events(store).filter(pl.col("step") == "notice")
    assert notices.select("case_id", "deadline").sort("case_id").rows() == [
        ("DP-000000000001", date(2020, 6, 3)),
        ("DP-000000000002", date(2020, 6, 3)),
    ]
    again = write_notices(out, "2020-04", "--lang", "en")
    assert (
        again.exit_code == 0
        and "0 notices written: no account of 2020-04 needs one" in again.output
    )


def test_an_english_notice_and_a_bad_language(out: Path) -> None:
    result = write_notices(out, "2020-04", "--issued-on", "2020-05-04", "--lang", "en")
    assert result.exit_code == 0, result.output
    page = (out / "2020-04" / "notices" / "DP-000000000001.html").read_text(encoding="utf-8")
    assert "To the heirs or family of 王一" in page and "2020-06-03" in page
    bad = write_notices(out, "2020-04", "--lang", "fr")
    assert bad.exit_code == 2 and "--lang 'fr'" in bad.output


def test_notices_only_for_accounts_closed_by_the_month_end(out: Path) -> None:
    result = write_notices(out, "2020-03", "--issued-on", "2020-05-04")
    assert result.exit_code == 0 and "0 notices written: no account" in result.output
    assert not (out / "2020-03" / "notices").exists()


def test_notices_refuse_a_month_that_was_not_run(out: Path) -> None:
    """Regression: a month not run yet said its notices were written to a folder that
    does not exist."""
    result = write_notices(out, "2020-09")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: --month 2020-09: no case list in {out} (run the month first)"
    ]
    assert not (out / "2020-09").exists()


def test_report_recovery_tables_and_files(out: Path) -> None:
    result = runner.invoke(app, ["report", "recovery", "--out", str(out), "--as-of", "2020-05-31"])
    assert result.exit_code == 0, result.output
    assert "recovery ledger on 2020-05-31 by township" in result.output
    assert not FULL_ID.search(result.output)
    summary = pl.read_csv(out / "reports" / "recovery.csv")
    assert summary.select("township", "accounts", "due", "recovered", "outstanding").rows() == [
        ("城关镇", 2, 1300.0, 300.0, 1000.0),
        ("梅城镇", 1, 500.0, 100.0, 400.0),
        ("all", 3, 1800.0, 400.0, 1400.0),
    ]
    assert summary["aged_31-90"].to_list() == [1, 1, 2]
    accounts = pl.read_csv(out / "reports" / "recovery_accounts.csv")
    assert accounts["status"].to_list() == ["open", "open", "repaid"]
    from openpyxl import load_workbook

    book = load_workbook(out / "reports" / "recoveries_template.xlsx", read_only=True)
    assert book.sheetnames == ["追回登记", "待追回账户"]
    header = [c.value for c in next(book["追回登记"].iter_rows(max_row=1))]
    assert header[:5] == ["单据号", "案件编号", "身份证号", "追回环节", "日期"]
    bad = runner.invoke(app, ["report", "recovery", "--out", str(out), "--as-of", "May"])
    assert bad.exit_code == 2 and "not a date" in bad.output


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["precision", "--by", "village"], "--by 'village': expected 'typology' or 'reason'"),
        (["open", "--days", "-5"], "--days -5: expected 0 or more"),
    ],
)
def test_reports_refuse_a_bad_option_in_one_line(out: Path, args: list[str], problem: str) -> None:
    """Regression: precision --by village printed the typology table; open --days -5 ran."""
    result = runner.invoke(app, ["report", *args, "--out", str(out)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: {problem}"]
    assert result.stdout == ""


def test_a_write_off_is_approved_by_another_user_only(out: Path) -> None:
    with CaseStore(out / "cases.sqlite") as store:
        proposal = {"amount": 400.0, "reason": "无力偿还", "record_id": "W-1"}
        record_step(store, "DP-000000000002", "write_off", date(2020, 5, 1), now=NOW, **proposal)
    args = ["recovery", "approve", "DP-000000000002", "W-1", "--out", str(out)]
    refused = runner.invoke(app, [*args, "--actor", "li"])
    assert refused.exit_code == 2 and "cannot approve it" in refused.output
    approved = runner.invoke(app, [*args, "--actor", "zhao"])
    assert approved.exit_code == 0 and "write-off approved" in approved.output
    again = runner.invoke(app, [*args, "--actor", "zhao"])
    assert again.exit_code == 0 and "already approved" in again.output
