"""The paid ledger summarised per person: runs of unchanged regular monthly payments.

Most pensioners are paid the same amount into the same account on the same day of every
month. A year of one region's ledger (2.1 million rows for 190 thousand pensioners) is some
380 thousand *ledger runs*: a run is one payee's regular payment, unchanged in scheme,
amount, account and day of payment, over consecutive periods each paid in its own drop
(or each the same number of drops later). Every other row — arrears, adjustments,
quarantined rows that were still paid, a payment on the 29th to 31st, a period paid twice —
stays a run of one month, exactly as it was.

A run has the :data:`LEDGER_COLUMNS` of its first row plus ``months``: row ``k`` of the run
(``0 <= k < months``) has ``period_index + k``, ``drop_index + k``, the period text of that
index and ``pay_date`` moved ``k`` months on; every other column is the first row's. So
:func:`ledger_rows` gives back the ledger row for row (tested), and a rule reads the
runs directly where it can and the rows of a few payees where it needs them.

The curated store keeps, for every month, the runs of the ledger up to it, extended month by
month (:func:`extend_ledger_runs`) rather than rebuilt from twelve drops.
"""

from __future__ import annotations

import polars as pl

from sentinel.periods import date_month_index, month_number, month_of_number, period_of_index

#: A ledger row (:func:`features.payments.paid_ledger`, without its derived keys).
LEDGER_COLUMNS: tuple[str, ...] = (
    "person_id",
    "scheme",
    "period",
    "period_index",
    "drop_index",
    "pay_date",
    "amount",
    "bank_account",
    "kind",
    "quarantined",
    "quarantine_reason",
)

#: The last month a day of payment exists in every month: a run paying on the 29th-31st
#: could not move to February unchanged, so such rows stay rows.
_LAST_DAY_IN_EVERY_MONTH = 28

_LAG = pl.col("drop_index") - pl.col("period_index")
_PAY_OFFSET = date_month_index(pl.col("pay_date")) - pl.col("period_index")
_PAY_DAY = pl.col("pay_date").dt.day()
#: What a run keeps constant besides its key (the rows' ``kind`` is ``regular``).
_STATE = ("person_id", "scheme", "amount", "bank_account", "_lag", "_offset", "_day")


def _joinable(ledger: pl.LazyFrame, *keep: str) -> pl.LazyFrame:
    """Ledger rows with ``_run``: True for a row that may sit in a run of several months
    (a regular, loaded payment with every month column known and a day every month has),
    and the run state columns ``_lag``, ``_offset`` and ``_day``."""
    runnable = (
        (pl.col("kind").cast(pl.String) == "regular")
        & ~pl.col("quarantined")
        & pl.col("person_id").is_not_null()
        & pl.col("drop_index").is_not_null()
        & (_PAY_DAY <= _LAST_DAY_IN_EVERY_MONTH)
        # The period text is the one its index gives (so a run can give it back).
        & (pl.col("period") == period_of_index(pl.col("period_index")))
    ).fill_null(False)
    return ledger.select(*keep, *LEDGER_COLUMNS).with_columns(
        runnable.alias("_run"),
        _LAG.alias("_lag"),
        _PAY_OFFSET.alias("_offset"),
        _PAY_DAY.alias("_day"),
    )


def ledger_runs(ledger: pl.LazyFrame) -> pl.LazyFrame:
    """The runs of a ledger (:data:`LEDGER_COLUMNS`): the columns of each run's first row,
    plus ``months`` (Int32, at least 1). Two rows of one state and one period (a payment
    made twice) sit in two runs."""
    rows = _joinable(ledger)
    joined = rows.filter(pl.col("_run")).sort(
        pl.col("person_id"),
        pl.col("scheme"),
        pl.col("amount"),
        pl.col("bank_account"),
        "_lag",
        "_offset",
        "_day",
        "period_index",
        nulls_last=True,
    )
    same = pl.col("period_index").diff() == 1
    for column in _STATE:
        same = same & pl.col(column).eq_missing(pl.col(column).shift(1))
    runs = (
        joined.with_columns((~same.fill_null(False)).cum_sum().alias("_id"))
        .group_by("_id")
        .agg(*[pl.col(c).first() for c in LEDGER_COLUMNS], pl.len().cast(pl.Int32).alias("months"))
        .drop("_id")
    )
    single = rows.filter(~pl.col("_run")).select(
        *LEDGER_COLUMNS, pl.lit(1, dtype=pl.Int32).alias("months")
    )
    return pl.concat([runs, single], how="vertical_relaxed")


