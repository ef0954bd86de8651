"""Rule families read off the payout ledger: duplicate receipt, amount and identity anomalies.

All functions take and return LazyFrames; nothing here reads files. The ledger is
:func:`paid_ledger`: loaded payouts plus quarantined payout rows that are still money paid
(a row quarantined for a malformed ID or an unparseable date was paid all the same), less
exact duplicates of a loaded row (the same ledger line delivered twice, paid once). The
rules read it summarised per person (:mod:`features.ledger`: runs of unchanged regular
payments, every other row a run of one month) with the :func:`ledger_keys` columns; a rule
that must read payments row by row expands only the payees it needs
(:func:`features.ledger.rows_of`), so a run counts exactly as its months' rows.
"""

from __future__ import annotations

import polars as pl

from features import identity
from features.cases import (
    conform_reasons,
    date_month_index,
    fmt_account,
    fmt_yuan,
    month_index,
    month_number,
    per_person,
    period_of_index,
    reason_rows,
)
from features.history import run_months
from features.ledger import LEDGER_COLUMNS, ledger_rows, overlapping, period_end, rows_of
from sentinel.config import SentinelConfig
from sentinel.contract import PAYOUT_KINDS, SCHEMES

#: A payee ID this many edits from a registered ID is that ID mistyped: a character lost,
#: added, changed, or two swapped, once or twice. Two persons of one county share the region
#: code and often the birth decade; their 18 characters rarely come closer than that.
MISTYPED_ID_EDITS = 2

_FULLWIDTH = {chr(0xFF10 + d): str(d) for d in range(10)} | {"．": ".", "，": ","}


def id_is_well_formed(person_id: pl.Expr) -> pl.Expr:
    """18 characters: 17 digits and a digit or ``X``; False (not null) for an empty ID."""
    return identity.id_is_well_formed(person_id).fill_null(False)


def id_checksum_ok(person_id: pl.Expr) -> pl.Expr:
    """The MOD 11-2 check character is right; False for a malformed or empty ID."""
    return identity.id_checksum_ok(person_id).fill_null(False)


id_birth_date = identity.id_birth_date


def parse_amount_text(text: pl.Expr) -> pl.Expr:
    """Yuan from raw amount text, tolerant of ``¥``, ``元``, thousands separators, full-width digits.

    Null when nothing numeric is left (the payment is then counted, its amount unknown).
    """
    cleaned = (
        text.cast(pl.String)
        .str.replace_many(list(_FULLWIDTH), list(_FULLWIDTH.values()))
        .str.replace_all(r"[,\s¥￥元RMBrmb]", "")
    )
    return cleaned.str.extract(r"^(-?\d+(?:\.\d+)?)$", 1).cast(pl.Float64, strict=False)


def parse_period_text(text: pl.Expr) -> pl.Expr:
    """``YYYY-MM`` from raw period text (``2020-07``, ``202007``, ``2020/7``, ``2020年7月``)."""
    year = text.str.extract(r"^\s*(\d{4})\D?(\d{1,2})", 1)
    mon = text.str.extract(r"^\s*(\d{4})\D?(\d{1,2})", 2)
    ok = mon.cast(pl.Int32, strict=False).is_between(1, 12)
    return pl.when(ok).then(pl.format("{}-{}", year, mon.str.pad_start(2, "0")))


def _schemes() -> dict[str, str]:
    return dict(SCHEMES)


def _payout_kinds() -> dict[str, str]:
    return dict(PAYOUT_KINDS)


def _canonical_scheme(text: pl.Expr) -> pl.Expr:
    return text.str.strip_chars().replace_strict(_schemes(), default=None)


def _canonical_kind(text: pl.Expr) -> pl.Expr:
    return text.str.strip_chars().replace_strict(_payout_kinds(), default=None)


