"""Sign-off (经办 / 复核) in the case store: a result that needs a second user waits as a
proposal (a ``proposed`` event; an open case is ``pending``) until another user approves it
(the case closes) or sends it back (the case is open again).

Which results need it is :class:`sentinel.audit_result.SignOff` (``cases.signoff_*``);
:meth:`sentinel.casestore.CaseStore.close` records the proposal. Whether the approving
user holds a sign-off role is the caller's check (the review app's users).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from sqlalchemy import Engine, select, update
from sqlalchemy.engine import Connection

from sentinel.audit_result import SignOff
from sentinel.casestore.constants import CaseValidationError
from sentinel.casestore.policy import _canonical_outcome, _signoff_reason
from sentinel.casestore.schema import _cases, _events
from sentinel.casestore.sql import _add_event, _jsonable, _one_case, _select_in

__all__ = ["SignOffs"]

#: Events that open or settle a sign-off: the last of them says whether one is waiting.
_SIGNOFF_KINDS: tuple[str, ...] = ("proposed", "approved", "rejected", "closed")
_PENDING_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "person_id": pl.String(),
    "typology": pl.String(),
    "township": pl.String(),
    "proposed_by": pl.String(),
    "proposed_at": pl.Datetime("us"),
    "outcome": pl.String(),
    "closed_on": pl.Date(),
    "overpaid_amount": pl.Float64(),
    "recovered_amount": pl.Float64(),
    "signoff": pl.String(),
}


def _pending_proposal(conn: Connection, case_id: str) -> dict[str, Any] | None:
    """The case's proposed result waiting for sign-off (event id, actor, result), or None
    when the last sign-off event is not a proposal."""
    last = (
        conn.execute(
            select(_events.c.id, _events.c.at, _events.c.actor, _events.c.kind, _events.c.detail)
            .where(_events.c.case_id == case_id)
            .where(_events.c.kind.in_(_SIGNOFF_KINDS))
            .order_by(_events.c.id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    if last is None or last["kind"] != "proposed":
        return None
    return {
        "id": last["id"],
        "at": last["at"],
        "actor": last["actor"],
        "result": last["detail"]["result"],
        "signoff": last["detail"]["signoff"],
    }


def _case_and_proposal(conn: Connection, case_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The case and its result waiting for sign-off; refused when nothing waits."""
    case = _one_case(conn, case_id)
    pending = _pending_proposal(conn, case_id)
    if pending is None:
        raise CaseValidationError(case_id, "state", "has no result waiting for sign-off")
    return case, pending


def _propose_result(
    conn: Connection,
    case: dict[str, Any],
    result: dict[str, Any],
    why: str,
    actor: str,
    at: datetime,
) -> bool:
    """Record ``result`` as a proposal waiting for sign-off (``why`` it needs one): an open
    case becomes ``pending``. False, recording nothing, when the same result waits already."""
    case_id = case["case_id"]
    pending = _pending_proposal(conn, case_id)
    if pending is not None and pending["result"] == _jsonable(result):
        return False
    if case["state"] != "closed":
        conn.execute(update(_cases).where(_cases.c.case_id == case_id).values(state="pending"))
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


