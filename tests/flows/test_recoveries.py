"""Recovery steps through the monthly job: a drop's filled-in recovery sheet is applied to
the ledger after the month's outcomes, bad rows are named and kept, and the ledger shows
in `sentinel report recovery` and becomes notices with `sentinel notices`."""

from __future__ import annotations

import json
import re
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from sentinel.casestore import CaseStore
from sentinel.casestore.recovery import recovery_events, recovery_ledger
from sentinel.cli import app
from sentinel.demo import generate_county
from sentinel.simulation import visit_outcomes

sys.path.insert(0, str(Path(__file__).parent))  # the flow tests' shared helpers (importlib mode)
from month_runs import run_month  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]
runner = CliRunner()
FULL_ID = re.compile(r"\d{17}[\dX]")


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pl.DataFrame]:
    """January run; its top cases audited and reported in February's drop together with a
    recovery sheet (Chinese headers, xlsx) holding good and bad rows; February run."""
    dest = tmp_path_factory.mktemp("recoveries")
    generate_county(dest, seed=5, scale=0.005, months=3, formats="parquet")
    run_month(dest, "2020-01")
    cases = pl.read_parquet(dest / "out" / "2020-01" / "cases.parquet")
    visits = cases.sort("priority_rank").head(25).select("case_id", "person_id")
    outcomes = visit_outcomes(visits, dest / "truth", "2020-01", date(2020, 2, 15))
    unknown = outcomes.head(1).with_columns(pl.lit("DP-000000000000").alias("case_id"))
    pl.concat([outcomes, unknown]).write_csv(
        dest / "inbox" / "2020-02" / "outcomes.csv", date_format="%Y-%m-%d"
    )
    confirmed = outcomes.filter(pl.col("overpaid_amount") > 0).sort("case_id")
    assert confirmed.height >= 2
    first, second = confirmed.row(0, named=True), confirmed.row(1, named=True)
    sheet = pl.DataFrame(
        {
            "单据号": ["TZ-1", "SJ-1", "SJ-2", "SJ-3"],
            "案件编号": [first["case_id"], first["case_id"], second["case_id"], "DP-000000000000"],
            "追回环节": ["催缴通知", "退回", "退回", "退回"],
            "日期": ["2020-02-20", "2020/2/25", "2020-02-25", "2020-02-25"],
            "金额": [None, "100.00", str(second["overpaid_amount"] + 1), "10"],
            "追回方式": [None, "分期", "一次性退回", "足额退回"],
            "经办人": ["李会计"] * 4,
        },
        schema_overrides={"金额": pl.String, "追回方式": pl.String},
    )
    sheet.write_excel(dest / "inbox" / "2020-02" / "recoveries.xlsx")
    run_month(dest, "2020-02")
    return dest, confirmed


def test_the_drop_steps_are_in_the_ledger_after_the_outcomes(county) -> None:  # type: ignore[no-untyped-def]
    dest, confirmed = county
    first = confirmed.row(0, named=True)
    with CaseStore(dest / "out" / "cases.sqlite") as store:
        ledger = recovery_ledger(store, date(2020, 2, 29))
        steps = recovery_events(store)
    assert sorted(ledger["case_id"]) == sorted(confirmed["case_id"])
    account = ledger.filter(pl.col("case_id") == first["case_id"]).row(0, named=True)
    assert account["recovered"] == 100.0
    assert account["outstanding"] == pytest.approx(first["overpaid_amount"] - 100.0, abs=0.01)
    assert (account["ladder_step"], account["next_deadline"]) == ("notified", date(2020, 3, 21))
    assert set(steps["source"]) == {"workbook"} and set(steps["actor"]) == {"李会计"}
    assert steps.height == 2


def test_bad_rows_are_named_with_file_row_column_and_kept(county) -> None:  # type: ignore[no-untyped-def]
    dest, _ = county
    rejected = pl.read_csv(dest / "out" / "2020-02" / "recoveries_rejected.csv")
    assert rejected.select("file", "row", "column").rows() == [
        ("recoveries.xlsx", 3, "amount"),
        ("recoveries.xlsx", 4, "case_id"),
    ]
    assert "still outstanding" in rejected["problem"][0]
    assert not FULL_ID.search(rejected.write_csv())
    refused = pl.read_csv(dest / "out" / "2020-02" / "outcomes_rejected.csv")
    last_row = pl.read_csv(dest / "inbox" / "2020-02" / "outcomes.csv").height
    assert refused.select("file", "row", "column", "problem").rows() == [
        ("outcomes.csv", last_row, "case_id", "unknown case")
    ]
    assert not FULL_ID.search(refused.write_csv())
    manifest = json.loads((dest / "out" / "2020-02" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["inputs"]["recoveries"]["rows_loaded"] == 4
    history = json.loads((dest / "out" / "2020-02" / "history.json").read_text(encoding="utf-8"))
    assert history["holds"]


def test_report_recovery_prints_and_writes_the_ledger(county) -> None:  # type: ignore[no-untyped-def]
    dest, confirmed = county
    out = dest / "out"
    result = runner.invoke(
        app, ["report", "recovery", "--out", str(out), "--as-of", "2020-02-29", "--by", "typology"]
    )
    assert result.exit_code == 0, result.output
    assert "recovery ledger on 2020-02-29 by typology" in result.output
    assert "how far the recovery ladder went" in result.output
    assert "open accounts by days since closing" in result.output
    assert not FULL_ID.search(result.output)
    summary = pl.read_csv(out / "reports" / "recovery.csv")
    total = summary.filter(pl.col("typology") == "all").row(0, named=True)
    assert total["accounts"] == confirmed.height
    assert total["due"] == pytest.approx(confirmed["overpaid_amount"].sum(), abs=0.01)
    assert total["recovered"] == 100.0
    assert (out / "reports" / "recovery.xlsx").exists()
    assert (out / "reports" / "recoveries_template.xlsx").exists()
    bad = runner.invoke(app, ["report", "recovery", "--out", str(out), "--by", "scheme"])
    assert bad.exit_code == 2 and "--by 'scheme'" in bad.output


def test_notices_go_to_the_accounts_without_one_and_are_recorded(county) -> None:  # type: ignore[no-untyped-def]
    dest, confirmed = county
    out = dest / "out"
    args = ["notices", "--month", "2020-02", "--out", str(out), "--issued-on", "2020-03-02"]
    result = runner.invoke(app, [*args, "--lang", "zh"])
    assert result.exit_code == 0, result.output
    assert f"{confirmed.height - 1} notices written" in result.output
    assert not FULL_ID.search(result.output)
    folder = out / "2020-02" / "notices"
    second = confirmed.row(1, named=True)
    page = (folder / f"{second['case_id']}.html").read_text(encoding="utf-8")
    assert "追回通知书" in page and second["person_id"] in page
    assert "2020年4月1日" in page  # deadline: 30 days after the issue day
    assert not (folder / f"{confirmed['case_id'][0]}.html").exists()  # noticed by the drop
    again = runner.invoke(app, [*args, "--lang", "en"])
    assert again.exit_code == 0 and "0 notices written" in again.output
    with CaseStore(out / "cases.sqlite") as store:
        ledger = recovery_ledger(store, date(2020, 3, 2))
    assert set(ledger["ladder_step"]) == {"notified"}
