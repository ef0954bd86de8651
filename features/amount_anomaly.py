"""The amount-anomaly rule family: payments whose amount or occasion breaks policy
(:func:`amount_anomaly`), read off the paid ledger (:mod:`features.payments`) and the
register runs (:mod:`features.history`). Each rule is one function emitting its reason rows.
"""

from __future__ import annotations

import polars as pl

from features.cases import choose_code, conform_reasons, fmt_yuan, reason_rows
from features.history import run_months
from features.ledger import ledger_rows, rows_of
from sentinel.config import DetectionConfig, PolicyConfig
from sentinel.periods import month_number, period_of_index


def amount_anomaly(
    ledger: pl.LazyFrame, runs: pl.LazyFrame, detection: DetectionConfig, policy: PolicyConfig
) -> pl.LazyFrame:
    """Payments whose amount or occasion breaks policy (``runs``: the register history
    summarised per person, :func:`features.history.register_runs`). Standards and bounds
    come from the ``policy`` section, thresholds and probabilities from ``detection``.

    * ``AA_OFF_STANDARD``: a regular amount outside the scheme's plausible bounds for the
      period (the resident floor is the basic pension in force, e.g. 113 yuan from 2020-07).
      Overpayment: the excess over the upper bound (under-payment is not recoverable money).
    * ``AA_JUMP``: a regular amount far above the person's own earlier median in the scheme
      (annual adjustments are a few percent; the resident standard rise is 10 yuan).
      Overpayment: the excess over that median, summed over the raised periods.
    * ``AA_REPEAT_ARREARS``: arrears that pay a period again: the period received more than
      ``jump_ratio`` times (and ``jump_min_yuan`` more than) the highest regular amount paid
      for it or a later period, or the same back-pay row (amount and period) came in a
      second drop, more than ``jump_min_yuan`` in all. Arrears for months missed while
      suspended, and an annual adjustment paid back once, are normal and not flagged; the
      adjustment batch paid again is. Overpayment: what the periods received beyond that
      amount, or the repeated rows (the larger).
    * ``AA_PAID_WHILE_TERMINATED`` / ``AA_PAID_WHILE_SUSPENDED``: a regular payment in a
      drop whose register snapshot, and the snapshot before it (which must exist), show
      the person terminated (or suspended) in that scheme.
    """
    ledger = ledger.filter(pl.col("well_formed") & pl.col("period_index").is_not_null())
    regular_runs = ledger.filter(pl.col("kind") == "regular")
    rules = (
        _off_standard(regular_runs, detection, policy),
        _amount_jumps(regular_runs, detection),
        _repeat_arrears(ledger, detection),
        _paid_while_inactive(regular_runs, runs, detection),
    )
    # One probability/overpayment per person for the typology: the strongest rule's.
    rows = pl.concat([conform_reasons(f) for f in rules])
    return _typology_level(rows)


