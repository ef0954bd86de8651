"""Detection: from a month's typed history to a ranked list of cases for field audit.

Public API
----------
:class:`MonthHistory`
    the typed history the ingest layer builds for the month scored.
:func:`detect_cases`
    case rows (``CASE_COLUMNS`` without ``status``/``first_flagged``), ranked by expected
    recoverable yuan = probability × amount at stake.
:func:`rule_reasons`
    every reason row of the rule families (for notebooks and tests).
:func:`person_features`
    the per-person feature frame the risk model reads (``features.cases.MODEL_FEATURES``).
:func:`fit_risk_model`
    the risk model fitted on audit outcomes received so far.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import numpy as np
import polars as pl

from features.amount_anomaly import amount_anomaly
from features.cases import (
    MODEL_FEATURES,
    date_month_index,
    empty_reasons,
    fill_unscored,
    model_features,
    month_number,
    period_of_index,
)
from features.certification import certification_state, survival_evidence
from features.custody import custody_paid, custody_spans, link_custody
from features.deaths import deceased_paid, link_deaths, linked_deaths
from features.duplicate_receipt import duplicate_receipt
from features.history import register_people, register_runs, runs_up_to
from features.identity_anomaly import identity_anomaly
from features.ledger import ledger_runs, ledger_runs_up_to
from features.network import receiver_changes, receiver_edges, shared_account
from features.payments import PAYOUT_KIND, ledger_keys, monthly_amount, months_paid, paid_ledger
from features.policy import event_counts, policy_events
from features.scoring import (
    listable,
    rank_cases,
    reason_base_rates,
    recipients_by_scheme,
    score_reasons,
    strength_of,
)
from features.survival import signal_shares, survival_signals, suspected_unreported_death
from features.suspects import open_suspects, suspect_answers, suspect_reasons
from models.base import RiskModel
from models.outcomes import PriorOffsetLogisticRegression
from sentinel.config import SentinelConfig
from sentinel.contract import CASE_COLUMNS, CASE_KEY_COLUMNS
from sentinel.evidence import render_evidence

#: What detection says of a case; the case store and the audit selection add the rest of
#: ``CASE_COLUMNS`` (``first_flagged``, ``status``, ``audit_selection``,
#: ``selection_probability``).
DETECTED_COLUMNS: tuple[str, ...] = tuple(
    c
    for c in CASE_COLUMNS
    # Set when the month's list is published (listing, store, selection, suspect marks).
    if c
    not in (
        "status",
        "first_flagged",
        "audit_selection",
        "selection_probability",
        "suspect_batch",
        "suspect_due",
    )
)
_TYPOLOGY_PREFIX = {
    "deceased_paid": "DP",
    "suspected_unreported_death": "SD",
    "duplicate_receipt": "DR",
    "shared_account": "SA",
    "amount_anomaly": "AA",
    "identity_anomaly": "IA",
    "custody_paid": "CP",
    "upstream_suspect": "US",
}


@dataclass(frozen=True)
class MonthHistory:
    """Everything known at the end of ``month`` (typed, see ``sentinel.contract``).

    Every frame carries ``month``: the drop (``YYYY-MM``) that delivered the row.
    ``quarantined_payouts`` holds payout rows that were not loaded, all columns as raw text
    plus ``_reason``; they were still paid unless the reason is ``duplicate row``.
    """

    month: str
    register: pl.LazyFrame
    payouts: pl.LazyFrame
    quarantined_payouts: pl.LazyFrame
    deaths: pl.LazyFrame
    certifications: pl.LazyFrame
    outcomes: pl.LazyFrame
    #: The register summarised per person (:func:`features.history.register_runs`) when the
    #: store keeps it; None to summarise ``register`` here. Detection reads only this.
    register_runs: pl.LazyFrame | None = None
    #: The paid ledger summarised per person (:func:`features.ledger.ledger_runs` of
    #: :func:`features.payments.paid_ledger`) when the store keeps it; None to summarise
    #: ``payouts`` and ``quarantined_payouts`` here. Detection reads only this.
    ledger_runs: pl.LazyFrame | None = None
    #: Custody records received (``sentinel.contract.CUSTODY``); None: none delivered.
    custody: pl.LazyFrame | None = None
    #: Upstream suspect lists received (``sentinel.contract.SUSPECTS``); None: none delivered.
    suspects: pl.LazyFrame | None = None


@dataclass(frozen=True)
class PreparedMonth:
    """Intermediate frames shared by the rule families (collected once per run)."""

    month: str
    people: pl.LazyFrame
    #: The paid ledger as runs (:mod:`features.ledger`) with :func:`ledger_keys` columns.
    ledger: pl.LazyFrame
    runs: pl.LazyFrame
    evidence: pl.LazyFrame
    changes: pl.LazyFrame
    deaths_linked: pl.LazyFrame
    edges: pl.LazyFrame
    death_leads: pl.LazyFrame
    #: How many persons paid within the cycle show each survival signal, per scheme
    #: (:func:`features.survival.signal_shares`), over the whole county.
    shares: pl.LazyFrame
    #: The custodies of register persons (:func:`features.custody.custody_spans`); None
    #: when no custody record was delivered.
    custody: pl.LazyFrame | None = None
    #: ``record_id, person_id`` of the custody records linked as proof to the month's
    #: register (:func:`features.custody.link_custody`); None when no custody record was
    #: delivered.
    custody_links: pl.LazyFrame | None = None
    #: Upstream suspects still to be answered, of register persons
    #: (:func:`features.suspects.open_suspects`); None when no suspect list was delivered.
    suspects: pl.LazyFrame | None = None


#: A stage clock: ``clock("linkage")`` is a context manager wrapped around one stage of
#: detection (``benchmarks/detection_bench.py`` times them; detection itself does not).
StageClock = Callable[[str], AbstractContextManager[object]]


def _no_clock(stage: str) -> AbstractContextManager[object]:
    del stage
    return nullcontext()


def _upto(frame: pl.LazyFrame, month: str) -> pl.LazyFrame:
    return frame.filter(pl.col("month") <= month)


def month_register_runs(history: MonthHistory) -> pl.LazyFrame:
    """The register runs up to ``history.month``: the stored summary when the history has
    one, else summarised from the snapshots (the same rows either way)."""
    if history.register_runs is not None:
        return runs_up_to(history.register_runs, history.month)
    # register_runs reads only the columns a run keeps (not the flags and region codes).
    return register_runs(_upto(history.register, history.month))


def month_ledger_runs(history: MonthHistory) -> pl.LazyFrame:
    """The paid ledger up to ``history.month`` as runs (:mod:`features.ledger`), with the
    columns of :func:`features.payments.ledger_keys`: the stored summary when the history
    has one, else summarised from the payouts (the same rows either way)."""
    month = history.month
    if history.ledger_runs is not None:
        runs = ledger_runs_up_to(history.ledger_runs, month)
    else:
        rows = paid_ledger(_upto(history.payouts, month), _upto(history.quarantined_payouts, month))
        runs = ledger_runs(rows.filter(pl.col("drop_index") <= month_number(month)))
    return runs.with_columns(pl.col("kind").cast(PAYOUT_KIND)).with_columns(ledger_keys())


def prepare_month(
    history: MonthHistory,
    config: SentinelConfig,
    clock: StageClock = _no_clock,
    *,
    links: pl.LazyFrame | None = None,
    shares: pl.LazyFrame | None = None,
) -> PreparedMonth:
    """The shared frames; ``links`` (:func:`link_deaths` output) when the death linkage was
    done elsewhere, over a larger register (a partitioned run links against the province),
    and ``shares`` (:func:`signal_shares`) when counted elsewhere over a larger county."""
    month = history.month
    with clock("prepare: register"):
        # One chunk: the partitioned run appends its halo persons' runs (many small chunks).
        runs = month_register_runs(history).collect().rechunk().lazy()
        people = register_people(runs).collect().lazy()
    with clock("prepare: ledger"):
        ledger = month_ledger_runs(history).collect().lazy()
    with clock("prepare: evidence"):
        evidence = (
            survival_evidence(_upto(history.certifications, month), people, month, config)
            .collect()
            .lazy()
        )
    with clock("prepare: receivers"):
        # Independent plans over the same frames: collected together, they run side by side.
        changes, edges = (
            frame.lazy()
            for frame in pl.collect_all(
                [
                    receiver_changes(runs, ledger),
                    receiver_edges(runs, ledger, month, config),
                ]
            )
        )
    with clock("linkage"):
        deaths = _upto(history.deaths, month)
        if links is None:
            links = link_deaths(deaths, people)
        links = links.collect().lazy()
        deaths_linked, death_leads = (
            frame.lazy()
            for frame in pl.collect_all(
                [
                    linked_deaths(deaths, people, config, links=links),
                    linked_deaths(deaths, people, config, links=links, leads=True),
                ]
            )
        )
    custody = custody_links = None
    if history.custody is not None:
        with clock("linkage: custody"):
            records = _upto(history.custody, month).collect()
            if records.height:
                custody_links = link_custody(records.lazy(), people, config).collect().lazy()
                custody = (
                    custody_spans(records.lazy(), custody_links, month, config.policy)
                    .collect()
                    .lazy()
                )
    suspects = None
    if history.suspects is not None:
        with clock("prepare: suspects"):
            pushed = _upto(history.suspects, month).collect()
            if pushed.height:
                answers = suspect_answers(
                    pushed.lazy(), _upto(history.outcomes, month), config.cases.clear_months
                )
                suspects = open_suspects(answers, people).collect().lazy()
    if shares is None:
        with clock("prepare: survival signals"):
            shares = (
                signal_shares(survival_signals(ledger, people, evidence, changes, month, config))
                .collect()
                .lazy()
            )
    return PreparedMonth(
        month,
        people,
        ledger,
        runs,
        evidence,
        changes,
        deaths_linked,
        edges,
        death_leads,
        shares,
        custody,
        custody_links,
        suspects,
    )


def prepared_rule_reasons(
    prep: PreparedMonth, config: SentinelConfig, clock: StageClock = _no_clock
) -> pl.LazyFrame:
    month = prep.month
    with clock("deceased_paid"):
        dead = deceased_paid(
            prep.ledger, prep.deaths_linked, prep.evidence, config, prep.people, month
        ).collect()
    with clock("suspected_unreported_death"):
        suspected = suspected_unreported_death(
            prep.ledger,
            prep.people,
            prep.evidence,
            prep.changes,
            prep.deaths_linked,
            month,
            config,
            leads=prep.death_leads,
            shares=prep.shares,
            keep_top=config.detection.audit_capacity,
        ).collect()
    # How dead each person probably is, for the ring rule: a linked record counts fully.
    p_dead = (
        pl.concat(
            [
                prep.deaths_linked.select("person_id", pl.col("confidence").alias("p_dead")),
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
    with clock("duplicate_receipt"):
        duplicate = duplicate_receipt(prep.ledger, config).collect()
    with clock("shared_account"):
        shared = shared_account(
            prep.runs,
            prep.ledger,
            prep.people,
            p_dead,
            month,
            config,
            edges=prep.edges,
            evidence=prep.evidence,
        ).collect()
    with clock("amount_anomaly"):
        amount = amount_anomaly(prep.ledger, prep.runs, config).collect()
    with clock("identity_anomaly"):
        identity = identity_anomaly(
            prep.ledger,
            prep.people,
            month,
            config,
            accounts=prep.runs.select("person_id", "bank_account"),
        ).collect()
    parts = [dead, suspected, duplicate, shared, amount, identity]
    if prep.custody is not None:
        with clock("custody_paid"):
            parts.append(custody_paid(prep.ledger, prep.custody, config).collect())
    if prep.suspects is not None:
        parts.append(
            suspect_reasons(prep.suspects, config.detection.upstream_suspect_probability).collect()
        )
    return pl.concat([empty_reasons(), *[part.lazy() for part in parts]])


def rule_reasons(history: MonthHistory, config: SentinelConfig) -> pl.LazyFrame:
    """All reason rows (``features.cases.REASON_SCHEMA``) of the rule families."""
    return prepared_rule_reasons(prepare_month(history, config), config)


def prepared_person_features(prep: PreparedMonth, persons: pl.LazyFrame) -> pl.LazyFrame:
    """:data:`features.cases.PERSON_FEATURES` and context of ``persons`` (``person_id``)."""
    now = month_number(prep.month)
    paid = monthly_amount(prep.ledger, prep.month)
    months = months_paid(prep.ledger)
    edges = prep.edges
    sizes = edges.group_by("receiver", "kind").agg(pl.col("person_id").n_unique().alias("size"))
    per_person_sizes = (
        edges.join(sizes, on=["receiver", "kind"])
        .group_by("person_id")
        .agg(
            pl.col("size")
            .filter(pl.col("kind") == "account")
            .max()
            .fill_null(0)
            .alias("account_people"),
            pl.col("size")
            .filter(pl.col("kind") == "collector")
            .max()
            .fill_null(0)
            .alias("collector_people"),
            pl.col("size").max().alias("component_size"),
        )
    )
    scheme_code = (
        pl.when(pl.col("scheme") == "enterprise")
        .then(1)
        .when(pl.col("scheme") == "institution")
        .then(2)
        .otherwise(0)
    )
    return (
        persons.select("person_id")
        .unique()
        .join(prep.people, on="person_id", how="left")
        .join(paid, on="person_id", how="left")
        .join(months, on="person_id", how="left")
        .join(prep.evidence.drop("birth_date", "benefit_start"), on="person_id", how="left")
        .join(prep.changes, on="person_id", how="left")
        .join(per_person_sizes, on="person_id", how="left")
        .with_columns(
            ((pl.lit(now) - date_month_index(pl.col("birth_date"))) / 12.0).alias("age"),
            scheme_code.alias("scheme_code"),
            (pl.lit(now) - pl.col("pass_index")).alias("months_since_pass"),
            (pl.lit(now) - pl.col("strong_index")).alias("months_since_strong_evidence"),
            pl.col("fails_since_pass").fill_null(0).alias("failed_certs_since_pass"),
            (pl.col("pass_method") == "face_app")
            .fill_null(False)
            .cast(pl.Int8)
            .alias("last_pass_face_app"),
            (pl.col("account_change_index") > pl.col("strong_index"))
            .fill_null(False)
            .cast(pl.Int8)
            .alias("account_changed_after_evidence"),
            (pl.col("collector_change_index") > pl.col("strong_index"))
            .fill_null(False)
            .cast(pl.Int8)
            .alias("collector_after_evidence"),
            pl.col("collector_id").is_not_null().cast(pl.Int8).alias("has_collector"),
            (pl.lit(now) - pl.col("last_paid_index")).alias("months_since_paid"),
        )
        .with_columns(
            pl.col("account_people").fill_null(0),
            pl.col("collector_people").fill_null(0),
            pl.col("component_size").fill_null(0),
            pl.col("months_paid").fill_null(0),
            pl.col("monthly_amount").fill_null(0.0),
        )
    )


def _scored(
    prep: PreparedMonth, reasons: pl.LazyFrame, config: SentinelConfig
) -> tuple[pl.LazyFrame, pl.DataFrame, pl.DataFrame]:
    """:func:`features.scoring.score_reasons` of the month's reasons against the month's
    recipients; with the base rates and the recipients per scheme."""
    people = prep.people.select("person_id", "scheme")
    recipients = recipients_by_scheme(prep.ledger, prep.month).collect()
    base_rates = reason_base_rates(reasons, people, recipients.lazy()).collect()
    scored = score_reasons(
        reasons,
        people,
        base_rates.lazy(),
        config.detection.common_reason_share,
        config.detection.min_suspected_death_probability,
        recipients=int(recipients["recipients"].sum()),
    )
    return scored, base_rates, recipients


def last_paid(
    history: MonthHistory,
    persons: pl.LazyFrame,
    config: SentinelConfig,
    custody_links: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """``person_id, last_paid_index, pension_terminated, last_pass_date, last_pass_method,
    acquitted_on``:
    the latest period each of ``persons`` was paid a regular pension for, up to
    ``history.month`` (null when never); whether the register last showed their pension
    terminated (the centre knows: what was overpaid is settled by the termination
    procedure, not found by a visit); and their last certification pass as
    :func:`features.certification.certification_state` (the certification cycle of
    ``policy.suspend_after_months``) has it, the one the suspension list reads; and the day
    an acquittal ended their pre-trial detention (null when none did: the detention's
    pension is then paid back, nothing improper remains of it).

    ``custody_links``: the month's custody records linked to its whole register
    (:attr:`MonthDetection.custody_links`), so that they are not linked again; without
    them the records are linked to ``persons`` here."""
    cycle = config.policy.suspend_after_months
    runs = month_ledger_runs(history).filter(pl.col("kind") == "regular")
    paid = (
        runs.join(persons, on="person_id", how="semi")
        .group_by("person_id")
        .agg(pl.col("period_end").max().alias("last_paid_index"))
    )
    people = register_people(month_register_runs(history).join(persons, on="person_id", how="semi"))
    status = people.select(
        "person_id", (pl.col("status") == "terminated").alias("pension_terminated")
    )
    certified = certification_state(
        people,
        history.certifications.join(persons, on="person_id", how="semi"),
        history.month,
        cycle,
    ).select(
        "person_id",
        "last_pass_date",
        pl.col("last_pass_method").fill_null(
            pl.when(pl.col("last_pass_date").is_not_null()).then(pl.lit("register"))
        ),
    )
    return (
        persons.select("person_id")
        .unique()
        .join(paid, on="person_id", how="left")
        .join(status, on="person_id", how="left")
        .join(certified, on="person_id", how="left")
        .join(_acquitted(history, people, config, custody_links), on="person_id", how="left")
        .with_columns(pl.col("pension_terminated").fill_null(False))
    )


def _acquitted(
    history: MonthHistory,
    people: pl.LazyFrame,
    config: SentinelConfig,
    links: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """``person_id, acquitted_on``: the latest acquittal linked to one of ``people`` that
    ended a pre-trial detention of theirs (``links``: the records already linked to the
    register, else linked to ``people`` here)."""
    empty = pl.LazyFrame(schema={"person_id": pl.String, "acquitted_on": pl.Date})
    if history.custody is None:
        return empty
    records = _upto(history.custody, history.month).collect()
    if records.is_empty():
        return empty
    if links is None:
        links = link_custody(records.lazy(), people, config)
    else:
        # A person's custodies are all theirs: the spans of these persons need only their links.
        links = links.join(people.select("person_id"), on="person_id", how="semi")
    spans = custody_spans(records.lazy(), links, history.month, config.policy)
    acquitted = spans.filter((pl.col("kind") == "pretrial_detention") & pl.col("acquitted"))
    return (
        records.lazy()
        .filter(pl.col("kind") == "acquittal")
        .join(links, on="record_id", how="inner", suffix="_linked")
        .select(pl.col("person_id_linked").alias("person_id"), pl.col("start_date"))
        .join(acquitted.select("person_id").unique(), on="person_id", how="semi")
        .group_by("person_id")
        .agg(pl.col("start_date").max().alias("acquitted_on"))
    )


def person_features(history: MonthHistory, config: SentinelConfig) -> pl.LazyFrame:
    """One row per person (register persons and unregistered payees) with model features.

    Columns: ``person_id``, :data:`features.cases.PERSON_FEATURES` (numeric; nulls where a
    timeline is missing, e.g. never certified) and the person's scored reasons
    (:func:`features.scoring.score_reasons`; no reason: probability 0, tier 0), plus context
    (``name``, ``scheme``, ``township``, ``village``, ``last_paid_index``).
    """
    prep = prepare_month(history, config)
    scored, _, _ = _scored(prep, prepared_rule_reasons(prep, config), config)
    persons = pl.concat([prep.people.select("person_id"), scored.select("person_id")])
    return (
        prepared_person_features(prep, persons)
        .join(scored, on="person_id", how="left")
        .pipe(fill_unscored)
    )


def case_id(person_id: str, typology: str) -> str:
    """Deterministic case identifier: typology prefix + first 12 hex of sha256(person|typology)."""
    digest = hashlib.sha256(f"{person_id}|{typology}".encode()).hexdigest()[:12]
    return f"{_TYPOLOGY_PREFIX.get(typology, 'XX')}-{digest}"


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
    return _detect(history, config, model, _no_clock).cases.lazy()


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


def detect_month(
    history: MonthHistory, config: SentinelConfig, model: RiskModel | None = None
) -> MonthDetection:
    """:func:`detect_cases` and the month's policy events."""
    return _detect(history, config, model, _no_clock)


