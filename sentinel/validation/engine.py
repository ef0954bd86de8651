"""Great Expectations as validation runs it: an in-memory context that never renders its
configuration, quiet logs, one pandas conversion per frame, no batch fingerprint,
expectations that read their configuration once per question, and Data Docs templates
compiled once per process and static assets copied once per month.

Reports and Data Docs carry counts only: :data:`RESULT_FORMAT` is set so that GE never
collects unexpected values (identity numbers, names, bank accounts).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
from jinja2.bccache import Bucket, BytecodeCache

DATA_DOCS_SITE = "sentinel"

# Counts only: no unexpected values, no value counts, no index lists. This keeps personal data
# out of results and Data Docs and avoids building large lists on a full county month.
RESULT_FORMAT: dict[str, Any] = {
    "result_format": "BASIC",
    "partial_unexpected_count": 0,
    "exclude_unexpected_values": True,
    "include_unexpected_rows": False,
    "return_unexpected_index_query": False,
}


@contextlib.contextmanager
def quiet_great_expectations() -> Iterator[None]:
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


def ephemeral_context(docs_dir: Path | None) -> Any:
    """An in-memory GE context: no gx/ folder, no analytics, no progress bars.

    The only files it can write are the Data Docs under ``docs_dir``.
    """
    from great_expectations.data_context import set_context
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
    context = _unsaved_context_class()(project_config=config)
    set_context(context)  # as gx.get_context(mode="ephemeral") does with the context it builds
    return context


@functools.cache
def _unsaved_context_class() -> type:
    from great_expectations.data_context import EphemeralDataContext

    class UnsavedEphemeralContext(EphemeralDataContext):
        """GE's ephemeral context without its project-config "save".

        An ephemeral context's configuration is this object: GE's save only renders the
        whole project configuration as YAML into an in-memory store that nothing reads, and
        it does so on every data source, asset and batch definition added or deleted (four
        times per validated frame, more than the checks cost on a small dataset).
        """

        def _save_project_config(self) -> None:
            return None

    return UnsavedEphemeralContext


def to_pandas(frame: pl.DataFrame) -> Any:
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


@contextlib.contextmanager
def no_batch_fingerprint() -> Iterator[None]:
    """GE's pandas engine without its batch fingerprint.

    GE marks every pandas batch under ``HASH_THRESHOLD`` bytes (1 GB) with an MD5 of
    every value (``pandas_data_fingerprint``), one more pass over the whole frame. Nothing
    reads the marker: what was validated is named by the month's manifest, which holds the
    SHA-256 of every input file as delivered, and a chunk's results are summed into its
    dataset's page. The threshold is GE's module constant; it is set back on leaving.
    """
    from great_expectations.execution_engine import pandas_execution_engine as engine

    threshold = engine.HASH_THRESHOLD
    engine.HASH_THRESHOLD = 0
    try:
        yield
    finally:
        engine.HASH_THRESHOLD = threshold


@contextlib.contextmanager
def configuration_read_once() -> Iterator[None]:
    """GE's expectations reading their configuration once per question, not once per key.

    Each time GE asks an expectation for its domain, success or runtime arguments (several
    times per expectation and metric), GE 1.x rebuilds the expectation's whole
    configuration (a pydantic dump and a new ``ExpectationConfiguration``) for every key it
    looks up: 15 or more rebuilds per question, most of GE's own time on a small month.
    These versions give the same answers from one rebuild per question. Set back on
    leaving.
    """
    from great_expectations.expectations.expectation import Expectation

    originals = {name: getattr(Expectation, name) for name in _READ_ONCE}
    for name, replacement in _READ_ONCE.items():
        setattr(Expectation, name, replacement)
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(Expectation, name, original)


def _domain_kwargs(self: Any, configured: dict[str, Any] | None = None) -> dict[str, Any]:
    configured = self.configuration.kwargs if configured is None else configured
    return {key: configured.get(key, self._get_default_value(key)) for key in self.domain_keys}


def _success_kwargs(self: Any, configured: dict[str, Any] | None = None) -> dict[str, Any]:
    configured = self.configuration.kwargs if configured is None else configured
    success = {key: configured.get(key, self._get_default_value(key)) for key in self.success_keys}
    success.update(_domain_kwargs(self, configured))
    return success


def _runtime_kwargs(self: Any, runtime_configuration: dict | None = None) -> dict[str, Any]:
    from great_expectations.expectations.expectation import parse_result_format

    runtime_configuration = runtime_configuration or {}
    configured = self.configuration.kwargs
    runtime = {
        key: runtime_configuration.get(key, _success_kwarg(self, key, configured))
        for key in self.runtime_keys
    }
    runtime.update(_success_kwargs(self, configured))
    runtime["result_format"] = parse_result_format(runtime["result_format"])
    return runtime


def _success_kwarg(self: Any, key: str, configured: dict[str, Any]) -> Any:
    # GE's _get_success_kwarg(key) with its default None, without its warning for a key
    # that is no field (the runtime keys all are).
    if key in configured:
        return configured[key]
    field = self.__fields__.get(key)
    return field.default if field is not None and not field.required else None


_READ_ONCE = {
    "_get_domain_kwargs": _domain_kwargs,
    "_get_success_kwargs": _success_kwargs,
    "_get_runtime_kwargs": _runtime_kwargs,
}


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
def static_assets_in_place() -> Iterator[None]:
    """Data Docs builds that leave the site's static assets (style sheets, scripts, fonts:
    the same files for every page) as the session's first build copied them: GE copies
    them all again with every page. Set back on leaving."""
    from great_expectations.data_context.store.html_site_store import HtmlSiteStore

    original = HtmlSiteStore.copy_static_assets
    HtmlSiteStore.copy_static_assets = lambda store, *args, **kwargs: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        HtmlSiteStore.copy_static_assets = original  # type: ignore[method-assign]


@contextlib.contextmanager
def shared_page_templates() -> Iterator[None]:
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
