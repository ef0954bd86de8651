"""Where the suspect lists stand: answered by the case store as it is now, late ones listed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
from stdnum.cn import ric

from sentinel.io.store import CuratedStore
from sentinel.suspects import REPLIES_FILE, suspect_status


def gen_id(serial: int) -> str:
    body = f"43092319480202{serial:03d}"
    return body + ric.calc_check_digit(body)


A, B, C, OUTSIDER = (gen_id(k) for k in range(1, 5))


def out_with_batch(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    batch = pl.DataFrame(
        {
            "batch_id": ["B1"] * 4,
            "pushed_on": [date(2020, 2, 5)] * 4,
            "due_on": [date(2020, 3, 31)] * 4,
            "person_id": [A, B, C, OUTSIDER],
            "name": [None] * 4,
            "suspect_type": ["death", "death", "account", "duplicate"],
            "source": ["province"] * 4,
            "detail": [None] * 4,
        },
        schema_overrides={"name": pl.String, "detail": pl.String},
    )
    CuratedStore(out / "curated").write_month("suspects", "2020-02", batch)
    (out / "2020-02").mkdir(parents=True)
    (out / "2020-02" / "manifest.json").write_text("{}")
    # The run answered the outsider without a visit.
    pl.DataFrame(
        {
            "batch_id": ["B1"] * 4,
            "person_id": [A, B, C, OUTSIDER],
            "result": ["verifying", "verifying", "verifying", "cleared"],
        }
    ).write_parquet(out / "2020-02" / REPLIES_FILE)
    return out


def store_cases(*rows: tuple[str, str, str, str | None, date | None]) -> pl.DataFrame:
    """Case store rows of (case_id, person_id, state, outcome, closed_on)."""
    return pl.DataFrame(
        [(*r, None, None) for r in rows],
        schema={
            "case_id": pl.String,
            "person_id": pl.String,
            "state": pl.String,
            "outcome": pl.String,
            "closed_on": pl.Date,
            "overpaid_amount": pl.Float64,
            "recovered_amount": pl.Float64,
        },
        orient="row",
    )


CASES = store_cases(
    ("US-a", A, "closed", "cleared", date(2020, 3, 2)),  # closed in the review app since the run
    ("US-b", B, "assigned", None, None),
    ("SA-c", C, "new", None, None),
)


def test_each_batch_with_its_answers_and_days_left(tmp_path: Path) -> None:
    frame = suspect_status(out_with_batch(tmp_path), CASES, date(2020, 3, 21), 12)
    row = frame.row(0, named=True)
    assert (row["batch_id"], row["suspects"], row["answered"], row["verifying"]) == ("B1", 4, 2, 2)
    assert row["days_left"] == 10 and row["overdue"] is False


def test_overdue_lists_each_unanswered_suspect_after_the_due_date_masked(tmp_path: Path) -> None:
    out = out_with_batch(tmp_path)
    assert suspect_status(out, CASES, date(2020, 3, 31), 12, overdue=True).height == 0
    late = suspect_status(out, CASES, date(2020, 4, 3), 12, overdue=True)
    assert sorted(late["case_id"]) == ["SA-c", "US-b"]
    assert late["days_late"].to_list() == [3, 3]
    assert all("*" in p for p in late["person_id"])
    assert set(late["suspect_type"]) == {"death", "account"}
