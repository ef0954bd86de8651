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
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from jinja2.bccache import Bucket, BytecodeCache

from sentinel.config import SentinelConfig
from sentinel.contract import DATASETS
from sentinel.masking import mask_text

__all__ = [
    "ExpectationFailure",
    "ValidationReport",
    "load_suite",
    "suite_parameters",
    "validate_month",
]

EXPECTATIONS_DIR = Path(__file__).resolve().parent.parent / "expectations"
DATA_DOCS_SITE = "sentinel"

# Counts only: no unexpected values, no value counts, no index lists. This keeps personal data
# out of results and Data Docs and avoids building large lists on a full county month.
_RESULT_FORMAT: dict[str, Any] = {
    "result_format": "BASIC",
    "partial_unexpected_count": 0,
    "exclude_unexpected_values": True,
    "include_unexpected_rows": False,
    "return_unexpected_index_query": False,
}
_PARAMETER_KEY = "$PARAMETER"
# Six or more consecutive digits (optionally ending in X) could be part of an identity number or
# bank account; they never belong in a problem sentence.


@dataclass(frozen=True)
class ExpectationFailure:
    """One expectation that failed (or could not be evaluated) on a dataset.

    ``problem`` is a short sentence with counts only, never personal data.
    ``unexpected_count`` is the number of offending rows for row-level expectations and
    ``None`` for table- or column-level ones (row count, column exists, type).
    """

    expectation: str
    column: str | None
    severity: str
    unexpected_count: int | None
    problem: str


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


