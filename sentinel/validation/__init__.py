"""Validation of a monthly drop against the reviewed expectation suites in ``expectations/``.

Each dataset of the month is checked against its suite (Great Expectations 1.x, pandas
engine). Expectations carry a severity: ``critical`` failures mean the file as a whole cannot
be trusted (half-delivered, broken export, wrong month) and the caller should stop the run;
``warning`` failures are row-level problems that are evidence for detection, never rejections.

Policy numbers are not in the JSON: suites reference suite parameters (``{"$PARAMETER": ...}``)
whose values come from the typed :class:`~sentinel.config.SentinelConfig` at run time (see
:func:`suite_parameters`).

Reports and Data Docs carry counts only. Result formats are set so that GE never collects
unexpected values (identity numbers, names, bank accounts), and every problem sentence is
masked for long digit runs as a second line of defence.

The package's parts: :mod:`~sentinel.validation.suites` (the suites and their parameters),
:mod:`~sentinel.validation.reports` (failures as sentences), :mod:`~sentinel.validation.session`
(one month's GE session), :mod:`~sentinel.validation.chunks` (large datasets in chunks) and
:mod:`~sentinel.validation.engine` (Great Expectations as validation runs it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from pathlib import Path

import polars as pl

from sentinel.config import SentinelConfig
from sentinel.contract import DATASETS
from sentinel.validation.engine import quiet_great_expectations
from sentinel.validation.reports import ExpectationFailure, ValidationReport
from sentinel.validation.session import ValidationSession
from sentinel.validation.suites import load_suite, suite_parameters

__all__ = [
    "ExpectationFailure",
    "ValidationReport",
    "load_suite",
    "suite_parameters",
    "validate_month",
]


def validate_month(
    frames: Mapping[str, pl.DataFrame | pl.LazyFrame | Callable[[], pl.DataFrame | pl.LazyFrame]],
    config: SentinelConfig,
    month: str,
    previous_rows: dict[str, int],
    docs_dir: Path | None,
) -> dict[str, ValidationReport]:
    """Validate every dataset of ``month`` against its suite.

    ``frames`` maps dataset names to the ingest output: all rows of the file (quarantined ones
    included), canonical typed columns plus the Boolean evidence columns (or a function
    returning that frame, called when the dataset's turn comes, so that only one dataset is
    held at a time: a province register is 20M rows). A lazy frame (a scan of the checked
    file) that needs chunks is cut into chunk files and never held whole. ``previous_rows``
    maps dataset names to last month's *loaded* row count; a dataset absent from it (or 0)
    gets no row-count floor. When ``docs_dir`` is given, Data Docs HTML (``index.html`` and
    one page per dataset) is written there and nowhere else.

    A dataset of more than ``ingest.validation_chunk_rows`` rows is validated in chunks
    (:meth:`ValidationSession.validate`): the same suite, the same verdicts, with one pandas
    frame of at most that many rows in memory per process; ``ingest.validation_workers``
    processes validate chunks side by side (GE's pandas engine uses one core).

    Returns one report per dataset in ``frames``. The run should stop when any report has
    ``success`` False (a critical failure).
    """
    unknown = set(frames) - set(DATASETS)
    if unknown:
        raise KeyError(f"unknown datasets {sorted(unknown)}; expected some of {sorted(DATASETS)}")
    with (
        quiet_great_expectations(),
        contextlib.closing(
            ValidationSession(docs_dir, workers=config.ingest.validation_workers)
        ) as session,
    ):
        return {
            dataset: session.validate(
                dataset,
                frame() if callable(frame) else frame,
                suite_parameters(dataset, config, month, previous_rows.get(dataset)),
                chunk_rows=config.ingest.validation_chunk_rows,
            )
            for dataset, frame in frames.items()
        }
