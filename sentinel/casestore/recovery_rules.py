"""What a recovery step must be to be recorded (:mod:`sentinel.casestore.recovery`): a step
and method in the contract's words, a case closed as confirmed with something overpaid, a
date neither in the future nor before the closing, and an amount within what the account
still owes over every step recorded.

Errors are :class:`~sentinel.casestore.constants.CaseValidationError` naming the case as
given (``shown``: masked by the caller), the field and the problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.engine import Connection

from features.recovery import RECOVERY_EVENT_SCHEMA, recovery_accounts
from sentinel.casestore.constants import CONFIRMED, CaseValidationError
from sentinel.casestore.schema import _cases
from sentinel.contract import ESCALATION_METHODS, PAYMENT_METHODS, RECOVERY_STEPS

#: Half a fen: sums of instalments are floats.
_TOLERANCE = 0.005
_FAR_FUTURE = date(9999, 12, 31)


@dataclass(frozen=True)
class RecoveryEntry:
    """One step of recovering a case's overpayment as entered (in the review app, a drop's
    ``recoveries.*`` file, the notices the CLI writes): the ``step`` (notice / payment /
    escalation / write_off, Chinese spellings accepted), the day it happened (``on``) and,
    as the step needs them, the ``amount`` (yuan), the ``method``, the ``deadline``, the
    ``reason`` and the ``record_id`` (the receipt or document number). Nothing is checked
    on making one: :func:`sentinel.casestore.recovery.record_recovery` refuses what is
    wrong with it."""

    step: str
    on: date
    amount: float | None = None
    method: str | None = None
    deadline: date | None = None
    reason: str | None = None
    record_id: str | None = None


def _canonical_step(shown: str, step: str) -> str:
    canonical = RECOVERY_STEPS.get((step or "").strip())
    if canonical is None:
        raise CaseValidationError(
            shown, "step", f"{step!r} is not one of {sorted(set(RECOVERY_STEPS.values()))}"
        )
    return canonical


def _canonical_method(shown: str, step: str, method: str | None) -> str | None:
    given = (method or "").strip() or None
    allowed = {"payment": PAYMENT_METHODS, "escalation": ESCALATION_METHODS}.get(step)
    if allowed is None:
        if given is not None:
            raise CaseValidationError(
                shown, "method", f"is only for payments and escalations, not a {step}"
            )
        return None
    if given is None:
        raise CaseValidationError(
            shown, "method", f"is empty; a {step} needs one of {sorted(set(allowed.values()))}"
        )
    canonical = allowed.get(given)
    if canonical is None:
        raise CaseValidationError(
            shown,
            "method",
            f"{given!r} is not one of the {step} methods {sorted(set(allowed.values()))}",
        )
    return canonical


def _recoverable_case(conn: Connection, case_id: str, shown: str) -> dict[str, Any]:
    case = conn.execute(select(_cases).where(_cases.c.case_id == case_id)).mappings().first()
    if case is None:
        raise CaseValidationError(shown, "case_id", "unknown case")
    if case["state"] == "pending":
        # A closure that waits for a reviewer's sign-off opens no account yet.
        raise CaseValidationError(shown, "state", "the closure awaits sign-off")
    if case["outcome"] not in CONFIRMED or case["closed_on"] is None:
        raise CaseValidationError(shown, "outcome", "the case is not closed as confirmed")
    if not (case["overpaid_amount"] or 0.0) > 0:
        raise CaseValidationError(shown, "overpaid_amount", "nothing overpaid to recover")
    return dict(case)


#: The case columns an account is built from.
_ACCOUNT_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "person_id": pl.String(),
    "township": pl.String(),
    "typology": pl.String(),
    "outcome": pl.String(),
    "closed_on": pl.Date(),
    "overpaid_amount": pl.Float64(),
    "recovered_amount": pl.Float64(),
}


def _outstanding(case: dict[str, Any], events: list[dict[str, Any]]) -> float:
    """What the account still owes over every step recorded, whatever its date."""
    frame = pl.DataFrame([{k: case[k] for k in _ACCOUNT_SCHEMA}], schema=_ACCOUNT_SCHEMA).lazy()
    rows = [{"case_id": case["case_id"], **e} for e in events]
    accounts = recovery_accounts(frame, _event_frame(rows).lazy(), _FAR_FUTURE).collect()
    return float(accounts["outstanding"][0]) if accounts.height else 0.0


def _check_step(
    shown: str,
    case: dict[str, Any],
    events: list[dict[str, Any]],
    detail: dict[str, Any],
    on: date,
    deadline: date | None,
    amount: float | None,
    today: date,
) -> None:
    if not isinstance(on, date):
        raise CaseValidationError(shown, "on", "is empty or not a date")
    if on > today:
        raise CaseValidationError(shown, "on", f"{on.isoformat()} is in the future")
    if on < case["closed_on"]:
        raise CaseValidationError(
            shown, "on", f"{on.isoformat()} is before the case was closed ({case['closed_on']})"
        )
    if deadline is not None:
        if detail["step"] not in ("notice", "escalation"):
            raise CaseValidationError(shown, "deadline", "is only for notices and escalations")
        if not isinstance(deadline, date) or deadline < on:
            raise CaseValidationError(shown, "deadline", "is before the step's date")
    step = detail["step"]
    outstanding = _outstanding(case, events)
    if step in ("payment", "write_off"):
        if amount is None or not amount > 0:
            raise CaseValidationError(shown, "amount", f"a {step} needs an amount above 0")
        if amount > outstanding + _TOLERANCE:
            raise CaseValidationError(
                shown,
                "amount",
                f"more than the {outstanding:.2f} still outstanding",
            )
    elif amount is not None:
        raise CaseValidationError(shown, "amount", f"a {step} has no amount")
    if step == "write_off" and not detail["reason"]:
        raise CaseValidationError(shown, "reason", "a write-off needs a reason")
    if step in ("notice", "escalation") and outstanding <= _TOLERANCE:
        raise CaseValidationError(shown, "step", f"nothing outstanding: no {step} to send")


def _event_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Recovery event details as :data:`RECOVERY_EVENT_SCHEMA` rows: approvals folded into
    the write-offs they approve."""
    approvals = {
        (r["case_id"], r.get("record_id")): r for r in rows if r.get("status") == "approved"
    }
    steps = []
    for r in rows:
        if r.get("status") == "approved":
            continue
        approval = approvals.get((r["case_id"], r.get("record_id")))
        steps.append(
            {
                "case_id": r["case_id"],
                "record_id": r.get("record_id"),
                "step": r.get("step"),
                "on": _day(r.get("on")),
                "amount": r.get("amount"),
                "method": r.get("method"),
                "deadline": _day(r.get("deadline")),
                "reason": r.get("reason"),
                "source": r.get("source"),
                "actor": r.get("actor"),
                "approved_on": _day(approval.get("on")) if approval else None,
                "approved_by": approval.get("actor") if approval else None,
            }
        )
    return pl.DataFrame(steps, schema=RECOVERY_EVENT_SCHEMA)


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
