"""A month's visit plan read from its case list and written for the audit unit
(sentinel.io.visit_plans), and `sentinel plan visits` that does both."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from features.visits import VISIT_PLAN_COLUMNS
from sentinel.cli import app
from sentinel.config import VisitsConfig
from sentinel.contract import CASE_COLUMNS
from sentinel.io.visit_plans import (
    VISIT_PLAN_FOLDER,
    read_visit_plan,
    render_visit_sheet,
    write_visit_plans,
)

MONTH = "2020-02"
ANY_FULL_ID = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")
runner = CliRunner()


def generated_id(k: int) -> str:
    """An identity number of a generated person (region 430923, born 1940)."""
    return f"4309231940{k:04d}{k:03d}X"[:18]


def case_row(k: int, township: str | None, village: str | None, **values: object) -> dict:
    row: dict[str, object] = dict.fromkeys(CASE_COLUMNS)
    row |= {
        "case_id": f"SD-{k:012d}",
        "person_id": generated_id(k),
        "name": f"测试{k}",
        "scheme": "resident",
        "township": township,
        "village": village,
        "typology": "suspected_unreported_death",
        "priority_rank": k,
        "risk_score": 0.5,
        "amount_at_stake": 1000.0,
        "evidence": f"已{k}个月无通过的资格认证; 本人账户变更",
        "audit_selection": "priority",
        "status": "new",
        "strength": "signal",
    }
    return row | values


def write_month(out: Path, rows: list[dict]) -> Path:
    schema = {c: pl.String for c in CASE_COLUMNS} | {
        "priority_rank": pl.Int64,
        "risk_score": pl.Float64,
        "est_overpayment": pl.Float64,
        "amount_at_stake": pl.Float64,
        "selection_probability": pl.Float64,
        "suspect_due": pl.Date,
    }
    folder = out / MONTH
    folder.mkdir(parents=True)
    pl.DataFrame(rows, schema=schema).write_parquet(folder / "cases.parquet")
    return out


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return write_month(
        tmp_path / "out",
        [
            case_row(1, "梅城镇", "北溪村", amount_at_stake=5000.0),
            case_row(2, "梅城镇", "桃桥村"),
            case_row(3, "仙溪镇", "黄源村"),
            case_row(4, "仙溪镇", None, name='=HYPERLINK("http://x","y")'),
            case_row(5, "仙溪镇", "黄源村", audit_selection=None),
            case_row(6, None, None, name="<b>不是标记</b>"),
        ],
    )


def read_back(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_read_visit_plan_plans_the_cases_within_capacity_of_the_townships_given(out: Path) -> None:
    every = read_visit_plan(out, MONTH, VisitsConfig())
    assert sorted(every["case_ids"]) == [f"SD-{k:012d}" for k in (1, 2, 3, 4, 6)]
    mine = read_visit_plan(out, MONTH, VisitsConfig(), townships=["仙溪镇"])
    assert sorted(mine["case_ids"]) == ["SD-000000000003", "SD-000000000004"]
    assert mine["trip"].to_list() == [1, 2]  # numbered among the townships planned


def test_a_case_closed_since_the_listing_is_left_out_of_the_plan(out: Path) -> None:
    """Regression: `sentinel plan visits` and the review app's plan sent auditors to cases an
    outcome had closed after the month was listed, and counted them in the trip's yuan."""
    every = read_visit_plan(out, MONTH, VisitsConfig())
    left = read_visit_plan(out, MONTH, VisitsConfig(), leave_out=["SD-000000000001"])
    assert sorted(left["case_ids"]) == [f"SD-{k:012d}" for k in (2, 3, 4, 6)]
    assert left["expected_yuan"].sum() == every["expected_yuan"].sum() - 0.5 * 5000.0


def test_plan_visits_leaves_out_what_the_case_store_has_closed(out: Path) -> None:
    from datetime import date, datetime

    from sentinel.casestore import AuditOutcome, CaseStore

    listed = pl.read_parquet(out / MONTH / "cases.parquet").with_columns(
        pl.lit(1, dtype=pl.Int8).alias("tier")
    )
    with CaseStore(out / "cases.sqlite") as store:
        store.record_month(MONTH, listed, clear_months=12, now=datetime(2020, 2, 10))
        store.close(
            "SD-000000000002",
            AuditOutcome("cleared", date(2020, 2, 20)),
            actor="wang",
            reviewed_by="reviewer-li",
            now=datetime(2020, 2, 20),
        )
    result = runner.invoke(app, ["plan", "visits", "--out", str(out), "--month", MONTH])
    assert result.exit_code == 0, result.output
    planned = [r["case_ids"] for r in read_back(out / MONTH / VISIT_PLAN_FOLDER / "visit_plan.csv")]
    assert sorted(planned) == [f"SD-{k:012d}" for k in (1, 3, 4, 6)]


def test_read_visit_plan_takes_the_limit_from_the_configuration_or_the_caller(out: Path) -> None:
    assert read_visit_plan(out, MONTH, VisitsConfig())["trip"].n_unique() == 4
    one_each = VisitsConfig(max_visits_per_trip=1)
    assert read_visit_plan(out, MONTH, one_each)["trip"].n_unique() == 5
    assert read_visit_plan(out, MONTH, one_each, max_visits=6)["trip"].n_unique() == 4


