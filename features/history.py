"""The register history summarised per person: runs of unchanged monthly snapshot rows.

Every month the centre delivers its whole register; most pensioners' rows do not change
from one month to the next. A *run* is one person's row in one scheme, unchanged over
consecutive monthly snapshots: ``first_index`` and ``last_index`` (month indices, see
:func:`sentinel.periods.month_index`) bound the months it was listed like that. A year of a
county's snapshots (2.3 million rows) is ~210 thousand runs, and every register fact the
rules need — the latest row, when a person was first and last listed, when the bank account
or the collector changed, which receivers a person had in the lookback window, the months
shown suspended — is read from the runs exactly as from the snapshots.

A run ends at a month without that row (the person left the scheme, or the month has no
snapshot) or at any change of a register column. A month listing one person twice in one
scheme with different rows (a register error the rules still read) has two runs side by side.

The curated store keeps, for every month, the runs of all snapshots up to it, extended
month by month (:func:`extend_register_runs`) rather than rebuilt from twelve snapshots.
"""

from __future__ import annotations

import polars as pl

from features.cases import scheme_rank
from sentinel.contract import SCHEMES
from sentinel.periods import month_index, month_number, month_of_number, period_of_index

#: Register columns a run keeps (those present); ``person_id`` and ``scheme`` are its key.
RUN_STATE_COLUMNS: tuple[str, ...] = (
    "name",
    "sex",
    "birth_date",
    "township",
    "village",
    "benefit_start",
    "status",
    "bank_account",
    "collector_id",
    "last_cert_date",
    "cert_due_date",
)

_RUN_BOUNDS = ("first_index", "last_index")


def _run_columns(frame: pl.LazyFrame) -> list[str]:
    names = frame.collect_schema().names()
    return ["person_id", "scheme", *(c for c in RUN_STATE_COLUMNS if c in names)]


def register_runs(snapshots: pl.LazyFrame) -> pl.LazyFrame:
    """Runs of the register ``snapshots`` (rows with ``month``, ``YYYY-MM``).

    Returns the run columns (``person_id``, ``scheme`` and those of
    :data:`RUN_STATE_COLUMNS` present) plus ``first_index`` and ``last_index`` (Int32).
    Rows repeated within a month count once; rows without a month are not a snapshot and are
    left out (the curated register always has one).
    """
    columns = _run_columns(snapshots)
    rows = (
        snapshots.select(*columns, month_index(pl.col("month")).alias("_m"))
        .filter(pl.col("_m").is_not_null())
        .unique()
    )
    state = pl.struct(columns)
    # Rows of one state sit together, in month order; a new run starts at a new state or
    # after a month without the row. The hash only orders the rows: equality decides.
    ordered = rows.sort(state.hash(), "_m")
    new_run = state.ne_missing(state.shift(1)) | (pl.col("_m") - pl.col("_m").shift(1) != 1)
    return (
        ordered.with_columns(new_run.fill_null(True).cum_sum().alias("_run"))
        .group_by("_run")
        .agg(
            *[pl.col(c).first() for c in columns],
            pl.col("_m").min().alias("first_index"),
            pl.col("_m").max().alias("last_index"),
        )
        .drop("_run")
    )


def extend_register_runs(runs: pl.LazyFrame, snapshot: pl.LazyFrame, month: str) -> pl.LazyFrame:
    """The runs up to ``month``: ``runs`` (of the snapshots before it; later months are cut
    off) with the snapshot of ``month`` added — a row unchanged since the month before extends its run, any other
    row starts one. Equal to :func:`register_runs` of all the snapshots (tested)."""
    now = month_number(month)
    columns = _run_columns(snapshot)
    rows = snapshot.select(*columns).unique()
    # Runs that reach ``month`` or later (a store re-curating an earlier month) are cut first.
    numbered = runs_up_to(runs, month_of_number(now - 1)).with_row_index("_run")
    open_runs = numbered.filter(pl.col("last_index") == now - 1).select("_run", *columns)
    matched = rows.join(open_runs, on=columns, how="left", nulls_equal=True)
    extended = (
        matched.filter(pl.col("_run").is_not_null())
        .select("_run", pl.lit(True).alias("_extended"))
        .unique("_run")
    )
    started = matched.filter(pl.col("_run").is_null()).select(
        *columns,
        pl.lit(now, dtype=pl.Int32).alias("first_index"),
        pl.lit(now, dtype=pl.Int32).alias("last_index"),
    )
    kept = numbered.join(extended, on="_run", how="left").with_columns(
        pl.when(pl.col("_extended").fill_null(False))
        .then(pl.lit(now, dtype=pl.Int32))
        .otherwise(pl.col("last_index"))
        .alias("last_index")
    )
    return pl.concat([kept.drop("_run", "_extended"), started], how="diagonal_relaxed")


