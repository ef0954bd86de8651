"""What a month's listing does to each case: listed, carried, reopened or suppressed, and which closures are valid (:mod:`sentinel.casestore`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from features.identity import id_birth_date
from sentinel.audit_result import OutcomeLimits, SignOff, result_problems
from sentinel.casestore.constants import CONFIRMED, EXCULPATORY_REASONS
from sentinel.contract import OUTCOMES
from sentinel.periods import month_of, months_between


@dataclass(frozen=True)
class AuditOutcome:
    """The result of a field audit of a case as reported (a workbook row, the case page's
    form): ``outcome`` (one of the contract's four values, Chinese spellings accepted), the
    day the audit closed the case (``closed_on``), the ``death_date`` it found, the yuan
    overpaid and recovered, and the auditor's ``note``. Nothing is checked on making one:
    :meth:`sentinel.casestore.CaseStore.closure_problems` names what is wrong with it."""

    outcome: str | None
    closed_on: date | None
    death_date: date | None = None
    overpaid_amount: float | None = None
    recovered_amount: float | None = None
    note: str | None = None


@dataclass(frozen=True)
class _Decision:
    listed: bool
    note: str | None = None
    reopen: bool = False


def _decide(
    row: dict[str, Any],
    known: dict[str, Any] | None,
    audits: Sequence[dict[str, Any]],
    month: str,
    clear_months: int,
) -> _Decision:
    """Whether a case of ``month``'s list is published, with which note, and reopened."""
    codes = _codes(row["reasons"])
    recent_clears = [
        a
        for a in audits
        if a["outcome"] == "cleared"
        and 0 <= months_between(month_of(a["closed_on"]), month) < clear_months
    ]
    reopenable = known is not None and known["state"] == "closed"
    if recent_clears:
        cleared_codes = set().union(*(_codes(a["audited_reasons"]) for a in recent_clears))
        cleared_month = max(month_of(a["closed_on"]) for a in recent_clears)
        fresh = [c for c in codes if c not in cleared_codes and c not in EXCULPATORY_REASONS]
        if not fresh:
            return _Decision(listed=False, note=f"cleared {cleared_month}")
        return _Decision(
            listed=True,
            note=f"cleared {cleared_month}, new evidence: {','.join(fresh)}",
            reopen=reopenable,
        )
    if known is None or known["outcome"] is None or known["closed_on"] is None:
        return _Decision(listed=True)
    audited = month_of(known["closed_on"])
    if audited > month:
        # Re-recording a month before the audit: as it was then.
        return _Decision(listed=True)
    if known["outcome"] in CONFIRMED:
        if not _paid_after(row, audited):
            return _Decision(listed=False, note=f"confirmed {audited}, payments stopped")
        return _Decision(
            listed=True,
            note=f"confirmed {audited}, still paid",
            reopen=known["state"] == "closed",
        )
    if not reopenable:
        return _Decision(listed=True)
    if known["outcome"] == "cleared":
        return _Decision(
            listed=True,
            note=f"cleared {audited}, listed again after {clear_months} months",
            reopen=True,
        )
    return _Decision(listed=True, note=f"unreachable {audited}, listed again", reopen=True)


def _paid_after(row: dict[str, Any], month: str) -> bool:
    """A period after ``month`` was paid (unknown counts as paid: better listed than lost)."""
    last = row.get("last_paid_period")
    return last is None or last > month


def _status(
    row: dict[str, Any],
    known: dict[str, Any] | None,
    listed_before: bool,
    month: str,
    decision: _Decision,
) -> str:
    """The case's :data:`LISTING_STATUSES` value in ``month``."""
    if (
        known is not None
        and known["outcome"] in CONFIRMED
        and known["closed_on"] is not None
        and month_of(known["closed_on"]) <= month
        and decision.listed
        and _paid_after(row, month_of(known["closed_on"]))
    ):
        return "reopened"
    if not listed_before:
        return "new"
    last = row.get("last_paid_period")
    if last is not None and last < month:
        return "payments_stopped"
    return "carried"


def _closure_problems(
    case: dict[str, Any], result: AuditOutcome, today: date, limits: OutcomeLimits
) -> list[tuple[str, str]]:
    """:func:`sentinel.audit_result.result_problems` for this case."""
    return result_problems(
        {
            "outcome": result.outcome,
            "closed_on": result.closed_on,
            "death_date": result.death_date,
            "overpaid_amount": result.overpaid_amount,
            "recovered_amount": result.recovered_amount,
        },
        first_listed=date.fromisoformat(f"{case['first_flagged']}-01"),
        birth_date=_birth_date(case["person_id"]),
        today=today,
        limits=limits,
    )


def _canonical_outcome(outcome: str | None) -> str | None:
    """The contract's value of an outcome as typed (Chinese spellings accepted); an
    unknown one as typed, for the checks to name."""
    return OUTCOMES.get(outcome.strip(), outcome) if isinstance(outcome, str) else outcome


def _signoff_reason(
    signoff: SignOff, case: dict[str, Any], outcome: str | None, overpaid: float | None
) -> str | None:
    """Why recording ``outcome`` (already canonical) for ``case`` needs a second user's
    sign-off, judged on the case's reason codes; None when one user may record it."""
    return signoff.reason(outcome, overpaid, set(_codes(case["reasons"])))


def _birth_date(person_id: str) -> date | None:
    """The birth date written in an identity number; None when it holds none."""
    frame = pl.DataFrame({"person_id": [person_id]}, schema={"person_id": pl.String})
    return frame.select(id_birth_date("person_id")).item()


def _listing_rows(cases: pl.DataFrame) -> list[dict[str, Any]]:
    needed = (
        "case_id",
        "person_id",
        "typology",
        "priority_rank",
        "risk_score",
        "est_overpayment",
        "reasons",
    )
    missing = [c for c in needed if c not in cases.columns]
    if missing:
        raise ValueError(f"case list lacks columns: {', '.join(missing)}")
    reasons = cases.get_column("reasons")
    if reasons.dtype == pl.List(pl.String):
        reasons = reasons.list.join(",")
    frame = cases.select(
        pl.col("case_id").cast(pl.String),
        pl.col("person_id").cast(pl.String),
        pl.col("typology").cast(pl.String),
        (
            pl.col("township").cast(pl.String)
            if "township" in cases.columns
            else pl.lit(None, pl.String).alias("township")
        ),
        pl.col("priority_rank").cast(pl.Int64),
        pl.col("risk_score").cast(pl.Float64),
        pl.col("est_overpayment").cast(pl.Float64),
        *[
            (pl.col(name).cast(dtype) if name in cases.columns else pl.lit(None, dtype)).alias(name)
            for name, dtype in (
                ("last_paid_period", pl.String),
                ("audit_selection", pl.String),
                ("selection_probability", pl.Float64),
            )
        ],
    ).with_columns(reasons.cast(pl.String).alias("reasons"))
    rows = frame.to_dicts()
    for r in rows:
        r["reasons"] = ",".join(_codes(r["reasons"]))
    return rows


def _checked_listing(month: str, cases: pl.DataFrame, clear_months: int) -> list[dict[str, Any]]:
    """The listing rows of ``cases`` (:func:`_listing_rows`) once the month, the clearing
    window and the uniqueness of case ids are checked."""
    _check_month(month)
    if clear_months < 0:
        raise ValueError(f"clear_months must be >= 0, got {clear_months}")
    rows = _listing_rows(cases)
    ids = [r["case_id"] for r in rows]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{month}: the case list repeats a case_id")
    return rows


def _codes(reasons: str | None) -> list[str]:
    if not reasons:
        return []
    return list(dict.fromkeys(c.strip() for c in reasons.split(",") if c.strip()))


def _check_month(month: str) -> None:
    try:
        ok = len(month) == 7 and date.fromisoformat(f"{month}-01") is not None
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"month must be YYYY-MM, got {month!r}")
