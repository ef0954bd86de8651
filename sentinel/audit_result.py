"""The values of a field audit's result, validated in one place for every way they come in.

A result arrives from the filled-in workbook (``sentinel outcomes import``), from an
``outcomes.*`` file in a monthly drop, and from the review app's form; all three reach
:meth:`sentinel.casestore.CaseStore.close` through :func:`sentinel.outcomes.import_outcomes`,
and the case store checks every result with :func:`result_problems`: a pydantic model
(:class:`AuditResult`) whose validators know the case (first listed month, the person's
birth date) and today's date through the validation context.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from sentinel.contract import OUTCOMES
from sentinel.reasons import PROOF_CODES

__all__ = ["AuditResult", "OutcomeLimits", "SignOff", "result_problems"]

#: The contract's four audit outcomes (canonical spelling).
OUTCOME_VALUES: tuple[str, ...] = tuple(dict.fromkeys(OUTCOMES.values()))


@dataclass(frozen=True)
class OutcomeLimits:
    """Bounds of a plausible result: ``max_amount`` yuan (exclusive) for an overpaid or
    recovered amount, ``max_age`` years of a life (for a death date when the person's
    birth date is unknown)."""

    max_amount: float
    max_age: int

    @classmethod
    def from_config(cls, config: Any) -> OutcomeLimits:
        """From a :class:`sentinel.config.SentinelConfig` (``cases.max_outcome_amount``,
        ``policy.max_plausible_age``)."""
        return cls(config.cases.max_outcome_amount, config.policy.max_plausible_age)


@dataclass(frozen=True)
class SignOff:
    """Which results wait for a second user (经办 / 复核): a confirmed overpayment above
    ``above`` yuan, and clearing a case whose reasons include one of ``proof_codes`` (when
    ``clearing_proof``)."""

    above: float
    clearing_proof: bool
    proof_codes: frozenset[str]

    @classmethod
    def from_config(cls, config: Any) -> SignOff:
        """From a :class:`sentinel.config.SentinelConfig` (``cases.signoff_above_yuan``,
        ``cases.signoff_clearing_proof``) and the reason registry's proof codes."""
        return cls(
            config.cases.signoff_above_yuan, config.cases.signoff_clearing_proof, PROOF_CODES
        )

    def reason(self, outcome: str | None, overpaid: float | None, codes: set[str]) -> str | None:
        """Why this result needs a second user's approval, or None when it does not."""
        if outcome in ("confirmed_deceased", "confirmed_improper") and (overpaid or 0) > self.above:
            return f"confirms more than {self.above:,.2f} yuan overpaid"
        if outcome == "cleared" and self.clearing_proof:
            proof = sorted(codes & self.proof_codes)
            if proof:
                return f"clears a case with proof ({', '.join(proof)})"
        return None


@dataclass(frozen=True)
class _Case:
    first_listed: date
    birth_date: date | None
    today: date
    limits: OutcomeLimits


def _problem(text: str) -> PydanticCustomError:
    return PydanticCustomError("audit_result", "{problem}", {"problem": text})


def _case(info: ValidationInfo) -> _Case:
    case = (info.context or {}).get("case")
    if not isinstance(case, _Case):
        raise TypeError("AuditResult is validated with the case in its context")
    return case


class AuditResult(BaseModel):
    """One audit result: outcome (Chinese spellings accepted), closing date, death date,
    overpaid and recovered amounts (yuan). Validated against the case and today's date
    given in the context (:func:`result_problems`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: str | None
    closed_on: date | None = Field(strict=True)
    death_date: date | None = Field(default=None, strict=True)
    overpaid_amount: float | None = Field(default=None, allow_inf_nan=True)
    recovered_amount: float | None = Field(default=None, allow_inf_nan=True)

    @field_validator("outcome")
    @classmethod
    def _known_outcome(cls, value: str | None) -> str:
        canonical = OUTCOMES.get(value.strip()) if isinstance(value, str) else None
        if canonical is None:
            if not (isinstance(value, str) and value.strip()):
                raise _problem("is empty")
            # What was typed is not repeated: a note typed in this cell may hold names and IDs.
            raise _problem(f"is not one of {', '.join(OUTCOME_VALUES)}")
        return canonical

    @field_validator("closed_on")
    @classmethod
    def _closed_when_listed_and_not_later_than_today(
        cls, value: date | None, info: ValidationInfo
    ) -> date:
        case = _case(info)
        if value is None:
            raise _problem("is empty")
        if value > case.today:
            raise _problem(f"{value.isoformat()} is in the future")
        if value < case.first_listed:
            raise _problem(
                f"{value.isoformat()} is before the case was first listed "
                f"({case.first_listed.strftime('%Y-%m')})"
            )
        return value

    @field_validator("death_date")
    @classmethod
    def _died_within_the_life(cls, value: date | None, info: ValidationInfo) -> date | None:
        if value is None:
            return None
        case = _case(info)
        if value > case.today:
            raise _problem(f"{value.isoformat()} is in the future")
        closed_on = info.data.get("closed_on")
        if closed_on is not None and value > closed_on:
            raise _problem(f"{value.isoformat()} is after closed_on")
        if case.birth_date is not None and value < case.birth_date:
            raise _problem(
                f"{value.isoformat()} is before the person's birth ({case.birth_date.isoformat()})"
            )
        earliest = case.today.replace(year=case.today.year - case.limits.max_age, day=1)
        if case.birth_date is None and value < earliest:
            raise _problem(
                f"{value.isoformat()} is more than {case.limits.max_age} years ago "
                "(policy.max_plausible_age)"
            )
        outcome = info.data.get("outcome")
        if outcome in ("cleared", "unreachable"):
            raise _problem(f"given but the outcome is {outcome}")
        return value

    @field_validator("overpaid_amount", "recovered_amount")
    @classmethod
    def _plausible_amount(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is None:
            return None
        case = _case(info)
        if not math.isfinite(value):
            raise _problem(f"{value} is not an amount")
        if value < 0:
            raise _problem(f"{value} is negative")
        if value >= case.limits.max_amount:
            raise _problem(
                f"{value:g} is not below {case.limits.max_amount:,.0f} yuan "
                "(cases.max_outcome_amount)"
            )
        overpaid = info.data.get("overpaid_amount")
        if info.field_name == "recovered_amount" and overpaid is not None and value > overpaid:
            raise _problem(f"{value} is more than overpaid_amount {overpaid}")
        if (
            info.field_name == "overpaid_amount"
            and value > 0
            and info.data.get("outcome") == "cleared"
        ):
            raise _problem(f"{value} but the outcome is cleared")
        return value


_TYPE_PROBLEMS = {"date_type": "is not a date", "float_type": "is not an amount",
                  "float_parsing": "is not an amount", "string_type": "is not text"}  # fmt: skip


def result_problems(
    values: dict[str, Any],
    *,
    first_listed: date,
    birth_date: date | None,
    today: date,
    limits: OutcomeLimits,
) -> list[tuple[str, str]]:
    """Every reason why ``values`` (the :class:`AuditResult` fields) cannot be recorded for
    a case first listed on ``first_listed`` whose person was born on ``birth_date`` (None
    when unknown), as (field, problem) in field order; empty when they can."""
    context = {"case": _Case(first_listed, birth_date, today, limits)}
    try:
        AuditResult.model_validate(values, context=context)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "outcome"
            if error["type"] == "audit_result":
                problem = error["ctx"]["problem"]
            else:
                kind = _TYPE_PROBLEMS.get(error["type"], error["msg"].lower())
                problem = f"{error['input']!r} {kind}"
            problems.append((field, problem))
        return problems
    return []