def _typology_level(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Give every reason row of a person the typology's probability (max) and overpayment (sum).

    Different amount rules see different yuan (a jump and a repeat arrears are separate
    money), so overpayments add up; the probability is the strongest rule's.
    """
    return rows.with_columns(
        pl.col("probability").max().over("person_id", "typology"),
        pl.col("est_overpayment").sum().over("person_id", "typology"),
    )


def _off_standard(
    regular_runs: pl.LazyFrame, detection: DetectionConfig, policy: PolicyConfig
) -> pl.LazyFrame:
    """``AA_OFF_STANDARD`` (:func:`amount_anomaly`)."""
    det = detection
    # Each rule reads row by row only the runs that can break it.
    outside = (pl.col("amount") < _run_low(policy) - 0.5) | (
        pl.col("amount") > _standard_high(policy) + 0.5
    )
    off_rows = ledger_rows(regular_runs.filter(pl.col("amount").is_not_null() & outside))
    off = (
        off_rows.with_columns(
            _standard_low(policy).alias("low"), _standard_high(policy).alias("high")
        )
        .filter(
            pl.col("amount").is_not_null()
            & ((pl.col("amount") < pl.col("low") - 0.5) | (pl.col("amount") > pl.col("high") + 0.5))
        )
        .group_by("person_id", "scheme")
        .agg(
            pl.len().alias("n"),
            pl.col("period").min().alias("first_period"),
            pl.col("amount").max().alias("max_amount"),
            pl.col("amount").min().alias("min_amount"),
            pl.col("low").first(),
            pl.col("high").first(),
            (pl.col("amount") - pl.col("high")).clip(0.0).sum().alias("excess"),
            pl.col("amount").sum().alias("paid"),
        )
        .pipe(
            reason_rows,
            "AA_OFF_STANDARD",
            pl.when(pl.col("excess") > 0)
            .then(pl.lit(det.amount_excess_probability))
            .otherwise(pl.lit(det.amount_below_probability)),
            pl.col("excess"),
            pl.col("scheme"),
            pl.col("n"),
            pl.col("first_period"),
            fmt_yuan(
                pl.when(pl.col("excess") > 0)
                .then(pl.col("max_amount"))
                .otherwise(pl.col("min_amount"))
            ),
            fmt_yuan(pl.col("low")),
            fmt_yuan(pl.col("high")),
        )
    )
    return off


def _standard_low(policy: PolicyConfig, resident: pl.Expr | None = None) -> pl.Expr:
    """Lowest plausible regular amount of the row's scheme and period (resident: the standard
    in force, or ``resident``)."""
    if resident is None:
        standards = sorted(policy.resident_standards, key=lambda s: s.effective_from)
        resident = pl.lit(None, dtype=pl.Float64)
        for s in standards:
            resident = (
                pl.when(pl.col("period") >= s.effective_from)
                .then(pl.lit(s.basic_pension))
                .otherwise(resident)
            )
    bounds = policy.amount_bounds
    return (
        pl.when(pl.col("scheme") == "resident")
        .then(pl.max_horizontal(resident, pl.lit(bounds["resident"].low)))
        .when(pl.col("scheme") == "enterprise")
        .then(pl.lit(bounds["enterprise"].low))
        .when(pl.col("scheme") == "institution")
        .then(pl.lit(bounds["institution"].low))
    )


def _run_low(policy: PolicyConfig) -> pl.Expr:
    """The largest :func:`_standard_low` of any period of a ledger run: the floor only moves
    when a resident standard takes effect, so at the run's first period or at a standard
    taking effect within the run. (Periods compared as month indices: cheaper than text.)"""
    first, last = pl.col("period_index"), pl.col("period_end")
    standards = sorted(policy.resident_standards, key=lambda s: s.effective_from)
    starts = [month_number(s.effective_from) for s in standards]

    def low_at(index: pl.Expr) -> pl.Expr:
        resident = pl.lit(None, dtype=pl.Float64)
        for s, start in zip(standards, starts, strict=True):
            resident = pl.when(index >= start).then(pl.lit(s.basic_pension)).otherwise(resident)
        return _standard_low(policy, resident=resident)

    floors = [low_at(first)]
    for start in starts:
        floors.append(pl.when((first < start) & (last >= start)).then(low_at(pl.lit(start))))
    return pl.max_horizontal(floors)


def _standard_high(policy: PolicyConfig) -> pl.Expr:
    bounds = policy.amount_bounds
    return (
        pl.when(pl.col("scheme") == "resident")
        .then(pl.lit(bounds["resident"].high))
        .when(pl.col("scheme") == "enterprise")
        .then(pl.lit(bounds["enterprise"].high))
        .when(pl.col("scheme") == "institution")
        .then(pl.lit(bounds["institution"].high))
    )


def _amount_jumps(regular_runs: pl.LazyFrame, detection: DetectionConfig) -> pl.LazyFrame:
    """``AA_JUMP`` (:func:`amount_anomaly`)."""
    det = detection
    # A jump needs amount > baseline·ratio and amount − baseline > min yuan, and the baseline
    # (a median of earlier amounts) is at least the smallest amount: person-schemes whose
    # largest amount fails both against their smallest cannot jump, and most never vary.
    positive = regular_runs.filter(pl.col("amount") > 0)
    varying = (
        positive.group_by("payee_scheme")
        .agg(pl.col("amount").min().alias("low"), pl.col("amount").max().alias("high"))
        .filter(
            (pl.col("high") > pl.col("low") * det.jump_ratio)
            & (pl.col("high") - pl.col("low") > det.jump_min_yuan)
        )
    )
    history = rows_of(positive, varying, on="payee_scheme").sort(
        "person_id", "scheme", "period_index"
    )
    baseline = (
        pl.col("amount")
        .shift(1)
        .rolling_median(window_size=6, min_samples=2)
        .over("person_id", "scheme", order_by="period_index")
    )
    jumps = history.with_columns(baseline.alias("baseline")).filter(
        pl.col("baseline").is_not_null()
        & (pl.col("amount") > pl.col("baseline") * det.jump_ratio)
        & (pl.col("amount") - pl.col("baseline") > det.jump_min_yuan)
    )
    # Every raised period after the jump is overpaid by the same excess: take the first jump's
    # baseline and count later periods paid at or above its raised level.
    first_jump = jumps.group_by("person_id", "scheme").agg(
        pl.col("period_index").min().alias("jump_index"),
        pl.col("baseline").sort_by("period_index").first().alias("baseline"),
        pl.col("amount").sort_by("period_index").first().alias("raised"),
    )
    jump_rows = (
        rows_of(regular_runs, varying, on="payee_scheme")
        .join(first_jump, on=["person_id", "scheme"])
        .filter(
            (pl.col("period_index") >= pl.col("jump_index"))
            & (pl.col("amount") > pl.col("baseline") * det.jump_ratio)
        )
        .group_by("person_id", "scheme")
        .agg(
            pl.len().alias("n"),
            (pl.col("amount") - pl.col("baseline")).sum().alias("excess"),
            pl.col("baseline").first(),
            pl.col("raised").first(),
            period_of_index(pl.col("jump_index").first()).alias("jump_period"),
        )
        .pipe(
            reason_rows,
            "AA_JUMP",
            det.amount_jump_probability,
            pl.col("excess"),
            pl.col("scheme"),
            fmt_yuan(pl.col("baseline")),
            fmt_yuan(pl.col("raised")),
            pl.col("jump_period"),
            pl.col("n"),
        )
    )
    return jump_rows


def _repeat_arrears(ledger: pl.LazyFrame, detection: DetectionConfig) -> pl.LazyFrame:
    """``AA_REPEAT_ARREARS`` (:func:`amount_anomaly`)."""
    det = detection
    # Arrears that pay a period again, two ways. (1) What a period received (its regular
    # payment and any arrears) against what it was worth, the highest regular amount paid
    # for that period or a later one (an adjustment paid back raises later amounts too). An
    # annual adjustment paid back adds a few percent to every period it covers and a
    # reinstated pension's arrears pay periods that had nothing; neither reaches
    # ``jump_ratio`` times the entitlement. (2) The same back-pay row (amount and period)
    # paid in a second drop: a repeated batch, a few percent of each period, which (1)
    # cannot tell from a raise that no later regular payment shows yet (a pension suspended
    # since). Only payees with back pay are read row by row.
    back_kinds = ["arrears", "adjustment"]
    with_back_pay = ledger.filter(pl.col("kind").is_in(back_kinds)).select("payee_scheme").unique()
    paid = rows_of(ledger, with_back_pay, on="payee_scheme")
    key = ["person_id", "scheme", "period_index"]
    per_period = (
        paid.filter(pl.col("kind").is_in(["regular", "arrears"]))
        .group_by(key)
        .agg(
            pl.col("amount").fill_null(0.0).sum().alias("total"),
            pl.col("amount")
            .filter(pl.col("kind") == "regular")
            .max()
            .fill_null(0.0)
            .alias("regular"),
            (pl.col("kind") == "arrears").any().alias("has_arrears"),
        )
    )
    later_regular = (
        pl.col("regular")
        .cum_max(reverse=True)
        .over(["person_id", "scheme"], order_by="period_index")
    )
    entitlement = (
        pl.when(later_regular > 0)
        .then(later_regular)
        .otherwise(pl.col("regular").max().over(["person_id", "scheme"]))
    )
    beyond = pl.col("total") - pl.col("entitlement")
    over_worth = (
        per_period.with_columns(entitlement.alias("entitlement"))
        .filter(
            pl.col("has_arrears")
            & (pl.col("entitlement") > 0)
            & (pl.col("total") > pl.col("entitlement") * det.jump_ratio)
            & (beyond > det.jump_min_yuan)
        )
        .select(*key, beyond.alias("over_worth"))
    )
    repeated = _repeated_back_pay(paid.filter(pl.col("kind").is_in(back_kinds)), key)
    excess = pl.max_horizontal(
        pl.col("over_worth").fill_null(0.0), pl.col("repeated").fill_null(0.0)
    )
    return (
        over_worth.join(repeated, on=key, how="full", coalesce=True)
        .with_columns(excess.alias("period_excess"))
        .group_by("person_id", "scheme")
        .agg(
            pl.len().alias("n"),
            pl.col("period_excess").sum().alias("excess"),
            pl.col("over_worth").is_not_null().any().alias("over_worth"),
            period_of_index(pl.col("period_index").min()).alias("first_period"),
            period_of_index(pl.col("period_index").max()).alias("last_period"),
        )
        .filter(pl.col("over_worth") | (pl.col("excess") > det.jump_min_yuan))
        .pipe(
            reason_rows,
            "AA_REPEAT_ARREARS",
            det.repeat_arrears_probability,
            pl.col("excess"),
            pl.col("scheme"),
            pl.col("n"),
            pl.col("first_period"),
            pl.col("last_period"),
            fmt_yuan(pl.col("excess")),
        )
    )


def _repeated_back_pay(back_pay: pl.LazyFrame, key: list[str]) -> pl.LazyFrame:
    """Per person, scheme and period, what back-pay rows (``arrears``, ``adjustment``) paid
    again: each positive amount paid for the period in more than one drop counts once per
    drop after the first, less any negative adjustment of the period (a reversal before a
    payment made again): ``repeated``, periods with some left only."""
    positive = back_pay.filter(pl.col("amount") > 0)
    copies = (
        positive.group_by(*key, "amount")
        .agg(pl.col("drop_index").n_unique().alias("drops"))
        .group_by(key)
        .agg((pl.col("amount") * (pl.col("drops") - 1)).sum().alias("copies"))
    )
    reversed_ = (
        back_pay.filter(pl.col("amount") < 0)
        .group_by(key)
        .agg((-pl.col("amount")).sum().alias("reversed"))
    )
    return (
        copies.join(reversed_, on=key, how="left")
        .select(*key, (pl.col("copies") - pl.col("reversed").fill_null(0.0)).alias("repeated"))
        .filter(pl.col("repeated") > 0)
    )


def _paid_while_inactive(
    regular_runs: pl.LazyFrame, runs: pl.LazyFrame, detection: DetectionConfig
) -> pl.LazyFrame:
    """``AA_PAID_WHILE_TERMINATED`` / ``AA_PAID_WHILE_SUSPENDED`` (:func:`amount_anomaly`)."""
    det = detection
    # Only months a person-scheme was listed with some status other than active can make the
    # rule (both the drop's and the previous snapshot must be inactive): the few runs of those
    # person-schemes are taken back month by month. Two rows of one scheme in one month (a
    # register error) read as active when either is: the rule needs the register to agree.
    not_active = runs.filter(pl.col("status") != "active").select("person_id", "scheme").unique()
    status = (
        run_months(
            runs.join(not_active, on=["person_id", "scheme"], how="semi", nulls_equal=True).select(
                "person_id", "scheme", "status", "first_index", "last_index"
            )
        )
        .group_by("person_id", "scheme", pl.col("m").alias("drop_index"))
        .agg(
            pl.when((pl.col("status") == "active").any())
            .then(pl.lit("active"))
            .otherwise(pl.col("status").max())
            .alias("status")
        )
    )
    prior_status = status.select(
        "person_id",
        "scheme",
        (pl.col("drop_index") + 1).alias("drop_index"),
        pl.col("status").alias("prior_status"),
    )
    inactive = (
        ledger_rows(
            regular_runs.join(not_active, on=["person_id", "scheme"], how="semi", nulls_equal=True)
        )
        .join(status, on=["person_id", "scheme", "drop_index"], how="inner")
        .join(prior_status, on=["person_id", "scheme", "drop_index"], how="left")
        .filter((pl.col("status") != "active") & (pl.col("prior_status") != "active"))
        .group_by("person_id", "scheme", "status")
        .agg(
            pl.len().alias("n"),
            pl.col("amount").fill_null(0.0).sum().alias("paid"),
            pl.col("period").min().alias("first_period"),
        )
        .pipe(
            reason_rows,
            choose_code(
                pl.col("status") == "terminated",
                "AA_PAID_WHILE_TERMINATED",
                "AA_PAID_WHILE_SUSPENDED",
            ),
            pl.when(pl.col("status") == "terminated")
            .then(pl.lit(det.paid_terminated_probability))
            .otherwise(pl.lit(det.paid_suspended_probability)),
            pl.col("paid"),
            pl.col("scheme"),
            pl.col("status"),
            pl.col("n"),
            pl.col("first_period"),
            fmt_yuan(pl.col("paid")),
        )
    )
    return inactive
