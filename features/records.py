"""From raw text rows to typed records: quarantine reasons and evidence flags.

A row is *quarantined* when it cannot be read or trusted as a record (unparseable date or
amount, empty or malformed ID, a value outside the contract's value set, an exact duplicate
of another row, a line that did not split into the header's fields). It keeps its original
text and a ``_reason``.

A row that is readable but suspicious (ID checksum fails, birth date disagrees with the ID,
a payment to someone absent from the register, an amount far off the standard) is *loaded*
and carries Boolean evidence columns: validation reports it and detection scores it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import polars as pl

from features.identity import id_birth_date, id_checksum_ok, id_is_well_formed
from features.parsing import map_category, parse_amount, parse_date, parse_period
from features.regions import region_table
from sentinel.config import PolicyConfig
from sentinel.contract import Column, Dataset
from sentinel.periods import month_end, month_start

REASON = "_reason"
ROW = "_row"
MALFORMED = "_malformed"


def exact_duplicates(raw: pl.LazyFrame) -> pl.LazyFrame:
    """``_row`` of every row equal in every original value to an earlier row (by ``_row``).

    Rows are first matched by a 64-bit hash of all their values (one pass, no text kept);
    only the few rows whose hash repeats are compared value by value, so the answer is
    exact (a hash collision is a candidate, not a duplicate) and equal rows in different
    chunks of a large file are found.
    """
    columns = [c for c in raw.collect_schema().names() if c not in (ROW, MALFORMED)]
    hashed = raw.select(ROW, pl.struct(columns).hash(seed=0).alias("_hash"))
    candidates = hashed.filter(pl.len().over("_hash") > 1).select(ROW)
    return (
        raw.join(candidates, on=ROW, how="semi")
        .sort(ROW)
        .filter(pl.int_range(pl.len()).over(columns) > 0)
        .select(ROW)
    )


def parse_records(
    raw: pl.LazyFrame,
    dataset: Dataset,
    *,
    month: str,
    duplicates: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """Type the contract columns of ``raw`` (all text) and give every row its quarantine reason.

    Returns the typed contract columns, ``_row`` and ``_reason`` (null for rows that load;
    otherwise every problem found, joined by ``"; "``). Extra, non-contract columns are
    dropped here (they stay in the raw file and in quarantine output). For payouts, a
    *regular* payment whose ``period`` is not the drop's ``month`` is quarantined as
    ``period not the drop's month``; arrears and adjustments may name earlier periods.

    ``duplicates`` (``_row``, from :func:`exact_duplicates`) names the rows that are exact
    duplicates of an earlier row when ``raw`` is one chunk of a larger file; by default
    they are found in ``raw`` itself.
    """
    typed: list[pl.Expr] = []
    reasons: list[pl.Expr] = [pl.col(MALFORMED)]
    parsed = raw
    for column in dataset.columns:
        text = pl.col(column.name)
        parser = _PARSERS.get(column.kind)
        if column.kind == "id":
            value = text.str.to_uppercase()
            problem = pl.when(text.is_not_null() & ~id_is_well_formed(value)).then(
                pl.lit(f"{column.name} malformed")
            )
        elif parser is not None:
            # Parse each distinct text once: a county month has ~190k rows but only a few
            # thousand distinct dates, periods, amounts or category spellings.
            target = f"__typed_{column.name}"
            distinct = raw.select(text).unique().with_columns(parser(column)(text).alias(target))
            parsed = parsed.join(
                distinct, on=column.name, how="left", nulls_equal=True, maintain_order="left"
            )
            value = pl.col(target)
            label = "not in value set" if column.kind == "category" else "unparseable"
            problem = pl.when(text.is_not_null() & value.is_null()).then(
                pl.lit(f"{column.name} {label}")
            )
        else:
            value = text
            problem = pl.lit(None, dtype=pl.String)
        typed.append(value.alias(column.name))
        reasons.append(problem)
        if not column.nullable:
            reasons.append(pl.when(text.is_null()).then(pl.lit(f"{column.name} empty")))

    # Exact duplicates: every original value equal to an earlier row's (the first one loads).
    if duplicates is None:
        duplicates = exact_duplicates(raw)
    parsed = parsed.join(
        duplicates.select(ROW, pl.lit(True).alias("__duplicate")),
        on=ROW,
        how="left",
        maintain_order="left",
    )
    reasons.append(pl.when(pl.col("__duplicate")).then(pl.lit("duplicate row")))

    frame = parsed.with_columns(
        pl.concat_str(reasons, separator="; ", ignore_nulls=True).alias(REASON)
    ).select([ROW, *typed, REASON])
    if dataset.name == "payouts":
        frame = frame.with_columns(_payout_reasons(month))
    return frame.with_columns(
        pl.when(pl.col(REASON) == "").then(None).otherwise(pl.col(REASON)).alias(REASON)
    )


def _category_parser(column: Column) -> Callable[[pl.Expr], pl.Expr]:
    values = column.values or {}
    return lambda text: map_category(text, values)


_PARSERS: dict[str, Callable[[Column], Callable[[pl.Expr], pl.Expr]]] = {
    "date": lambda _c: parse_date,
    "period": lambda _c: parse_period,
    "amount": lambda _c: parse_amount,
    "category": _category_parser,
}


def _payout_reasons(month: str) -> pl.Expr:
    extra = pl.concat_str(
        [
            pl.col(REASON),
            pl.when((pl.col("kind") == "regular") & (pl.col("period") != month)).then(
                pl.lit("period not the drop's month")
            ),
            pl.when((pl.col("amount") < 0) & (pl.col("kind") != "adjustment")).then(
                pl.lit("amount negative")
            ),
        ],
        separator="; ",
        ignore_nulls=True,
    )
    return extra.str.strip_chars("; ").alias(REASON)


def add_id_evidence(records: pl.LazyFrame, column: str = "person_id") -> pl.LazyFrame:
    """Add ``person_id_well_formed`` and ``person_id_checksum_ok`` (null when the ID is empty)."""
    ident = pl.col(column)
    return records.with_columns(
        pl.when(ident.is_null())
        .then(None)
        .otherwise(id_is_well_formed(ident))
        .alias("person_id_well_formed"),
        pl.when(ident.is_null() | ~id_is_well_formed(ident))
        .then(None)
        .otherwise(id_checksum_ok(ident))
        .alias("person_id_checksum_ok"),
    )


def add_register_evidence(
    register: pl.LazyFrame, policy: PolicyConfig, *, region_prefixes: list[str], month: str
) -> pl.LazyFrame:
    """Evidence columns of the register snapshot, against the ``policy`` section and the
    served provinces (``ingest.region_prefixes``).

    ``birth_date_matches_id``: the registered birth date equals ID digits 7–14.
    ``region_known``: the region code is a current code in a served province (an abolished
    code is a warning only). ``age_plausible``: age at month end within
    [min_pension_age, max_plausible_age].
    """
    regions = region_table().lazy().select("region_code", "region_current")
    end = month_end(month)
    age = (pl.lit(end) - pl.col("birth_date")).dt.total_days() / 365.25
    return (
        register.pipe(add_id_evidence)
        .join(regions, on="region_code", how="left", maintain_order="left")
        .with_columns(
            (id_birth_date(pl.col("person_id")) == pl.col("birth_date")).alias(
                "birth_date_matches_id"
            ),
            (
                pl.col("region_current").fill_null(False)
                & pl.col("region_code").str.slice(0, 2).is_in(region_prefixes)
            ).alias("region_known"),
            age.is_between(policy.min_pension_age, policy.max_plausible_age).alias("age_plausible"),
        )
        .drop("region_current")
    )


def add_payout_evidence(
    payouts: pl.LazyFrame,
    register: pl.LazyFrame,
    policy: PolicyConfig,
    *,
    max_pay_date_lag_days: int,
    month: str,
) -> pl.LazyFrame:
    """Evidence columns of the payout ledger against this month's register, the scheme
    bounds of the ``policy`` section and the pay-date lag (``ingest.max_pay_date_lag_days``).

    ``in_register``: person and scheme present in the register snapshot.
    ``amount_within_bounds``: a regular payment within the scheme's configured bounds
    (null for arrears and adjustments, which may be multiples of a month).
    ``period_matches_drop``: for regular payments, the period is the drop's month.
    ``pay_date_plausible``: paid no later than month end + the configured lag.
    """
    known = (
        register.select("person_id", "scheme")
        .unique()
        .with_columns(pl.lit(True).alias("in_register"))
    )
    bounds = policy.amount_bounds
    low = pl.lit(None, dtype=pl.Float64)
    high = pl.lit(None, dtype=pl.Float64)
    for scheme, b in bounds.items():
        low = pl.when(pl.col("scheme") == scheme).then(pl.lit(b.low)).otherwise(low)
        high = pl.when(pl.col("scheme") == scheme).then(pl.lit(b.high)).otherwise(high)
    latest = month_end(month) + timedelta(days=max_pay_date_lag_days)
    regular = pl.col("kind") == "regular"
    return (
        payouts.pipe(add_id_evidence)
        .join(known, on=["person_id", "scheme"], how="left", maintain_order="left")
        .with_columns(
            pl.col("in_register").fill_null(False),
            pl.when(regular)
            .then(pl.col("amount").is_between(low, high))
            .alias("amount_within_bounds"),
            pl.when(regular).then(pl.col("period") == month).alias("period_matches_drop"),
            (pl.col("pay_date") <= pl.lit(latest)).alias("pay_date_plausible"),
        )
    )


def add_death_evidence(deaths: pl.LazyFrame) -> pl.LazyFrame:
    """``death_after_birth`` plus ID evidence (IDs in death records are often mistyped)."""
    return deaths.pipe(add_id_evidence).with_columns(
        (pl.col("death_date") >= pl.col("birth_date")).alias("death_after_birth")
    )


def add_certification_evidence(
    certifications: pl.LazyFrame, register: pl.LazyFrame, *, month: str
) -> pl.LazyFrame:
    """``in_register`` and ``cert_date_in_month`` plus ID evidence."""
    known = register.select("person_id").unique().with_columns(pl.lit(True).alias("in_register"))
    first = month_start(month)
    return (
        certifications.pipe(add_id_evidence)
        .join(known, on="person_id", how="left", maintain_order="left")
        .with_columns(
            pl.col("in_register").fill_null(False),
            pl.col("cert_date")
            .is_between(pl.lit(first), pl.lit(month_end(month)))
            .alias("cert_date_in_month"),
        )
    )
