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

The month's detection in named steps, one implementation for a county and for a province
run in partitions (``flows.partitioned``): :func:`prepare_month` (the frames every rule
family reads) → :func:`find_candidates` (the rule reasons, recipients and person features
of the persons scored) → :func:`rank_findings` (every finding scored and ranked together).
:func:`detect_month` is the three on one history.
"""

from sentinel.detection.history import MonthHistory, month_ledger_runs, month_register_runs
from sentinel.detection.last_paid import last_paid, last_paid_over
from sentinel.detection.model_inputs import (
    fit_risk_model,
    model_inputs,
    model_matrix,
    training_matrix,
)
from sentinel.detection.month import (
    MonthDetection,
    MonthFindings,
    detect_cases,
    detect_month,
    find_candidates,
    person_features,
    rank_findings,
)
from sentinel.detection.person_features import prepared_person_features
from sentinel.detection.preparation import (
    MonthPersons,
    PreparedMonth,
    StageClock,
    month_persons,
    prepare_month,
    survival_shares,
)
from sentinel.detection.ranking import DETECTED_COLUMNS, case_id, rank_candidates
from sentinel.detection.rules import prepared_rule_reasons, rule_reasons

__all__ = [
    "DETECTED_COLUMNS",
    "MonthDetection",
    "MonthFindings",
    "MonthHistory",
    "MonthPersons",
    "PreparedMonth",
    "StageClock",
    "case_id",
    "detect_cases",
    "detect_month",
    "find_candidates",
    "fit_risk_model",
    "last_paid",
    "last_paid_over",
    "model_inputs",
    "model_matrix",
    "month_ledger_runs",
    "month_persons",
    "month_register_runs",
    "person_features",
    "prepare_month",
    "prepared_person_features",
    "prepared_rule_reasons",
    "rank_candidates",
    "rank_findings",
    "rule_reasons",
    "survival_shares",
    "training_matrix",
]