def load_suite(dataset: str) -> dict:
    """The reviewed suite of ``dataset`` as stored in ``expectations/<dataset>.json``.

    Raises ``KeyError`` for a name that is not a contract dataset.
    """
    if dataset not in DATASETS:
        raise KeyError(f"unknown dataset {dataset!r}; expected one of {sorted(DATASETS)}")
    path = EXPECTATIONS_DIR / f"{dataset}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def suite_parameters(
    dataset: str, config: SentinelConfig, month: str, previous_rows: int | None
) -> dict:
    """Values of the suite parameters of ``dataset`` for ``month``, from the typed config.

    - ``min_row_count``: previous month's loaded rows x ``ingest.min_row_ratio_vs_previous``
      rounded up; 0 when there is no previous month (``previous_rows`` None or 0).
    - ``min_parsed_share``: 1 - ``ingest.max_unparseable_share`` (``mostly`` of not-null checks).
    - ``min_on_period_share``: 1 - ``ingest.max_off_period_share`` (payouts only).
    - ``<scheme>_low`` / ``<scheme>_high``: ``policy.amount_bounds`` in yuan (payouts only).

    Only the parameters the suite references are returned. ``month`` (``YYYY-MM``) is
    accepted so month-dependent parameters can be added without changing callers.
    """
    ingest = config.ingest
    min_rows = 0
    if previous_rows:
        min_rows = math.ceil(previous_rows * ingest.min_row_ratio_vs_previous)
    available: dict[str, Any] = {
        "month": month,
        "min_row_count": min_rows,
        "min_parsed_share": round(1.0 - ingest.max_unparseable_share, 10),
        "min_on_period_share": round(1.0 - ingest.max_off_period_share, 10),
    }
    for scheme, bounds in config.policy.amount_bounds.items():
        available[f"{scheme}_low"] = bounds.low
        available[f"{scheme}_high"] = bounds.high
    referenced = _referenced_parameters(load_suite(dataset))
    missing = referenced - available.keys()
    if missing:
        raise KeyError(f"suite {dataset!r} references unknown parameters {sorted(missing)}")
    return {name: available[name] for name in sorted(referenced)}


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
    (:meth:`_ValidationSession.validate`): the same suite, the same verdicts, with one pandas
    frame of at most that many rows in memory per process; ``ingest.validation_workers``
    processes validate chunks side by side (GE's pandas engine uses one core).

    Returns one report per dataset in ``frames``. The run should stop when any report has
    ``success`` False (a critical failure).
    """
    unknown = set(frames) - set(DATASETS)
    if unknown:
        raise KeyError(f"unknown datasets {sorted(unknown)}; expected some of {sorted(DATASETS)}")
    with (
        _quiet_great_expectations(),
        contextlib.closing(
            _ValidationSession(docs_dir, workers=config.ingest.validation_workers)
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


# --- internals -------------------------------------------------------------------------------


def _referenced_parameters(node: Any) -> set[str]:
    if isinstance(node, dict):
        if set(node) == {_PARAMETER_KEY}:
            return {node[_PARAMETER_KEY]}
        return set().union(*(_referenced_parameters(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_referenced_parameters(v) for v in node))
    return set()


@contextlib.contextmanager
def _quiet_great_expectations() -> Iterator[None]:
    """Silence GE's INFO/WARNING logs and warnings for the duration of a validation."""
    logger = logging.getLogger("great_expectations")
    previous_level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(previous_level)


def _ephemeral_context(docs_dir: Path | None) -> Any:
    """An in-memory GE context: no gx/ folder, no analytics, no progress bars.

    The only files it can write are the Data Docs under ``docs_dir``.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    sites: dict[str, Any] = {}
    if docs_dir is not None:
        docs_dir = Path(docs_dir).resolve()
        docs_dir.mkdir(parents=True, exist_ok=True)
        sites[DATA_DOCS_SITE] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_dir),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites=sites,
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _to_pandas(frame: pl.DataFrame) -> Any:
    """One conversion to pandas with Arrow-backed columns (GE has no polars engine).

    Dates become numpy ``datetime64[ms]`` because GE's pandas type check cannot name Arrow
    date types; everything else stays Arrow-backed (no copy of strings to Python objects).
    """
    dates = [name for name, dtype in frame.schema.items() if dtype == pl.Date]
    floats = [name for name, dtype in frame.schema.items() if dtype.is_float()]
    pdf = frame.to_pandas(use_pyarrow_extension_array=True)
    if dates or floats:
        # Numpy columns for these: GE's range checks are vectorised only on numpy numbers
        # (on Arrow-backed ones they call Python per row), and pandas' own astype of an
        # Arrow date column goes through Python objects, row by row. Missing
        # amounts become NaN, which GE counts as missing like before.
        numpy_columns = frame.select(
            pl.col(dates).cast(pl.Datetime("ms")), pl.col(floats).cast(pl.Float64)
        ).to_pandas()
        for name in [*dates, *floats]:
            pdf[name] = numpy_columns[name].to_numpy()
    return pdf


class _ValidationSession:
    """One ephemeral GE context for a month; validates datasets one after another.

    ``name`` defaults to the dataset; it only has to be unique within the session. ``suite``
    defaults to the reviewed suite of the dataset (tests pass a subset of it).
    """

    def __init__(self, docs_dir: Path | None, workers: int = 1) -> None:
        self.docs_dir = docs_dir
        self.context = _ephemeral_context(docs_dir)
        self.workers = workers
        self._pool: Any = None

    def close(self) -> None:
        """Stop the chunk worker processes, if any were started."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _chunk_results(
        self, name: str, files: list[list[Path]], schema: pl.Schema, suite: dict, parameters: dict
    ) -> list[list[Any]]:
        """Each non-empty chunk's row-level results, in chunk order: in this process, or in
        ``workers`` processes side by side (each with its own GE context)."""
        runs = [
            (f"{name}-chunk-{index + 1:03d}-of-{len(files):03d}", chunk)
            for index, chunk in enumerate(files)
            if chunk
        ]
        if self.workers <= 1 or len(runs) <= 1:
            return [
                self._chunk_outcome(run, chunk, schema, suite, parameters) for run, chunk in runs
            ]
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # Spawned, not forked: a fork of a process running polars' thread pool can hang.
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
            )
        futures = [
            self._pool.submit(_validate_chunk_file, run, chunk, schema, suite, parameters)
            for run, chunk in runs
        ]
        return [future.result() for future in futures]

    def _chunk_outcome(
        self, name: str, files: list[Path], schema: pl.Schema, suite: dict, parameters: dict
    ) -> list[Any]:
        """One chunk's row-level results (GE result objects), read from its files."""
        pdf = _to_pandas(_read_chunk(files, schema))
        with _no_batch_fingerprint():
            return list(self._run(name, pdf, suite, parameters, docs=False).results)

    def validate(
        self,
        dataset: str,
        frame: pl.DataFrame | pl.LazyFrame,
        parameters: dict,
        name: str | None = None,
        suite: dict | None = None,
        chunk_rows: int | None = None,
    ) -> ValidationReport:
        """Validate ``frame`` against the suite; in chunks when it has more than ``chunk_rows``.

        Chunks are drawn by a hash of the columns every uniqueness expectation shares, so
        duplicates always meet in one chunk. Row-level results are summed over the chunks
        and judged against ``mostly`` on the totals; table-level expectations (row count)
        are evaluated once on the full height, with only the columns their row conditions
        read (none for a plain row count); column and type
        expectations must hold in every chunk. The verdicts equal the unchunked ones
        (``tests/sentinel/test_validation.py``).

        A lazy ``frame`` (a scan of the checked file) is never held whole when chunked: one
        streamed pass writes each chunk's rows, in order, to a file of its own, and the
        chunks are read one at a time.
        """
        started = time.perf_counter()
        name = name or dataset
        suite = suite or load_suite(dataset)
        key = _chunk_key(suite)
        lazy = frame.lazy()
        height = lazy.select(pl.len()).collect().item()
        columns = lazy.collect_schema().names()
        if (
            chunk_rows is None
            or height <= chunk_rows
            or key is None
            or not set(key) <= set(columns)  # a missing column fails on the whole frame
            or not self._schema_holds(name, lazy.head(0).collect(), suite, parameters)
        ):
            whole = frame if isinstance(frame, pl.DataFrame) else frame.collect()
            result = self._run(name, _to_pandas(whole), suite, parameters)
            return _report(dataset, result, time.perf_counter() - started)
        table_level = [e for e in suite["expectations"] if e["type"] in _TABLE_LEVEL]
        row_level = [e for e in suite["expectations"] if e["type"] not in _TABLE_LEVEL]
        chunks = math.ceil(height / chunk_rows)
        bucket = pl.struct(key).hash(seed=0) % chunks
        with _chunk_files(frame, bucket, chunks) as files:
            results = self._chunk_results(
                name,
                files,
                lazy.collect_schema(),
                {**suite, "expectations": row_level},
                parameters,
            )
        merged = [_merge_chunk_results(parts, parameters) for parts in zip(*results, strict=True)]
        if table_level:
            import pandas as pd

            needed = sorted(set().union(*(_condition_columns(e) for e in table_level)))
            table = (
                lazy.select(pl.col(needed).cast(pl.Categorical)).collect().to_pandas()
                if needed
                else pd.DataFrame(index=pd.RangeIndex(height))
            )
            # The table's batch, like a chunk's, gets no fingerprint: its results are part
            # of the dataset's page of totals, its batch marker is read by nobody.
            with _no_batch_fingerprint():
                whole = self._run(
                    f"{name}-table",
                    table,
                    {**suite, "expectations": table_level},
                    parameters,
                    docs=False,
                )
            merged.extend(whole.results)
        if self.docs_dir is not None:
            self._render_totals(name, suite, merged, chunks)
        return _report(dataset, _MergedSuiteResult(merged), time.perf_counter() - started)

    def _render_totals(self, name: str, suite: dict, results: list[Any], chunks: int) -> None:
        """One Data Docs page for a dataset validated in chunks: every expectation with its
        counts summed over the chunks (a page per chunk would bury the month's answer in
        dozens of pages, and rebuilding the site after each one costs more than the checks)."""
        import great_expectations as gx
        from great_expectations.core.expectation_validation_result import (
            ExpectationSuiteValidationResult,
            ExpectationValidationResult,
        )
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        context = self.context
        context.suites.add(gx.ExpectationSuite(**{**suite, "name": name}))
        expectation_results = [
            ExpectationValidationResult(
                success=r.success,
                expectation_config=r.expectation_config,
                result=r.result,
                exception_info=r.exception_info
                or {
                    "raised_exception": False,
                    "exception_message": None,
                    "exception_traceback": None,
                },
            )
            for r in results
        ]
        passed = sum(1 for r in expectation_results if r.success)
        total = len(expectation_results)
        suite_result = ExpectationSuiteValidationResult(
            success=passed == total,
            results=expectation_results,
            suite_name=name,
            statistics={
                "evaluated_expectations": total,
                "successful_expectations": passed,
                "unsuccessful_expectations": total - passed,
                "success_percent": 100.0 * passed / total if total else None,
            },
            meta={"validated_in_chunks": chunks},
        )
        identifier = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=name),
            run_id=RunIdentifier(run_name=f"{name}-totals"),
            batch_identifier=f"{name}-{chunks}-chunks",
        )
        context.validation_results_store.set(identifier, suite_result)
        with _shared_page_templates():
            context.build_data_docs(
                site_names=[DATA_DOCS_SITE],
                resource_identifiers=[identifier, ExpectationSuiteIdentifier(name=name)],
            )

    def _schema_holds(self, name: str, frame: pl.DataFrame, suite: dict, parameters: dict) -> bool:
        """Whether the columns exist with their contract types (checked on no rows).

        A file whose columns are missing or mistyped is rejected anyway (critical), and GE's
        row checks on a mistyped column are not additive over chunks: such a frame is
        validated whole, so its report is exactly the unchunked one.
        """
        schema_level = [e for e in suite["expectations"] if e["type"] in _SCHEMA_LEVEL]
        if not schema_level:
            return True
        probe = self._run(
            f"{name}-schema",
            _to_pandas(frame.head(0)),
            {**suite, "expectations": schema_level},
            parameters,
            docs=False,
        )
        return bool(probe.success)

    def _run(self, name: str, pdf: Any, suite: dict, parameters: dict, *, docs: bool = True) -> Any:
        """One GE validation of one pandas frame; a Data Docs page when docs are on and
        ``docs`` (a chunk of a dataset has none: the dataset gets one page of its totals)."""
        import great_expectations as gx

        context = self.context
        suite = gx.ExpectationSuite(**{**suite, "name": name})
        batch_definition = (
            context.data_sources.add_pandas(name)
            .add_dataframe_asset(name)
            .add_batch_definition_whole_dataframe(name)
        )
        batch_parameters = {"dataframe": pdf}
        try:
            return self._validate_batch(
                name, batch_definition, batch_parameters, suite, parameters, docs=docs
            )
        finally:
            # The data source holds on to the pandas frame it was given: dropped once the
            # results are in (a province validates 40 chunks of 1M rows in one session).
            context.delete_datasource(name)

    def _validate_batch(
        self,
        name: str,
        batch_definition: Any,
        batch_parameters: dict,
        suite: Any,
        parameters: dict,
        *,
        docs: bool,
    ) -> Any:
        import great_expectations as gx

        context = self.context
        if not docs or self.docs_dir is None:
            # No page: nothing is stored. GE's own validator on the batch definition, as a
            # checkpoint runs it; ``batch.validate`` would build the batch twice.
            from great_expectations.validator.v1_validator import Validator

            validator = Validator(
                batch_definition=batch_definition,
                batch_parameters=batch_parameters,
                result_format=_RESULT_FORMAT,
            )
            return validator.validate_expectation_suite(suite, parameters)
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(
                name=name, data=batch_definition, suite=context.suites.add(suite)
            )
        )
        # Renders this dataset's result page and refreshes index.html (which lists every
        # result stored so far in this month's context).
        actions = [
            gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=[DATA_DOCS_SITE])
        ]
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=name,
                validation_definitions=[definition],
                actions=actions,
                result_format=_RESULT_FORMAT,
            )
        )
        with _shared_page_templates():
            outcome = checkpoint.run(
                batch_parameters=batch_parameters, expectation_parameters=parameters
            )
        ((_, result),) = outcome.run_results.items()
        return result


