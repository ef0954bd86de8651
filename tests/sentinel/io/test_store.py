from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from sentinel.io.store import CuratedStore, processed_months, staged_month, write_json


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
