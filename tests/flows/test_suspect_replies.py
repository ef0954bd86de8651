"""Upstream suspect lists through the monthly job: every suspect on the list until answered,
one reply row per suspect, answers from audit outcomes, and what is overdue."""

from __future__ import annotations

import re
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from sentinel.cli import app
from sentinel.config import REPLY_COLUMNS
from sentinel.demo import TypologyRates, generate_county
from sentinel.simulation import visit_outcomes

sys.path.insert(0, str(Path(__file__).parent))  # the flow tests' shared helpers (importlib mode)
from month_runs import run_month  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]
runner = CliRunner()
MONTHS = ["2020-01", "2020-02", "2020-03", "2020-04", "2020-05"]
FULL_ID = re.compile(r"\d{17}[\dX]")


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small county with a suspect batch every month from February (due at the end of
    the month after), run to March; February's batch answered by visits reported in
    March's drop."""
    dest = tmp_path_factory.mktemp("suspects")
    generate_county(
        dest, seed=5, scale=0.005, months=5, formats="parquet",
        rates=TypologyRates(suspect_batch_every=1, suspects_per_1000=6.0),
    )  # fmt: skip
    run_month(dest, "2020-02")
    cases = pl.read_parquet(dest / "out" / "2020-02" / "cases.parquet")
    named = cases.filter(pl.col("suspect_batch").is_not_null()).select("case_id", "person_id")
    visit_outcomes(named, dest / "truth", "2020-02", date(2020, 3, 15)).write_csv(
        dest / "inbox" / "2020-03" / "outcomes.csv", date_format="%Y-%m-%d"
    )
    run_month(dest, "2020-03")
    return dest


def truth(dest: Path, batch: str | None = None) -> pl.DataFrame:
    frame = pl.read_parquet(dest / "truth" / "suspects.parquet")
    return frame if batch is None else frame.filter(pl.col("batch_id") == batch)


def reply(dest: Path, month: str) -> pl.DataFrame:
    return pl.read_csv(dest / "out" / month / "suspect_replies.csv", infer_schema_length=0)


def test_every_suspect_on_the_register_is_on_the_list_marked_with_its_batch(county: Path) -> None:
    (feb,) = (
        truth(county)["batch_id"].filter(truth(county)["batch_id"].str.contains("202002")).unique()
    )
    named = truth(county, feb).filter("on_register")
    cases = pl.read_parquet(county / "out" / "2020-02" / "cases.parquet")
    marked = cases.filter(pl.col("suspect_batch") == feb)
    assert set(marked["person_id"]) == set(named["person_id"])
    assert marked["suspect_due"].unique().to_list() == [date(2020, 3, 31)]
    assert (cases.group_by("person_id").len()["len"] == 1).all()


def test_the_reply_holds_exactly_one_row_per_suspect(county: Path) -> None:
    feb = truth(county).filter(pl.col("batch_id").str.contains("202002"))
    first = reply(county, "2020-02")
    assert first.columns == list(REPLY_COLUMNS)
    assert sorted(first.select("batch_id", "person_id").rows()) == sorted(
        feb.select("batch_id", "person_id").rows()
    )
    results = dict(zip(first["person_id"], first["result"], strict=True))
    for row in feb.iter_rows(named=True):
        assert results[row["person_id"]] == ("verifying" if row["on_register"] else "cleared")
    assert (county / "out" / "2020-02" / "suspect_replies.xlsx").exists()


def test_answers_arrive_by_the_due_date_and_an_answered_batch_is_not_repeated(county: Path) -> None:
    feb = truth(county).filter(pl.col("batch_id").str.contains("202002"))
    mar = reply(county, "2020-03")
    answered = mar.join(feb, on=["batch_id", "person_id"], how="inner")
    assert answered.height == feb.height
    assert (answered["result"] != "verifying").all()
    # What the audit found: a true suspect confirmed, a false one cleared.
    for row in answered.filter("on_register").iter_rows(named=True):
        assert row["result"].startswith("confirmed") == row["is_improper"]
        assert date.fromisoformat(row["checked_on"]) <= row["due_on"]
    # March's own batch is new in March's reply.
    assert (
        mar.filter(pl.col("batch_id").str.contains("202003")).height
        == truth(county).filter(pl.col("batch_id").str.contains("202003")).height
    )


def test_overdue_lists_the_unanswered_after_their_due_date_with_ids_masked(county: Path) -> None:
    ok = runner.invoke(
        app, ["report", "suspects", "--out", str(county / "out"), "--as-of", "2020-04-10"]
    )
    assert ok.exit_code == 0, ok.output
    late = runner.invoke(
        app,
        ["report", "suspects", "--out", str(county / "out"), "--overdue", "--as-of", "2020-05-05"],
    )
    # March's batch (due 2020-04-30) is still being verified; February's is answered.
    assert late.exit_code == 1, late.output
    assert "202003" in late.output and "202002" not in late.output
    assert not FULL_ID.search(late.output)
    # Regression: cut at 80 columns when the output is not a terminal (cron, a log file):
    # the case IDs to follow up ended in "…".
    assert "…" not in late.output
    assert re.search(r"\b[A-Z]{2}-[0-9a-f]{12}\b", late.output)
