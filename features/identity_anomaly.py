"""The identity-anomaly rule family: payments to identities that cannot be a living,
registered pensioner (:func:`identity_anomaly`), read off the paid ledger
(:mod:`features.payments`) and the register persons (:func:`features.history.register_people`).
"""

from __future__ import annotations

import polars as pl

from features import identity
from features.cases import fmt_yuan, per_person, reason_rows
from features.ledger import rows_of
from features.payments import id_birth_date, id_checksum_ok, id_is_well_formed
from sentinel.config import DetectionConfig, PolicyConfig
from sentinel.periods import month_number, period_of_index

#: A payee ID this many edits from a registered ID is that ID mistyped: a character lost,
#: added, changed, or two swapped, once or twice. Two persons of one county share the region
#: code and often the birth decade; their 18 characters rarely come closer than that.
MISTYPED_ID_EDITS = 2

#: The defects :func:`identity_anomaly` checks each payee for, one Boolean column each.
_DEFECTS = ("malformed", "unregistered", "bad_checksum", "birth_mismatch", "impossible_age")


def identity_anomaly(
    ledger: pl.LazyFrame,
    people: pl.LazyFrame,
    month: str,
    detection: DetectionConfig,
    policy: PolicyConfig,
    accounts: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """Payments to identities that cannot be a living, registered pensioner (window and
    probabilities from the ``detection`` section, age bounds from ``policy``).

    ``people`` is one row per register person with their latest ``name`` and ``birth_date``
    (:func:`features.history.register_people`).

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
    window_start = month_number(month) - detection.lookback_months + 1
    # Every check reads one row per payee (the latest period paid in the window, from the
    # runs); the sums are then taken over the rows of the payees a check flags.
    in_window = ledger.filter(pl.col("period_end").fill_null(pl.col("drop_index")) >= window_start)
    payees = _payee_defects(in_window, people, policy, accounts)
    # (Read twice below: cached, else the optimiser plans the payees again for every reason.)
    flagged = payees.filter(pl.any_horizontal(*_DEFECTS)).cache()
    checks = flagged.join(
        _paid_in_window(in_window, flagged, window_start), on="person_id", how="inner"
    )
    rows = _identity_reasons(checks, detection, policy)
    # Several identity defects on one record are more convincing together: noisy-or.
    return rows.with_columns(
        (1.0 - (1.0 - pl.col("probability")).product().over("person_id")).alias("probability"),
        pl.col("est_overpayment").max().over("person_id"),
    )


def _payee_defects(
    in_window: pl.LazyFrame,
    people: pl.LazyFrame,
    policy: PolicyConfig,
    accounts: pl.LazyFrame | None,
) -> pl.LazyFrame:
    """One row per payee paid in the window: its :data:`_DEFECTS` (a register defect only
    for a register person; an off-register payee that is a registered person under a
    mistyped ID, as ``accounts`` show, is no defect)."""
    people = people.select("person_id", "birth_date", "name", pl.lit(True).alias("registered"))
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
        *[
            (registered & pl.col(c)).alias(c)
            for c in ("bad_checksum", "birth_mismatch", "impossible_age")
        ],
    )
    if accounts is None:
        return payees
    payees = payees.join(
        _mistyped_registered(in_window, payees, accounts), on="person_id", how="left"
    )
    return payees.with_columns(
        *[(pl.col(c) & pl.col("_owner").is_null()).alias(c) for c in ("malformed", "unregistered")]
    ).drop("_owner")


def _paid_in_window(
    in_window: pl.LazyFrame, flagged: pl.LazyFrame, window_start: int
) -> pl.LazyFrame:
    """What the ``flagged`` payees were paid for periods in the window: ``n_paid``, ``paid``,
    ``first_period``, ``last_period``, ``any_quarantined``."""
    return per_person(
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


def _identity_reasons(
    checks: pl.LazyFrame, detection: DetectionConfig, policy: PolicyConfig
) -> pl.LazyFrame:
    """The reason rows of the flagged payees: one per defect (:data:`_DEFECTS`), each with
    its code, probability and facts; the overpayment is everything paid to the payee."""
    paid = pl.col("paid")
    # A payee that is no register person: the ID paid, how often, since when, how much.
    off_register = (pl.col("person_id"), pl.col("n_paid"), pl.col("first_period"), fmt_yuan(paid))
    too_old = pl.lit(str(policy.max_plausible_age))
    rules = (
        ("malformed", "IA_MALFORMED_PAYEE", detection.malformed_payee_probability, off_register),
        (
            "unregistered",
            "IA_UNREGISTERED_PAYEE",
            detection.unregistered_payee_probability,
            off_register,
        ),
        (
            "bad_checksum",
            "IA_BAD_CHECKSUM",
            detection.bad_checksum_probability,
            (pl.col("person_id"), fmt_yuan(paid)),
        ),
        (
            "birth_mismatch",
            "IA_BIRTH_MISMATCH",
            detection.birth_mismatch_probability,
            (pl.col("birth_date"), pl.col("id_birth")),
        ),
        (
            "impossible_age",
            "IA_IMPOSSIBLE_AGE",
            detection.impossible_age_probability,
            (pl.col("age_at_last"), pl.col("last_period"), too_old),
        ),
    )
    return pl.concat(
        [
            reason_rows(checks.filter(pl.col(flag)), code, probability, paid, *facts)
            for flag, code, probability, facts in rules
        ]
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


def _identity_checks(registered: pl.LazyFrame, policy: PolicyConfig) -> pl.LazyFrame:
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
