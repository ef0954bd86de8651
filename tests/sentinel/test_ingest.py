"""Reading and checking a drop: chunked checking gives the rows and reasons of the whole."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.records import REASON
from sentinel.config import load_config
from sentinel.ingest import check_and_store_drop, check_drop, read_drop

CONFIG = load_config()


@pytest.mark.parametrize("month", ["2020-01", "2020-03"])
def test_checking_in_chunks_equals_checking_whole(tiny_county: Path, month: str) -> None:
    tables = read_drop(tiny_county / "inbox" / month)
    whole = check_drop(tables, CONFIG, month=month)
    chunked_config = CONFIG.model_copy(
        update={"ingest": CONFIG.ingest.model_copy(update={"check_chunk_rows": 97})}
    )
    chunked = check_drop(tables, chunked_config, month=month)
    for name, drop in whole.items():
        assert_frame_equal(chunked[name].checked, drop.checked)
    assert whole["payouts"].checked.height > 97  # the payouts were really chunked


def test_exact_duplicates_meet_in_one_chunk(tiny_county: Path) -> None:
    tables = read_drop(tiny_county / "inbox" / "2020-02")
    register = tables["beneficiaries"]
    assert register is not None
    # Three copies of one row, far apart: the first loads, the others are duplicates.
    row = register.frame.head(1)
    frame = pl.concat(
        [register.frame, row.with_columns(pl.lit(10_001).alias("_row")),
         row.with_columns(pl.lit(10_002).alias("_row"))],
        how="vertical_relaxed",
    )  # fmt: skip
    tables["beneficiaries"] = dataclasses.replace(register, frame=frame)
    config = CONFIG.model_copy(
        update={"ingest": CONFIG.ingest.model_copy(update={"check_chunk_rows": 50})}
    )
    checked = check_drop(tables, config, month="2020-02")["beneficiaries"].checked
    reasons = checked.filter(pl.col("_row").is_in([row["_row"][0], 10_001, 10_002]))[REASON]
    assert reasons.to_list()[1:] == ["duplicate row", "duplicate row"]
    assert reasons[0] is None or "duplicate" not in reasons[0]


@pytest.mark.parametrize("chunk_rows", [2_000_000, 97])
@pytest.mark.parametrize("month", ["2020-01", "2020-02", "2020-03", "2020-04"])
def test_check_and_store_writes_what_check_drop_finds(
    tiny_county: Path, tmp_path: Path, month: str, chunk_rows: int
) -> None:
    """File to file (parquet streamed to its raw copy, large files checked from disk in
    chunks) gives the frames of reading and checking in memory."""
    month_dir = tiny_county / "inbox" / month
    config = CONFIG.model_copy(
        update={"ingest": CONFIG.ingest.model_copy(update={"check_chunk_rows": chunk_rows})}
    )
    stored = check_and_store_drop(month_dir, config, month=month, folder=tmp_path)
    tables = read_drop(month_dir)
    direct = check_drop(tables, CONFIG, month=month)
    assert set(stored) == set(direct)
    for name, drop in direct.items():
        assert_frame_equal(pl.read_parquet(stored[name].checked_path), drop.checked)
        assert_frame_equal(pl.read_parquet(stored[name].raw_path), drop.raw)
        assert stored[name].rows_in == drop.rows_in
        table = tables[name]
        assert stored[name].sha256 == (table.sha256 if table is not None else None)
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_the_tiny_county_has_parquet_drops(tiny_county: Path) -> None:
    """The check above covers the streamed parquet path."""
    assert list((tiny_county / "inbox").glob("*/*.parquet"))


def test_a_month_checked_again_in_other_chunks_replaces_the_earlier_check(
    tiny_county: Path, tmp_path: Path
) -> None:
    """A chunked check leaves a folder of parts where a whole check leaves one file: a
    re-run with the other size replaces it, whichever came first."""
    month_dir = tiny_county / "inbox" / "2020-02"
    direct = check_drop(read_drop(month_dir), CONFIG, month="2020-02")
    for chunk_rows in (97, 2_000_000, 97):
        config = CONFIG.model_copy(
            update={"ingest": CONFIG.ingest.model_copy(update={"check_chunk_rows": chunk_rows})}
        )
        stored = check_and_store_drop(month_dir, config, month="2020-02", folder=tmp_path)
        payouts = stored["payouts"].checked_path
        assert payouts.is_dir() == (chunk_rows == 97)
        assert_frame_equal(stored["payouts"].checked, direct["payouts"].checked)
        assert stored["payouts"].row_counts() == direct["payouts"].row_counts()
    assert not list(tmp_path.glob(".*"))
