"""A month's work files (``sentinel.io.work``): raw copies discarded once committed, an
attempt's files deleted when its month fails."""

from pathlib import Path

import pytest

from sentinel.io.store import write_json
from sentinel.io.work import discard_raw_copies, work_cleared_on_failure


def test_raw_copies_of_committed_months_are_deleted_but_the_kept_ones(tmp_path: Path) -> None:
    for month in ("2020-01", "2020-02", "2020-03"):
        folder = tmp_path / ".work" / month / "f1"
        folder.mkdir(parents=True)
        (folder / "payouts.raw.parquet").write_bytes(b"raw")
        (folder / "payouts.checked.parquet").write_bytes(b"checked")
        if month != "2020-03":  # 2020-03 is not committed (its run failed)
            (tmp_path / month).mkdir()
            write_json(tmp_path / month / "manifest.json", {"month": month})
    removed = discard_raw_copies(tmp_path, keep_months=1)
    assert removed == [tmp_path / ".work" / "2020-01" / "f1" / "payouts.raw.parquet"]
    assert sorted(p.relative_to(tmp_path / ".work").as_posix()
                  for p in (tmp_path / ".work").rglob("*.parquet")) == [
        "2020-01/f1/payouts.checked.parquet",
        "2020-02/f1/payouts.checked.parquet",
        "2020-02/f1/payouts.raw.parquet",
        "2020-03/f1/payouts.checked.parquet",
        "2020-03/f1/payouts.raw.parquet",
    ]  # fmt: skip
    assert len(discard_raw_copies(tmp_path, keep_months=0)) == 1


def test_a_failed_month_leaves_no_work_files_but_keeps_the_committed_ones(tmp_path: Path) -> None:
    """Regression: a refused drop left its raw copy (IDs, names, bank accounts) under
    OUT/.work/<month>/ until a later month was committed."""
    work = tmp_path / ".work" / "2020-02"
    committed = work / "committed-fingerprint"
    committed.mkdir(parents=True)
    (committed / "beneficiaries.raw.parquet").write_bytes(b"kept by run.keep_raw_months")
    (tmp_path / ".run.lock").write_text("", encoding="utf-8")
    between = tmp_path / "partitions" / ".work" / "2020-02"
    with pytest.raises(ValueError, match="payouts"):
        with work_cleared_on_failure(tmp_path, "2020-02", between):
            attempt = work / "new-fingerprint"
            attempt.mkdir()
            (attempt / "beneficiaries.raw.parquet").write_bytes(b"register")
            (committed / ".payouts.raw.123.parquet").write_bytes(b"half-written")
            (between / "halo-rows").mkdir(parents=True)
            raise ValueError("payouts.csv, column 'amount': required column missing")
    assert sorted(p.relative_to(work).as_posix() for p in work.rglob("*")) == [
        "committed-fingerprint",
        "committed-fingerprint/beneficiaries.raw.parquet",
    ]
    assert not between.exists() and (tmp_path / ".run.lock").exists()


def test_a_month_that_fails_on_a_fresh_out_leaves_no_work_folder(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        with work_cleared_on_failure(tmp_path, "2020-01"):
            (tmp_path / ".work" / "2020-01" / "fp").mkdir(parents=True)
            raise RuntimeError("stopped")
    assert not (tmp_path / ".work" / "2020-01").exists()


def test_a_month_that_succeeds_keeps_its_work_files(tmp_path: Path) -> None:
    with work_cleared_on_failure(tmp_path, "2020-01"):
        (tmp_path / ".work" / "2020-01" / "fp").mkdir(parents=True)
    assert (tmp_path / ".work" / "2020-01" / "fp").is_dir()