def paid_ledger(payouts: pl.LazyFrame, quarantined: pl.LazyFrame) -> pl.LazyFrame:
    """Every payment made: loaded payouts and quarantined rows that were still paid.

    Quarantined rows are read tolerantly (ID upper-cased and stripped, amount and period
    parsed from text); rows quarantined as ``duplicate row`` are dropped because they are a
    second delivery of a loaded ledger line, not a second payment. ``drop_index`` is the
    month index of the drop that carried the row; ``period_index`` the month index of the
    period paid.
    """
    loaded = payouts.select(
        pl.col("person_id"),
        pl.col("scheme"),
        pl.col("period"),
        month_index(pl.col("period")).alias("period_index"),
        month_index(pl.col("month")).alias("drop_index"),
        pl.col("pay_date"),
        pl.col("amount"),
        pl.col("bank_account"),
        pl.col("kind"),
        pl.lit(False).alias("quarantined"),
        pl.lit(None, dtype=pl.String).alias("quarantine_reason"),
    )
    qcols = quarantined.collect_schema().names()

    def text(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.String) if name in qcols else pl.lit(None, dtype=pl.String)

    period = parse_period_text(text("period"))
    still_paid = quarantined.filter(
        ~pl.col("_reason").fill_null("").str.contains("duplicate row", literal=True)
    ).select(
        text("person_id").str.strip_chars().str.to_uppercase().alias("person_id"),
        _canonical_scheme(text("scheme")).alias("scheme"),
        period.alias("period"),
        month_index(period).alias("period_index"),
        month_index(pl.col("month")).alias("drop_index"),
        text("pay_date").str.to_date(strict=False).alias("pay_date"),
        parse_amount_text(text("amount")).alias("amount"),
        text("bank_account").str.strip_chars().alias("bank_account"),
        _canonical_kind(text("kind")).fill_null("regular").alias("kind"),
        pl.lit(True).alias("quarantined"),
        pl.col("_reason").cast(pl.String).alias("quarantine_reason"),
    )
    # A quarantined line without an amount (cut short) shows no payment was made: it stays
    # in quarantine, evidence of a damaged file, not of money paid.
    still_paid = still_paid.filter(pl.col("amount").is_not_null())
    return (
        pl.concat([loaded, still_paid], how="vertical_relaxed")
        .filter(pl.col("person_id").is_not_null() & (pl.col("person_id") != ""))
        .with_columns(pl.col("kind").cast(PAYOUT_KIND))
    )


#: The ledger's ``kind`` (canonical payout kinds): an enum, so the rules' many
#: ``kind == "regular"`` filters compare small integers, not text.
PAYOUT_KIND = pl.Enum(sorted(set(_payout_kinds().values())))
_SCHEME_CODE = pl.Enum(sorted(set(_schemes().values())))


def ledger_keys() -> list[pl.Expr]:
    """The derived columns of the ledger runs (:mod:`features.ledger`) the rules read,
    computed once for all of them (``kind`` must be :data:`PAYOUT_KIND` already).

    * ``period_end``: the period index of the run's last row;
    * ``well_formed``: the payee ID is an 18-character resident ID (:func:`id_is_well_formed`);
    * ``payee``: the ID's dictionary code (UInt32; codes hold within one process), to key
      a twelve-month ledger by payee and something else on integers instead of text;
    * ``payee_scheme``: one integer per (payee, scheme), nulls included.
    """
    payee = pl.col("person_id").cast(pl.Categorical).to_physical().cast(pl.UInt32)
    scheme = pl.col("scheme").cast(_SCHEME_CODE, strict=False).to_physical().cast(pl.UInt64)
    return [
        period_end().alias("period_end"),
        id_is_well_formed(pl.col("person_id")).alias("well_formed"),
        payee.alias("payee"),
        (payee.cast(pl.UInt64) * 4 + scheme.fill_null(3)).alias("payee_scheme"),
    ]


# --------------------------------------------------------------------------- duplicate receipt


