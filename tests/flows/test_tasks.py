"""The flow's tasks called directly (``.fn``): no Prefect run needed."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from flows.monthly import (
    curate_month,
    list_suspensions,
    months_to_run,
    read_month_drop,
    validate_month_drop,
)
from sentinel.config import load_config
from sentinel.contract import ContractError
from sentinel.ingest import check_drop
from sentinel.io.store import CuratedStore

CONFIG = load_config()


@pytest.fixture(scope="module")
def drop(tiny_county: Path):  # type: ignore[no-untyped-def]
    tables = read_month_drop.fn(tiny_county / "inbox", "2020-01")
    return check_drop(tables, CONFIG, month="2020-01")


def test_read_month_drop_reads_every_dataset_present(tiny_county: Path) -> None:
    tables = read_month_drop.fn(tiny_county / "inbox", "2020-01")
    assert tables["beneficiaries"] is not None and tables["payouts"] is not None
    assert tables["outcomes"] is None  # optional and absent: zero rows, not an error


def test_read_month_drop_of_a_missing_month_names_the_folder(tiny_county: Path) -> None:
    with pytest.raises(ContractError, match="2019-12: drop folder not found"):
        read_month_drop.fn(tiny_county / "inbox", "2019-12")


def test_curate_month_keeps_loaded_rows_and_quarantined_payouts(drop, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    curate_month.fn(drop, tmp_path, "2020-01")
    store = CuratedStore(tmp_path)
    assert store.rows("payouts", "2020-01") == drop["payouts"].loaded.height
    assert store.rows("quarantined_payouts", "2020-01") == drop["payouts"].quarantined.height
    curate_month.fn(drop, tmp_path, "2020-01")  # re-ingest replaces, never duplicates
    assert store.rows("payouts", "2020-01") == drop["payouts"].loaded.height


def test_validate_month_drop_stops_on_a_half_delivered_ledger(drop, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    CuratedStore(tmp_path).write_month(
        "payouts", "2019-12", pl.concat([drop["payouts"].loaded] * 3)
    )
    with pytest.raises(ContractError, match="payouts"):
        validate_month_drop.fn(drop, CONFIG, "2020-01", tmp_path, docs)


def test_list_suspensions_writes_both_files(drop, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    curate_month.fn(drop, tmp_path / "store", "2020-01")
    staging = tmp_path / "staging"
    staging.mkdir()
    count = list_suspensions.fn(tmp_path / "store", "2020-01", CONFIG, staging)
    assert (staging / "suspensions.csv").exists()
    assert pl.read_parquet(staging / "suspensions.parquet").height == count


def test_months_to_run_puts_unprocessed_earlier_months_first(tiny_county: Path, tmp_path: Path) -> None:
    assert months_to_run(tiny_county / "inbox", tmp_path, "2020-03") == ["2020-01", "2020-02", "2020-03"]
    with pytest.raises(ValueError, match="YYYY-MM"):
        months_to_run(tiny_county / "inbox", tmp_path, "2020-3")
