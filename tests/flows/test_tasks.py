"""The flow's tasks called directly (``.fn``): no Prefect run needed."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from prefect.states import Failed

from features.history import RUN_STATE_COLUMNS
from flows.context import worth_a_retry
from flows.intake import (
    curate_month,
    prepare_curation,
    read_and_check_drop,
    validate_month_drop,
)
from flows.monthly import months_to_run
from flows.suspensions import list_suspensions, suspend
from sentinel.config import load_config
from sentinel.contract import ContractError
from sentinel.ingest import check_drop, drop_fingerprint, read_drop
from sentinel.io.store import CuratedStore

CONFIG = load_config()


@pytest.fixture(scope="module")
def drop(tiny_county: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("tasks-out")
    return read_and_check_drop.fn(tiny_county / "inbox", "2020-01", out, CONFIG)


def test_read_and_check_drop_hands_on_paths_and_counts(tiny_county: Path, tmp_path: Path) -> None:
    stored = read_and_check_drop.fn(tiny_county / "inbox", "2020-01", tmp_path, CONFIG)
    direct = check_drop(read_drop(tiny_county / "inbox" / "2020-01"), CONFIG, month="2020-01")
    for name, handle in stored.items():
        assert handle.checked_path.exists() and handle.checked_path.is_relative_to(
            tmp_path / ".work"
        )
        assert handle.rows_in == direct[name].rows_in
        assert handle.loaded.equals(direct[name].loaded)
        assert handle.quarantined.equals(direct[name].quarantined)
    assert stored["outcomes"].rows_in == 0  # optional and absent: zero rows, not an error


def test_drop_fingerprint_changes_with_a_file_and_not_otherwise(county_copy: Path) -> None:
    folder = county_copy / "inbox" / "2020-01"
    first = drop_fingerprint(folder, "v1")
    assert first == drop_fingerprint(folder, "v1") and first != drop_fingerprint(folder, "v2")
    target = next(p for p in folder.iterdir() if p.name.startswith("deaths"))
    target.write_bytes(target.read_bytes() + b"\n")
    assert drop_fingerprint(folder, "v1") != first
    assert drop_fingerprint(county_copy / "inbox" / "1999-01", "v1") is None


def test_read_and_check_drop_of_a_missing_month_names_the_folder(
    tiny_county: Path, tmp_path: Path
) -> None:
    with pytest.raises(ContractError, match="2019-12: drop folder not found"):
        read_and_check_drop.fn(tiny_county / "inbox", "2019-12", tmp_path, CONFIG)


def _curate(drop, store: Path, month: str) -> None:  # type: ignore[no-untyped-def]
    """The month kept in the history as the flow keeps it: prepared, then adopted."""
    curate_month.fn(prepare_curation.fn(drop, store, month))


def test_curate_month_keeps_loaded_rows_and_quarantined_payouts(drop, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prepared = prepare_curation.fn(drop, tmp_path, "2020-01")
    store = CuratedStore(tmp_path)
    assert store.rows("payouts", "2020-01") is None  # prepared is not yet kept
    curate_month.fn(prepared)
    assert store.rows("payouts", "2020-01") == drop["payouts"].loaded.height
    assert store.rows("quarantined_payouts", "2020-01") == drop["payouts"].quarantined.height
    _curate(drop, tmp_path, "2020-01")  # re-ingest replaces, never duplicates
    assert store.rows("payouts", "2020-01") == drop["payouts"].loaded.height
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_curate_month_keeps_the_register_summarised_per_person(drop, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _curate(drop, tmp_path, "2020-01")
    runs = CuratedStore(tmp_path).register_runs("2020-01")
    assert runs is not None
    got = runs.collect()
    # One month: one run per distinct register row, each starting and ending that month.
    key = ["person_id", "scheme", *(c for c in RUN_STATE_COLUMNS if c in got.columns)]
    assert got.height == drop["beneficiaries"].loaded.select(key).unique().height > 0
    assert got["first_index"].unique().to_list() == got["last_index"].unique().to_list() == [24240]


def test_validate_month_drop_stops_on_a_half_delivered_ledger(drop, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    docs = tmp_path / "docs"
    CuratedStore(tmp_path).write_month(
        "payouts", "2019-12", pl.concat([drop["payouts"].loaded] * 3)
    )
    with pytest.raises(ContractError, match="payouts"):
        validate_month_drop.fn(drop, CONFIG, "2020-01", tmp_path, docs)


def test_validate_month_drop_judges_no_dataset_that_was_not_delivered(drop, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Regression guard: an optional dataset without a file this month gets a passing report
    with nothing evaluated and no Data Docs page; the delivered ones are validated."""
    assert drop["outcomes"].file is None
    docs = tmp_path / "docs"
    reports = validate_month_drop.fn(drop, CONFIG, "2020-01", tmp_path, docs)
    assert list(reports) == list(drop)
    absent = reports["outcomes"]
    assert absent.success and absent.evaluated == 0 and not absent.failed_expectations
    assert reports["payouts"].evaluated > 0
    pages = {p.parent.parent.parent.name for p in (docs / "validations").rglob("*.html")}
    assert "payouts" in pages and "outcomes" not in pages


def test_list_suspensions_writes_both_files(drop, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _curate(drop, tmp_path / "store", "2020-01")
    staging = tmp_path / "staging"
    staging.mkdir()
    parts = [suspend.fn(tmp_path / "store", "2020-01", CONFIG)]
    count = list_suspensions.fn(parts, staging)
    assert (staging / "suspensions.csv").exists()
    assert pl.read_parquet(staging / "suspensions.parquet").height == count


def test_months_to_run_puts_unprocessed_earlier_months_first(
    tiny_county: Path, tmp_path: Path
) -> None:
    assert months_to_run(tiny_county / "inbox", tmp_path, "2020-03") == [
        "2020-01",
        "2020-02",
        "2020-03",
    ]
    with pytest.raises(ValueError, match="YYYY-MM"):
        months_to_run(tiny_county / "inbox", tmp_path, "2020-3")


def test_a_drop_that_breaks_the_contract_is_not_retried_an_io_error_is() -> None:
    broken = Failed(data=ContractError("payouts.csv", "amount", "column missing"))
    hiccup = Failed(data=OSError(116, "Stale file handle"))
    assert not worth_a_retry(read_and_check_drop, None, broken)
    assert worth_a_retry(read_and_check_drop, None, hiccup)
    assert read_and_check_drop.retry_condition_fn is worth_a_retry
    assert read_and_check_drop.retries == 2
