"""The monthly listings in the case store: a month's case list recorded (or previewed),
months re-derived when their inputs changed, and the open cases carried to the next list
(:class:`sentinel.casestore.CaseStore` has these methods).

What each listed case becomes (listed, carried, reopened, suppressed) is the lifecycle
policy of :mod:`sentinel.casestore.policy`; this module reads what the store knew before
the month, applies that policy case by case and writes the month at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Engine, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from sentinel.casestore.chain import seal
from sentinel.casestore.constants import _MONTH_EVENT_KINDS, OPEN_STATES
from sentinel.casestore.policy import _check_month, _checked_listing, _decide, _status
from sentinel.casestore.schema import EVENTS_CHAIN, _case_months, _cases, _events
from sentinel.casestore.sql import _add_event, _chunks, _select_in

__all__ = ["MonthListings"]

#: The columns :meth:`MonthListings.record_month` adds to the published list.
_PUBLISHED_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "first_flagged": pl.String(),
    "status": pl.String(),
    "note": pl.String(),
}
_OPEN_CASE_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "person_id": pl.String(),
    "typology": pl.String(),
    "township": pl.String(),
    "est_overpayment": pl.Float64(),
    "reasons": pl.String(),
    "first_flagged": pl.String(),
    "last_listed": pl.String(),
    "risk_score": pl.Float64(),
}


class MonthListings:
    """The monthly side of :class:`sentinel.casestore.CaseStore` (it has these methods)."""

    engine: Engine

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
            return _record_listing(conn, month, cases, rows, actor, clear_months, now)

    def preview_month(
        self, month: str, cases: pl.DataFrame, *, clear_months: int, now: datetime | None = None
    ) -> pl.DataFrame:
        """What :meth:`record_month` would return for ``cases``, recording nothing (the
        flow ranks and selects the published cases before recording them)."""
        rows = _checked_listing(month, cases, clear_months)
        with self.engine.connect() as conn:
            transaction = conn.begin()
            try:
                return _record_listing(conn, month, cases, rows, "preview", clear_months, now)
            finally:
                transaction.rollback()

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
            months_of = _forget_months(conn, month)
            affected = sorted(months_of)
            _relist_from_kept_months(conn, affected)
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

    def case_states(self, case_ids: Iterable[str]) -> dict[str, str]:
        """The state (``new``, ``assigned``, ``pending`` or ``closed``) of each of
        ``case_ids`` the store holds; a case it does not hold is absent."""
        with self.engine.connect() as conn:
            rows = _select_in(conn, _cases, _cases.c.case_id, sorted(set(case_ids)))
        return {r["case_id"]: r["state"] for r in rows}

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
            latest = _latest_listings(conn, [c["case_id"] for c in cases], month)
        rows = [
            {
                **c,
                "last_listed": latest[c["case_id"]]["month"],
                "risk_score": latest[c["case_id"]]["risk_score"],
            }
            for c in cases
            if c["case_id"] in latest
        ]
        return pl.DataFrame(rows, schema=_OPEN_CASE_SCHEMA)


# ----------------------------------------------------------------------------- recording


@dataclass(frozen=True)
class _Known:
    """What the store knew of a month's cases before the month was recorded."""

    #: The cases already in the store, by case id.
    cases: dict[str, dict[str, Any]]
    #: The first month each case was listed before the month.
    first_listed: dict[str, str]
    #: The first month each case was listed in any month, later ones included
    #: (re-recording an old month); from the listings themselves, so a re-derived month
    #: leaves no trace here.
    listed_ever: dict[str, str]
    #: The audited cases of each person of the list.
    audits: dict[str, list[dict[str, Any]]]
    #: The month's events already recorded, by (case, kind): their detail.
    month_events: dict[tuple[str, str], Any]


@dataclass
class _MonthWrites:
    """What recording a month writes, gathered case by case and written at once."""

    month: str
    at: datetime
    actor: str
    recorded: dict[tuple[str, str], Any]
    published: list[dict[str, Any]] = field(default_factory=list)
    new_cases: list[dict[str, Any]] = field(default_factory=list)
    case_updates: list[dict[str, Any]] = field(default_factory=list)
    month_rows: list[dict[str, Any]] = field(default_factory=list)
    new_events: list[dict[str, Any]] = field(default_factory=list)

    def event(self, case_id: str, kind: str, detail: dict[str, Any]) -> None:
        """A month event, unless the month has it already (recording a month twice)."""
        if (case_id, kind) not in self.recorded:
            self.new_events.append(
                {
                    "case_id": case_id,
                    "at": self.at,
                    "actor": self.actor,
                    "kind": kind,
                    "month": self.month,
                    "detail": detail,
                }
            )

    def write(self, conn: Connection) -> None:
        """The new cases, the changed ones, the month's list and its events."""
        if self.new_cases:
            conn.execute(insert(_cases), self.new_cases)
        if self.case_updates:
            conn.execute(
                update(_cases).where(_cases.c.case_id == bindparam("key")), self.case_updates
            )
        # The month's list is replaced, not merged: a case dropped on a rerun leaves it.
        conn.execute(delete(_case_months).where(_case_months.c.month == self.month))
        if self.month_rows:
            conn.execute(insert(_case_months), self.month_rows)
        if self.new_events:
            conn.execute(insert(_events), self.new_events)
            seal(conn, EVENTS_CHAIN)