def duplicate_receipt(ledger: pl.LazyFrame, config: SentinelConfig) -> pl.LazyFrame:
    """One person paid more than one regular pension for the same period.

    Two schemes paying the same person for one period (an old-age pension may be drawn from
    one scheme only), or a scheme paying its regular pension twice for one period (a second
    ledger line, possibly in a later drop). The overpayment is every regular payment for the
    period except the largest one. Arrears are not regular payments and are handled by the
    amount rules. Rows with an ID that is not well formed are left to the identity rules.
    """
    # A line without an amount (cut short, quarantined) proves no second payment.
    regular_runs = ledger.filter(
        (pl.col("kind") == "regular")
        & pl.col("period_index").is_not_null()
        & pl.col("well_formed")
        & (pl.col("amount") > 0)
    )
    # A period paid twice lies in two runs of the payee: only payees whose runs overlap.
    regular = rows_of(regular_runs, overlapping(regular_runs), on="payee")
    # Most person-periods are paid once: find the repeated ones first with a cheap count,
    # then describe only those.
    person_period = pl.col("payee").cast(pl.Int64) * 2**32 + pl.col("period_index")
    per_period = (
        regular.filter(person_period.is_duplicated())
        .group_by("person_id", "period_index")
        .agg(
            pl.len().alias("n"),
            pl.col("scheme").n_unique().alias("n_schemes"),
            pl.col("scheme").unique().sort().str.join("+").alias("schemes"),
            (pl.col("amount").fill_null(0.0).sum() - pl.col("amount").fill_null(0.0).max()).alias("extra"),
        )
        .filter(pl.col("n") > 1)
    )
    per_person = per_period.group_by("person_id").agg(
        pl.col("extra").sum(),
        pl.len().alias("periods"),
        (pl.col("n_schemes") > 1).sum().alias("cross_periods"),
        pl.col("schemes").filter(pl.col("n_schemes") > 1).first().alias("schemes"),
        period_of_index(pl.col("period_index").min()).alias("first_period"),
    )
    p = config.detection.duplicate_receipt_probability
    two_schemes = reason_rows(
        per_person.filter(pl.col("cross_periods") > 0),
        "DR_TWO_SCHEMES",
        p,
        pl.col("extra"),
        pl.col("schemes"),
        pl.col("cross_periods"),
        pl.col("first_period"),
        fmt_yuan(pl.col("extra")),
    )
    repeat = reason_rows(
        per_person.filter(pl.col("cross_periods") < pl.col("periods")),
        "DR_REPEAT_PERIOD",
        p,
        pl.col("extra"),
        pl.col("periods") - pl.col("cross_periods"),
        pl.col("first_period"),
        fmt_yuan(pl.col("extra")),
    )
    return pl.concat([two_schemes, repeat])


# --------------------------------------------------------------------------- amount anomaly


def _standard_low(config: SentinelConfig, resident: pl.Expr | None = None) -> pl.Expr:
    """Lowest plausible regular amount of the row's scheme and period (resident: the standard
    in force, or ``resident``)."""
    policy = config.policy
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


def _run_low(config: SentinelConfig) -> pl.Expr:
    """The largest :func:`_standard_low` of any period of a ledger run: the floor only moves
    when a resident standard takes effect, so at the run's first period or at a standard
    taking effect within the run. (Periods compared as month indices: cheaper than text.)"""
    first, last = pl.col("period_index"), pl.col("period_end")
    standards = sorted(config.policy.resident_standards, key=lambda s: s.effective_from)
    starts = [month_number(s.effective_from) for s in standards]

    def low_at(index: pl.Expr) -> pl.Expr:
        resident = pl.lit(None, dtype=pl.Float64)
        for s, start in zip(standards, starts, strict=True):
            resident = pl.when(index >= start).then(pl.lit(s.basic_pension)).otherwise(resident)
        return _standard_low(config, resident=resident)

    floors = [low_at(first)]
    for start in starts:
        floors.append(pl.when((first < start) & (last >= start)).then(low_at(pl.lit(start))))
    return pl.max_horizontal(floors)