def _detect(
    history: MonthHistory, config: SentinelConfig, model: RiskModel | None, clock: StageClock
) -> MonthDetection:
    prep = prepare_month(history, config, clock)
    reasons = prepared_rule_reasons(prep, config, clock)
    with clock("merge"):
        scored, base_rates, recipients = _scored(prep, reasons, config)
        scored = scored.filter(listable(config.detection.audit_capacity)).collect()
        counts = event_counts(prep.ledger, prep.month).collect()
    with clock("features"):
        features = prepared_person_features(prep, scored.lazy().select("person_id")).collect()
        candidates = features.join(scored, on="person_id", how="inner").sort("person_id")
    cases = rank_candidates(candidates, model, history.month, config, clock).collect()
    events = policy_events(counts, recipients, base_rates, history.month, config)
    custody_links = prep.custody_links.collect() if prep.custody_links is not None else None
    return MonthDetection(cases, events, int(recipients["recipients"].sum()), custody_links)


def rank_candidates(
    candidates: pl.DataFrame,
    model: RiskModel | None,
    month: str,
    config: SentinelConfig,
    clock: StageClock = _no_clock,
) -> pl.LazyFrame:
    """The ranked cases of :func:`detect_cases` from the candidate persons' features and
    scored reasons (one row per person with a tier above none, sorted by ``person_id``)."""
    if candidates.height == 0:
        return pl.LazyFrame(
            schema={
                **{c: pl.String for c in DETECTED_COLUMNS},
                "priority_rank": pl.Int64,
                "risk_score": pl.Float64,
                "est_overpayment": pl.Float64,
                "amount_at_stake": pl.Float64,
                "reason_codes": pl.List(pl.String),
                "tier": pl.Int8,
                "expected_recovery": pl.Float64,
            }
        ).select(*DETECTED_COLUMNS, "reason_codes", "tier", "expected_recovery")
    with clock("model"):
        if model is None:
            probability = candidates["rule_probability"].to_numpy()
        else:
            probability = np.asarray(model.predict_proba(model_matrix(candidates)))[:, 1]
    with clock("evidence"):
        return _ranked_cases(candidates, probability, month, config).collect().lazy()