#: Expectations about the table as a whole: evaluated once, on the full height.
_TABLE_LEVEL = frozenset({"expect_table_row_count_to_be_between"})


def _condition_columns(expectation: dict) -> set[str]:
    """Columns the expectation's ``row_condition`` reads (none without one)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            column = node.get("column")
            if isinstance(column, dict) and isinstance(column.get("name"), str):
                found.add(column["name"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(expectation["kwargs"].get("row_condition"))
    return found


#: Expectations about the columns themselves (the same verdict on any slice of rows).
_SCHEMA_LEVEL = frozenset({"expect_column_to_exist", "expect_column_values_to_be_of_type"})
#: Expectations whose unexpected values are the missing ones (no separate missing count).
_NULLS_ARE_UNEXPECTED = frozenset({"expect_column_values_to_not_be_null"})


@contextlib.contextmanager
def _chunk_files(
    frame: pl.DataFrame | pl.LazyFrame, bucket: pl.Expr, chunks: int
) -> Iterator[list[list[Path]]]:
    """Every chunk's rows (in frame order) written once to files of its own in a temporary
    folder, in one streamed pass: the files of chunk ``i`` are the ``i``-th list (empty
    when no row hashed to it)."""
    with tempfile.TemporaryDirectory(prefix="sentinel-validate-") as folder:
        frame.lazy().with_columns(bucket.alias("_chunk")).sink_parquet(
            pl.PartitionBy(
                folder,
                key="_chunk",
                include_key=False,
                max_rows_per_file=None,
                approximate_bytes_per_file=None,
            ),
            mkdir=True,
            # Read once, by the chunk's validation: lz4 writes faster than the default zstd.
            compression="lz4",
        )
        yield [sorted(Path(folder).glob(f"_chunk={index}/*.parquet")) for index in range(chunks)]


@contextlib.contextmanager
def _no_batch_fingerprint() -> Iterator[None]:
    """GE's pandas engine without its batch fingerprint, for one chunk's validation.

    GE marks every pandas batch under ``HASH_THRESHOLD`` bytes (1 GB) with an MD5 of
    every value (``pandas_data_fingerprint``), about as much work as the validation of the
    chunk itself. A chunk's marker is read by nobody: its row-level results are summed
    into the dataset's page, and the month's manifest holds the SHA-256 of every input
    file. The threshold is GE's module constant; it is set back on leaving.
    """
    from great_expectations.execution_engine import pandas_execution_engine as engine

    threshold = engine.HASH_THRESHOLD
    engine.HASH_THRESHOLD = 0
    try:
        yield
    finally:
        engine.HASH_THRESHOLD = threshold


class _CompiledTemplates(BytecodeCache):
    """Jinja's compiled Data Docs templates, kept in memory for the life of the process.

    Each Data Docs build makes new GE views, each with its own Jinja environment, and so
    would parse and compile every page template again (most of the cost of a small
    dataset's page). The cache key includes a checksum of the template's source, so a
    changed template is compiled anew.
    """

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_PAGE_TEMPLATES = _CompiledTemplates()


@contextlib.contextmanager
def _shared_page_templates() -> Iterator[None]:
    """GE's Data Docs views with :data:`_PAGE_TEMPLATES` as their Jinja bytecode cache.

    GE builds its views (and their Jinja environments) inside each Data Docs build, with no
    way to pass a cache in: the views made while this is entered get the shared cache; the
    view class is set back on leaving. The pages are the same, only compiled once.
    """
    from great_expectations.render.view.view import DefaultJinjaView

    original = DefaultJinjaView.__init__

    def with_shared_cache(view: Any, *args: Any, **kwargs: Any) -> None:
        original(view, *args, **kwargs)
        view.env.bytecode_cache = _PAGE_TEMPLATES

    DefaultJinjaView.__init__ = with_shared_cache  # type: ignore[method-assign]
    try:
        yield
    finally:
        DefaultJinjaView.__init__ = original  # type: ignore[method-assign]


def _read_chunk(files: list[Path], schema: pl.Schema) -> pl.DataFrame:
    return pl.concat([pl.DataFrame(schema=schema), *(pl.read_parquet(f) for f in files)])


#: A chunk worker process's own validation session (see :func:`_validate_chunk_file`).
_WORKER_SESSION: _ValidationSession | None = None


def _validate_chunk_file(
    name: str, files: list[Path], schema: pl.Schema, suite: dict, parameters: dict
) -> list[Any]:
    """In a chunk worker process: one chunk's row-level results (GE result objects)."""
    global _WORKER_SESSION
    with _quiet_great_expectations():
        if _WORKER_SESSION is None:
            _WORKER_SESSION = _ValidationSession(None)
        return _WORKER_SESSION._chunk_outcome(name, files, schema, suite, parameters)


def _chunk_key(suite: dict) -> list[str] | None:
    """Columns shared by every uniqueness expectation of ``suite`` (chunks hash on them).

    Without uniqueness expectations any column splits the rows fairly; when uniqueness
    expectations share no column the suite is validated unchunked (``None``), since no
    split would keep every duplicate in one chunk.
    """
    keys: list[set[str]] = []
    for expectation in suite["expectations"]:
        kwargs = expectation["kwargs"]
        if expectation["type"] == "expect_compound_columns_to_be_unique":
            keys.append(set(kwargs["column_list"]))
        elif expectation["type"] == "expect_column_values_to_be_unique":
            keys.append({kwargs["column"]})
    if not keys:
        columns = [e["kwargs"]["column"] for e in suite["expectations"] if "column" in e["kwargs"]]
        return columns[:1] or None
    shared = set.intersection(*keys)
    return sorted(shared) or None


@dataclass(frozen=True)
class _MergedSuiteResult:
    """The part of GE's suite result that :func:`_report` reads."""

    results: list[Any]


@dataclass(frozen=True)
class _MergedExpectationResult:
    """One expectation's result summed over chunks (the attributes :func:`_failure` reads)."""

    expectation_config: Any
    success: bool
    result: dict
    exception_info: dict | None


def _resolved(value: Any, parameters: dict) -> Any:
    if isinstance(value, dict) and set(value) == {_PARAMETER_KEY}:
        return parameters[value[_PARAMETER_KEY]]
    return value


def _merge_chunk_results(parts: tuple[Any, ...], parameters: dict) -> Any:
    """One expectation's verdict over all chunks, as GE would give it on the whole frame."""
    first = parts[0]
    raised = [p for p in parts if p.exception_info and p.exception_info.get("raised_exception")]
    if raised:
        return raised[0]
    if any("unexpected_count" not in (p.result or {}) for p in parts):
        # Column existence and type: a property of the columns, the same in every chunk.
        return next((p for p in parts if not p.success), first)
    config = first.expectation_config
    elements = sum(p.result.get("element_count", 0) for p in parts)
    unexpected = sum(p.result.get("unexpected_count", 0) for p in parts)
    missing = sum(p.result.get("missing_count", 0) for p in parts)
    judged = elements if config.type in _NULLS_ARE_UNEXPECTED else elements - missing
    mostly = _resolved(config.kwargs.get("mostly", 1.0), parameters)
    success = judged == 0 or (judged - unexpected) / judged >= float(mostly)
    result = {"element_count": elements, "unexpected_count": unexpected}
    if judged:
        result["unexpected_percent"] = 100.0 * unexpected / judged
    if config.type not in _NULLS_ARE_UNEXPECTED:
        result["missing_count"] = missing
    return _MergedExpectationResult(config, success, result, None)


def _report(dataset: str, result: Any, seconds: float) -> ValidationReport:
    failures = [_failure(r) for r in result.results if not r.success]
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
    )


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int | float) else str(value)


def _exception_summary(info: dict) -> str:
    message = str(info.get("exception_message") or "error").strip().splitlines()
    return message[0][:160] if message else "error"
