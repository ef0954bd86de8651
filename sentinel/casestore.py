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

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    create_engine,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection

from features.identity import id_birth_date
from sentinel.audit_result import OUTCOME_VALUES, OutcomeLimits, result_problems
from sentinel.config import load_config
from sentinel.contract import OUTCOMES
from sentinel.migrations import upgrade

__all__ = [
    "CASE_STATES",
    "DATABASE_URL_ENV",
    "EVENT_KINDS",
    "OUTCOME_VALUES",
    "CaseStore",
    "CaseValidationError",
    "database_url",
]

#: Environment variable holding the store's SQLAlchemy URL (may carry a password).
DATABASE_URL_ENV = "SENTINEL_DATABASE_URL"
CASE_STATES: tuple[str, ...] = ("new", "assigned", "closed")
#: A listed case's status this month: first listed, still open from an earlier month,
#: open while its payments have stopped (the sum overpaid is still to recover), or confirmed
#: improper by an audit and paid again after it.
LISTING_STATUSES: tuple[str, ...] = ("new", "carried", "payments_stopped", "reopened")
#: How a case was chosen for this month's field visits (:mod:`sentinel.selection`).
SELECTIONS: tuple[str, ...] = ("priority", "exploration")
EVENT_KINDS: tuple[str, ...] = (
    "listed",
    "assigned",
    "closed",
    "reopened",
    "suppressed",
    "rederived",
)
#: Events written by :meth:`CaseStore.record_month` for one month's listing.
_MONTH_EVENT_KINDS: tuple[str, ...] = ("listed", "reopened", "suppressed")
CONFIRMED: tuple[str, ...] = ("confirmed_deceased", "confirmed_improper")
#: Reason codes that speak for the person (an in-person certification passed): they are
#: never new evidence against a person an audit cleared (sentinel/evidence.py TEMPLATES).
EXCULPATORY_REASONS: frozenset[str] = frozenset({"SA_PROOF_OF_LIFE", "DP_ALIVE_AFTER_DEATH"})

_metadata = MetaData()

_cases = Table(
    "cases",
    _metadata,
    Column("case_id", String(40), primary_key=True),
    Column("person_id", String(40), nullable=False, index=True),
    Column("typology", String(40), nullable=False),
    Column("township", Text),
    Column("first_flagged", String(7), nullable=False),
    Column("state", String(10), nullable=False),
    Column("assignee", Text),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("outcome", String(20)),
    Column("closed_on", Date),
    Column("death_date", Date),
    Column("overpaid_amount", Float),
    Column("recovered_amount", Float),
    Column("audited_reasons", Text),
    Column("est_overpayment", Float),
    Column("reasons", Text),
    Column("last_listed", String(7), nullable=False),
    Column("note", Text),
)

