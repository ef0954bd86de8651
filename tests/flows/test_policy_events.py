"""A year with policy events runs through: the back-pay month and the month after it, and a
resident standard the payroll applies late, are named in the manifest and raise no case."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from sentinel.cli import app
from sentinel.demo import generate_county, world

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]
runner = CliRunner()


@pytest.fixture(scope="module")
def lagging(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lagging_standard world (every reference back-pay, and the resident standard of
    July applied from September), nine months, small."""
    chosen = world("lagging_standard")
    dest = tmp_path_factory.mktemp("policy-events")
    generate_county(
        dest, seed=5, scale=0.01, months=9, rates=chosen.rates, phenomena=chosen.phenomena,
        formats="parquet",
    )
    result = runner.invoke(
        app, ["run", "--inbox", str(dest / "inbox"), "--month", "2020-09", "--out", str(dest / "out")]
    )
    assert result.exit_code == 0, result.output
    return dest


def events(dest: Path, month: str) -> list[dict]:  # type: ignore[type-arg]
    manifest = json.loads((dest / "out" / month / "manifest.json").read_text(encoding="utf-8"))
    return manifest["policy_events"]


def test_the_month_after_the_back_pay_month_is_not_stopped(lagging: Path) -> None:
    # The run reached September: July's six arrears rows per enterprise retiree did not make
    # August look like a half-delivered file.
    july = pl.read_parquet(lagging / "inbox" / "2020-07" / "payouts.parquet")
    august = pl.read_parquet(lagging / "inbox" / "2020-08" / "payouts.parquet")
    assert august.height < 0.8 * july.height
    assert (lagging / "out" / "2020-08" / "manifest.json").exists()


def test_back_pay_batches_are_named_in_their_months(lagging: Path) -> None:
    july = {(e["event"], e.get("scheme")) for e in events(lagging, "2020-07")}
    september = [e for e in events(lagging, "2020-09") if e["event"] == "back_pay"]
    assert ("back_pay", "enterprise") in july
    assert {e["scheme"] for e in september} == {"institution", "resident"}
    resident = next(e for e in september if e["scheme"] == "resident")
    assert resident["periods"] == "2020-07..2020-08"


def test_a_standard_paid_late_is_named_and_raises_no_case(lagging: Path) -> None:
    july = events(lagging, "2020-07")
    common = [e for e in july if e["event"] == "common_reason"]
    assert [(e["reason"], e["scheme"]) for e in common] == [("AA_OFF_STANDARD", "resident")]
    amount_only = {"AA_REPEAT_ARREARS", "AA_OFF_STANDARD"}
    for month in ("2020-07", "2020-08", "2020-09"):
        cases = pl.read_parquet(lagging / "out" / month / "cases.parquet")
        alone = [
            codes for codes in cases["reasons"].str.split(",").to_list() if set(codes) <= amount_only
        ]
        # Only the few planted amount anomalies, never the scheme's recipients.
        assert len(alone) <= 5, month
