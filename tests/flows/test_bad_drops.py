"""Each untrustworthy drop stops `sentinel run` with exit 2, one clear line, and no month output."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from sentinel.cli import app
from sentinel.contract import DATASETS
from sentinel.io.readers import find_dataset_file, read_dataset

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

MONTH_1, MONTH_2 = "2020-01", "2020-02"
runner = CliRunner()


def run(county: Path, month: str):  # type: ignore[no-untyped-def]
    return runner.invoke(
        app, ["run", "--inbox", str(county / "inbox"), "--month", month, "--out", str(county / "out")]
    )


def replace_with_csv(county: Path, month: str, dataset: str, change, encoding: str = "utf-8") -> Path:  # type: ignore[no-untyped-def]
    """Rewrite one dataset of a drop as CSV after applying ``change`` to its text frame."""
    folder = county / "inbox" / month
    path = find_dataset_file(folder, DATASETS[dataset])
    assert path is not None
    frame = read_dataset(path, DATASETS[dataset]).frame.drop("_row", "_malformed")
    path.unlink()
    target = folder / f"{dataset}.csv"
    target.write_bytes(change(frame).write_csv().encode(encoding))
    return target


def assert_stopped(result, county: Path, month: str, *needles: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    out = county / "out"
    assert not (out / month).exists()
    assert not out.exists() or not any(p.name.startswith(".staging") for p in out.iterdir())
    # Regression: the refused drop's raw copy (the register as text) stayed in OUT/.work.
    assert not (out / ".work" / month).exists(), sorted((out / ".work" / month).rglob("*"))


@pytest.fixture(scope="module")
def county_after_month_1(tiny_county: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny county with its first month processed (done once for this module)."""
    dest = tmp_path_factory.mktemp("bad-drops") / "county"
    shutil.copytree(tiny_county, dest)
    first = run(dest, MONTH_1)
    assert first.exit_code == 0, first.output
    return dest


@pytest.fixture
def county(county_after_month_1: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "county"
    shutil.copytree(county_after_month_1, dest)
    return dest


def test_missing_required_file(county: Path) -> None:
    path = find_dataset_file(county / "inbox" / MONTH_2, DATASETS["payouts"])
    assert path is not None
    path.unlink()
    assert_stopped(run(county, MONTH_2), county, MONTH_2, "payouts", "required file missing")


def test_missing_required_column(county: Path) -> None:
    replace_with_csv(county, MONTH_2, "payouts", lambda f: f.drop("amount"))
    assert_stopped(run(county, MONTH_2), county, MONTH_2, "payouts.csv", "amount", "missing")


def test_gb18030_file_with_corrupted_bytes(county: Path) -> None:
    target = replace_with_csv(county, MONTH_2, "beneficiaries", lambda f: f, encoding="gb18030")
    data = bytearray(target.read_bytes())
    # Break the first Chinese character's trail byte: 0xFF is never valid in GB18030.
    first_multibyte = next(i for i, b in enumerate(data) if b >= 0x81)
    data[first_multibyte + 1] = 0xFF
    target.write_bytes(bytes(data))
    assert_stopped(run(county, MONTH_2), county, MONTH_2, "beneficiaries.csv", "offset")


def test_amounts_all_text(county: Path) -> None:
    replace_with_csv(county, MONTH_2, "payouts", lambda f: f.with_columns(pl.lit("n/a").alias("amount")))
    assert_stopped(run(county, MONTH_2), county, MONTH_2, "payouts.csv", "amount")


def test_regular_payouts_for_another_period(county: Path) -> None:
    replace_with_csv(county, MONTH_2, "payouts", lambda f: f.with_columns(pl.lit(MONTH_1).alias("period")))
    # The file's own column, not the evidence flag ingest derives from it.
    assert_stopped(run(county, MONTH_2), county, MONTH_2, "payouts.csv", "column 'period'")


def test_half_delivered_ledger(county: Path) -> None:
    replace_with_csv(county, MONTH_2, "payouts", lambda f: f.head(f.height // 2))
    assert_stopped(run(county, MONTH_2), county, MONTH_2, "payouts.csv", "rows")


def test_a_refused_month_leaves_the_curated_history_as_it_was(county: Path) -> None:
    """The month is prepared beside the history while the suites run: refused, none of it
    joins the history; delivered again, the next run keeps it and clears what the refused
    run prepared."""
    store = county / "out" / "curated"

    def history() -> list[Path]:
        return sorted(
            p.relative_to(store)
            for p in store.rglob("*.parquet")
            if not p.relative_to(store).parts[0].startswith(".")
        )

    before = history()
    original = find_dataset_file(county / "inbox" / MONTH_2, DATASETS["payouts"])
    assert original is not None
    kept = original.read_bytes()
    replace_with_csv(county, MONTH_2, "payouts", lambda f: f.head(f.height // 2))
    assert_stopped(run(county, MONTH_2), county, MONTH_2, "payouts.csv", "rows")
    assert history() == before and not list(store.glob(f"*/month={MONTH_2}"))
    (county / "inbox" / MONTH_2 / "payouts.csv").unlink()
    original.write_bytes(kept)
    again = run(county, MONTH_2)
    assert again.exit_code == 0, again.output
    assert list(store.glob(f"payouts/month={MONTH_2}/part-0.parquet"))
    assert [p.name for p in store.iterdir() if p.name.startswith(".")] == []


def test_a_ledger_without_rows_stops_even_a_countys_first_month(
    tiny_county: Path, tmp_path: Path
) -> None:
    """No previous month to compare with: a header-only ledger is still no month."""
    dest = tmp_path / "county"
    shutil.copytree(tiny_county, dest)
    replace_with_csv(dest, MONTH_1, "payouts", lambda f: f.head(0))
    assert_stopped(run(dest, MONTH_1), dest, MONTH_1, "payouts.csv", "0 rows, minimum 1")