_case_months = Table(
    "case_months",
    _metadata,
    Column("case_id", String(40), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("priority_rank", Integer),
    Column("risk_score", Float),
    Column("est_overpayment", Float),
    Column("reasons", Text),
    Column("note", Text),
    Column("status", String(20)),
    Column("selection", String(12)),
    Column("selection_probability", Float),
)

_events = Table(
    "events",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # No foreign key: a suppressed case of a cleared person may never have been listed.
    Column("case_id", String(40), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("kind", String(12), nullable=False),
    # Set for events of a monthly listing; NULLs are distinct, so hand-made events repeat.
    Column("month", String(7)),
    Column("detail", JSON),
    UniqueConstraint("case_id", "month", "kind", name="uq_events_case_month_kind"),
)

_CHUNK = 500


class CaseValidationError(ValueError):
    """A change to a case that cannot be right; names the case, the field and the problem."""

    def __init__(self, case_id: str, field: str, problem: str) -> None:
        self.case_id = case_id
        self.field = field
        self.problem = problem
        super().__init__(f"case {case_id}: {field}: {problem}")


def database_url(default_path: Path | str = "sentinel-cases.sqlite") -> str:
    """The store URL: ``$SENTINEL_DATABASE_URL`` when set, else a SQLite file at ``default_path``."""
    return os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{Path(default_path)}"


@dataclass(frozen=True)
class _Decision:
    listed: bool
    note: str | None = None
    reopen: bool = False


class CaseStore:
    """Cases across months in a SQL database (SQLite file or PostgreSQL by URL).

    ``url`` is a SQLAlchemy URL (``sqlite:///path/cases.sqlite``,
    ``postgresql+psycopg://user:pw@host/db``) or a plain path to a SQLite file. Opening
    brings the database to the newest schema (:func:`sentinel.migrations.upgrade`): an empty
    one gets every table, one an earlier release made gets what it lacks, cases kept.
    """

    def __init__(self, url: str | Path, *, limits: OutcomeLimits | None = None) -> None:
        text = str(url)
        if "://" not in text:
            text = f"sqlite:///{text}"
        self.engine: Engine = create_engine(text, future=True)
        upgrade(self.engine)
        if limits is None:
            limits = OutcomeLimits.from_config(load_config())
        #: Bounds of an audit result (``cases.max_outcome_amount``, ``policy.max_plausible_age``).
        self.limits = limits

    def dispose(self) -> None:
        """Close the database connections."""
        self.engine.dispose()

    def __enter__(self) -> CaseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()

    # ------------------------------------------------------------------ monthly listing

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
            decision = _decide(
                row, known, audits.get(row["person_id"], []), month, clear_months
            )
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
            conn.execute(
                update(_cases).where(_cases.c.case_id == bindparam("key")), case_updates
            )
        # The month's list is replaced, not merged: a case dropped on a rerun leaves it.
        conn.execute(delete(_case_months).where(_case_months.c.month == month))
        if month_rows:
            conn.execute(insert(_case_months), month_rows)
        if new_events:
            conn.execute(insert(_events), new_events)
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
                select(_events.c.id, _events.c.case_id, _events.c.month, _events.c.detail)
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
                    case["state"] == "new"
                    and case["assignee"] is None
                    and case["outcome"] is None
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

    # ------------------------------------------------------------------ audit lifecycle

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
        now: datetime | None = None,
    ) -> bool:
        """Record the result of a field audit and close the case.

        Raises :class:`CaseValidationError` (a ``ValueError``) naming the case and the field
        for the first problem :meth:`closure_problems` finds. Returns False, and records
        nothing, when the case is already closed with exactly this result (re-importing
        the same workbook); a different result for a closed case is recorded as a
        correction (a ``closed`` event whose detail holds the previous result).
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
            conn.execute(
                update(_cases)
                .where(_cases.c.case_id == case_id)
                .values(state="closed", audited_reasons=case["reasons"], **result)
            )
            detail = _jsonable(result) | {"reasons": case["reasons"]}
            if case["state"] == "closed":
                detail["corrects"] = _jsonable(previous)
            _add_event(conn, case_id, at, actor, "closed", None, detail)
        return True

    # ------------------------------------------------------------------ reading

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
                    .where(_cases.c.state.in_(["new", "assigned"]))
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
            {**c, "last_listed": latest[c["case_id"]]["month"], "risk_score": latest[c["case_id"]]["risk_score"]}
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

    def selections(self, up_to: str | None = None) -> pl.DataFrame:
        """Cases chosen for a field visit, per month: ``case_id, person_id, month,
        selection, selection_probability`` (:data:`SELECTIONS`), up to ``up_to`` when given."""
        query = (
            select(
                _case_months.c.case_id,
                _cases.c.person_id,
                _case_months.c.month,
                _case_months.c.selection,
                _case_months.c.selection_probability,
            )
            .join(_cases, _cases.c.case_id == _case_months.c.case_id)
            .where(_case_months.c.selection.is_not(None))
            .order_by(_case_months.c.month, _case_months.c.case_id)
        )
        if up_to is not None:
            query = query.where(_case_months.c.month <= up_to)
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        return pl.DataFrame(
            rows,
            schema={
                "case_id": pl.String,
                "person_id": pl.String,
                "month": pl.String,
                "selection": pl.String,
                "selection_probability": pl.Float64,
            },
        )

    def cases(self) -> pl.DataFrame:
        """Every case, one row each, ordered by ``case_id``."""
        return self._frame(select(_cases).order_by(_cases.c.case_id), _CASE_SCHEMA)

    def events(self, case_id: str | None = None) -> pl.DataFrame:
        """The event log (``id``, ``case_id``, ``at``, ``actor``, ``kind``, ``month``,
        ``detail`` as JSON text), oldest first; only ``case_id``'s when given."""
        query = select(_events).order_by(_events.c.id)
        if case_id is not None:
            query = query.where(_events.c.case_id == case_id)
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        for r in rows:
            r["detail"] = json.dumps(r["detail"], ensure_ascii=False, sort_keys=True)
            r["at"] = _naive_utc(r["at"])
        return pl.DataFrame(rows, schema=_EVENT_SCHEMA)

    # ------------------------------------------------------------------ reports

    def precision_by_typology(self) -> pl.DataFrame:
        """Share of audited cases that were right, per typology.

        From each case's latest audit: ``confirmed_*`` is a hit, ``cleared`` a miss,
        ``unreachable`` is counted apart and left out of ``precision`` (null with no
        hit or miss). Columns: typology, audited, confirmed, cleared, unreachable, precision,
        weighted_audited, weighted_precision (outcomes weighted by the inverse probability
        that the case was chosen for the visit, see :mod:`sentinel.selection`).
        """
        return _precision(self._audited(), "typology")

    def precision_by_reason(self) -> pl.DataFrame:
        """As :meth:`precision_by_typology`, per reason code the case had when audited
        (a case with two reasons counts for both)."""
        audited = (
            self._audited()
            .with_columns(pl.col("audited_reasons").fill_null("").str.split(",").alias("reason"))
            .explode("reason")
            .filter(pl.col("reason") != "")
        )
        return _precision(audited, "reason")

    def recovered_vs_estimated(self) -> pl.DataFrame:
        """Per typology, over confirmed cases: the estimate when last listed against the
        overpayment the audit established and the money recovered (yuan).

        Columns: typology, confirmed, est_overpayment, overpaid_amount, recovered_amount,
        overpaid_per_estimated, recovered_share (of overpaid; null when nothing overpaid).
        """
        confirmed = self._audited().filter(pl.col("outcome").is_in(CONFIRMED))
        return (
            confirmed.group_by("typology")
            .agg(
                pl.len().cast(pl.Int64).alias("confirmed"),
                pl.col("est_overpayment").fill_null(0.0).sum(),
                pl.col("overpaid_amount").fill_null(0.0).sum(),
                pl.col("recovered_amount").fill_null(0.0).sum(),
            )
            .with_columns(
                _ratio("overpaid_amount", "est_overpayment").alias("overpaid_per_estimated"),
                _ratio("recovered_amount", "overpaid_amount").alias("recovered_share"),
            )
            .sort("typology")
        )

    def open_longer_than(self, days: int, today: date) -> pl.DataFrame:
        """Open cases (new or assigned) opened more than ``days`` days before ``today``.

        A case opens when first listed or when reopened. Columns: case_id, person_id,
        typology, township, state, assignee, first_flagged, opened_on, days_open; longest
        open first.
        """
        open_cases = self.cases().filter(pl.col("state").is_in(["new", "assigned"]))
        return (
            open_cases.with_columns(pl.col("opened_at").dt.date().alias("opened_on"))
            .with_columns((pl.lit(today) - pl.col("opened_on")).dt.total_days().alias("days_open"))
            .filter(pl.col("days_open") > days)
            .select(
                "case_id",
                "person_id",
                "typology",
                "township",
                "state",
                "assignee",
                "first_flagged",
                "opened_on",
                "days_open",
            )
            .sort(["days_open", "case_id"], descending=[True, False])
        )

    def _audited(self) -> pl.DataFrame:
        """Audited cases with ``weight``: the inverse probability that the case was chosen
        for the visit (its latest selection up to the audit's month; 1 when it was not
        chosen by the list, e.g. audited on a tip)."""
        audited = self.cases().filter(pl.col("outcome").is_not_null())
        chosen = (
            self.selections()
            .join(audited.select("case_id", "closed_on"), on="case_id", how="inner")
            .filter(pl.col("month") <= pl.col("closed_on").dt.strftime("%Y-%m"))
            .sort("month")
            .group_by("case_id")
            .agg(pl.col("selection_probability").last())
        )
        return audited.join(chosen, on="case_id", how="left").with_columns(
            (1.0 / pl.col("selection_probability").fill_null(1.0).clip(lower_bound=1e-9)).alias(
                "weight"
            )
        )

    def _frame(self, query: Any, schema: dict[str, pl.DataType]) -> pl.DataFrame:
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        for r in rows:
            if "opened_at" in r:
                r["opened_at"] = _naive_utc(r["opened_at"])
        return pl.DataFrame(rows, schema=schema)


_CASE_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "person_id": pl.String(),
    "typology": pl.String(),
    "township": pl.String(),
    "first_flagged": pl.String(),
    "state": pl.String(),
    "assignee": pl.String(),
    "opened_at": pl.Datetime("us"),
    "outcome": pl.String(),
    "closed_on": pl.Date(),
    "death_date": pl.Date(),
    "overpaid_amount": pl.Float64(),
    "recovered_amount": pl.Float64(),
    "audited_reasons": pl.String(),
    "est_overpayment": pl.Float64(),
    "reasons": pl.String(),
    "last_listed": pl.String(),
    "note": pl.String(),
}
_EVENT_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Int64(),
    "case_id": pl.String(),
    "at": pl.Datetime("us"),
    "actor": pl.String(),
    "kind": pl.String(),
    "month": pl.String(),
    "detail": pl.String(),
}


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
        and 0 <= _months_between(_month_of(a["closed_on"]), month) < clear_months
    ]
    reopenable = known is not None and known["state"] == "closed"
    if recent_clears:
        cleared_codes = set().union(*(_codes(a["audited_reasons"]) for a in recent_clears))
        cleared_month = max(_month_of(a["closed_on"]) for a in recent_clears)
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
    audited = _month_of(known["closed_on"])
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
        and _month_of(known["closed_on"]) <= month
        and decision.listed
        and _paid_after(row, _month_of(known["closed_on"]))
    ):
        return "reopened"
    if not listed_before:
        return "new"
    last = row.get("last_paid_period")
    if last is not None and last < month:
        return "payments_stopped"
    return "carried"


