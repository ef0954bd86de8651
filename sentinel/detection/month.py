"""A month's detection in two steps: what the rule families find among a set of persons
(:func:`find_candidates`), then every finding scored and ranked together
(:func:`rank_findings`).

A county runs both steps on its whole history. A province runs the first on each
partition's own persons (on the workers, ``flows.partitioned``) and the second once on
all partitions' findings together: the base rates, the recipients and the ranking are the
province's, and the list is the one a single run would make.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from features.audit_order import listable
from features.cases import fill_unscored
from features.deaths import scale_just_arrived, unacted_counts, unacted_records, unacted_shares
from features.policy import event_counts, policy_events
from features.scoring import reason_base_rates, recipients_by_scheme, score_reasons, suspect_lifts
from models.base import RiskModel
from sentinel.config import SentinelConfig
from sentinel.detection.history import MonthHistory
from sentinel.detection.person_features import prepared_person_features
from sentinel.detection.preparation import PreparedMonth, StageClock, no_clock, prepare_month
from sentinel.detection.ranking import rank_candidates
from sentinel.detection.rules import prepared_rule_reasons


@dataclass(frozen=True)
class MonthFindings:
    """What the rule families find among the persons a run scores: a county's, or one
    partition's own persons (a province's findings are its partitions' concatenated)."""

    #: Reason rows (:data:`features.cases.REASON_SCHEMA`).
    reasons: pl.LazyFrame
    #: ``person_id, scheme`` of the persons with a reason.
    schemes: pl.LazyFrame
    #: ``scheme, recipients``: persons paid a regular pension for the month
    #: (:func:`features.scoring.recipients_by_scheme`).
    recipients: pl.LazyFrame
    #: The month's policy event counts (:func:`features.policy.event_counts`).
    event_counts: pl.LazyFrame
    #: :func:`sentinel.detection.prepared_person_features` of the persons with a reason.
    features: pl.LazyFrame
    #: How many linked death records the centre left unacted on, per record kind
    #: (:func:`features.deaths.unacted_counts`).
    unacted: pl.LazyFrame
    #: The custody records linked to the register (``PreparedMonth.custody_links``).
    custody_links: pl.LazyFrame | None = None


@dataclass(frozen=True)
class MonthDetection:
    """What detection finds in a month: the ranked cases (:func:`detect_cases`) and the
    month's policy events (:func:`features.policy.policy_events`, for the manifest)."""

    cases: pl.DataFrame
    events: list[dict[str, object]]
    #: Persons paid a regular pension for the month (every scheme).
    recipients: int
    #: ``record_id, person_id`` of the custody records linked as proof to the month's
    #: register, for the suspension list and the carried cases' acquittals (linked once a
    #: month); None when none was delivered, or when detection did not link them.
    custody_links: pl.DataFrame | None = None
    #: Per kind of open upstream suspect, how often the rules corroborate them and the lift
    #: their own evidence was weighed by (:func:`features.scoring.suspect_lifts`, for the
    #: manifest); kinds no open suspect names are left out.
    corroboration: list[dict[str, object]] = field(default_factory=list)
    #: Whether the case IDs were made with an output folder's key (``keyed``) or as the
    #: unkeyed hashes of a folder begun before keys (``unkeyed``), for the manifest.
    case_ids: str = "unkeyed"


def find_candidates(
    prep: PreparedMonth,
    config: SentinelConfig,
    *,
    owned: pl.LazyFrame | None = None,
    clock: StageClock = no_clock,
) -> MonthFindings:
    """The rule families' reasons over a prepared month, and of the persons with one the
    scheme and features; with the month's recipients and policy event counts.

    ``owned`` (``person_id``): the persons whose findings these are (a partition's own
    persons; its halo persons are seen, not scored); None: every person of the month.
    """
    reasons = prepared_rule_reasons(prep, config, clock)
    ledger = prep.ledger
    unacted = unacted_records(
        prep.ledger,
        prep.deaths_linked,
        prep.people,
        prep.month,
        payroll_cutoff_day=config.detection.payroll_cutoff_day,
        death_payment_lag_months=config.policy.death_payment_lag_months,
    )
    if owned is not None:
        reasons = reasons.join(owned, on="person_id", how="semi")
        ledger = ledger.join(owned, on="person_id", how="semi")
        unacted = unacted.join(owned, on="person_id", how="semi")
    reasons = reasons.collect().lazy()
    persons = reasons.select("person_id").unique()
    return MonthFindings(
        reasons=reasons,
        schemes=prep.people.join(persons, on="person_id", how="semi").select("person_id", "scheme"),
        recipients=recipients_by_scheme(ledger, prep.month),
        event_counts=event_counts(ledger, prep.month),
        features=prepared_person_features(prep, persons),
        unacted=unacted_counts(unacted),
        custody_links=prep.custody_links,
    )


