"""What a validation reports: each failed expectation as a sentence with counts only.

Expectations carry a severity: ``critical`` failures mean the file as a whole cannot be
trusted (half-delivered, broken export, wrong month) and the caller should stop the run;
``warning`` failures are row-level problems that are evidence for detection, never
rejections. Every problem sentence is masked for long digit runs, a second line of defence
behind the result formats that keep unexpected values out of GE's results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sentinel.masking import mask_text


@dataclass(frozen=True)
class ExpectationFailure:
    """One expectation that failed (or could not be evaluated) on a dataset.

    ``problem`` is a short sentence with counts only, never personal data.
    ``unexpected_count`` is the number of offending rows for row-level expectations and
    ``None`` for table- or column-level ones (row count, column exists, type).
    ``column`` is the column the expectation checks, which may be an evidence flag derived
    at ingest (``period_matches_drop``); ``file_column`` is the file's column that flag
    judges (``period``, the suite's ``meta.file_column``), the one an error names.
    """

    expectation: str
    column: str | None
    severity: str
    unexpected_count: int | None
    problem: str
    file_column: str | None = None

    @property
    def named_column(self) -> str | None:
        """The file's column to name to the person who sent the file."""
        return self.file_column or self.column


@dataclass(frozen=True)
class ValidationReport:
    """Outcome of validating one dataset of a month.

    ``success`` is True when no *critical* expectation failed, i.e. the file may be loaded;
    ``failed_expectations`` lists every failure (critical ones included), ``critical_failures``
    only those that should stop the run. ``evaluated`` counts the expectations run and
    ``seconds`` is wall time for this dataset, conversion included.
    """

    dataset: str
    success: bool
    critical_failures: list[ExpectationFailure]
    failed_expectations: list[ExpectationFailure]
    evaluated: int
    seconds: float

    @classmethod
    def nothing_delivered(cls, dataset: str) -> ValidationReport:
        """The report of an optional dataset with no file this month: nothing to judge, so
        nothing failed (its contract frame has no rows, and no row floor applies to it)."""
        return cls(dataset, True, [], [], evaluated=0, seconds=0.0)


def report_of(dataset: str, result: Any, seconds: float) -> ValidationReport:
    """The report of a GE suite result (or one merged over chunks) for ``dataset``."""
    # A column's failure before the table's: a file whose every payout kind is empty also
    # has no regular payouts, and the column is what to name first (stable otherwise).
    failures = sorted(
        (_failure(r) for r in result.results if not r.success), key=lambda f: f.column is None
    )
    critical = [f for f in failures if f.severity == "critical"]
    return ValidationReport(
        dataset=dataset,
        success=not critical,
        critical_failures=critical,
        failed_expectations=failures,
        evaluated=len(result.results),
        seconds=round(seconds, 3),
    )


def _failure(result: Any) -> ExpectationFailure:
    config = result.expectation_config
    kwargs = config.kwargs
    column = kwargs.get("column")
    if column is None and kwargs.get("column_list"):
        column = " x ".join(kwargs["column_list"])
    raw_severity = getattr(config, "severity", None) or "critical"
    severity = str(getattr(raw_severity, "value", raw_severity))
    problem = (config.meta or {}).get("problem") or config.type.replace("_", " ")
    details = result.result or {}
    unexpected = details.get("unexpected_count")
    if result.exception_info and result.exception_info.get("raised_exception"):
        sentence = (
            f"{problem}: could not be evaluated ({_exception_summary(result.exception_info)})"
        )
        unexpected = None
    elif unexpected is not None:
        total = details.get("element_count") or 0
        share = f" ({unexpected / total:.1%})" if total else ""
        sentence = f"{problem}: {unexpected:,} of {total:,} rows{share}"
        if "mostly" in kwargs and isinstance(kwargs["mostly"], int | float):
            sentence += f", tolerated share {1 - kwargs['mostly']:.1%}"
    elif config.type == "expect_table_row_count_to_be_between":
        sentence = (
            f"{problem}: {_count(details.get('observed_value'))} rows,"
            f" minimum {_count(kwargs.get('min_value'))}"
        )
    elif config.type == "expect_column_values_to_be_of_type":
        sentence = (
            f"{problem}: found {details.get('observed_value')}, expected {kwargs.get('type_')}"
        )
    else:
        sentence = problem
    return ExpectationFailure(
        expectation=config.type,
        column=column,
        severity=severity,
        unexpected_count=unexpected,
        problem=mask_text(sentence),
        file_column=(config.meta or {}).get("file_column"),
    )


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int | float) else str(value)


def _exception_summary(info: dict) -> str:
    message = str(info.get("exception_message") or "error").strip().splitlines()
    return message[0][:160] if message else "error"
