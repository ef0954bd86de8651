"""The case store: every case ever listed, its audit lifecycle and its history.

Month after month the same suspicion comes back; the store remembers it. A case is keyed
by its deterministic ``case_id`` (:func:`sentinel.detection.case_id`), so a person flagged
for the same typology keeps one case across months. The store answers, for a month's case
list, which cases are new, when each was first flagged, and which must not be listed again
because a field audit cleared the person recently; and it records the audit lifecycle
(new -> assigned -> closed, reopened on new evidence) with an event for every change.

Tables (created on open, plain SQL types so SQLite and PostgreSQL both work):

``cases``
    one row per case: who, which typology, lifecycle ``state`` (new/assigned/closed),
    the latest audit (``outcome``, ``closed_on``, amounts, ``audited_reasons``: the reason
    codes the case had when that audit was recorded) and the case as last listed
    (``est_overpayment``, ``reasons``, ``last_listed``). The audit fields keep the latest
    audit even after a case is reopened, so precision reports count every audit.
``case_months``
    the case as listed each month (rank, score, estimate, reasons, note).
``events``
    who did what when: listed, assigned, closed, reopened, suppressed. Events written by
    :meth:`CaseStore.record_month` carry the month and are unique per (case, month, kind),
    so recording a month twice adds nothing.

The URL of a server database carries a password: it comes from the environment
(:data:`DATABASE_URL_ENV`), never from a committed file. Without it the store is a SQLite
file.

The parts: the tables (:mod:`~sentinel.casestore.schema`, migrated by
:mod:`sentinel.migrations`); the lifecycle policy, pure functions every entry point shares
(:mod:`~sentinel.casestore.policy`); the monthly listings
(:mod:`~sentinel.casestore.listings`); sign-off (:mod:`~sentinel.casestore.signoff`); the
reports (:mod:`~sentinel.casestore.queries`); the recovery ledger
(:mod:`~sentinel.casestore.recovery`); the history's hash chain
(:mod:`~sentinel.casestore.chain`). :class:`CaseStore` is their public face.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, select, update

from sentinel.audit_result import OUTCOME_VALUES, OutcomeLimits, SignOff
from sentinel.casestore.constants import (
    CASE_STATES,
    CONFIRMED,
    DATABASE_URL_ENV,
    EVENT_KINDS,
    EXCULPATORY_REASONS,
    LISTING_STATUSES,
    SELECTIONS,
    CaseValidationError,
)
from sentinel.casestore.listings import MonthListings
from sentinel.casestore.policy import (
    AuditOutcome,
    _canonical_outcome,
    _closure_problems,
    _signoff_reason,
)
from sentinel.casestore.queries import CaseQueries
from sentinel.casestore.schema import _cases
from sentinel.casestore.signoff import SignOffs, _propose_result
from sentinel.casestore.sql import _add_event, _money, _one_case
from sentinel.config import load_config
from sentinel.migrations import upgrade

__all__ = [
    "CASE_STATES",
    "CONFIRMED",
    "DATABASE_URL_ENV",
    "EVENT_KINDS",
    "EXCULPATORY_REASONS",
    "LISTING_STATUSES",
    "OUTCOME_VALUES",
    "SELECTIONS",
    "AuditOutcome",
    "CaseStore",
    "CaseValidationError",
    "database_url",
]


def database_url(default_path: Path | str = "sentinel-cases.sqlite") -> str:
    """The store URL: ``$SENTINEL_DATABASE_URL`` when set, else a SQLite file at ``default_path``."""
    return os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{Path(default_path)}"


class CaseStore(MonthListings, SignOffs, CaseQueries):
    """Cases across months in a SQL database (SQLite file or PostgreSQL by URL).

    ``url`` is a SQLAlchemy URL (``sqlite:///path/cases.sqlite``,
    ``postgresql+psycopg://user:pw@host/db``) or a plain path to a SQLite file. Opening
    brings the database to the newest schema (:func:`sentinel.migrations.upgrade`): an empty
    one gets every table, one an earlier release made gets what it lacks, cases kept.
    """

    def __init__(
        self,
        url: str | Path,
        *,
        limits: OutcomeLimits | None = None,
        signoff: SignOff | None = None,
    ) -> None:
        text = str(url)
        if "://" not in text:
            text = f"sqlite:///{text}"
        self.engine: Engine = create_engine(text, future=True)
        upgrade(self.engine)
        if limits is None or signoff is None:
            config = load_config()
            limits = limits or OutcomeLimits.from_config(config)
            signoff = signoff or SignOff.from_config(config)
        #: Bounds of an audit result (``cases.max_outcome_amount``, ``policy.max_plausible_age``).
        self.limits = limits
        #: Which results wait for a second user (``cases.signoff_*``).
        self.signoff = signoff

    def dispose(self) -> None:
        """Close the database connections."""
        self.engine.dispose()

    def __enter__(self) -> CaseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()

    def assign(
        self, case_id: str, assignee: str, actor: str, *, now: datetime | None = None
    ) -> bool:
        """Give an open case to an auditor (``assignee``); returns False when already so.

        A closed case cannot be assigned (it is reopened by new evidence, not by hand).
        """
        if not assignee or not assignee.strip():
            raise CaseValidationError(case_id, "assignee", "is empty")
        at = now or datetime.now(UTC)
        with self.engine.begin() as conn:
            case = _one_case(conn, case_id)
            if case["state"] == "closed":
                raise CaseValidationError(case_id, "state", "is closed; cannot assign")
            if case["state"] == "assigned" and case["assignee"] == assignee:
                return False
            conn.execute(
                update(_cases)
                .where(_cases.c.case_id == case_id)
                .values(state="assigned", assignee=assignee)
            )
            _add_event(
                conn,
                case_id,
                at,
                actor,
                "assigned",
                None,
                {"assignee": assignee, "previous": case["assignee"]},
            )
        return True

    def closure_problems(
        self, case_id: str, result: AuditOutcome, *, today: date
    ) -> list[tuple[str, str]]:
        """Every reason why this audit result cannot be recorded, as (field, problem).

        Empty when :meth:`close` would accept it. Checks: the case exists; ``outcome`` is
        one of the contract's four values (Chinese spellings accepted); ``closed_on`` is
        given, not after ``today`` and not before the month the case was first listed;
        ``death_date`` not after ``today`` nor ``closed_on`` and only for a deceased or
        improper finding; amounts (yuan) are >= 0; recovered is at most overpaid; a cleared
        case has nothing overpaid.
        """
        with self.engine.connect() as conn:
            case = (
                conn.execute(select(_cases).where(_cases.c.case_id == case_id)).mappings().first()
            )
        if case is None:
            return [("case_id", "unknown case")]
        return _closure_problems(dict(case), result, today, self.limits)

    def close(
        self,
        case_id: str,
        result: AuditOutcome,
        *,
        actor: str,
        reviewed_by: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Record the result of a field audit (``result``) and close the case.

        Raises :class:`CaseValidationError` (a ``ValueError``) naming the case and the field
        for the first problem :meth:`closure_problems` finds. Returns False, and records
        nothing, when the case is already closed with exactly this result (re-importing
        the same workbook); a different result for a closed case is recorded as a
        correction (a ``closed`` event whose detail holds the previous result).

        Sign-off (经办 / 复核): when :meth:`signoff_needed` gives a reason, the result is
        recorded only as a proposal (a ``proposed`` event; an open case becomes
        ``pending``) unless ``reviewed_by`` names the second person who verified it on
        the paper form; :meth:`approve` by another user closes the case. ``reviewed_by``
        equal to ``actor`` is refused: nobody approves their own work.
        """
        at = now or datetime.now(UTC)
        canonical = _canonical_outcome(result.outcome)
        with self.engine.begin() as conn:
            case = _one_case(conn, case_id)
            problems = _closure_problems(
                case, replace(result, outcome=canonical), at.date(), self.limits
            )
            if problems:
                raise CaseValidationError(case_id, *problems[0])
            recorded = {
                "outcome": canonical,
                "closed_on": result.closed_on,
                "death_date": result.death_date,
                "overpaid_amount": _money(result.overpaid_amount),
                "recovered_amount": _money(result.recovered_amount),
                "note": result.note or None,
            }
            previous = {k: case[k] for k in recorded}
            if case["state"] == "closed" and previous == recorded:
                return False
            why = _signoff_reason(self.signoff, case, canonical, result.overpaid_amount)
            reviewer = reviewed_by.strip() if reviewed_by and reviewed_by.strip() else None
            if why is not None and reviewer is not None and reviewer == actor:
                raise CaseValidationError(
                    case_id,
                    "reviewed_by",
                    "is the person who recorded the result; a second person signs off",
                )
            if why is not None and reviewer is None:
                return _propose_result(conn, case, recorded, why, actor, at)
            self._apply_close(
                conn, case, recorded, actor, at, {"reviewed_by": reviewer} if reviewer else {}
            )
        return True

    def case(self, case_id: str) -> dict[str, Any] | None:
        """One case as a dict, or None when unknown."""
        with self.engine.connect() as conn:
            found = (
                conn.execute(select(_cases).where(_cases.c.case_id == case_id)).mappings().first()
            )
        return dict(found) if found is not None else None