def extend_ledger_runs(runs: pl.LazyFrame, rows: pl.LazyFrame, month: str) -> pl.LazyFrame:
    """The runs up to ``month``: ``runs`` (of the drops before it; later drops are cut off)
    with the ledger ``rows`` of drop ``month`` added. A row that continues a run ending in
    the month before (same state, next period) extends it; any other row starts a run.
    Expands to the same rows as :func:`ledger_runs` of all the drops (tested)."""
    now = month_number(month)
    numbered = ledger_runs_up_to(runs, month_of_number(now - 1)).with_row_index("_r")
    # Runs and rows meet on a hash of their state and period (two integers to join on, not
    # seven columns of text); the states are then compared, so a hash that collides only
    # leaves a row to start a run of its own. Two rows of one state and period (a payment
    # made twice) extend two runs, if there are two: hence the rank among equal hashes.
    key = pl.struct(*_STATE, "period_index").hash()
    # An open run: its last row is in the drop before; its next row would be this one.
    open_runs = (
        _joinable(numbered.filter(pl.col("drop_index") + pl.col("months") == now), "_r", "months")
        .filter(pl.col("_run"))
        .select("_r", *_STATE, (pl.col("period_index") + pl.col("months")).alias("period_index"))
        .with_columns(key.alias("_h"))
        .pipe(_rank_equal_hashes)
        .select("_r", "_h", "_rank", *[pl.col(c).alias(f"_open{c}") for c in _STATE])
    )
    new = _joinable(rows).with_columns(pl.when(pl.col("_run")).then(key).alias("_h"))
    new = _rank_equal_hashes(new)
    same = pl.all_horizontal(pl.col(c).eq_missing(pl.col(f"_open{c}")) for c in _STATE)
    matched = new.join(open_runs, on=["_h", "_rank"], how="left").with_columns(
        pl.when(same).then(pl.col("_r")).alias("_r")
    )
    extended = matched.filter(pl.col("_r").is_not_null()).select("_r", pl.lit(1).alias("_more"))
    started = matched.filter(pl.col("_r").is_null()).select(
        *LEDGER_COLUMNS, pl.lit(1, dtype=pl.Int32).alias("months")
    )
    kept = numbered.join(extended, on="_r", how="left").with_columns(
        (pl.col("months") + pl.col("_more").fill_null(0)).cast(pl.Int32)
    )
    return pl.concat([kept.drop("_r", "_more"), started], how="vertical_relaxed")


def _rank_equal_hashes(frame: pl.LazyFrame) -> pl.LazyFrame:
    """``_rank``: 0, 1, … among the rows of one ``_h`` (a window over the few repeated
    hashes only: over every row it would cost more than the rest of the extension)."""
    repeated = pl.col("_h").is_duplicated()
    return pl.concat(
        [
            frame.filter(~repeated).with_columns(pl.lit(0, dtype=pl.Int64).alias("_rank")),
            frame.filter(repeated).with_columns(
                pl.int_range(pl.len(), dtype=pl.Int64).over("_h").alias("_rank")
            ),
        ]
    )


def ledger_runs_up_to(runs: pl.LazyFrame, month: str) -> pl.LazyFrame:
    """The runs as they were at the end of drop ``month``: runs starting later left out, a
    run still going then cut at ``month``."""
    now = month_number(month)
    return runs.filter(pl.col("drop_index").fill_null(now) <= now).with_columns(
        pl.when(pl.col("drop_index").is_null())
        .then(pl.col("months"))
        .otherwise(pl.min_horizontal(pl.col("months"), now - pl.col("drop_index") + 1))
        .cast(pl.Int32)
        .alias("months")
    )


def ledger_rows(runs: pl.LazyFrame) -> pl.LazyFrame:
    """The runs back as ledger rows, one per month of each run: :data:`LEDGER_COLUMNS` and
    any other column the runs carry (not ``months`` nor ``period_end``). Meant for the few
    payees a rule reads row by row."""
    k = pl.col("_k")
    index = pl.col("period_index") + k
    pay_month = date_month_index(pl.col("pay_date")) + k
    return (
        runs.with_columns(pl.int_ranges(0, pl.col("months"), dtype=pl.Int32).alias("_k"))
        .explode("_k")
        .with_columns(
            pl.when(k == 0)
            .then(pl.col("period"))
            .otherwise(period_of_index(index))
            .alias("period"),
            index.alias("period_index"),
            (pl.col("drop_index") + k).alias("drop_index"),
            pl.when(k == 0)
            .then(pl.col("pay_date"))
            .otherwise(pl.date(pay_month // 12, pay_month % 12 + 1, pl.col("pay_date").dt.day()))
            .alias("pay_date"),
        )
        .drop("_k", "months", "period_end", strict=False)
    )


def rows_of(runs: pl.LazyFrame, persons: pl.LazyFrame, on: str = "person_id") -> pl.LazyFrame:
    """The ledger rows (:func:`ledger_rows`) of the payees in ``persons`` (by column ``on``)."""
    return ledger_rows(runs.join(persons.select(on).unique(), on=on, how="semi"))


def overlapping(runs: pl.LazyFrame, key: str = "payee") -> pl.LazyFrame:
    """The values of the integer column ``key`` (a payee, or payee and scheme) whose runs
    share a period: only these can have a period paid twice. Runs without a period are left
    out.

    In ``key`` and start order a run shares a period with an earlier one when it starts
    before the latest end so far; offsetting each key's periods by the key (times a month
    count no period reaches) lets one running maximum over the whole frame serve every key.
    """
    offset = pl.col(key).cast(pl.Int64) * 2**20
    return (
        runs.filter(pl.col("period_index").is_not_null())
        .select(key, "period_index", "months")
        .sort(key, "period_index")
        .filter(
            offset + pl.col("period_index")
            <= (offset + pl.col("period_index") + pl.col("months") - 1).cum_max().shift(1)
        )
        .select(key)
        .unique()
    )


def period_end() -> pl.Expr:
    """The period index of a run's last row (null when the run's period is unknown)."""
    return pl.col("period_index") + pl.col("months") - 1


__all__ = [
    "LEDGER_COLUMNS",
    "extend_ledger_runs",
    "ledger_rows",
    "ledger_runs",
    "ledger_runs_up_to",
    "overlapping",
    "period_end",
    "rows_of",
]