def _standard_high(config: SentinelConfig) -> pl.Expr:
    bounds = config.policy.amount_bounds
    return (
        pl.when(pl.col("scheme") == "resident")
        .then(pl.lit(bounds["resident"].high))
        .when(pl.col("scheme") == "enterprise")
        .then(pl.lit(bounds["enterprise"].high))
        .when(pl.col("scheme") == "institution")
        .then(pl.lit(bounds["institution"].high))
    )


def amount_anomaly(
    ledger: pl.LazyFrame, runs: pl.LazyFrame, config: SentinelConfig
) -> pl.LazyFrame:
    """Payments whose amount or occasion breaks policy (``runs``: the register history
    summarised per person, :func:`features.history.register_runs`).

    * ``AA_OFF_STANDARD``: a regular amount outside the scheme's plausible bounds for the
      period (the resident floor is the basic pension in force, e.g. 113 yuan from 2020-07).
      Overpayment: the excess over the upper bound (under-payment is not recoverable money).
    * ``AA_JUMP``: a regular amount far above the person's own earlier median in the scheme
      (annual adjustments are a few percent; the resident standard rise is 10 yuan).
      Overpayment: the excess over that median, summed over the raised periods.
    * ``AA_REPEAT_ARREARS``: arrears that pay a period again: the period received more than
      ``jump_ratio`` times (and ``jump_min_yuan`` more than) the highest regular amount paid
      for it or a later period. Arrears for months missed while suspended, and an annual
      adjustment paid back (a few percent a period), are normal and not flagged.
      Overpayment: what the periods received beyond that amount.
    * ``AA_PAID_WHILE_TERMINATED`` / ``AA_PAID_WHILE_SUSPENDED``: a regular payment in a
      drop whose register snapshot, and the snapshot before it (which must exist), show
      the person terminated (or suspended) in that scheme.
    """
    ledger = ledger.filter(pl.col("well_formed") & pl.col("period_index").is_not_null())
    regular_runs = ledger.filter(pl.col("kind") == "regular")
    rules = (
        _off_standard(regular_runs, config),
        _amount_jumps(regular_runs, config),
        _repeat_arrears(ledger, config),
        _paid_while_inactive(regular_runs, runs, config),
    )
    # One probability/overpayment per person for the typology: the strongest rule's.
    rows = pl.concat([conform_reasons(f) for f in rules])
    return _typology_level(rows)


def _off_standard(regular_runs: pl.LazyFrame, config: SentinelConfig) -> pl.LazyFrame:
    """``AA_OFF_STANDARD`` (:func:`amount_anomaly`)."""
    det = config.detection
    # Each rule reads row by row only the runs that can break it.
    outside = (pl.col("amount") < _run_low(config) - 0.5) | (
        pl.col("amount") > _standard_high(config) + 0.5
    )
    off_rows = ledger_rows(regular_runs.filter(pl.col("amount").is_not_null() & outside))
    off = (
        off_rows.with_columns(
            _standard_low(config).alias("low"), _standard_high(config).alias("high")
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
                pl.when(pl.col("excess") > 0).then(pl.col("max_amount")).otherwise(pl.col("min_amount"))
            ),
            fmt_yuan(pl.col("low")),
            fmt_yuan(pl.col("high")),
        )
    )
    return off


