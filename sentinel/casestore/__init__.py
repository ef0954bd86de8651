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
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine, bindparam, create_engine, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from sentinel.audit_result import OUTCOME_VALUES, OutcomeLimits, SignOff
from sentinel.casestore.chain import seal
from sentinel.casestore.constants import (
    _MONTH_EVENT_KINDS,
    CASE_STATES,
    CONFIRMED,
    DATABASE_URL_ENV,
    EVENT_KINDS,
    EXCULPATORY_REASONS,
    LISTING_STATUSES,
    OPEN_STATES,
    SELECTIONS,
    CaseValidationError,
)
from sentinel.casestore.policy import (
    _check_month,
    _checked_listing,
    _closure_problems,
    _codes,
    _decide,
    _status,
)
from sentinel.casestore.queries import CaseQueries
from sentinel.casestore.schema import EVENTS_CHAIN, _case_months, _cases, _events
from sentinel.casestore.signoff import SignOffs, _pending_proposal
from sentinel.casestore.sql import _add_event, _chunks, _jsonable, _money, _one_case, _select_in
from sentinel.config import load_config
from sentinel.contract import OUTCOMES
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
    "CaseStore",
    "CaseValidationError",
    "database_url",
]


def database_url(default_path: Path | str = "sentinel-cases.sqlite") -> str:
    """The store URL: ``$SENTINEL_DATABASE_URL`` when set, else a SQLite file at ``default_path``."""
    return os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{Path(default_path)}"