def rank_findings(
    findings: MonthFindings,
    model: RiskModel | None,
    month: str,
    config: SentinelConfig,
    clock: StageClock = no_clock,
    *,
    case_key: bytes | None = None,
) -> MonthDetection:
    """The month's cases (:func:`detect_cases`) and policy events from every finding: the
    reasons scored against the recipients of all the findings, the listable persons
    ranked with ``model`` (None: the rules' own probability); ``case_key`` makes the case
    IDs (:func:`sentinel.detection.case_id`)."""
    with clock("merge"):
        scored, base_rates, recipients = _scored(findings, config)
        scored = scored.filter(listable(config.detection.audit_capacity)).collect()
        counts = findings.event_counts.collect()
    with clock("features"):
        features = findings.features.collect()
        candidates = features.join(scored, on="person_id", how="inner").sort("person_id")
    cases = rank_candidates(candidates, model, month, config, clock, case_key=case_key).collect()
    events = policy_events(
        counts,
        recipients,
        base_rates,
        month,
        config.policy,
        common_reason_share=config.detection.common_reason_share,
    )
    total = int(recipients["recipients"].sum())
    lifts = (
        suspect_lifts(findings.reasons, total, config.detection.min_suspected_death_probability)
        .filter(pl.col("suspects") > 0)
        .collect()
    )
    links = findings.custody_links
    return MonthDetection(
        cases,
        events,
        total,
        links.collect() if links is not None else None,
        [{**row, "lift": round(row["lift"], 2)} for row in lifts.iter_rows(named=True)],
        "unkeyed" if case_key is None else "keyed",
    )


def _scored(
    findings: MonthFindings, config: SentinelConfig
) -> tuple[pl.LazyFrame, pl.DataFrame, pl.DataFrame]:
    """:func:`features.scoring.score_reasons` of the findings' reasons against their
    recipients (summed per scheme over the parts); with the base rates and the recipients
    per scheme."""
    recipients = (
        findings.recipients.group_by("scheme")
        .agg(pl.col("recipients").sum())
        .sort("scheme")
        .collect()
    )
    reasons = scale_just_arrived(findings.reasons, unacted_shares(findings.unacted))
    base_rates = reason_base_rates(reasons, findings.schemes, recipients.lazy()).collect()
    scored = score_reasons(
        reasons,
        findings.schemes,
        base_rates.lazy(),
        config.detection.common_reason_share,
        config.detection.min_suspected_death_probability,
        recipients=int(recipients["recipients"].sum()),
    )
    return scored, base_rates, recipients


def detect_month(
    history: MonthHistory,
    config: SentinelConfig,
    model: RiskModel | None = None,
    *,
    clock: StageClock = no_clock,
    case_key: bytes | None = None,
) -> MonthDetection:
    """:func:`detect_cases` and the month's policy events (``clock`` times the stages;
    ``case_key``: the output folder's key for case IDs, :func:`sentinel.detection.case_id`)."""
    prep = prepare_month(history, config, clock)
    findings = find_candidates(prep, config, clock=clock)
    return rank_findings(findings, model, history.month, config, clock, case_key=case_key)


def detect_cases(
    history: MonthHistory, config: SentinelConfig, model: RiskModel | None = None
) -> pl.LazyFrame:
    """Cases for ``history.month``: one row per person, ranked for field audit.

    Columns ``DETECTED_COLUMNS`` plus ``reason_codes`` (list), ``tier``
    (:mod:`features.scoring`) and ``expected_recovery`` (yuan).

    ``risk_score`` is the probability that the person's payments are improper: the rule
    families' own probability (common reasons discounted, :mod:`features.scoring`) when
    ``model`` is None, else the model's, which learned from audit outcomes how far the
    rules are right. ``est_overpayment`` is yuan already overpaid; ``amount_at_stake`` adds
    ``detection.forward_months`` of the current monthly amount when payments continue.
    ``priority_rank``: proof before signals (``tier``), then cases more likely improper
    than not, then expected recoverable yuan (probability × amount at stake), ties by
    ``person_id``. Persons whose reasons are only context or pending proof are not cases.
    """
    return detect_month(history, config, model).cases.lazy()


def person_features(history: MonthHistory, config: SentinelConfig) -> pl.LazyFrame:
    """One row per person (register persons and unregistered payees) with model features.

    Columns: ``person_id``, :data:`features.cases.PERSON_FEATURES` (numeric; nulls where a
    timeline is missing, e.g. never certified) and the person's scored reasons
    (:func:`features.scoring.score_reasons`; no reason: probability 0, tier 0), plus context
    (``name``, ``scheme``, ``township``, ``village``, ``last_paid_index``).
    """
    prep = prepare_month(history, config)
    scored, _, _ = _scored(find_candidates(prep, config), config)
    persons = pl.concat([prep.people.select("person_id"), scored.select("person_id")])
    return (
        prepared_person_features(prep, persons)
        .join(scored, on="person_id", how="left")
        .pipe(fill_unscored)
    )
