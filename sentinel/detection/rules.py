"""The rule families of a prepared month: every reason row they find, one family at a time."""

from __future__ import annotations

import polars as pl

from features.amount_anomaly import amount_anomaly
from features.cases import empty_reasons
from features.custody import custody_paid
from features.deaths import deceased_paid
from features.duplicate_receipt import duplicate_receipt
from features.identity_anomaly import identity_anomaly
from features.network import shared_account
from features.survival import suspected_unreported_death
from features.suspects import death_suspects, suspect_reasons
from sentinel.config import SentinelConfig
from sentinel.detection.history import MonthHistory
from sentinel.detection.preparation import PreparedMonth, StageClock, no_clock, prepare_month


def prepared_rule_reasons(
    prep: PreparedMonth, config: SentinelConfig, clock: StageClock = no_clock
) -> pl.LazyFrame:
    """All reason rows (``features.cases.REASON_SCHEMA``) of the rule families over a
    prepared month (:func:`sentinel.detection.prepare_month`)."""
    month, det = prep.month, config.detection
    with clock("deceased_paid"):
        dead = deceased_paid(
            prep.ledger,
            prep.deaths_linked,
            prep.evidence,
            det,
            people=prep.people,
            month=month,
            death_payment_lag_months=config.policy.death_payment_lag_months,
        ).collect()
    with clock("suspected_unreported_death"):
        suspected = suspected_unreported_death(
            prep.ledger,
            prep.people,
            prep.evidence,
            prep.changes,
            prep.deaths_linked,
            month,
            det,
            certification_cycle_months=config.policy.certification_cycle_months,
            leads=prep.death_leads,
            shares=prep.shares,
            keep_top=det.audit_capacity,
            scored_anyway=death_suspects(prep.suspects),
        ).collect()
    with clock("duplicate_receipt"):
        duplicate = duplicate_receipt(prep.ledger, det.duplicate_receipt_probability).collect()
    with clock("shared_account"):
        shared = shared_account(
            prep.runs,
            prep.ledger,
            prep.people,
            _death_probability(dead, suspected, config),
            month,
            det,
            certification_cycle_months=config.policy.certification_cycle_months,
            edges=prep.edges,
            evidence=prep.evidence,
        ).collect()
    with clock("amount_anomaly"):
        amount = amount_anomaly(prep.ledger, prep.runs, det, config.policy).collect()
    with clock("identity_anomaly"):
        identity = identity_anomaly(
            prep.ledger,
            prep.people,
            month,
            det,
            config.policy,
            accounts=prep.runs.select("person_id", "bank_account"),
        ).collect()
    parts = [dead, suspected, duplicate, shared, amount, identity]
    if prep.custody is not None:
        with clock("custody_paid"):
            parts.append(custody_paid(prep.ledger, prep.custody, det, config.policy).collect())
    if prep.suspects is not None:
        parts.append(suspect_reasons(prep.suspects, det.upstream_suspect_probability).collect())
    return pl.concat([empty_reasons(), *[part.lazy() for part in parts]])


def _death_probability(
    dead: pl.DataFrame, suspected: pl.DataFrame, config: SentinelConfig
) -> pl.LazyFrame:
    """``person_id, p_dead``: how probably each person is dead and still paid, for the ring
    rule (``dead``: the ``deceased_paid`` reasons; ``suspected``: the
    ``suspected_unreported_death`` reasons). A member whose death was recorded and whose
    pension stopped with it says nothing against the others: the elderly a village agent
    collects for die like everyone. A member paid after a death the centre has not acted on
    does; one whose record only just arrived waits for the next payroll."""
    just_arrived = dead.filter(pl.col("reason") == "DP_RECORD_JUST_ARRIVED").select("person_id")
    paid_after_death = (
        dead.join(just_arrived, on="person_id", how="anti")
        .group_by("person_id")
        .agg(pl.col("probability").max().alias("p_dead"))
    )
    return (
        pl.concat(
            [
                paid_after_death.lazy(),
                # Leads below the floor are kept to fill visits, not as evidence about others.
                suspected.lazy()
                .filter(pl.col("probability") >= config.detection.min_suspected_death_probability)
                .group_by("person_id")
                .agg(pl.col("probability").max().alias("p_dead")),
            ]
        )
        .group_by("person_id")
        .agg(pl.col("p_dead").max())
    )


def rule_reasons(history: MonthHistory, config: SentinelConfig) -> pl.LazyFrame:
    """All reason rows (``features.cases.REASON_SCHEMA``) of the rule families."""
    return prepared_rule_reasons(prepare_month(history, config), config)