class SignOffs:
    """The sign-off side of :class:`sentinel.casestore.CaseStore` (it has these methods)."""

    engine: Engine
    signoff: SignOff

    def signoff_needed(
        self, case_id: str, outcome: str | None, overpaid_amount: float | None
    ) -> str | None:
        """Why recording this result for the case needs a second user's approval
        (:class:`sentinel.audit_result.SignOff`), or None when one user may record it."""
        with self.engine.connect() as conn:
            case = (
                conn.execute(select(_cases).where(_cases.c.case_id == case_id)).mappings().first()
            )
        if case is None:
            return None
        return _signoff_reason(
            self.signoff, dict(case), _canonical_outcome(outcome), overpaid_amount
        )

    def approve(self, case_id: str, *, actor: str, now: datetime | None = None) -> dict[str, Any]:
        """Sign off the result proposed for the case and close it; returns that result.

        Refused (:class:`CaseValidationError`) when nothing waits for sign-off or when
        ``actor`` proposed it (nobody approves their own work). Whether ``actor`` holds a
        sign-off role is the caller's check (the review app's users).
        """
        at = now or datetime.now(UTC)
        with self.engine.begin() as conn:
            case, pending = _case_and_proposal(conn, case_id)
            if pending["actor"] == actor:
                raise CaseValidationError(
                    case_id, "approved_by", "proposed this result; a second user signs off"
                )
            result = pending["result"]
            typed = {
                **result,
                "closed_on": date.fromisoformat(result["closed_on"]),
                "death_date": (
                    date.fromisoformat(result["death_date"]) if result["death_date"] else None
                ),
            }
            _add_event(conn, case_id, at, actor, "approved", None, {"proposal": pending["id"]})
            self._apply_close(
                conn,
                case,
                typed,
                actor,
                at,
                {"proposed_by": pending["actor"], "approved_by": actor},
            )
        return result

    def reject(self, case_id: str, *, actor: str, note: str, now: datetime | None = None) -> None:
        """Send a proposed result back to its auditor with ``note`` (why it is not signed
        off): the case is open again (assigned to whoever had it) and nothing is closed."""
        if not note or not note.strip():
            raise CaseValidationError(case_id, "note", "is empty; say why the result is sent back")
        at = now or datetime.now(UTC)
        with self.engine.begin() as conn:
            case, pending = _case_and_proposal(conn, case_id)
            if case["state"] == "pending":
                state = "assigned" if case["assignee"] else "new"
                conn.execute(update(_cases).where(_cases.c.case_id == case_id).values(state=state))
            _add_event(
                conn,
                case_id,
                at,
                actor,
                "rejected",
                None,
                {"proposal": pending["id"], "note": note.strip()},
            )

    def proposal(self, case_id: str) -> dict[str, Any] | None:
        """The result proposed for the case and waiting for sign-off (``actor``, ``at``,
        ``result``, ``signoff``: why), or None."""
        with self.engine.connect() as conn:
            pending = _pending_proposal(conn, case_id)
        return pending

    def pending_signoffs(self) -> pl.DataFrame:
        """Results waiting for sign-off: ``case_id, person_id, typology, township,
        proposed_by, proposed_at, outcome, closed_on, overpaid_amount, recovered_amount,
        signoff`` (why), oldest first."""
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    select(
                        _events.c.id,
                        _events.c.case_id,
                        _events.c.at,
                        _events.c.actor,
                        _events.c.kind,
                        _events.c.detail,
                    )
                    .where(_events.c.kind.in_(_SIGNOFF_KINDS))
                    .order_by(_events.c.id)
                )
                .mappings()
                .all()
            )
            last: dict[str, Any] = {}
            for r in rows:
                last[r["case_id"]] = r
            waiting = [r for r in last.values() if r["kind"] == "proposed"]
            cases = {
                c["case_id"]: c
                for c in _select_in(conn, _cases, _cases.c.case_id, [r["case_id"] for r in waiting])
            }
        return pl.DataFrame(
            [
                {
                    "case_id": r["case_id"],
                    "person_id": cases[r["case_id"]]["person_id"],
                    "typology": cases[r["case_id"]]["typology"],
                    "township": cases[r["case_id"]]["township"],
                    "proposed_by": r["actor"],
                    "proposed_at": r["at"],
                    "outcome": r["detail"]["result"]["outcome"],
                    "closed_on": date.fromisoformat(r["detail"]["result"]["closed_on"]),
                    "overpaid_amount": r["detail"]["result"]["overpaid_amount"],
                    "recovered_amount": r["detail"]["result"]["recovered_amount"],
                    "signoff": r["detail"]["signoff"],
                }
                for r in sorted(waiting, key=lambda r: r["id"])
            ],
            schema=_PENDING_SCHEMA,
        )

    def _apply_close(
        self,
        conn: Connection,
        case: dict[str, Any],
        result: dict[str, Any],
        actor: str,
        at: datetime,
        signed: dict[str, Any],
    ) -> None:
        case_id = case["case_id"]
        previous = {k: case[k] for k in result}
        conn.execute(
            update(_cases)
            .where(_cases.c.case_id == case_id)
            .values(state="closed", audited_reasons=case["reasons"], **result)
        )
        detail = _jsonable(result) | {"reasons": case["reasons"]} | signed
        if case["state"] == "closed":
            detail["corrects"] = _jsonable(previous)
        _add_event(conn, case_id, at, actor, "closed", None, detail)