class CaseStore(SignOffs, CaseQueries):
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

    def record_month(
        self,
        month: str,
        cases: pl.DataFrame,
        *,
        actor: str = "sentinel",
        clear_months: int,
        now: datetime | None = None,
    ) -> pl.DataFrame:
        """Record ``month``'s case list and return the list as it should be published.

        ``cases`` has at least ``case_id``, ``person_id``, ``typology``, ``priority_rank``,
        ``risk_score``, ``est_overpayment`` and ``reasons`` (comma-separated reason codes or
        a list); ``township``, ``last_paid_period`` (the latest period paid, ``YYYY-MM``),
        ``audit_selection`` and ``selection_probability`` are kept when present. The
        returned frame is ``cases`` in the same order with ``first_flagged`` (first month
        the case was listed), ``status`` (:data:`LISTING_STATUSES`: ``new`` when never
        listed before ``month``; ``reopened`` when confirmed improper and paid for a period
        after the audit; ``payments_stopped`` when nothing was paid for ``month`` or later;
        else ``carried``) and ``note``, less the cases that must not be listed:

        * a person **cleared** by an audit closed in the ``clear_months`` months up to and
          including ``month`` is not listed again unless a reason code is present that was
          not among the reasons when they were cleared (new evidence, e.g. a death record);
          then the case is listed with a note and, if it was the cleared case, reopened;
        * after those months a cleared case, and an ``unreachable`` one at once, is listed
          and reopened for a new audit;
        * a **confirmed** case is listed again only when a period after the audit's month
          was paid (``last_paid_period``; unknown counts as paid): it is reopened for a new
          audit with the note ``confirmed YYYY-MM, still paid``; otherwise it stays closed.

        Recording the same month twice with the same list returns the same frame and adds
        no event. Audits closed after ``month`` are ignored (re-recording an old month).
        """
        rows = _checked_listing(month, cases, clear_months)
        with self.engine.begin() as conn:
            return self._record(conn, month, cases, rows, actor, clear_months, now)

    def preview_month(
        self, month: str, cases: pl.DataFrame, *, clear_months: int, now: datetime | None = None
    ) -> pl.DataFrame:
        """What :meth:`record_month` would return for ``cases``, recording nothing (the
        flow ranks and selects the published cases before recording them)."""
        rows = _checked_listing(month, cases, clear_months)
        with self.engine.connect() as conn:
            transaction = conn.begin()
            try:
                return self._record(conn, month, cases, rows, "preview", clear_months, now)
            finally:
                transaction.rollback()

    def _record(
        self,
        conn: Connection,
        month: str,
        cases: pl.DataFrame,
        rows: list[dict[str, Any]],
        actor: str,
        clear_months: int,
        now: datetime | None,
    ) -> pl.DataFrame:
        at = now or datetime.now(UTC)
        ids = [r["case_id"] for r in rows]
        persons = sorted({r["person_id"] for r in rows})
        existing = {r["case_id"]: r for r in _select_in(conn, _cases, _cases.c.case_id, ids)}
        first_listed: dict[str, str] = {}
        for chunk in _chunks(ids):
            first_listed.update(
                conn.execute(
                    select(_case_months.c.case_id, func.min(_case_months.c.month))
                    .where(_case_months.c.month < month)
                    .where(_case_months.c.case_id.in_(chunk))
                    .group_by(_case_months.c.case_id)
                )
                .tuples()
                .all()
            )
        # First listing in any month, later ones included (re-recording an old month);
        # from the listings themselves, so a re-derived month leaves no trace here.
        listed_ever: dict[str, str] = {}
        for chunk in _chunks(ids):
            listed_ever.update(
                conn.execute(
                    select(_case_months.c.case_id, func.min(_case_months.c.month))
                    .where(_case_months.c.case_id.in_(chunk))
                    .group_by(_case_months.c.case_id)
                )
                .tuples()
                .all()
            )
        audits: dict[str, list[dict[str, Any]]] = {}
        for r in _select_in(conn, _cases, _cases.c.person_id, persons):
            if r["outcome"] is not None and r["closed_on"] is not None:
                audits.setdefault(r["person_id"], []).append(r)
        month_events = {
            (e.case_id, e.kind): e.detail
            for e in conn.execute(
                select(_events.c.case_id, _events.c.kind, _events.c.detail).where(
                    _events.c.month == month
                )
            )
        }
        published: list[dict[str, Any]] = []
        new_cases: list[dict[str, Any]] = []
        case_updates: list[dict[str, Any]] = []
        month_rows: list[dict[str, Any]] = []
        new_events: list[dict[str, Any]] = []

        def event(case_id: str, kind: str, detail: dict[str, Any]) -> None:
            if (case_id, kind) not in month_events:
                new_events.append(
                    {
                        "case_id": case_id,
                        "at": at,
                        "actor": actor,
                        "kind": kind,
                        "month": month,
                        "detail": detail,
                    }
                )

        for row in rows:
            case_id = row["case_id"]
            known = existing.get(case_id)
            decision = _decide(row, known, audits.get(row["person_id"], []), month, clear_months)
            if not decision.listed:
                event(case_id, "suppressed", {"note": decision.note, "reasons": row["reasons"]})
                continue
            reopened_note = (month_events.get((case_id, "reopened")) or {}).get("note")
            note = decision.note or reopened_note
            status = _status(row, known, case_id in first_listed, month, decision)
            first = min(first_listed.get(case_id, month), month)
            listing = {
                "priority_rank": row["priority_rank"],
                "risk_score": row["risk_score"],
                "est_overpayment": row["est_overpayment"],
                "reasons": row["reasons"],
            }
            month_rows.append(
                {
                    "case_id": case_id,
                    "month": month,
                    "note": note,
                    "status": status,
                    "selection": row["audit_selection"],
                    "selection_probability": row["selection_probability"],
                    **listing,
                }
            )
            if known is None:
                new_cases.append(
                    {
                        "case_id": case_id,
                        "person_id": row["person_id"],
                        "typology": row["typology"],
                        "township": row["township"],
                        "first_flagged": first,
                        "state": "new",
                        "opened_at": at,
                        "est_overpayment": row["est_overpayment"],
                        "reasons": row["reasons"],
                        "last_listed": month,
                    }
                )
            else:
                # Re-recording an older month must not overwrite the latest listing.
                latest = row if month >= known["last_listed"] else known
                change = {
                    "key": case_id,
                    "first_flagged": min(listed_ever.get(case_id, first), first),
                    "township": latest["township"],
                    "est_overpayment": latest["est_overpayment"],
                    "reasons": latest["reasons"],
                    "last_listed": max(month, known["last_listed"]),
                    "state": known["state"],
                    "assignee": known["assignee"],
                    "opened_at": known["opened_at"],
                }
                if decision.reopen:
                    change |= {"state": "new", "assignee": None, "opened_at": at}
                    event(case_id, "reopened", {"note": note})
                case_updates.append(change)
            event(case_id, "listed", listing)
            published.append(
                {"case_id": case_id, "first_flagged": first, "status": status, "note": note}
            )
        if new_cases:
            conn.execute(insert(_cases), new_cases)
        if case_updates:
            conn.execute(update(_cases).where(_cases.c.case_id == bindparam("key")), case_updates)
        # The month's list is replaced, not merged: a case dropped on a rerun leaves it.
        conn.execute(delete(_case_months).where(_case_months.c.month == month))
        if month_rows:
            conn.execute(insert(_case_months), month_rows)
        if new_events:
            conn.execute(insert(_events), new_events)
            seal(conn, EVENTS_CHAIN)
        decided = pl.DataFrame(
            published,
            schema={
                "case_id": pl.String,
                "first_flagged": pl.String,
                "status": pl.String,
                "note": pl.String,
            },
        )
        base = cases.drop([c for c in ("first_flagged", "status", "note") if c in cases.columns])
        return base.join(decided, on="case_id", how="inner", maintain_order="left")

    def rederive_from(
        self, month: str, *, reason: str, actor: str = "sentinel", now: datetime | None = None
    ) -> list[str]:
        """Forget the listings of ``month`` and every later month, to be recorded again.

        Used when a processed month's inputs changed (``sentinel run --reprocess-from``):
        the months' rows of ``case_months`` are removed; their listing events stay in the
        history, moved out of their month (``month`` NULL, the month and ``superseded``
        in their detail) so that recording the month again writes fresh ones; every
        affected case gets a ``rederived`` event saying which months and why. A case known
        only from those months and never worked (state ``new``, no assignee, no audit) is
        removed until a listing names it again; the others keep their audit and
        assignment, with their first and last listed months taken from the months kept.
        Returns the affected case ids.
        """
        _check_month(month)
        at = now or datetime.now(UTC)
        with self.engine.begin() as conn:
            listed = conn.execute(
                select(_case_months.c.case_id, _case_months.c.month).where(
                    _case_months.c.month >= month
                )
            ).all()
            superseded = conn.execute(
                select(
                    _events.c.id,
                    _events.c.case_id,
                    _events.c.month,
                    _events.c.detail,
                    _events.c.chain_seq,
                )
                .where(_events.c.month >= month)
                .where(_events.c.kind.in_(_MONTH_EVENT_KINDS))
            ).all()
            months_of: dict[str, set[str]] = {}
            for case_id, listed_month in [*listed, *((e[1], e[2]) for e in superseded)]:
                months_of.setdefault(case_id, set()).add(listed_month)
            if superseded:
                conn.execute(
                    update(_events)
                    .where(_events.c.id == bindparam("key"))
                    .values(month=None, detail=bindparam("new_detail")),
                    [
                        {
                            "key": e[0],
                            "new_detail": (e[3] or {}) | {"month": e[2], "superseded": True},
                        }
                        for e in superseded
                    ],
                )
                # The product's own rewrite: sealed again from the first row it changed.
                sealed = [e[4] for e in superseded if e[4] is not None]
                seal(conn, EVENTS_CHAIN, from_seq=min(sealed) if sealed else None)
            conn.execute(delete(_case_months).where(_case_months.c.month >= month))
            affected = sorted(months_of)
            for case in _select_in(conn, _cases, _cases.c.case_id, affected):
                kept = (
                    conn.execute(
                        select(_case_months)
                        .where(_case_months.c.case_id == case["case_id"])
                        .order_by(_case_months.c.month)
                    )
                    .mappings()
                    .all()
                )
                where = _cases.c.case_id == case["case_id"]
                if kept:
                    last = kept[-1]
                    conn.execute(
                        update(_cases)
                        .where(where)
                        .values(
                            first_flagged=kept[0]["month"],
                            last_listed=last["month"],
                            est_overpayment=last["est_overpayment"],
                            reasons=last["reasons"],
                        )
                    )
                elif (
                    case["state"] == "new" and case["assignee"] is None and case["outcome"] is None
                ):
                    conn.execute(delete(_cases).where(where))
            for case_id in affected:
                _add_event(
                    conn,
                    case_id,
                    at,
                    actor,
                    "rederived",
                    None,
                    {"from": month, "months": sorted(months_of[case_id]), "reason": reason},
                )
        return affected

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
        self,
        case_id: str,
        outcome: str | None,
        closed_on: date | None,
        *,
        death_date: date | None = None,
        overpaid_amount: float | None = None,
        recovered_amount: float | None = None,
        today: date,
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
        return _closure_problems(
            dict(case),
            outcome,
            closed_on,
            death_date,
            overpaid_amount,
            recovered_amount,
            today,
            self.limits,
        )

    def close(
        self,
        case_id: str,
        outcome: str,
        closed_on: date,
        *,
        death_date: date | None = None,
        overpaid_amount: float | None = None,
        recovered_amount: float | None = None,
        note: str | None = None,
        actor: str,
        reviewed_by: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Record the result of a field audit and close the case.

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
        canonical = OUTCOMES.get(outcome.strip(), outcome) if isinstance(outcome, str) else outcome
        with self.engine.begin() as conn:
            case = _one_case(conn, case_id)
            problems = _closure_problems(
                case,
                canonical,
                closed_on,
                death_date,
                overpaid_amount,
                recovered_amount,
                at.date(),
                self.limits,
            )
            if problems:
                raise CaseValidationError(case_id, *problems[0])
            result = {
                "outcome": canonical,
                "closed_on": closed_on,
                "death_date": death_date,
                "overpaid_amount": _money(overpaid_amount),
                "recovered_amount": _money(recovered_amount),
                "note": note or None,
            }
            previous = {k: case[k] for k in result}
            if case["state"] == "closed" and previous == result:
                return False
            why = self.signoff.reason(canonical, overpaid_amount, set(_codes(case["reasons"])))
            reviewer = reviewed_by.strip() if reviewed_by and reviewed_by.strip() else None
            if why is not None and reviewer is not None and reviewer == actor:
                raise CaseValidationError(
                    case_id,
                    "reviewed_by",
                    "is the person who recorded the result; a second person signs off",
                )
            if why is not None and reviewer is None:
                pending = _pending_proposal(conn, case_id)
                if pending is not None and pending["result"] == _jsonable(result):
                    return False
                if case["state"] != "closed":
                    conn.execute(
                        update(_cases).where(_cases.c.case_id == case_id).values(state="pending")
                    )
                _add_event(
                    conn,
                    case_id,
                    at,
                    actor,
                    "proposed",
                    None,
                    {"result": _jsonable(result), "signoff": why, "state": case["state"]},
                )
                return True
            self._apply_close(
                conn, case, result, actor, at, {"reviewed_by": reviewer} if reviewer else {}
            )
        return True

    def case(self, case_id: str) -> dict[str, Any] | None:
        """One case as a dict, or None when unknown."""
        with self.engine.connect() as conn:
            found = (
                conn.execute(select(_cases).where(_cases.c.case_id == case_id)).mappings().first()
            )
        return dict(found) if found is not None else None

    def open_cases(self, month: str, listed: Iterable[str]) -> pl.DataFrame:
        """Open cases (new or assigned) listed before ``month`` but not in ``listed``
        (this month's detected case ids): they stay on the list until an audit closes it.

        Columns: ``case_id, person_id, typology, township, est_overpayment, reasons,
        first_flagged, last_listed, risk_score``, the last two of the latest listing before ``month`` (so
        that recording ``month`` again carries the same cases), ordered by ``case_id``.
        """
        _check_month(month)
        detected = set(listed)
        with self.engine.connect() as conn:
            cases = [
                dict(r)
                for r in conn.execute(
                    select(
                        _cases.c.case_id,
                        _cases.c.person_id,
                        _cases.c.typology,
                        _cases.c.township,
                        _cases.c.est_overpayment,
                        _cases.c.reasons,
                        _cases.c.first_flagged,
                    )
                    .where(_cases.c.state.in_(OPEN_STATES))
                    .where(_cases.c.first_flagged < month)
                    .order_by(_cases.c.case_id)
                ).mappings()
                if r["case_id"] not in detected
            ]
            latest: dict[str, dict[str, Any]] = {}
            for chunk in _chunks([c["case_id"] for c in cases]):
                for r in conn.execute(
                    select(_case_months.c.case_id, _case_months.c.month, _case_months.c.risk_score)
                    .where(_case_months.c.case_id.in_(chunk))
                    .where(_case_months.c.month < month)
                    .order_by(_case_months.c.month)
                ).mappings():
                    latest[r["case_id"]] = dict(r)
        rows = [
            {
                **c,
                "last_listed": latest[c["case_id"]]["month"],
                "risk_score": latest[c["case_id"]]["risk_score"],
            }
            for c in cases
            if c["case_id"] in latest
        ]
        return pl.DataFrame(
            rows,
            schema={
                "case_id": pl.String,
                "person_id": pl.String,
                "typology": pl.String,
                "township": pl.String,
                "est_overpayment": pl.Float64,
                "reasons": pl.String,
                "first_flagged": pl.String,
                "last_listed": pl.String,
                "risk_score": pl.Float64,
            },
        )