def _amount_jumps(regular_runs: pl.LazyFrame, config: SentinelConfig) -> pl.LazyFrame:
    """``AA_JUMP`` (:func:`amount_anomaly`)."""
    det = config.detection
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
    history = rows_of(positive, varying, on="payee_scheme").sort("person_id", "scheme", "period_index")
    baseline = pl.col("amount").shift(1).rolling_median(window_size=6, min_samples=2).over(
        "person_id", "scheme", order_by="period_index"
    )
    jumps = (
        history.with_columns(baseline.alias("baseline"))
        .filter(
            pl.col("baseline").is_not_null()
            & (pl.col("amount") > pl.col("baseline") * det.jump_ratio)
            & (pl.col("amount") - pl.col("baseline") > det.jump_min_yuan)
        )
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


def _repeat_arrears(ledger: pl.LazyFrame, config: SentinelConfig) -> pl.LazyFrame:
    """``AA_REPEAT_ARREARS`` (:func:`amount_anomaly`)."""
    det = config.detection
    # Arrears that pay a period again: what a period received (its regular payment and any
    # arrears) against what it was worth, the highest regular amount paid for that period
    # or a later one (an adjustment paid back raises later amounts too). An annual
    # adjustment paid back adds a few percent to every period it covers and a reinstated
    # pension's arrears pay periods that had nothing; neither reaches ``jump_ratio`` times
    # the entitlement. Only payees with arrears are read row by row.
    with_arrears = ledger.filter(pl.col("kind") == "arrears").select("payee_scheme").unique()
    paid = rows_of(
        ledger.filter(pl.col("kind").is_in(["regular", "arrears"])), with_arrears, on="payee_scheme"
    )
    per_period = paid.group_by("person_id", "scheme", "period_index").agg(
        pl.col("amount").fill_null(0.0).sum().alias("total"),
        pl.col("amount").filter(pl.col("kind") == "regular").max().fill_null(0.0).alias("regular"),
        (pl.col("kind") == "arrears").any().alias("has_arrears"),
    )
    later_regular = pl.col("regular").cum_max(reverse=True).over(
        ["person_id", "scheme"], order_by="period_index"
    )
    entitlement = pl.when(later_regular > 0).then(later_regular).otherwise(
        pl.col("regular").max().over(["person_id", "scheme"])
    )
    repeat_arrears = (
        per_period.with_columns(entitlement.alias("entitlement"))
        .filter(
            pl.col("has_arrears")
            & (pl.col("entitlement") > 0)
            & (pl.col("total") > pl.col("entitlement") * det.jump_ratio)
            & (pl.col("total") - pl.col("entitlement") > det.jump_min_yuan)
        )
        .group_by("person_id", "scheme")
        .agg(
            pl.len().alias("n"),
            (pl.col("total") - pl.col("entitlement")).sum().alias("excess"),
            period_of_index(pl.col("period_index").min()).alias("first_period"),
            period_of_index(pl.col("period_index").max()).alias("last_period"),
        )
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
    return repeat_arrears


def _paid_while_inactive(regular_runs: pl.LazyFrame, runs: pl.LazyFrame, config: SentinelConfig) -> pl.LazyFrame:
    """``AA_PAID_WHILE_TERMINATED`` / ``AA_PAID_WHILE_SUSPENDED`` (:func:`amount_anomaly`)."""
    det = config.detection
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
        "person_id", "scheme", (pl.col("drop_index") + 1).alias("drop_index"), pl.col("status").alias("prior_status")
    )
    inactive = (
        ledger_rows(
            regular_runs.join(not_active, on=["person_id", "scheme"], how="semi", nulls_equal=True)
        )
        .join(status, on=["person_id", "scheme", "drop_index"], how="inner")
        .join(prior_status, on=["person_id", "scheme", "drop_index"], how="left")
        .filter(
            (pl.col("status") != "active") & (pl.col("prior_status") != "active")
        )
        .group_by("person_id", "scheme", "status")
        .agg(
            pl.len().alias("n"),
            pl.col("amount").fill_null(0.0).sum().alias("paid"),
            pl.col("period").min().alias("first_period"),
        )
        .pipe(
            reason_rows,
            (
                pl.when(pl.col("status") == "terminated")
                .then(pl.lit("AA_PAID_WHILE_TERMINATED"))
                .otherwise(pl.lit("AA_PAID_WHILE_SUSPENDED")),
                ("AA_PAID_WHILE_TERMINATED", "AA_PAID_WHILE_SUSPENDED"),
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


def _typology_level(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Give every reason row of a person the typology's probability (max) and overpayment (sum).

    Different amount rules see different yuan (a jump and a repeat arrears are separate
    money), so overpayments add up; the probability is the strongest rule's.
    """
    return rows.with_columns(
        pl.col("probability").max().over("person_id", "typology"),
        pl.col("est_overpayment").sum().over("person_id", "typology"),
    )


# --------------------------------------------------------------------------- identity anomaly


def identity_anomaly(
    ledger: pl.LazyFrame,
    people: pl.LazyFrame,
    month: str,
    config: SentinelConfig,
    accounts: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """Payments to identities that cannot be a living, registered pensioner.

    ``people`` is one row per register person with their latest ``name`` and ``birth_date``
    (:func:`features.survival.register_people`).

    * ``IA_MALFORMED_PAYEE``: payments (loaded or quarantined) to an ID that is not an
      18-character resident ID.
    * ``IA_UNREGISTERED_PAYEE``: payments to a well-formed ID absent from every register
      snapshot.
    * ``IA_BAD_CHECKSUM``: a paid register identity whose check character is wrong.
    * ``IA_BIRTH_MISMATCH``: register birth date differs from the date written in the ID.
    * ``IA_IMPOSSIBLE_AGE``: older than ``policy.max_plausible_age`` (or younger than
      ``policy.min_pension_age``) in a paid period.

    The overpayment is everything paid to the identity (a ghost is paid nothing properly).

    ``accounts`` (``person_id, bank_account`` of the register, e.g. its runs): a malformed or
    unregistered payee paid only into accounts that belong to one registered person is that
    person under a mistyped ID (a data error the quarantine reports), not a ghost.
    """
    det = config.detection
    policy = config.policy
    now = month_number(month)
    window_start = now - det.lookback_months + 1
    people = people.select("person_id", "birth_date", "name", pl.lit(True).alias("registered"))

    # Every check reads one row per payee (the latest period paid in the window, from the
    # runs); the sums are then taken over the rows of the payees a check flags.
    in_window = ledger.filter(pl.col("period_end").fill_null(pl.col("drop_index")) >= window_start)
    registered = pl.col("registered").fill_null(False)
    well_formed = id_is_well_formed(pl.col("person_id"))
    payees = _identity_checks(
        per_person(in_window, pl.col("period_end").max().alias("last_index")).join(
            people, on="person_id", how="left"
        ),
        policy,
    ).with_columns(
        (~well_formed).alias("malformed"),
        (well_formed & ~registered).alias("unregistered"),
        *[(registered & pl.col(c)).alias(c) for c in ("bad_checksum", "birth_mismatch", "impossible_age")],
    )
    if accounts is not None:
        payees = payees.join(_mistyped_registered(in_window, payees, accounts), on="person_id", how="left")
        payees = payees.with_columns(
            *[
                (pl.col(c) & pl.col("_owner").is_null()).alias(c)
                for c in ("malformed", "unregistered")
            ]
        ).drop("_owner")
    # (Read twice below: cached, else the optimiser plans the payees again for every reason.)
    flagged = payees.filter(
        pl.any_horizontal(
            "malformed", "unregistered", "bad_checksum", "birth_mismatch", "impossible_age"
        )
    ).cache()
    paid = per_person(
        rows_of(in_window, flagged).filter(
            pl.col("period_index").fill_null(pl.col("drop_index")) >= window_start
        ),
        pl.len().alias("n_paid"),
        pl.col("amount").fill_null(0.0).sum().alias("paid"),
        # The period text is YYYY-MM, so its first/last is that of the month index.
        period_of_index(pl.col("period_index").min()).alias("first_period"),
        period_of_index(pl.col("period_index").max()).alias("last_period"),
        pl.col("quarantined").any().alias("any_quarantined"),
    )
    checks = flagged.join(paid, on="person_id", how="inner")

    def payee_reason(flag: str, reason: str, probability: float) -> pl.LazyFrame:
        """A payee that is no register person: everything paid to it is the overpayment."""
        return reason_rows(
            checks.filter(pl.col(flag)),
            reason,
            probability,
            pl.col("paid"),
            pl.col("person_id"),
            pl.col("n_paid"),
            pl.col("first_period"),
            fmt_yuan(pl.col("paid")),
        )

    malformed = payee_reason("malformed", "IA_MALFORMED_PAYEE", det.malformed_payee_probability)
    unregistered = payee_reason(
        "unregistered", "IA_UNREGISTERED_PAYEE", det.unregistered_payee_probability
    )
    bad_checksum = reason_rows(
        checks.filter(pl.col("bad_checksum")),
        "IA_BAD_CHECKSUM",
        det.bad_checksum_probability,
        pl.col("paid"),
        pl.col("person_id"),
        fmt_yuan(pl.col("paid")),
    )
    mismatch = reason_rows(
        checks.filter(pl.col("birth_mismatch")),
        "IA_BIRTH_MISMATCH",
        det.birth_mismatch_probability,
        pl.col("paid"),
        pl.col("birth_date"),
        pl.col("id_birth"),
    )
    impossible = reason_rows(
        checks.filter(pl.col("impossible_age")),
        "IA_IMPOSSIBLE_AGE",
        det.impossible_age_probability,
        pl.col("paid"),
        pl.col("age_at_last"),
        pl.col("last_period"),
        pl.lit(str(policy.max_plausible_age)),
    )
    rows = pl.concat([malformed, unregistered, bad_checksum, mismatch, impossible])
    # Several identity defects on one record are more convincing together: noisy-or.
    return rows.with_columns(
        (1.0 - (1.0 - pl.col("probability")).product().over("person_id")).alias("probability"),
        pl.col("est_overpayment").max().over("person_id"),
    )


def _mistyped_registered(
    ledger: pl.LazyFrame, payees: pl.LazyFrame, accounts: pl.LazyFrame
) -> pl.LazyFrame:
    """``person_id, _owner``: payees off the register (malformed or unknown ID) whose every
    payment went into accounts of one and the same registered person.

    An account several registered persons hold (spouses often share one) names its owner
    when exactly one of them has an ID within ``MISTYPED_ID_EDITS`` edits of the payee's.
    """
    off_register = payees.filter(pl.col("malformed") | pl.col("unregistered")).select("person_id")
    paid_into = (
        ledger.join(off_register, on="person_id", how="semi")
        .select("person_id", "bank_account")
        .unique()
    )
    owners = accounts.select(pl.col("person_id").alias("_owner"), "bank_account").unique()
    near = identity.id_edits(pl.col("person_id"), pl.col("_owner")) <= MISTYPED_ID_EDITS
    return (
        paid_into.join(owners, on="bank_account", how="left")
        .group_by("person_id")
        .agg(
            pl.col("_owner").n_unique().alias("_owners"),
            pl.col("_owner").null_count().alias("_unowned"),
            pl.col("_owner").drop_nulls().first().alias("_only"),
            pl.col("_owner").filter(near).unique().alias("_near"),
        )
        .filter(pl.col("_unowned") == 0)
        .select(
            "person_id",
            pl.when(pl.col("_owners") == 1)
            .then(pl.col("_only"))
            .when(pl.col("_near").list.len() == 1)
            .then(pl.col("_near").list.first())
            .alias("_owner"),
        )
        .filter(pl.col("_owner").is_not_null())
    )


def _identity_checks(registered: pl.LazyFrame, policy) -> pl.LazyFrame:  # type: ignore[no-untyped-def]
    """``bad_checksum``, ``birth_mismatch``, ``impossible_age`` (and ``age_at_last``,
    ``id_birth``) of paid register persons (``last_index``, ``birth_date``)."""
    registered = registered.with_columns(
        id_checksum_ok(pl.col("person_id")).alias("checksum_ok"),
        id_birth_date(pl.col("person_id")).alias("id_birth"),
    )
    last_paid_date = (pl.col("last_index") // 12).cast(pl.Int32)
    age_at_last = last_paid_date - pl.col("birth_date").dt.year().cast(pl.Int32)
    return registered.with_columns(age_at_last.alias("age_at_last")).with_columns(
        (~pl.col("checksum_ok")).alias("bad_checksum"),
        (
            pl.col("id_birth").is_not_null()
            & pl.col("birth_date").is_not_null()
            & (pl.col("id_birth") != pl.col("birth_date"))
        ).alias("birth_mismatch"),
        (
            (pl.col("age_at_last") > policy.max_plausible_age)
            | (pl.col("age_at_last") < policy.min_pension_age)
            | (
                (pl.col("last_index") // 12 - pl.col("id_birth").dt.year().cast(pl.Int32))
                > policy.max_plausible_age
            ).fill_null(False)
        ).alias("impossible_age"),
    )


def monthly_amount(ledger: pl.LazyFrame, month: str) -> pl.LazyFrame:
    """Each person's latest regular monthly amount (all schemes) and count of months paid.

    ``monthly_amount`` is the sum over schemes of the latest regular amount;
    ``last_paid_index`` the latest period index paid; ``months_paid`` distinct periods paid.
    """
    del month
    regular = ledger.filter((pl.col("kind") == "regular") & pl.col("amount").is_not_null())
    # The latest row by (period, amount, account): largest period, then largest amount, then
    # largest account. Keeping each group's latest-period rows first (a window on one integer
    # key) and aggregating those is far cheaper than sorting the whole ledger.
    # (On the runs: the rows of a payee-scheme's latest period are the last rows of the runs
    # that end in it.)
    period = pl.col("period_end").fill_null(-1)
    at_latest = regular.filter(period == period.max().over("payee_scheme"))
    # The account of the largest amount (its largest, when two): one filter, then plain
    # aggregations (an expression evaluated in every group is far slower).
    latest = (
        at_latest.filter(pl.col("amount") == pl.col("amount").max().over("payee_scheme"))
        .group_by("payee_scheme")
        .agg(
            pl.col("person_id").first(),
            pl.col("scheme").first(),
            pl.col("amount").first(),
            pl.col("period_end").max().alias("last_paid_index"),
            pl.col("bank_account").max().alias("pay_account"),
        )
    )
    return latest.drop("payee_scheme").sort("scheme").group_by("person_id").agg(
        pl.col("amount").sum().alias("monthly_amount"),
        pl.col("last_paid_index").max(),
        pl.col("pay_account").first(),
    )


def months_paid(ledger: pl.LazyFrame) -> pl.LazyFrame:
    """Each payee's number of distinct periods paid, any kind (``months_paid``, UInt32; an
    unknown period counts as one): the runs' months where the payee's runs do not share a
    period, the distinct periods of the rows where they do."""
    shared = overlapping(ledger)
    known = pl.col("period_index").is_not_null()
    apart = per_person(
        ledger.join(shared, on="payee", how="anti"),
        (pl.col("months").filter(known).sum() + (~known).any().cast(pl.Int64))
        .cast(pl.UInt32)
        .alias("months_paid"),
    )
    together = per_person(
        rows_of(ledger, shared, on="payee"),
        pl.col("period_index").n_unique().cast(pl.UInt32).alias("months_paid"),
    )
    return pl.concat([apart, together])


__all__ = [
    "LEDGER_COLUMNS",
    "amount_anomaly",
    "date_month_index",
    "duplicate_receipt",
    "fmt_account",
    "id_birth_date",
    "id_checksum_ok",
    "id_is_well_formed",
    "identity_anomaly",
    "ledger_keys",
    "monthly_amount",
    "months_paid",
    "paid_ledger",
    "parse_amount_text",
    "parse_period_text",
]
