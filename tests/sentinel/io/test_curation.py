"""A month prepared beside the history and adopted into it is the month the store would
have written step by step, and nothing prepared is history before it is adopted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from sentinel.config import load_config
from sentinel.ingest import DatasetDrop, check_drop, read_drop
from sentinel.io.curation import (
    CURATING_PREFIX,
    adopt_curated_month,
    clear_unadopted,
    prepare_curated_month,
)
from sentinel.io.store import CuratedStore

MONTHS = ("2020-01", "2020-02", "2020-03")


@pytest.fixture(scope="module")
def drops(tiny_county: Path) -> dict[str, dict[str, DatasetDrop]]:
    config = load_config()
    return {
        month: check_drop(read_drop(tiny_county / "inbox" / month), config, month=month)
        for month in MONTHS
    }


def _frames(drop: dict[str, DatasetDrop]) -> dict[str, Callable[[], pl.DataFrame]]:
    frames = {name: (lambda d=d: d.loaded) for name, d in drop.items()}
    frames["quarantined_payouts"] = lambda: drop["payouts"].quarantined
    return frames


def _write_step_by_step(store: CuratedStore, month: str, drop: dict[str, DatasetDrop]) -> None:
    for name, frame in _frames(drop).items():
        store.write_month(name, month, frame())
    store.summarise_register(month)
    store.summarise_ledger(month)


def _history(root: Path) -> dict[Path, bytes]:
    """Every Parquet file of the history (prepared folders aside), by path, with its bytes."""
    return {
        p.relative_to(root): p.read_bytes()
        for p in sorted(root.rglob("*.parquet"))
        if not p.relative_to(root).parts[0].startswith(".")
    }


def test_adopted_months_are_the_history_written_step_by_step(drops, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    direct, adopted = tmp_path / "direct", tmp_path / "adopted"
    for month, drop in drops.items():
        _write_step_by_step(CuratedStore(direct), month, drop)
        before = _history(adopted)
        prepared = prepare_curated_month(adopted, month, _frames(drop))
        assert _history(adopted) == before  # prepared, not yet history
        assert prepared.datasets[:2] == ("beneficiaries", "payouts")
        assert {"register_runs", "ledger_runs", "register_persons"} <= set(prepared.datasets)
        adopt_curated_month(prepared)
        assert not prepared.folder.exists()
    assert _history(adopted) == _history(direct)
    assert len(_history(direct)) >= 3 * 13


def test_a_month_prepared_again_replaces_it_and_what_read_it(drops, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A month delivered again after later months were kept: its summaries are made anew and
    the later ones, which read the old rows, are gone, as when the store rewrites it."""
    direct, adopted = tmp_path / "direct", tmp_path / "adopted"
    for month, drop in drops.items():
        _write_step_by_step(CuratedStore(direct), month, drop)
        adopt_curated_month(prepare_curated_month(adopted, month, _frames(drop)))
    again = drops["2020-01"]  # February delivered with January's rows
    _write_step_by_step(CuratedStore(direct), "2020-02", again)
    adopt_curated_month(prepare_curated_month(adopted, "2020-02", _frames(again)))
    assert _history(adopted) == _history(direct)
    assert CuratedStore(adopted).register_runs("2020-03") is None


def test_adopting_again_after_a_partial_adoption_moves_what_is_left(drops, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    direct, adopted = tmp_path / "direct", tmp_path / "adopted"
    _write_step_by_step(CuratedStore(direct), "2020-01", drops["2020-01"])
    prepared = prepare_curated_month(adopted, "2020-01", _frames(drops["2020-01"]))
    first = prepared.datasets[0]
    CuratedStore(adopted).adopt_month(first, "2020-01", prepared.partition_file(first))
    adopt_curated_month(prepared)  # a retried task
    assert _history(adopted) == _history(direct)


def test_adopting_a_month_whose_prepared_files_are_gone_names_them(drops, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prepared = prepare_curated_month(tmp_path, "2020-01", _frames(drops["2020-01"]))
    clear_unadopted(tmp_path)
    with pytest.raises(FileNotFoundError, match="prepared beneficiaries of 2020-01"):
        adopt_curated_month(prepared)


def test_a_failed_preparation_leaves_no_folder_and_no_history(drops, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    def unreadable() -> pl.DataFrame:
        raise OSError("the network share went away")

    frames = {**_frames(drops["2020-01"]), "deaths": unreadable}
    with pytest.raises(OSError, match="network share"):
        prepare_curated_month(tmp_path, "2020-01", frames)
    assert list(tmp_path.iterdir()) == []


def test_clear_unadopted_removes_prepared_months_and_nothing_else(drops, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    adopt_curated_month(prepare_curated_month(tmp_path, "2020-01", _frames(drops["2020-01"])))
    kept = _history(tmp_path)
    left = prepare_curated_month(tmp_path, "2020-02", _frames(drops["2020-02"]))
    assert left.folder.name.startswith(f"{CURATING_PREFIX}2020-02-")
    clear_unadopted(tmp_path)
    clear_unadopted(tmp_path / "no-store-yet")
    assert not left.folder.exists() and _history(tmp_path) == kept


def test_a_prepared_month_writes_only_its_own_month(drops, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from sentinel.io.curation import _PreparingStore

    preparing = _PreparingStore(tmp_path, tmp_path / ".curating-x", "2020-02")
    with pytest.raises(ValueError, match="preparing 2020-02: cannot write deaths of 2020-01"):
        preparing.write_month("deaths", "2020-01", drops["2020-01"]["deaths"].loaded)