def _closure_problems(
    case: dict[str, Any],
    outcome: str | None,
    closed_on: date | None,
    death_date: date | None,
    overpaid: float | None,
    recovered: float | None,
    today: date,
    limits: OutcomeLimits,
) -> list[tuple[str, str]]:
    """:func:`sentinel.audit_result.result_problems` for this case."""
    return result_problems(
        {
            "outcome": outcome,
            "closed_on": closed_on,
            "death_date": death_date,
            "overpaid_amount": overpaid,
            "recovered_amount": recovered,
        },
        first_listed=date.fromisoformat(f"{case['first_flagged']}-01"),
        birth_date=_birth_date(case["person_id"]),
        today=today,
        limits=limits,
    )


def _birth_date(person_id: str) -> date | None:
    """The birth date written in an identity number; None when it holds none."""
    frame = pl.DataFrame({"person_id": [person_id]}, schema={"person_id": pl.String})
    return frame.select(id_birth_date("person_id")).item()


def _precision(audited: pl.DataFrame, by: str) -> pl.DataFrame:
    """Per ``by``: counts of outcomes and the share confirmed, plain and weighted by the
    inverse selection probability (``weighted_precision``: an unbiased estimate of how often
    the listed cases of that kind are right, the exploration draws below the cut speaking
    for the cases like them that were not visited)."""
    outcome = pl.col("outcome")
    judged = outcome.is_in([*CONFIRMED, "cleared"])
    weight = pl.col("weight") if "weight" in audited.columns else pl.lit(1.0)
    return (
        audited.group_by(by)
        .agg(
            outcome.is_in(CONFIRMED).sum().cast(pl.Int64).alias("confirmed"),
            (outcome == "cleared").sum().cast(pl.Int64).alias("cleared"),
            (outcome == "unreachable").sum().cast(pl.Int64).alias("unreachable"),
            weight.filter(outcome.is_in(CONFIRMED)).sum().alias("_w_confirmed"),
            weight.filter(judged).sum().alias("weighted_audited"),
        )
        .with_columns((pl.col("confirmed") + pl.col("cleared")).alias("audited"))
        .with_columns(
            _ratio("confirmed", "audited").alias("precision"),
            _ratio("_w_confirmed", "weighted_audited").alias("weighted_precision"),
        )
        .select(
            by,
            "audited",
            "confirmed",
            "cleared",
            "unreachable",
            "precision",
            "weighted_audited",
            "weighted_precision",
        )
        .sort(by)
    )


