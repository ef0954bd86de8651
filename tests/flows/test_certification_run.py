"""With the register's last certification date, the monthly job suspends from the 13th month,
and the case list agrees with the suspension list (a county whose source system does not
suspend by itself: every register status is active)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from sentinel.cli import app
from sentinel.demo import generate_county, world
from sentinel.periods import month_number

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]
runner = CliRunner()
MONTHS = [f"2020-{m:02d}" for m in range(1, 13)] + ["2021-01", "2021-02"]


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = world("certification_dates")
    dest = tmp_path_factory.mktemp("certification-run")
    generate_county(
        dest, seed=3, scale=0.005, months=14, rates=chosen.rates, phenomena=chosen.phenomena,
        formats="parquet",
    )  # fmt: skip
    for month in MONTHS:
        path = dest / "inbox" / month / "beneficiaries.parquet"
        register = pl.read_parquet(path)
        assert register["last_cert_date"].is_not_null().any()
        register.with_columns(
            pl.when(pl.col("status") == "suspended").then(pl.lit("active")).otherwise("status").alias("status")
        ).write_parquet(path)
    result = runner.invoke(
        app, ["run", "--inbox", str(dest / "inbox"), "--month", MONTHS[-1], "--out", str(dest / "out")]
    )
    assert result.exit_code == 0, result.output
    return dest


def month_index(dates: pl.Expr) -> pl.Expr:
    return dates.dt.year().cast(pl.Int32) * 12 + dates.dt.month().cast(pl.Int32) - 1


def due_for_suspension(dest: Path, month: str) -> set[str]:
    """Active persons whose latest verification the data holds (the register's last
    certification, a pass received, the claim itself) is 13 or more months back."""
    register = pl.read_parquet(dest / "inbox" / month / "beneficiaries.parquet")
    passes = pl.concat(
        [
            pl.read_parquet(dest / "inbox" / m / "certifications.parquet").select(
                "person_id", "cert_date", "result"
            )
            for m in MONTHS[: MONTHS.index(month) + 1]
        ]
    ).filter(pl.col("result") == "pass")
    last_pass = passes.group_by("person_id").agg(month_index(pl.col("cert_date")).max().alias("passed"))
    known = register.join(last_pass, on="person_id", how="left").group_by("person_id").agg(
        (pl.col("status") == "active").all().alias("active"),
        pl.max_horizontal(
            month_index(pl.col("last_cert_date")), pl.col("passed"), month_index(pl.col("benefit_start"))
        ).max().alias("verified"),
    )
    now = month_number(month)
    return set(known.filter(pl.col("active") & (now - pl.col("verified") >= 13))["person_id"])


@pytest.mark.parametrize("month", ["2020-01", "2020-06", "2020-12", "2021-02"])
def test_suspended_from_the_thirteenth_month_and_the_case_list_agrees(county: Path, month: str) -> None:
    suspensions = pl.read_parquet(county / "out" / month / "suspensions.parquet")
    suspend = suspensions.filter(pl.col("action") == "suspend")
    assert set(suspend["person_id"]) == due_for_suspension(county, month)
    assert suspend.height > 0
    known = suspend.filter(~pl.col("bounded"))
    assert known["months_since_pass"].min() >= 13
    # Every new case of a lapsed certification is a pension the suspension list suspends.
    cases = pl.read_parquet(county / "out" / month / "cases.parquet")
    lapsed = cases.filter(
        (pl.col("status") == "new") & pl.col("reasons").str.contains("SD_CERT_LAPSED")
    )
    assert set(lapsed["person_id"]) <= set(suspend["person_id"])
