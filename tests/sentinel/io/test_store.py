from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from sentinel.io.store import (
    CuratedStore,
    months_missing_from_store,
    processed_months,
    record_history_store,
    recorded_history_store,
    staged_month,
    verified_history_heads,
    write_json,
)


def test_write_month_replaces_partition_never_duplicates(tmp_path: Path) -> None:
    store = CuratedStore(tmp_path)
    store.write_month("payouts", "2020-01", pl.DataFrame({"amount": [1.0, 2.0]}))
    store.write_month("payouts", "2020-01", pl.DataFrame({"amount": [3.0]}))
    got = store.scan("payouts").collect()
    assert_frame_equal(got, pl.DataFrame({"amount": [3.0], "month": ["2020-01"]}))
    assert [p.name for p in (tmp_path / "payouts").iterdir()] == ["month=2020-01"]


def test_scan_stops_at_month_and_orders_partitions(tmp_path: Path) -> None:
    store = CuratedStore(tmp_path)
    for m in ("2020-03", "2020-01", "2020-02"):
        store.write_month("deaths", m, pl.DataFrame({"record_id": [m]}))
    got = store.scan("deaths", up_to="2020-02").collect()
    assert got["month"].to_list() == ["2020-01", "2020-02"]
    assert store.rows("deaths", "2020-03") == 1
    assert store.rows("deaths", "2020-04") is None


def test_scan_of_empty_history_has_schema(tmp_path: Path) -> None:
    got = CuratedStore(tmp_path).scan("outcomes", schema={"case_id": pl.String}).collect()
    assert got.columns == ["case_id", "month"] and got.height == 0


def test_staged_month_leaves_nothing_when_the_block_fails(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        with staged_month(tmp_path, "2020-05") as staging:
            (staging / "cases.csv").write_text("half")
            raise RuntimeError("killed")
    assert not (tmp_path / "2020-05").exists()
    assert list(tmp_path.iterdir()) == []


def test_staged_month_replaces_previous_output_whole(tmp_path: Path) -> None:
    for content in ("first", "second"):
        with staged_month(tmp_path, "2020-05") as staging:
            (staging / "cases.csv").write_text(content)
            write_json(staging / "manifest.json", {"month": "2020-05"})
    assert (tmp_path / "2020-05" / "cases.csv").read_text() == "second"
    assert processed_months(tmp_path) == ["2020-05"]


def _register(month: str, accounts: dict[str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "person_id": list(accounts),
            "scheme": ["resident"] * len(accounts),
            "status": ["active"] * len(accounts),
            "bank_account": list(accounts.values()),
            "region_code": ["430923"] * len(accounts),
        }
    )


def _runs(frame: pl.LazyFrame | None) -> pl.DataFrame:
    assert frame is not None
    df = frame.collect()
    return df.select(sorted(df.columns)).sort(pl.all())


def test_register_summary_is_extended_month_by_month_and_equals_a_rebuild(tmp_path: Path) -> None:
    from features.history import register_runs

    store = CuratedStore(tmp_path)
    months = {
        "2020-01": {"P1": "A", "P2": "B"},
        "2020-02": {"P1": "A"},
        "2020-03": {"P1": "C", "P2": "B"},
    }
    for month, accounts in months.items():
        store.write_month("beneficiaries", month, _register(month, accounts))
        store.summarise_register(month)
        whole = register_runs(store.scan("beneficiaries", up_to=month))
        assert_frame_equal(_runs(store.register_runs(month)), _runs(whole))
    assert store.register_runs("2020-03").collect().height == 4  # P1 A, P1 C, P2 B twice
    assert store.summarise_register("2020-04") is None  # no register that month


def test_rewriting_a_register_month_drops_the_summaries_that_read_it(tmp_path: Path) -> None:
    from features.history import register_runs

    store = CuratedStore(tmp_path)
    for month in ("2020-01", "2020-02", "2020-03"):
        store.write_month("beneficiaries", month, _register(month, {"P1": "A"}))
        store.summarise_register(month)
    store.write_month("beneficiaries", "2020-02", _register("2020-02", {"P1": "Z"}))
    assert store.register_runs("2020-01") is not None
    assert store.register_runs("2020-02") is None and store.register_runs("2020-03") is None
    store.summarise_register("2020-02")
    store.summarise_register("2020-03")
    whole = register_runs(store.scan("beneficiaries", up_to="2020-03"))
    assert_frame_equal(_runs(store.register_runs("2020-03")), _runs(whole))


def _payouts(month: str, amounts: dict[str, float]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "person_id": list(amounts),
            "scheme": ["resident"] * len(amounts),
            "period": [month] * len(amounts),
            "pay_date": [date(int(month[:4]), int(month[5:]), 10)] * len(amounts),
            "amount": list(amounts.values()),
            "bank_account": ["A"] * len(amounts),
            "kind": ["regular"] * len(amounts),
        }
    )