def _ranked_cases(
    candidates: pl.DataFrame, probability: np.ndarray, month: str, config: SentinelConfig
) -> pl.LazyFrame:
    now = month_number(month)
    still_paid = (pl.col("last_paid_index") >= now).fill_null(False)
    ranked = (
        candidates.with_columns(pl.Series("risk_score", probability).clip(0.0, 1.0).round(6))
        .with_columns(
            (
                pl.col("est_overpayment")
                + pl.when(still_paid)
                .then(pl.col("monthly_amount") * config.detection.forward_months)
                .otherwise(0.0)
            ).alias("amount_at_stake"),
        )
        # Rounded to fen before ranking: float sums taken in another row order must not
        # reorder cases (ties are then broken by person_id).
        .with_columns(
            (pl.col("risk_score") * pl.col("amount_at_stake")).round(2).alias("expected_recovery")
        )
        .lazy()
        .pipe(rank_cases)
        .collect()
    )
    # sha256 in Python, but only for the few hundred final cases (no per-row work on the county).
    ranked = ranked.with_columns(
        pl.Series(
            "case_id",
            [case_id(p, t) for p, t in zip(ranked["person_id"], ranked["typology"], strict=True)],
            dtype=pl.String,
        ),
        pl.col("reasons").list.unique(maintain_order=True).list.join(",").alias("reason_text"),
        pl.col("reasons").list.unique(maintain_order=True).alias("reason_codes"),
        period_of_index(pl.col("last_paid_index")).alias("last_paid_period"),
    )
    with_evidence = render_evidence(
        ranked.with_columns(model_features()).lazy(), config.detection.report_language
    )
    return with_evidence.select(
        *CASE_KEY_COLUMNS,
        "priority_rank",
        "risk_score",
        pl.col("est_overpayment").round(2),
        "evidence",
        pl.col("reason_text").alias("reasons"),
        strength_of(pl.col("tier")).alias("strength"),
        pl.col("amount_at_stake").round(2),
        "last_paid_period",
        "reason_codes",
        "tier",
        pl.col("expected_recovery").round(2),
        # What the learned model read: kept with the month's list, learned from once audited.
        *[c for c in MODEL_FEATURES if c != "rule_probability"],
        "rule_probability",
    ).sort("priority_rank")


def model_inputs(candidates: pl.DataFrame) -> pl.DataFrame:
    """``person_id`` and :data:`features.cases.MODEL_FEATURES` of scored candidates: the
    evidence the learned model reads (and, kept per month, what it learns from once the
    case is audited): the rules' probability first (the prior), then one indicator per
    reason code, then person features on fixed scales (missing values as NaN)."""
    return candidates.select("person_id", *model_features())


def training_matrix(frame: pl.DataFrame) -> np.ndarray:
    """The :data:`features.cases.MODEL_FEATURES` columns of ``frame`` as a float matrix."""
    return frame.select(MODEL_FEATURES).to_numpy().astype(np.float64)


def model_matrix(candidates: pl.DataFrame) -> np.ndarray:
    """The learned model's input for scored candidates (:func:`model_inputs`)."""
    return training_matrix(model_inputs(candidates))


def fit_risk_model(train: pl.DataFrame, alpha: float) -> PriorOffsetLogisticRegression:
    """:class:`models.outcomes.PriorOffsetLogisticRegression` fitted on training rows
    (``label``, ``weight`` and :data:`features.cases.MODEL_FEATURES`, as
    :func:`sentinel.risk.training_rows` gives them), in ``person_id`` order so that the fit
    does not depend on where the rows came from."""
    train = train.sort("person_id")
    model = PriorOffsetLogisticRegression(alpha=alpha)
    return model.fit(
        training_matrix(train), train["label"].to_numpy(), sample_weight=train["weight"].to_numpy()
    )


__all__ = [
    "DETECTED_COLUMNS",
    "MonthDetection",
    "MonthHistory",
    "PreparedMonth",
    "case_id",
    "detect_cases",
    "detect_month",
    "fit_risk_model",
    "last_paid",
    "model_inputs",
    "model_matrix",
    "month_ledger_runs",
    "month_register_runs",
    "person_features",
    "prepare_month",
    "prepared_person_features",
    "prepared_rule_reasons",
    "rank_candidates",
    "rule_reasons",
    "training_matrix",
]
