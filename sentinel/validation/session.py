"""One month's validation session: the datasets validated one after another in one
ephemeral GE context, each whole or in chunks (:mod:`sentinel.validation.chunks`), chunks
in this process or in worker processes side by side."""

from __future__ import annotations

import contextlib
import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from sentinel.validation.chunks import (
    SCHEMA_LEVEL,
    TABLE_LEVEL,
    MergedSuiteResult,
    chunk_files,
    chunk_key,
    condition_columns,
    merge_chunk_results,
    read_chunk,
)
from sentinel.validation.engine import (
    DATA_DOCS_SITE,
    RESULT_FORMAT,
    configuration_read_once,
    ephemeral_context,
    no_batch_fingerprint,
    quiet_great_expectations,
    shared_page_templates,
    static_assets_in_place,
    to_pandas,
)
from sentinel.validation.reports import ValidationReport, report_of
from sentinel.validation.suites import load_suite


class ValidationSession:
    """One ephemeral GE context for a month; validates datasets one after another.

    ``name`` defaults to the dataset; it only has to be unique within the session. ``suite``
    defaults to the reviewed suite of the dataset (tests pass a subset of it).
    """

    def __init__(self, docs_dir: Path | None, workers: int = 1) -> None:
        self.docs_dir = docs_dir
        self.context = ephemeral_context(docs_dir)
        self.workers = workers
        self._pool: Any = None
        #: A suite whose page was rendered since the Data Docs index was last written.
        self._index_due: Any = None
        #: Whether a Data Docs build of this session copied the site's static assets.
        self._assets_copied = False

    def close(self) -> None:
        """Write the Data Docs index (listing every page of the session) and stop the chunk
        worker processes, if any were started."""
        try:
            self._write_index()
        finally:
            if self._pool is not None:
                self._pool.shutdown()
                self._pool = None

    def _write_index(self) -> None:
        """The Data Docs index, once per session: GE rebuilds it from every stored result
        each time it is asked to, so asked once per page, the month's index work would grow
        with the square of its datasets. GE's public call renders at least one resource,
        so the last suite's page is rendered again (the same file)."""
        if self._index_due is None:
            return
        due, self._index_due = self._index_due, None
        with shared_page_templates(), static_assets_in_place():
            self.context.build_data_docs(
                site_names=[DATA_DOCS_SITE], resource_identifiers=[due], build_index=True
            )

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
        pdf = to_pandas(read_chunk(files, schema))
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
        (``tests/sentinel/test_validation_chunks.py``).

        A lazy ``frame`` (a scan of the checked file) is never held whole when chunked: one
        streamed pass writes each chunk's rows, in order, to a file of its own, and the
        chunks are read one at a time.
        """
        started = time.perf_counter()
        name = name or dataset
        suite = suite or load_suite(dataset)
        key = chunk_key(suite)
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
            result = self._run(name, to_pandas(whole), suite, parameters)
            return report_of(dataset, result, time.perf_counter() - started)
        table_level = [e for e in suite["expectations"] if e["type"] in TABLE_LEVEL]
        row_level = [e for e in suite["expectations"] if e["type"] not in TABLE_LEVEL]
        chunks = math.ceil(height / chunk_rows)
        bucket = pl.struct(key).hash(seed=0) % chunks
        with chunk_files(frame, bucket, chunks) as files:
            results = self._chunk_results(
                name,
                files,
                lazy.collect_schema(),
                {**suite, "expectations": row_level},
                parameters,
            )
        merged = [merge_chunk_results(parts, parameters) for parts in zip(*results, strict=True)]
        if table_level:
            import pandas as pd

            needed = sorted(set().union(*(condition_columns(e) for e in table_level)))
            table = (
                lazy.select(pl.col(needed).cast(pl.Categorical)).collect().to_pandas()
                if needed
                else pd.DataFrame(index=pd.RangeIndex(height))
            )
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
        return report_of(dataset, MergedSuiteResult(merged), time.perf_counter() - started)

    def _render_totals(self, name: str, suite: dict, results: list[Any], chunks: int) -> None:
        """One Data Docs page for a dataset validated in chunks: every expectation with its
        counts summed over the chunks (a page per chunk would bury the month's answer in
        dozens of pages, and rebuilding the site after each one costs more than the checks)."""
        import great_expectations as gx
        from great_expectations.core.expectation_validation_result import (
            ExpectationSuiteValidationResult,
            ExpectationValidationResult,
        )

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
        self._store_page(
            gx.ExpectationSuite(**{**suite, "name": name}),
            suite_result,
            run=f"{name}-totals",
            batch=f"{name}-{chunks}-chunks",
        )

    def _store_page(self, suite: Any, result: Any, *, run: str, batch: str) -> None:
        """Store one validation result and render its Data Docs page and the suite's page;
        the index, which lists every result of the session, is written when it closes."""
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        context = self.context
        context.suites.add(suite)
        run_id = RunIdentifier(run_name=run, run_time=datetime.now(UTC))
        result.meta = {**(result.meta or {}), "run_id": run_id}  # the page's run name and time
        identifier = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
            run_id=run_id,
            batch_identifier=batch,
        )
        context.validation_results_store.set(identifier, result)
        suite_page = ExpectationSuiteIdentifier(name=suite.name)
        assets = static_assets_in_place() if self._assets_copied else contextlib.nullcontext()
        with shared_page_templates(), assets:
            context.build_data_docs(
                site_names=[DATA_DOCS_SITE],
                resource_identifiers=[identifier, suite_page],
                build_index=False,
            )
        self._index_due, self._assets_copied = suite_page, True

    def _schema_holds(self, name: str, frame: pl.DataFrame, suite: dict, parameters: dict) -> bool:
        """Whether the columns exist with their contract types (checked on no rows).

        A file whose columns are missing or mistyped is rejected anyway (critical), and GE's
        row checks on a mistyped column are not additive over chunks: such a frame is
        validated whole, so its report is exactly the unchunked one.
        """
        schema_level = [e for e in suite["expectations"] if e["type"] in SCHEMA_LEVEL]
        if not schema_level:
            return True
        probe = self._run(
            f"{name}-schema",
            to_pandas(frame.head(0)),
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
            with no_batch_fingerprint(), configuration_read_once():
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
        from great_expectations.validator.v1_validator import Validator

        # GE's own validator on the batch definition, as a checkpoint runs it
        # (``batch.validate`` would build the batch twice).
        validator = Validator(
            batch_definition=batch_definition,
            batch_parameters=batch_parameters,
            result_format=RESULT_FORMAT,
        )
        result = validator.validate_expectation_suite(suite, parameters)
        if docs and self.docs_dir is not None:
            self._store_page(suite, result, run=name, batch=name)
        return result


#: A chunk worker process's own validation session (see :func:`_validate_chunk_file`).
_WORKER_SESSION: ValidationSession | None = None


def _validate_chunk_file(
    name: str, files: list[Path], schema: pl.Schema, suite: dict, parameters: dict
) -> list[Any]:
    """In a chunk worker process: one chunk's row-level results (GE result objects)."""
    global _WORKER_SESSION
    with quiet_great_expectations():
        if _WORKER_SESSION is None:
            _WORKER_SESSION = ValidationSession(None)
        return _WORKER_SESSION._chunk_outcome(name, files, schema, suite, parameters)