def _ratio(numerator: str, denominator: str) -> pl.Expr:
    return (
        pl.when(pl.col(denominator) > 0)
        .then(pl.col(numerator) / pl.col(denominator))
        .otherwise(None)
        .cast(pl.Float64)
    )


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


def _month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _months_between(earlier: str, later: str) -> int:
    return (int(later[:4]) - int(earlier[:4])) * 12 + int(later[5:7]) - int(earlier[5:7])


def _money(amount: float | None) -> float | None:
    return None if amount is None else round(float(amount), 2)


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items()}


def _naive_utc(at: datetime | None) -> datetime | None:
    if at is None or at.tzinfo is None:
        return at
    return at.astimezone(UTC).replace(tzinfo=None)


def _one_case(conn: Connection, case_id: str) -> dict[str, Any]:
    found = conn.execute(select(_cases).where(_cases.c.case_id == case_id)).mappings().first()
    if found is None:
        raise CaseValidationError(case_id, "case_id", "unknown case")
    return dict(found)


def _add_event(
    conn: Connection,
    case_id: str,
    at: datetime,
    actor: str,
    kind: str,
    month: str | None,
    detail: dict[str, Any],
) -> None:
    conn.execute(
        insert(_events).values(
            case_id=case_id, at=at, actor=actor, kind=kind, month=month, detail=detail
        )
    )


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _select_in(
    conn: Connection, table: Table, column: Any, values: Iterable[str]
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for chunk in _chunks(list(values)):
        found.extend(
            dict(r) for r in conn.execute(select(table).where(column.in_(chunk))).mappings()
        )
    return found