def test_read_visit_plan_refuses_a_month_without_case_list(out: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no case list for 2020-03"):
        read_visit_plan(out, "2020-03", VisitsConfig())
    with pytest.raises(ValueError, match="YYYY-MM"):
        read_visit_plan(out, "2020-3", VisitsConfig())


def test_the_files_hold_every_stop_the_csv_formula_safe_with_a_bom(out: Path) -> None:
    plan = read_visit_plan(out, MONTH, VisitsConfig())
    folder = out / MONTH / VISIT_PLAN_FOLDER
    files = write_visit_plans(plan, folder, month=MONTH, language="zh")
    assert files.csv.read_bytes().startswith("\ufeff".encode())
    rows = read_back(files.csv)
    assert list(rows[0]) == list(VISIT_PLAN_COLUMNS)
    assert len(rows) == plan.height
    assert {r["name"] for r in rows} >= {'\'=HYPERLINK("http://x","y")'}
    assert {r["person_id"] for r in rows} == set(plan["person_id"])  # full IDs: audit unit
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["visit_plan.csv", "梅城镇.html", "仙溪镇.html", "未登记乡镇.html"]
    )
    assert set(files.sheets) == {"梅城镇", "仙溪镇", None}


def test_a_sheet_has_one_page_per_trip_escaped_with_what_to_check(out: Path) -> None:
    plan = read_visit_plan(out, MONTH, VisitsConfig())
    files = write_visit_plans(plan, out / MONTH / VISIT_PLAN_FOLDER, month=MONTH, language="zh")
    xianxi = files.sheets["仙溪镇"].read_text(encoding="utf-8")
    assert xianxi.count('<section class="trip"') == 2
    assert "break-after: page" in xianxi and "@media print" in xianxi
    assert generated_id(3) in xianxi and "已3个月无通过的资格认证" in xianxi
    assert "村(社区)未登记" in xianxi  # the stop without village, and its trip
    assert "登记中没有门牌地址" in xianxi
    unknown = files.sheets[None].read_text(encoding="utf-8")
    assert "&lt;b&gt;不是标记&lt;/b&gt;" in unknown and "<b>不是标记" not in unknown


def test_a_sheet_follows_the_report_language_and_names_typologies_with_the_label(
    out: Path,
) -> None:
    plan = read_visit_plan(out, MONTH, VisitsConfig(), townships=["梅城镇"])
    html = render_visit_sheet(
        plan,
        month=MONTH,
        township="梅城镇",
        total_trips=1,
        language="en",
        label=lambda value: f"label of {value}",
    )
    assert "visit plan" in html and "Trip 1" in html and "走访" not in html
    assert "label of suspected_unreported_death" in html


def test_writing_again_replaces_the_earlier_plan(out: Path) -> None:
    folder = out / MONTH / VISIT_PLAN_FOLDER
    write_visit_plans(
        read_visit_plan(out, MONTH, VisitsConfig()), folder, month=MONTH, language="zh"
    )
    mine = read_visit_plan(out, MONTH, VisitsConfig(), townships=["梅城镇"])
    write_visit_plans(mine, folder, month=MONTH, language="zh")
    assert sorted(p.name for p in folder.iterdir()) == ["visit_plan.csv", "梅城镇.html"]


def test_plan_visits_writes_the_files_and_prints_no_full_id(out: Path) -> None:
    result = runner.invoke(
        app,
        ["plan", "visits", "--out", str(out), "--month", MONTH, "--township", "仙溪镇",
         "--township", "梅城镇", "--max-visits", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    folder = out / MONTH / VISIT_PLAN_FOLDER
    assert {p.name for p in folder.iterdir()} == {"仙溪镇.html", "梅城镇.html", "visit_plan.csv"}
    assert len(read_back(folder / "visit_plan.csv")) == 4
    assert "仙溪镇" in result.output and "total" in result.output
    assert not ANY_FULL_ID.search(result.output)
    assert "测试" not in result.output  # nor names


def test_plan_visits_says_which_township_has_nothing_to_visit(tmp_path: Path) -> None:
    out = write_month(
        tmp_path / "out",
        [case_row(1, "梅城镇", "北溪村"), case_row(2, "乐安镇", "一村", audit_selection=None)],
    )
    result = runner.invoke(
        app, ["plan", "visits", "--out", str(out), "--month", MONTH, "--township", "乐安镇"]
    )
    assert result.exit_code == 0, result.output
    assert "乐安镇: no case within capacity in 2020-02" in result.output
    assert read_back(out / MONTH / VISIT_PLAN_FOLDER / "visit_plan.csv") == []


def test_plan_visits_refuses_a_township_the_case_list_does_not_name(out: Path) -> None:
    """Regression: an unknown township exited 0 and replaced the month's plan with an
    empty one."""
    assert (
        runner.invoke(app, ["plan", "visits", "--out", str(out), "--month", MONTH]).exit_code == 0
    )
    folder = out / MONTH / VISIT_PLAN_FOLDER
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    result = runner.invoke(
        app,
        ["plan", "visits", "--out", str(out), "--month", MONTH, "--township", "梅城镇",
         "--township", "梅城"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: --township 梅城: not in the 2020-02 case list (closest: 梅城镇)"
    ]
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--month", "2020-05"], "no case list for 2020-05"),
        (["--month", MONTH, "--max-visits", "0"], "--max-visits 0: a day trip sees at least 1 person"),
    ],
)
def test_plan_visits_refuses_what_it_cannot_plan(out: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["plan", "visits", "--out", str(out), *args])
    assert result.exit_code == 2
    # One line, as every refusal of the command line, not a usage box.
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr
