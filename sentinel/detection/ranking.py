"""The month's cases in audit order: each candidate's probability (the rules' own, or the
learned model's), amount at stake and expected recovery, its case ID and evidence."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import polars as pl

from features.audit_order import rank_cases, strength_of
from features.cases import MODEL_FEATURES, model_features
from models.base import RiskModel
from sentinel.config import SentinelConfig
from sentinel.contract import CASE_COLUMNS, CASE_KEY_COLUMNS
from sentinel.detection.model_inputs import model_matrix
from sentinel.detection.preparation import StageClock, no_clock
from sentinel.evidence import render_evidence
from sentinel.periods import month_number, period_of_index

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


def case_id(person_id: str, typology: str, key: bytes | None = None) -> str:
    """The case of a person and typology, the same every month: typology prefix + the first
    12 hex of HMAC-SHA256(``key``, person|typology).

    ``key`` is the output folder's secret (:func:`sentinel.io.case_key.case_id_key`). An
    identity number has too few unknown digits to hide behind a plain hash: from a case ID
    and the masked number in a log line, the full number is found by trying them all. None
    gives the unkeyed sha256 IDs of an output folder begun before the key existed, so that
    its open cases keep their IDs."""
    message = f"{person_id}|{typology}".encode()
    if key is None:
        digest = hashlib.sha256(message).hexdigest()
    else:
        digest = hmac.new(key, message, hashlib.sha256).hexdigest()
    return f"{_TYPOLOGY_PREFIX.get(typology, 'XX')}-{digest[:12]}"


def rank_candidates(
    candidates: pl.DataFrame,
    model: RiskModel | None,
    month: str,
    config: SentinelConfig,
    clock: StageClock = no_clock,
    *,
    case_key: bytes | None = None,
) -> pl.LazyFrame:
    """The ranked cases of :func:`sentinel.detection.detect_cases` from the candidate
    persons' features and scored reasons (one row per person with a tier above none,
    sorted by ``person_id``); ``case_key`` makes their IDs (:func:`case_id`)."""
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
        return _ranked_cases(candidates, probability, month, config, case_key).collect().lazy()


def _ranked_cases(
    candidates: pl.DataFrame,
    probability: np.ndarray,
    month: str,
    config: SentinelConfig,
    case_key: bytes | None,
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
    # Hashed in Python, but only for the few hundred final cases (no per-row work on the county).
    pairs = zip(ranked["person_id"], ranked["typology"], strict=True)
    ranked = ranked.with_columns(
        pl.Series(
            "case_id",
            [case_id(p, t, case_key) for p, t in pairs],
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
