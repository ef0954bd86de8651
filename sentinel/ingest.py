"""Ingest one monthly drop: read every dataset, type it, find quarantine reasons, add evidence.

The flow calls these steps as tasks; they read the inbox (I/O) and apply the pure functions
of :mod:`features.records`. Nothing here writes files.
"""

from __future__ import annotations

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
    parse_records,
)
from sentinel.config import SentinelConfig
from sentinel.contract import DATASETS, ContractError, Dataset
from sentinel.io.readers import RawTable, find_dataset_file, read_dataset

#: Order matters: payouts and certifications are checked against the register.
INGEST_ORDER: tuple[str, ...] = ("beneficiaries", "payouts", "deaths", "certifications", "outcomes")


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
        return self.checked.filter(pl.col(REASON).is_null()).drop(REASON)

    @property
    def quarantined(self) -> pl.DataFrame:
        """Rows not loaded: original values as text, ``_row`` and ``_reason``."""
        reasons = self.checked.filter(pl.col(REASON).is_not_null()).select(ROW, REASON)
        return (
            self.raw.join(reasons, on=ROW, how="inner")
            .drop(MALFORMED)
            .sort(ROW)
        )


def empty_raw(dataset: Dataset) -> pl.DataFrame:
    """An all-text frame with the contract columns and no rows (dataset absent this month)."""
    schema = {c.name: pl.String for c in dataset.columns}
    schema[ROW] = pl.Int64
    schema[MALFORMED] = pl.String
    return pl.DataFrame(schema=schema)


def read_drop(month_dir: Path) -> dict[str, RawTable | None]:
    """Read every dataset file of ``INBOX/YYYY-MM``; a required one missing stops the run."""
    month_dir = Path(month_dir)
    if not month_dir.is_dir():
        raise ContractError(str(month_dir), None, "drop folder not found")
    tables: dict[str, RawTable | None] = {}
    for name in INGEST_ORDER:
        dataset = DATASETS[name]
        path = find_dataset_file(month_dir, dataset)
        if path is None:
            if dataset.required:
                raise ContractError(
                    str(month_dir / f"{name}.*"),
                    None,
                    f"required file missing (expected {name}.parquet, .csv or .xlsx)",
                )
            tables[name] = None
            continue
        tables[name] = read_dataset(path, dataset)
    return tables


def check_drop(
    tables: dict[str, RawTable | None], config: SentinelConfig, *, month: str
) -> dict[str, DatasetDrop]:
    """Type, quarantine and add evidence to every dataset of one drop."""
    drops: dict[str, DatasetDrop] = {}
    register_loaded: pl.LazyFrame | None = None
    for name in INGEST_ORDER:
        dataset = DATASETS[name]
        table = tables.get(name)
        raw = table.frame if table is not None else empty_raw(dataset)
        parsed = parse_records(raw.lazy(), dataset, month=month)
        if name == "beneficiaries":
            checked = add_register_evidence(parsed, config, month=month)
        elif name == "payouts":
            assert register_loaded is not None
            checked = add_payout_evidence(parsed, register_loaded, config, month=month)
        elif name == "deaths":
            checked = add_death_evidence(parsed)
        elif name == "certifications":
            assert register_loaded is not None
            checked = add_certification_evidence(parsed, register_loaded, month=month)
        else:
            checked = add_id_evidence(parsed)
        frame = checked.sort(ROW).collect()
        drops[name] = DatasetDrop(
            dataset=name,
            file=table.file if table is not None else None,
            sha256=table.sha256 if table is not None else None,
            raw=raw,
            checked=frame,
        )
        if name == "beneficiaries":
            register_loaded = drops[name].loaded.lazy()
    return drops
