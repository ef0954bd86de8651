"""A month's curated partitions prepared beside the history, and adopted into it later.

The monthly run prepares the month's partitions and summaries while the Great Expectations
suites judge the same drop (the two do not read each other's work: the suites read the
checked files and the months before). Nothing prepared is part of the history until
:func:`adopt_curated_month` moves it in, which the run does only once every suite has
passed; a month that fails leaves its prepared folder, ``STORE/.curating-YYYY-MM-<id>/``,
for the next run to clear (:func:`clear_unadopted`).

What is prepared is what :class:`sentinel.io.store.CuratedStore` would have written, byte
for byte: the summaries are computed by the store's own methods, on a view of the store in
which the prepared partitions already stand in for the month's.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sentinel.io.store import MONTH_PARTITION, CuratedStore

#: The prefix of a prepared month's folder at the top of the store.
CURATING_PREFIX = ".curating-"
_PART = "part-0.parquet"


@dataclass(frozen=True)
class PreparedCuration:
    """A month prepared in ``folder`` for the store at ``store``: the partitions of
    ``datasets``, in the order they were written (the drop's datasets, then what is
    derived from them)."""

    store: Path
    month: str
    folder: Path
    datasets: tuple[str, ...]

    def partition_file(self, dataset: str) -> Path:
        return self.folder / dataset / f"{MONTH_PARTITION}={self.month}" / _PART


class _PreparingStore(CuratedStore):
    """The store as it will read once ``month`` is adopted: the partitions written here
    go to ``folder`` and stand in for the month's; every other month, and every dataset not
    written here, is the store's own."""

    def __init__(self, root: Path, folder: Path, month: str) -> None:
        super().__init__(root)
        self.folder = folder
        self.month = month
        self.written: list[str] = []

    def partition(self, dataset: str, month: str) -> Path:
        if month == self.month and dataset in self.written:
            return self.folder / dataset / f"{MONTH_PARTITION}={month}"
        return super().partition(dataset, month)

    def months(self, dataset: str) -> list[str]:
        months = super().months(dataset)
        if dataset in self.written and self.month not in months:
            months = sorted([*months, self.month])
        return months

    def write_month(self, dataset: str, month: str, frame: pl.DataFrame) -> Path:
        if month != self.month:
            raise ValueError(f"preparing {self.month}: cannot write {dataset} of {month}")
        final = self.folder / dataset / f"{MONTH_PARTITION}={month}"
        final.mkdir(parents=True, exist_ok=True)
        frame.drop(MONTH_PARTITION, strict=False).write_parquet(final / _PART)
        if dataset not in self.written:
            self.written.append(dataset)
        return final


def prepare_curated_month(
    store: Path,
    month: str,
    frames: Mapping[str, Callable[[], pl.DataFrame]],
) -> PreparedCuration:
    """Write the partitions of ``month`` (each frame read when its turn comes) and the
    register and paid-ledger summaries up to it (:meth:`CuratedStore.summarise_register`,
    :meth:`CuratedStore.summarise_ledger`) into a new folder beside the history of
    ``store``; the history itself is not touched. A failure removes the folder."""
    folder = Path(store) / f"{CURATING_PREFIX}{month}-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    preparing = _PreparingStore(Path(store), folder, month)
    try:
        for name, frame in frames.items():
            preparing.write_month(name, month, frame())
        preparing.summarise_register(month)
        preparing.summarise_ledger(month)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return PreparedCuration(Path(store), month, folder, tuple(preparing.written))


def adopt_curated_month(prepared: PreparedCuration) -> None:
    """Make the prepared partitions those of the month in the history (each replacing the
    month's earlier one, and what was derived from it, as
    :meth:`CuratedStore.write_month` does), then remove the prepared folder.

    The drop's datasets go first, so that the summaries they make stale are gone before
    this month's summaries arrive. Adopting again after a partial adoption (a retried
    task) moves what is left."""
    store = CuratedStore(prepared.store)
    for dataset in prepared.datasets:
        file = prepared.partition_file(dataset)
        if file.exists():
            store.adopt_month(dataset, prepared.month, file)
        elif not (store.partition(dataset, prepared.month) / _PART).exists():
            raise FileNotFoundError(
                f"{file}: the prepared {dataset} of {prepared.month} is neither there nor "
                "in the history"
            )
    shutil.rmtree(prepared.folder, ignore_errors=True)


def clear_unadopted(store: Path) -> None:
    """Remove the prepared months a failed or killed run left in ``store`` (never part of
    the history)."""
    store = Path(store)
    if store.is_dir():
        for entry in store.iterdir():
            if entry.name.startswith(CURATING_PREFIX):
                shutil.rmtree(entry, ignore_errors=True)


__all__ = [
    "CURATING_PREFIX",
    "PreparedCuration",
    "adopt_curated_month",
    "clear_unadopted",
    "prepare_curated_month",
]
