"""The reason codes of the rule families: which typology each belongs to and what it proves.

Every reason row a rule family emits carries one of these codes. What a code *is* decides
how far it can lift a case:

``proof``
    a record that cannot be right unless money was paid that should not have been: a
    linked death followed by payments for later periods, one period paid twice, payment
    while the register says terminated. A case with proof outranks every case without.
``signal``
    evidence that makes an improper payment more likely (a lapsed certification, a shared
    account, an amount off the standard). Its weight is a prior belief that audit outcomes
    correct.
``context``
    a fact that explains a case but is not evidence on its own (a life-table probability).
``pending``
    proof that is not yet due: the centre has had no payroll to act on the record.
``exculpatory``
    evidence for the person (an in-person certification after the death date).

``observed``: the family already weighs the code by how often it occurs in the county
(likelihood ratios from this month's shares, :func:`features.survival.suspected_unreported_death`);
the others carry a configured prior that the base-rate step discounts when the code is
common (:func:`features.scoring.discount_common_reasons`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

Role = Literal["proof", "signal", "context", "pending", "exculpatory"]


@dataclass(frozen=True)
class Reason:
    """One reason code: its typology, its role, whether its weight is read off the data, and
    whether an in-person certification pass refutes it (``refuted_by_pass``: the reason
    says only that the person has not been seen alive recently)."""

    code: str
    typology: str
    role: Role
    observed: bool = False
    refuted_by_pass: bool = False


REASONS: dict[str, Reason] = {
    r.code: r
    for r in (
        Reason("DP_PAID_AFTER_DEATH", "deceased_paid", "proof"),
        Reason("DP_ALIVE_AFTER_DEATH", "deceased_paid", "exculpatory"),
        Reason("DP_RECORD_JUST_ARRIVED", "deceased_paid", "pending"),
        Reason("SD_SAME_NAME_DEATH_RECORD", "suspected_unreported_death", "signal", observed=True),
        Reason("SD_PROBABLE_DEATH_RECORD", "suspected_unreported_death", "signal", observed=True),
        Reason("SD_CERT_LAPSED", "suspected_unreported_death", "signal", observed=True, refuted_by_pass=True),
        Reason("SD_NO_PASS_IN_HISTORY", "suspected_unreported_death", "signal", observed=True, refuted_by_pass=True),
        Reason("SD_NO_RECENT_PASS", "suspected_unreported_death", "signal", observed=True, refuted_by_pass=True),
        Reason("SD_WEAK_FACE_APP", "suspected_unreported_death", "signal", observed=True),
        Reason("SD_ACCOUNT_CHANGED", "suspected_unreported_death", "signal", observed=True),
        Reason("SD_COLLECTOR_ADDED", "suspected_unreported_death", "signal", observed=True),
        Reason("SD_CERT_FAILED", "suspected_unreported_death", "signal", observed=True, refuted_by_pass=True),
        Reason("SD_MORTALITY", "suspected_unreported_death", "context", observed=True, refuted_by_pass=True),
        Reason("SD_MORTALITY_UNRECORDED", "suspected_unreported_death", "context", observed=True, refuted_by_pass=True),
        Reason("DR_TWO_SCHEMES", "duplicate_receipt", "proof"),
        Reason("DR_REPEAT_PERIOD", "duplicate_receipt", "proof"),
        Reason("SA_SHARED_ACCOUNT", "shared_account", "signal"),
        Reason("SA_SHARED_COLLECTOR", "shared_account", "signal"),
        Reason("SA_RING_WITH_DEAD", "shared_account", "signal"),
        Reason("SA_PROOF_OF_LIFE", "shared_account", "exculpatory"),
        Reason("AA_OFF_STANDARD", "amount_anomaly", "signal"),
        Reason("AA_JUMP", "amount_anomaly", "signal"),
        Reason("AA_REPEAT_ARREARS", "amount_anomaly", "signal"),
        Reason("AA_PAID_WHILE_SUSPENDED", "amount_anomaly", "signal"),
        Reason("AA_PAID_WHILE_TERMINATED", "amount_anomaly", "proof"),
        Reason("IA_MALFORMED_PAYEE", "identity_anomaly", "signal"),
        Reason("IA_UNREGISTERED_PAYEE", "identity_anomaly", "signal"),
        Reason("IA_BAD_CHECKSUM", "identity_anomaly", "signal"),
        Reason("IA_BIRTH_MISMATCH", "identity_anomaly", "signal"),
        Reason("IA_IMPOSSIBLE_AGE", "identity_anomaly", "signal"),
    )
}

#: Reason codes in a fixed order (model features are one indicator per code).
REASON_CODES: tuple[str, ...] = tuple(REASONS)
#: Reasons an in-person certification pass refutes.
REFUTED_BY_PASS: frozenset[str] = frozenset(c for c, r in REASONS.items() if r.refuted_by_pass)


def reason_table() -> pl.LazyFrame:
    """The registry as a frame: ``reason, role, observed``."""
    return pl.LazyFrame(
        {
            "reason": list(REASONS),
            "role": [r.role for r in REASONS.values()],
            "observed": [r.observed for r in REASONS.values()],
        }
    )


__all__ = ["REASONS", "REASON_CODES", "REFUTED_BY_PASS", "Reason", "Role", "reason_table"]