def _ledger_rows(frame: pl.LazyFrame | None) -> pl.DataFrame:
    from features.ledger import LEDGER_COLUMNS, ledger_rows

    assert frame is not None
    rows = ledger_rows(frame).collect().with_columns(pl.col("kind").cast(pl.String))
    return rows.select(LEDGER_COLUMNS).sort(pl.all(), nulls_last=True)


def _whole_ledger(store: CuratedStore, month: str) -> pl.LazyFrame:
    from features.ledger import ledger_runs
    from features.payments import paid_ledger

    return ledger_runs(
        paid_ledger(
            store.scan("payouts", up_to=month),
            store.scan("quarantined_payouts", up_to=month, schema={"_reason": pl.String}),
        )
    )


def test_ledger_summary_is_extended_month_by_month_and_gives_the_ledger(tmp_path: Path) -> None:
    store = CuratedStore(tmp_path)
    months = {
        "2020-01": {"P1": 113.0, "P2": 113.0},
        "2020-02": {"P1": 113.0},
        "2020-03": {"P1": 123.0, "P2": 113.0},
    }
    for month, amounts in months.items():
        store.write_month("payouts", month, _payouts(month, amounts))
        store.summarise_ledger(month)
        assert_frame_equal(
            _ledger_rows(store.ledger_runs(month)), _ledger_rows(_whole_ledger(store, month))
        )
    runs = store.ledger_runs("2020-03").collect().sort("person_id", "period")
    # P1 113 for two months then 123; P2 not paid in February: two runs of one month.
    assert runs.select("person_id", "amount", "months").rows() == [
        ("P1", 113.0, 2),
        ("P1", 123.0, 1),
        ("P2", 113.0, 1),
        ("P2", 113.0, 1),
    ]
    assert store.summarise_ledger("2020-04") is None  # no payouts that month


def test_rewriting_a_payout_month_drops_the_ledger_summaries_that_read_it(tmp_path: Path) -> None:
    store = CuratedStore(tmp_path)
    for month in ("2020-01", "2020-02", "2020-03"):
        store.write_month("payouts", month, _payouts(month, {"P1": 113.0}))
        store.summarise_ledger(month)
    store.write_month("quarantined_payouts", "2020-02", pl.DataFrame({"_reason": ["x"]}))
    assert store.ledger_runs("2020-01") is not None
    assert store.ledger_runs("2020-02") is None and store.ledger_runs("2020-03") is None
    store.summarise_ledger("2020-02")
    store.summarise_ledger("2020-03")
    assert_frame_equal(
        _ledger_rows(store.ledger_runs("2020-03")), _ledger_rows(_whole_ledger(store, "2020-03"))
    )