def _record_listing(
    conn: Connection,
    month: str,
    cases: pl.DataFrame,
    rows: list[dict[str, Any]],
    actor: str,
    clear_months: int,
    now: datetime | None,
) -> pl.DataFrame:
    """Record ``month``'s listing rows on ``conn`` and return ``cases`` as published
    (:meth:`MonthListings.record_month`)."""
    known = _known_before(conn, month, rows)
    writes = _MonthWrites(month, now or datetime.now(UTC), actor, known.month_events)
    for row in rows:
        _list_case(writes, known, row, clear_months)
    writes.write(conn)
    decided = pl.DataFrame(writes.published, schema=_PUBLISHED_SCHEMA)
    base = cases.drop([c for c in ("first_flagged", "status", "note") if c in cases.columns])
    return base.join(decided, on="case_id", how="inner", maintain_order="left")


def _known_before(conn: Connection, month: str, rows: list[dict[str, Any]]) -> _Known:
    ids = [r["case_id"] for r in rows]
    persons = sorted({r["person_id"] for r in rows})
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
    return _Known(
        cases={r["case_id"]: r for r in _select_in(conn, _cases, _cases.c.case_id, ids)},
        first_listed=_first_listings(conn, ids, before=month),
        listed_ever=_first_listings(conn, ids),
        audits=audits,
        month_events=month_events,
    )


def _first_listings(
    conn: Connection, ids: Sequence[str], *, before: str | None = None
) -> dict[str, str]:
    """The first month each case was listed (before ``before`` when given)."""
    found: dict[str, str] = {}
    for chunk in _chunks(ids):
        query = select(_case_months.c.case_id, func.min(_case_months.c.month))
        if before is not None:
            query = query.where(_case_months.c.month < before)
        query = query.where(_case_months.c.case_id.in_(chunk)).group_by(_case_months.c.case_id)
        found.update(conn.execute(query).tuples().all())
    return found


def _list_case(writes: _MonthWrites, known: _Known, row: dict[str, Any], clear_months: int) -> None:
    """One case of the month's list: suppressed, or listed (new, or the known case
    updated and perhaps reopened) with its events."""
    month, case_id = writes.month, row["case_id"]
    case = known.cases.get(case_id)
    decision = _decide(row, case, known.audits.get(row["person_id"], []), month, clear_months)
    if not decision.listed:
        writes.event(case_id, "suppressed", {"note": decision.note, "reasons": row["reasons"]})
        return
    reopened_note = (known.month_events.get((case_id, "reopened")) or {}).get("note")
    note = decision.note or reopened_note
    status = _status(row, case, case_id in known.first_listed, month, decision)
    first = min(known.first_listed.get(case_id, month), month)
    listing = {
        "priority_rank": row["priority_rank"],
        "risk_score": row["risk_score"],
        "est_overpayment": row["est_overpayment"],
        "reasons": row["reasons"],
    }
    writes.month_rows.append(
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
    if case is None:
        writes.new_cases.append(_new_case(row, first, writes.at, month))
    else:
        change = _listed_again(row, case, month, min(known.listed_ever.get(case_id, first), first))
        if decision.reopen:
            change |= {"state": "new", "assignee": None, "opened_at": writes.at}
            writes.event(case_id, "reopened", {"note": note})
        writes.case_updates.append(change)
    writes.event(case_id, "listed", listing)
    writes.published.append(
        {"case_id": case_id, "first_flagged": first, "status": status, "note": note}
    )


def _new_case(row: dict[str, Any], first: str, at: datetime, month: str) -> dict[str, Any]:
    """The ``cases`` row of a case listed for the first time."""
    return {
        "case_id": row["case_id"],
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


def _listed_again(
    row: dict[str, Any], case: dict[str, Any], month: str, first_flagged: str
) -> dict[str, Any]:
    """The update of a known case listed again (keyed by ``key``)."""
    # Re-recording an older month must not overwrite the latest listing.
    latest = row if month >= case["last_listed"] else case
    return {
        "key": case["case_id"],
        "first_flagged": first_flagged,
        "township": latest["township"],
        "est_overpayment": latest["est_overpayment"],
        "reasons": latest["reasons"],
        "last_listed": max(month, case["last_listed"]),
        "state": case["state"],
        "assignee": case["assignee"],
        "opened_at": case["opened_at"],
    }


# ----------------------------------------------------------------------------- re-deriving


def _forget_months(conn: Connection, month: str) -> dict[str, set[str]]:
    """Remove the listings of ``month`` and later, moving their month events out of their
    month (the chain sealed again from the first row changed); the months each affected
    case was listed or had events in."""
    listed = conn.execute(
        select(_case_months.c.case_id, _case_months.c.month).where(_case_months.c.month >= month)
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
                {"key": e[0], "new_detail": (e[3] or {}) | {"month": e[2], "superseded": True}}
                for e in superseded
            ],
        )
        # The product's own rewrite: sealed again from the first row it changed.
        sealed = [e[4] for e in superseded if e[4] is not None]
        seal(conn, EVENTS_CHAIN, from_seq=min(sealed) if sealed else None)
    conn.execute(delete(_case_months).where(_case_months.c.month >= month))
    return months_of


def _relist_from_kept_months(conn: Connection, affected: list[str]) -> None:
    """Each affected case takes its first and last listing from the months kept; one
    that has none and was never worked is removed."""
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
        elif case["state"] == "new" and case["assignee"] is None and case["outcome"] is None:
            conn.execute(delete(_cases).where(where))


# ----------------------------------------------------------------------------- carrying


def _latest_listings(
    conn: Connection, case_ids: list[str], month: str
) -> dict[str, dict[str, Any]]:
    """Each case's latest listing before ``month`` (case_id, month, risk_score)."""
    latest: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(case_ids):
        for r in conn.execute(
            select(_case_months.c.case_id, _case_months.c.month, _case_months.c.risk_score)
            .where(_case_months.c.case_id.in_(chunk))
            .where(_case_months.c.month < month)
            .order_by(_case_months.c.month)
        ).mappings():
            latest[r["case_id"]] = dict(r)
    return latest
