"""Ingest one monthly drop: read every dataset, type it, find quarantine reasons, add evidence.

The flow calls these steps as tasks; they read the inbox (I/O) and apply the pure functions
of :mod:`features.records`. Nothing here writes files.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from features.records import (
    MALFORMED,
    REASON,
    ROW,
    add_certification_evidence,
    add_death_evidence,
    add_id_evidence,
    add_payout_evidence,
    add_register_evidence,
    exact_duplicates,
    parse_records,
)
from sentinel.config import SentinelConfig
from sentinel.contract import DATASETS, FILE_SUFFIXES, ContractError, Dataset
from sentinel.io.readers import RawTable, find_dataset_file, read_dataset, sink_raw_dataset

#: Order matters: payouts and certifications are checked against the register.
INGEST_ORDER: tuple[str, ...] = (
    "beneficiaries",
    "payouts",
    "deaths",
    "certifications",
    "custody",
    "suspects",
    "outcomes",
    "recoveries",
)


@dataclass(frozen=True)
class DatasetDrop:
    """One dataset of a drop after checking: every input row is in ``checked``."""

    dataset: str
    file: Path | None
    sha256: str | None
    raw: pl.DataFrame
    checked: pl.DataFrame

    @property
    def rows_in(self) -> int:
        return self.raw.height

    @property
    def loaded(self) -> pl.DataFrame:
        """Rows that load into the curated history (typed, with evidence columns)."""
        return loaded_rows(self.checked)

    @property
    def quarantined(self) -> pl.DataFrame:
        """Rows not loaded: original values as text, ``_row`` and ``_reason``."""
        return quarantined_rows(self.raw, self.checked)

    def scan_checked(self) -> pl.LazyFrame:
        """:attr:`checked`, lazily."""
        return self.checked.lazy()

    def row_counts(self) -> tuple[int, int]:
        """Rows loaded and rows quarantined."""
        quarantined = self.checked.select(pl.col(REASON).is_not_null().sum()).item()
        return self.checked.height - int(quarantined), int(quarantined)


@dataclass(frozen=True)
class StoredDrop:
    """A checked dataset kept as Parquet: what the flow's tasks pass around. ``raw_path`` is
    one file; ``checked_path`` one file, or a folder of one file per chunk when the dataset
    was checked in chunks (``pl.scan_parquet`` and ``pl.read_parquet`` read either).

    Same reading interface as :class:`DatasetDrop` (``raw``, ``checked``, ``loaded``,
    ``quarantined``), but the frames are read from disk when asked for, so a task hands
    the next one paths and counts, not frames.
    """

    dataset: str
    file: Path | None
    sha256: str | None
    rows_in: int
    raw_path: Path
    checked_path: Path

    @classmethod
    def in_folder(
        cls, folder: Path, dataset: str, *, file: Path | None, sha256: str | None, rows_in: int
    ) -> StoredDrop:
        """The handle of ``dataset`` stored in ``folder``: its raw text at
        ``<dataset>.raw.parquet``, its checked rows at ``<dataset>.checked.parquet``."""
        return cls(
            dataset=dataset,
            file=file,
            sha256=sha256,
            rows_in=rows_in,
            raw_path=folder / f"{dataset}.raw.parquet",
            checked_path=folder / f"{dataset}.checked.parquet",
        )

    @property
    def raw(self) -> pl.DataFrame:
        return pl.read_parquet(self.raw_path)

    @property
    def checked(self) -> pl.DataFrame:
        return pl.read_parquet(self.checked_path)

    @property
    def loaded(self) -> pl.DataFrame:
        return self.scan_loaded().collect(engine="streaming")

    @property
    def quarantined(self) -> pl.DataFrame:
        return self.scan_quarantined().collect(engine="streaming")

    def scan_checked(self) -> pl.LazyFrame:
        """:attr:`checked`, lazily (validation cuts a large file into chunks from the scan)."""
        return pl.scan_parquet(self.checked_path)

    def scan_loaded(self) -> pl.LazyFrame:
        """:attr:`loaded`, lazily (only the columns and rows a caller needs are read)."""
        return pl.scan_parquet(self.checked_path).filter(pl.col(REASON).is_null()).drop(REASON)

    def scan_quarantined(self) -> pl.LazyFrame:
        """:attr:`quarantined`, lazily: the raw text is streamed past the few reasons, never
        held whole (a province's payouts are 19M rows of text)."""
        reasons = (
            pl.scan_parquet(self.checked_path)
            .filter(pl.col(REASON).is_not_null())
            .select(ROW, REASON)
        )
        return (
            pl.scan_parquet(self.raw_path)
            .join(reasons, on=ROW, how="inner")
            .drop(MALFORMED)
            .sort(ROW)
        )

    def row_counts(self) -> tuple[int, int]:
        """Rows loaded and rows quarantined, counted without reading the rows."""
        rows, quarantined = (
            pl.scan_parquet(self.checked_path)
            .select(pl.len(), pl.col(REASON).is_not_null().sum())
            .collect()
            .row(0)
        )
        return int(rows) - int(quarantined), int(quarantined)


def loaded_rows(checked: pl.DataFrame) -> pl.DataFrame:
    """The rows of a checked dataset without a quarantine reason."""
    return checked.filter(pl.col(REASON).is_null()).drop(REASON)


def quarantined_rows(raw: pl.DataFrame, checked: pl.DataFrame) -> pl.DataFrame:
    """The original text of the rows with a quarantine reason, ``_row`` and ``_reason``."""
    reasons = checked.filter(pl.col(REASON).is_not_null()).select(ROW, REASON)
    return raw.join(reasons, on=ROW, how="inner").drop(MALFORMED).sort(ROW)


def store_drops(drops: dict[str, DatasetDrop], folder: Path) -> dict[str, StoredDrop]:
    """Write each checked dataset as ``raw``/``checked`` Parquet under ``folder`` (atomically
    per file) and return the :class:`StoredDrop` handles."""
    folder.mkdir(parents=True, exist_ok=True)
    return {name: _store_drop(drop, folder) for name, drop in drops.items()}


def _store_drop(drop: DatasetDrop, folder: Path) -> StoredDrop:
    stored = StoredDrop.in_folder(
        folder, drop.dataset, file=drop.file, sha256=drop.sha256, rows_in=drop.rows_in
    )
    for part, frame, path in (
        ("raw", drop.raw, stored.raw_path),
        ("checked", drop.checked, stored.checked_path),
    ):
        tmp = folder / f".{drop.dataset}.{part}.{os.getpid()}.parquet"
        frame.write_parquet(tmp)
        os.replace(tmp, path)
    return stored


def drop_fingerprint(month_dir: Path, extra: str) -> str | None:
    """sha256 over the dataset files of a drop (names and bytes) and ``extra`` (code and
    configuration versions): the cache key of checking that drop. None when the folder is
    missing."""
    month_dir = Path(month_dir)
    if not month_dir.is_dir():
        return None
    digest = hashlib.sha256(extra.encode("utf-8"))
    for path in sorted(month_dir.iterdir()):
        if path.is_file() and path.suffix.lower() in FILE_SUFFIXES:
            digest.update(path.name.encode("utf-8"))
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def empty_raw(dataset: Dataset) -> pl.DataFrame:
    """An all-text frame with the contract columns and no rows (dataset absent this month)."""
    schema = {c.name: pl.String for c in dataset.columns}
    schema[ROW] = pl.Int64
    schema[MALFORMED] = pl.String
    return pl.DataFrame(schema=schema)


def read_drop(month_dir: Path) -> dict[str, RawTable | None]:
    """Read every dataset file of ``INBOX/YYYY-MM``; a required one missing stops the run."""
    return {name: read_dataset(path, DATASETS[name]) if path else None
            for name, path in _drop_files(month_dir).items()}  # fmt: skip


def _drop_files(month_dir: Path) -> dict[str, Path | None]:
    """Each dataset's file in ``INBOX/YYYY-MM`` (None for a missing optional one)."""
    month_dir = Path(month_dir)
    if not month_dir.is_dir():
        raise ContractError(str(month_dir), None, "drop folder not found")
    files: dict[str, Path | None] = {}
    for name in INGEST_ORDER:
        dataset = DATASETS[name]
        path = find_dataset_file(month_dir, dataset)
        if path is None and dataset.required:
            raise ContractError(
                str(month_dir / f"{name}.*"),
                None,
                f"required file missing (expected {name}.parquet, .csv or .xlsx)",
            )
        files[name] = path
    return files


def check_drop(
    tables: dict[str, RawTable | None], config: SentinelConfig, *, month: str
) -> dict[str, DatasetDrop]:
    """Type, quarantine and add evidence to every dataset of one drop."""
    drops: dict[str, DatasetDrop] = {}
    register_loaded: pl.LazyFrame | None = None
    for name in INGEST_ORDER:
        drops[name] = _check_dataset(name, tables.get(name), register_loaded, config, month)
        if name == "beneficiaries":
            register_loaded = drops[name].loaded.lazy()
    return drops


def check_and_store_drop(
    month_dir: Path, config: SentinelConfig, *, month: str, folder: Path
) -> dict[str, StoredDrop]:
    """:func:`read_drop`, :func:`check_drop` and :func:`store_drops` one dataset at a time,
    from file to file: each dataset's text goes to its ``raw`` Parquet first (streamed from
    a parquet source), then is checked from there, in chunks when it is large. The same
    files as the in-memory steps, with one chunk's rows held at a time (a province drop is
    20M register rows and as many payouts); payouts and certifications read the loaded
    register back from its stored file."""
    files = _drop_files(month_dir)  # a missing required file stops the run before any work
    folder.mkdir(parents=True, exist_ok=True)
    stored: dict[str, StoredDrop] = {}
    register_loaded: pl.LazyFrame | None = None
    for name, path in files.items():
        dataset = DATASETS[name]
        tmp = folder / f".{name}.raw.{os.getpid()}.parquet"
        if path is not None:
            raw = sink_raw_dataset(path, dataset, tmp)
            rows_in, sha256 = raw.rows, raw.sha256
        else:
            empty_raw(dataset).write_parquet(tmp)
            rows_in, sha256 = 0, None
        drop = StoredDrop.in_folder(folder, name, file=path, sha256=sha256, rows_in=rows_in)
        os.replace(tmp, drop.raw_path)
        _check_stored(
            name, drop.raw_path, rows_in, register_loaded, config, month, drop.checked_path
        )
        stored[name] = drop
        if name == "beneficiaries":
            register_loaded = stored[name].scan_loaded()
    return stored


def _check_stored(
    name: str,
    raw_path: Path,
    rows: int,
    register_loaded: pl.LazyFrame | None,
    config: SentinelConfig,
    month: str,
    checked_path: Path,
) -> None:
    """Write the checked rows of the stored raw text at ``raw_path`` to ``checked_path``
    (:func:`_check_dataset`'s rows, the same chunks, read from and written to files)."""
    tmp = checked_path.with_name(f".{checked_path.stem}.{os.getpid()}.parquet")
    chunk_rows = config.ingest.check_chunk_rows
    if rows <= chunk_rows:
        raw = pl.read_parquet(raw_path)
        _checked(name, raw, register_loaded, config, month).write_parquet(tmp)
        _clear(checked_path)
        os.replace(tmp, checked_path)
        return
    scan = pl.scan_parquet(raw_path)
    duplicates = exact_duplicates(scan).collect()
    known = _register_keys(register_loaded)
    # The checked rows stay as one file per chunk, in a folder named like the single file
    # (every reader scans either). Each chunk is a contiguous slice of the raw rows, sorted
    # by ``_row``: the files in name order are the rows in ``_row`` order. No merged copy
    # is written: merging would copy the largest files of the month once more. lz4 because
    # these files are read back once, soon, and are cheaper to write than zstd.
    parts = checked_path.with_name(f".{checked_path.name}.{os.getpid()}")
    shutil.rmtree(parts, ignore_errors=True)
    parts.mkdir()
    try:
        for index, start in enumerate(range(0, rows, chunk_rows)):
            raw = scan.slice(start, chunk_rows).collect()
            _checked(
                name, raw, _chunk_register(known, raw), config, month, duplicates.lazy()
            ).write_parquet(parts / f"part-{index:05d}.parquet", compression="lz4")
            del raw
        _clear(checked_path)
        os.replace(parts, checked_path)
    finally:
        shutil.rmtree(parts, ignore_errors=True)


def _clear(path: Path) -> None:
    """Remove the file or folder of an earlier check at ``path`` (a re-run of the month)."""
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _register_keys(register_loaded: pl.LazyFrame | None) -> pl.DataFrame | None:
    """The loaded register's distinct (person, scheme) pairs, once for all chunks."""
    if register_loaded is None:
        return None
    return register_loaded.select("person_id", "scheme").unique().collect()


def _chunk_register(known: pl.DataFrame | None, raw: pl.DataFrame) -> pl.LazyFrame | None:
    """The register pairs of the persons in one chunk: the evidence a chunk's rows need,
    without matching every chunk against the whole register (a province: 20M rows)."""
    if known is None:
        return None
    # The chunk's IDs as parsing types them (upper-cased).
    persons = raw.lazy().select(pl.col("person_id").str.to_uppercase()).unique()
    return known.lazy().join(persons, on="person_id", how="semi")


def _check_dataset(
    name: str,
    table: RawTable | None,
    register_loaded: pl.LazyFrame | None,
    config: SentinelConfig,
    month: str,
) -> DatasetDrop:
    dataset = DATASETS[name]
    raw = table.frame if table is not None else empty_raw(dataset)
    chunk_rows = config.ingest.check_chunk_rows
    if raw.height <= chunk_rows:
        checked = _checked(name, raw, register_loaded, config, month)
    else:
        # Every check is about one row, one distinct value or exact duplicates (rows equal
        # in every original value, found over the whole table first): consecutive chunks
        # give the same reasons and flags, with the intermediates of one chunk in memory.
        duplicates = exact_duplicates(raw.lazy()).collect().lazy()
        known = _register_keys(register_loaded)
        parts = []
        for start in range(0, raw.height, chunk_rows):
            chunk = raw.slice(start, chunk_rows)
            parts.append(
                _checked(name, chunk, _chunk_register(known, chunk), config, month, duplicates)
            )
        checked = pl.concat(parts).sort(ROW)
        del parts
    return DatasetDrop(
        dataset=name,
        file=table.file if table is not None else None,
        sha256=table.sha256 if table is not None else None,
        raw=raw,
        checked=checked,
    )


def _checked(
    name: str,
    raw: pl.DataFrame,
    register_loaded: pl.LazyFrame | None,
    config: SentinelConfig,
    month: str,
    duplicates: pl.LazyFrame | None = None,
) -> pl.DataFrame:
    """Typed rows of one dataset (or one chunk of it) with reasons and evidence, by ``_row``
    (``duplicates``: the exact duplicates of the whole file when ``raw`` is a chunk)."""
    parsed = parse_records(raw.lazy(), DATASETS[name], month=month, duplicates=duplicates)
    if name == "beneficiaries":
        checked = add_register_evidence(
            parsed, config.policy, region_prefixes=config.ingest.region_prefixes, month=month
        )
    elif name == "payouts":
        assert register_loaded is not None
        checked = add_payout_evidence(
            parsed,
            register_loaded,
            config.policy,
            max_pay_date_lag_days=config.ingest.max_pay_date_lag_days,
            month=month,
        )
    elif name == "deaths":
        checked = add_death_evidence(parsed)
    elif name == "certifications":
        assert register_loaded is not None
        checked = add_certification_evidence(parsed, register_loaded, month=month)
    else:
        checked = add_id_evidence(parsed)
    return checked.sort(ROW).collect()