def test_detection_reads_the_stored_summary_with_the_same_cases(
    tiny_county: Path, tmp_path: Path
) -> None:
    from dataclasses import replace

    from features.ledger import ledger_rows
    from sentinel.config import load_config
    from sentinel.detection import detect_cases
    from sentinel.ingest import check_drop, read_drop
    from sentinel.io.store import load_history

    config = load_config()
    store = CuratedStore(tmp_path / "curated")
    months = sorted(p.name for p in (tiny_county / "inbox").iterdir())
    for month in months:
        drops = check_drop(read_drop(tiny_county / "inbox" / month), config, month=month)
        for name in ("beneficiaries", "payouts", "deaths", "certifications", "outcomes"):
            store.write_month(name, month, drops[name].loaded)
        store.write_month("quarantined_payouts", month, drops["payouts"].quarantined)
        store.summarise_register(month)
        store.summarise_ledger(month)
    history = load_history(tmp_path / "curated", months[-1])
    assert history.register_runs is not None and history.ledger_runs is not None
    from_summary = detect_cases(history, config).collect()
    from_snapshots = detect_cases(
        replace(history, register_runs=None, ledger_runs=None), config
    ).collect()
    assert from_summary.height > 0
    assert_frame_equal(from_summary, from_snapshots)
    # The rules read runs, and a run of several months must count as those months' rows:
    # the ledger cut into one-row runs gives the same cases (sums to within rounding).
    one_row_runs = ledger_rows(history.ledger_runs).with_columns(
        pl.lit(1, dtype=pl.Int32).alias("months")
    )
    assert_frame_equal(
        detect_cases(replace(history, ledger_runs=one_row_runs), config).collect(), from_summary
    )


def test_outputs_are_created_owner_only(tmp_path: Path) -> None:
    import os
    import stat

    from sentinel.io.store import restrict_permissions

    out = tmp_path / "out"
    before = os.umask(0o022)
    try:
        restrict_permissions(out, 0o077)
        with staged_month(out, "2020-01") as staging:
            (staging / "cases.csv").write_text("x")
            (staging / "quarantine").mkdir()
    finally:
        os.umask(before)
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert stat.S_IMODE((out / "2020-01").stat().st_mode) == 0o700
    assert stat.S_IMODE((out / "2020-01" / "quarantine").stat().st_mode) == 0o700
    assert stat.S_IMODE((out / "2020-01" / "cases.csv").stat().st_mode) == 0o600


def test_superseded_months_count_as_not_processed(tmp_path: Path) -> None:
    from sentinel.io.store import supersede_months

    for month in ("2020-01", "2020-02", "2020-03"):
        (tmp_path / month).mkdir()
        write_json(tmp_path / month / "manifest.json", {"month": month})
    assert supersede_months(tmp_path, "2020-02") == ["2020-02", "2020-03"]
    assert processed_months(tmp_path) == ["2020-01"]


def test_verified_history_heads_are_the_latest_earlier_month_whose_check_held(tmp_path: Path):
    heads = {"events": {"position": 3, "hash": "ab"}}
    for month, holds in (("2020-01", True), ("2020-02", True), ("2020-03", False)):
        (tmp_path / month).mkdir()
        write_json(tmp_path / month / "manifest.json", {})
        write_json(tmp_path / month / "history.json", {"holds": holds, "heads": {**heads}})
    assert verified_history_heads(tmp_path, "2020-03") == heads
    assert verified_history_heads(tmp_path, "2020-04") is None  # March's check failed
    assert verified_history_heads(tmp_path, "2020-01") is None  # nothing before


def test_months_missing_from_a_store_are_the_processed_ones_it_does_not_hold(
    tmp_path: Path,
) -> None:
    out, store = tmp_path / "out", tmp_path / "history"
    for month in ("2020-01", "2020-02", "2020-03"):
        (out / month).mkdir(parents=True)
        write_json(out / month / "manifest.json", {"month": month})
    for dataset in ("beneficiaries", "payouts"):
        CuratedStore(store).write_month(dataset, "2020-01", pl.DataFrame({"amount": [1.0]}))
    CuratedStore(store).write_month("beneficiaries", "2020-02", pl.DataFrame({"amount": [1.0]}))
    assert months_missing_from_store(out, store, "2020-03") == ["2020-02"]
    assert months_missing_from_store(out, store, "2020-04") == ["2020-02", "2020-03"]
    assert months_missing_from_store(out, store, "2020-01") == []
    assert months_missing_from_store(out, tmp_path / "nowhere", "2020-02") == ["2020-01"]


def test_the_recorded_history_store_is_the_last_one_recorded(tmp_path: Path) -> None:
    assert recorded_history_store(tmp_path) is None
    record_history_store(tmp_path, tmp_path / "a")
    record_history_store(tmp_path, tmp_path / "b")
    assert recorded_history_store(tmp_path) == (tmp_path / "b").resolve()