def runs_up_to(runs: pl.LazyFrame, month: str) -> pl.LazyFrame:
    """The runs as they were at the end of ``month``: later runs left out, a run still
    going then cut at ``month``."""
    now = month_number(month)
    return runs.filter(pl.col("first_index") <= now).with_columns(
        pl.min_horizontal(pl.col("last_index"), pl.lit(now, dtype=pl.Int32)).alias("last_index")
    )


def run_months(runs: pl.LazyFrame) -> pl.LazyFrame:
    """The runs back as one row per listed month: the run columns plus ``m`` (month index).
    Meant for the few runs a rule needs month by month (the register never on all of it)."""
    return (
        runs.with_columns(
            pl.int_ranges(pl.col("first_index"), pl.col("last_index") + 1, dtype=pl.Int32).alias(
                "m"
            )
        )
        .explode("m")
        .drop(*_RUN_BOUNDS)
    )


def register_people(runs: pl.LazyFrame) -> pl.LazyFrame:
    """One row per person from the latest snapshot that lists them (any scheme).

    ``runs`` is the register history summarised per person
    (:func:`features.history.register_runs`). ``benefit_start`` is the earliest start across
    schemes (the person applied, alive, then). A person listed in two schemes in one snapshot
    takes the alphabetically last scheme's row (repeatable); ``first_status`` is the status
    of the earliest row, likewise. ``last_listed`` and ``first_listed`` are ``YYYY-MM``.
    ``last_cert_date`` and ``cert_due_date``: the latest the register carried (null when the
    source system does not deliver them).
    """
    names = runs.collect_schema().names()
    runs = runs.with_columns(
        *[
            pl.lit(None, dtype=pl.Date).alias(c)
            for c in ("last_cert_date", "cert_due_date")
            if c not in names
        ]
    )
    latest = ("name", "sex", "birth_date", "scheme", "township", "village", "status")
    columns = (
        "person_id",
        *latest[:-1],
        "benefit_start",
        "status",
        "last_listed",
        "first_listed",
        "first_status",
        "last_cert_date",
        "cert_due_date",
    )
    # Most persons have one run, which is their row: only the others need ordering.
    several = pl.col("person_id").is_duplicated()
    single = (
        runs.filter(~several)
        .with_columns(
            period_of_index(pl.col("last_index")).alias("last_listed"),
            period_of_index(pl.col("first_index")).alias("first_listed"),
            pl.col("status").alias("first_status"),
        )
        .select(columns)
    )
    # Two rows of one scheme in one month (a register error) are told apart by a hash of the
    # whole row, so that the pick does not depend on row order.
    keyed = runs.filter(several).with_columns(
        _snapshot_order(pl.col("last_index")).alias("_last"),
        _snapshot_order(pl.col("first_index")).alias("_first"),
        pl.struct(pl.all().exclude("first_index", "last_index")).hash().alias("_row"),
    )
    newest = (
        keyed.sort("_last", "_row").unique("person_id", keep="last").select("person_id", *latest)
    )
    earliest = (
        keyed.sort("_first", "_row")
        .unique("person_id", keep="first")
        .select("person_id", pl.col("status").alias("first_status"))
    )
    spans = keyed.group_by("person_id").agg(
        pl.col("benefit_start").min(),
        pl.col("last_cert_date").max(),
        pl.col("cert_due_date").max(),
        period_of_index(pl.col("last_index").max()).alias("last_listed"),
        period_of_index(pl.col("first_index").min()).alias("first_listed"),
    )
    multiple = (
        newest.join(spans, on="person_id", how="left")
        .join(earliest, on="person_id", how="left")
        .select(columns)
    )
    return pl.concat([single, multiple])


def _snapshot_order(index: pl.Expr) -> pl.Expr:
    """An integer ordering register rows by month index, then scheme (canonical names)."""
    schemes = set(SCHEMES.values())
    return index.cast(pl.Int64) * (len(schemes) + 1) + scheme_rank()


__all__ = [
    "RUN_STATE_COLUMNS",
    "extend_register_runs",
    "register_people",
    "register_runs",
    "run_months",
    "runs_up_to",
]
