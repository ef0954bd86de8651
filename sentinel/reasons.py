"""The reason codes of the rule families, as data: for each code its typology, what it
proves, the configuration key of its weight, and its evidence sentence in Chinese and
English. The registry is the committed file ``sentinel/reasons.toml``, read and checked once
here. Evidence, the case list, the case store, the reports and the learned model read it;
a new rule adds its code there and nowhere else.

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

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import polars as pl

Role = Literal["proof", "signal", "context", "pending", "exculpatory"]


@dataclass(frozen=True)
class Reason:
    """One reason code.

    ``weight``: the field of :class:`sentinel.config.DetectionConfig` that weighs it (a
    prior probability, a likelihood ratio or the share of improper cases that show it; the
    source of each number is cited beside it in ``default_config.toml``). ``fields``: the
    facts a rule emits with the code, in order; ``zh`` and ``en``: the evidence sentence,
    with ``{field}`` placeholders. ``observed``: weighed by how often it occurs in the
    county; ``refuted_by_pass``: an in-person certification pass refutes it (the reason
    says only that the person has not been seen alive recently); ``answer_due``: an
    upstream list asks for an answer, so the case stays listed until it is answered,
    whatever its weight (:mod:`features.suspects`).
    """

    code: str
    typology: str
    role: Role
    weight: str
    fields: tuple[str, ...]
    zh: str
    en: str
    observed: bool = False
    refuted_by_pass: bool = False
    answer_due: bool = False


#: The committed registry, one table per code (its header says what each key holds).
REASONS_FILE = Path(__file__).with_name("reasons.toml")


def load_reasons(path: Path = REASONS_FILE) -> dict[str, Reason]:
    """The reason codes of a registry file, in its order. Raises ``ValueError`` naming the
    code whose entry has a key missing, unknown or of the wrong type."""
    return {
        code: _reason(code, entry)
        for code, entry in tomllib.loads(path.read_text(encoding="utf-8")).items()
    }


_FLAGS = ("observed", "refuted_by_pass", "answer_due")


def _reason(code: str, entry: dict[str, Any]) -> Reason:
    """One registry entry, checked: no key missing or unknown, texts text, flags true or
    false, the role one of :data:`Role`."""
    try:
        reason = Reason(code=code, **{**entry, "fields": tuple(entry["fields"])})
    except (KeyError, TypeError) as exc:  # a key missing or unknown
        raise ValueError(f"reason {code}: {exc}") from None
    texts = (reason.typology, reason.weight, reason.zh, reason.en, *reason.fields)
    if not all(isinstance(text, str) for text in texts):
        raise ValueError(f"reason {code}: typology, weight, fields, zh and en must be text")
    if not all(isinstance(getattr(reason, flag), bool) for flag in _FLAGS):
        raise ValueError(f"reason {code}: {', '.join(_FLAGS)} must be true or false")
    if reason.role not in get_args(Role):
        raise ValueError(f"reason {code}: role {reason.role!r} is none of {get_args(Role)}")
    return reason


REASONS: dict[str, Reason] = load_reasons()

#: Reason codes in a fixed order (model features are one indicator per code).
REASON_CODES: tuple[str, ...] = tuple(REASONS)
#: Reasons an in-person certification pass refutes.
REFUTED_BY_PASS: frozenset[str] = frozenset(c for c, r in REASONS.items() if r.refuted_by_pass)
#: Reasons that are proof (a linked death paid after, a double payment, paid in a
#: terminated or suspended state): clearing a case with one needs sign-off.
PROOF_CODES: frozenset[str] = frozenset(c for c, r in REASONS.items() if r.role == "proof")
#: Reasons an upstream list asks to have answered: listed until answered.
ANSWER_DUE: frozenset[str] = frozenset(c for c, r in REASONS.items() if r.answer_due)


def reason_table() -> pl.LazyFrame:
    """The registry as a frame: ``reason, role, observed``."""
    return pl.LazyFrame(
        {
            "reason": list(REASONS),
            "role": [r.role for r in REASONS.values()],
            "observed": [r.observed for r in REASONS.values()],
        }
    )


__all__ = [
    "ANSWER_DUE",
    "REASONS",
    "REASONS_FILE",
    "REASON_CODES",
    "REFUTED_BY_PASS",
    "Reason",
    "Role",
    "load_reasons",
    "reason_table",
]
