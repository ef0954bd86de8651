"""The recovery ledger in the case store: recovery steps as events, read back as accounts.

A confirmed case with a sum overpaid opens a recovery account (:mod:`features.recovery`).
Each step of recovering it — a notice with a deadline, a payment, an escalation, a
write-off — is a row of the case store's ``events`` table (``kind = "recovery"``, no
month), so it takes its place in the events' hash chain like every other case event: a
step changed, removed or slipped in by hand is found by ``sentinel audit verify``.
Nothing is ever updated in place: a write-off is stored as *proposed* and counts only once
a different user approves it, which is a second event naming the first.

The event's ``detail`` holds ``step``, ``on`` (ISO date), ``amount``, ``method``,
``deadline``, ``reason``, ``record_id`` (the receipt or document number: the same record of
the same case is recorded once, however often it is imported), ``source`` (:data:`SOURCES`)
and, for write-offs, ``status`` (``proposed`` / ``approved``) and ``proposer``.

Public face: :func:`record_recovery` (of a :class:`RecoveryEntry`), :func:`approve_write_off`,
:func:`import_recoveries` (rows of the ``recoveries`` dataset), :func:`recovery_events`,
:func:`recovery_ledger` and :func:`recovery_summary`. Errors name the case masked
(:mod:`sentinel.masking`), the field and the problem. Who may approve (a role) is the web
app's business, not this module's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import polars as pl
from sqlalchemy import select
from sqlalchemy.engine import Connection

from features.recovery import recovery_accounts, summarise_recoveries
from sentinel.casestore.constants import CaseValidationError
from sentinel.casestore.queries import CaseQueries
from sentinel.casestore.recovery_rules import (
    _TOLERANCE,
    RecoveryEntry,
    _canonical_method,
    _canonical_step,
    _check_step,
    _day,
    _event_frame,
    _outstanding,
    _recoverable_case,
)
from sentinel.casestore.rejected_rows import ImportRowError, ImportTally
from sentinel.casestore.schema import _cases, _events
from sentinel.casestore.sql import _add_event
from sentinel.masking import mask_id

__all__ = [
    "RECOVERY_KIND",
    "SOURCES",
    "RecoveryEntry",
    "RecoveryError",
    "RecoveryImportReport",
    "approve_write_off",
    "import_recoveries",
    "recovery_events",
    "recovery_ledger",
    "recovery_summary",
    "record_recovery",
]

#: The ``kind`` of a recovery event in the ``events`` table.
RECOVERY_KIND = "recovery"
#: Where a recovery step was entered: the review app, a drop's ``recoveries.*`` file, the
#: filled-in recovery sheet of a workbook, or the simulated audit year.
SOURCES: tuple[str, ...] = ("app", "drop", "workbook", "simulation")


def record_recovery(
    store: CaseQueries,
    case_id: str,
    entry: RecoveryEntry,
    *,
    actor: str,
    source: str = "app",
    now: datetime | None = None,
) -> bool:
    """Record one step of recovering a confirmed case's overpayment (``entry``); False when
    the same ``record_id`` of the case is already recorded with the same content (a
    re-import).

    ``step``: ``notice`` (``deadline`` optional, not before ``on``), ``payment`` (``amount``
    yuan > 0, at most what is still outstanding, and ``method`` full / instalment / offset /
    bank_return), ``escalation`` (``method`` administrative_order / court / police,
    ``deadline`` optional) or ``write_off`` (``amount`` > 0 up to the outstanding sum and a
    ``reason``; stored as proposed by ``actor``, counted once another user approves it with
    :func:`approve_write_off`). Chinese spellings of steps and methods are accepted
    (:data:`sentinel.contract.RECOVERY_STEPS`). ``on`` is the day the step happened: not
    after today (``now``) and not before the case was closed. A ``record_id`` is made up
    when none is given (an entry in the app without a receipt).

    Raises :class:`CaseValidationError` naming the case (masked), the field and the
    problem: an unknown case, one not closed as confirmed, one with nothing overpaid, a
    value outside the contract, a missing or superfluous amount or method, a date in the
    future, a payment above the outstanding sum, a step on a settled account, or a
    ``record_id`` already recorded for the case with other content.
    """
    at = now or datetime.now(UTC)
    shown = mask_id(case_id) or ""
    canonical = _canonical_step(shown, entry.step)
    # A timestamp (an Excel date cell read as a datetime) is its day.
    on = entry.on.date() if isinstance(entry.on, datetime) else entry.on
    deadline = entry.deadline.date() if isinstance(entry.deadline, datetime) else entry.deadline
    if not actor or not actor.strip():
        raise CaseValidationError(shown, "actor", "is empty")
    if source not in SOURCES:
        raise CaseValidationError(shown, "source", f"{source!r} is not one of {list(SOURCES)}")
    detail = {
        "step": canonical,
        "on": on.isoformat() if isinstance(on, date) else on,
        "amount": None if entry.amount is None else round(float(entry.amount), 2),
        "method": _canonical_method(shown, canonical, entry.method),
        "deadline": deadline.isoformat() if isinstance(deadline, date) else deadline,
        "reason": (entry.reason or "").strip() or None,
        "record_id": (entry.record_id or "").strip() or f"{canonical}-{uuid.uuid4().hex[:12]}",
        "source": source,
    }
    if canonical == "write_off":
        detail |= {"status": "proposed", "proposer": actor}
    with store.engine.begin() as conn:
        case = _recoverable_case(conn, case_id, shown)
        events = _case_events(conn, case_id)
        earlier = _same_record(events, detail["record_id"])
        if earlier is not None:
            if _content(earlier) == _content(detail):
                return False
            raise CaseValidationError(
                shown,
                "record_id",
                f"{detail['record_id']!r} is already recorded for this case with another "
                "step, date, amount or method",
            )
        _check_step(shown, case, events, detail, on, deadline, entry.amount, at.date())
        _add_event(conn, case_id, at, actor, RECOVERY_KIND, None, detail)
    return True


def approve_write_off(
    store: CaseQueries,
    case_id: str,
    record_id: str,
    *,
    actor: str,
    on: date | None = None,
    now: datetime | None = None,
) -> bool:
    """Approve a proposed write-off (``record_id`` of the case): from its approval day
    ``on`` (default: today) it counts in the ledger. False when it is approved already.

    Refused (:class:`CaseValidationError`) when no such proposal exists, when ``actor`` is
    the user who proposed it (the person who proposes a write-off does not sign it off:
    经办 / 审核, docs/domain.md), or when its amount is now more than what is still outstanding
    (payments arrived since it was proposed). The approval is a new event; the proposal is
    never changed.
    """
    at = now or datetime.now(UTC)
    shown = mask_id(case_id) or ""
    if not actor or not actor.strip():
        raise CaseValidationError(shown, "actor", "is empty")
    with store.engine.begin() as conn:
        case = _recoverable_case(conn, case_id, shown)
        events = _case_events(conn, case_id)
        proposal = _same_record(events, record_id)
        if proposal is None or proposal.get("step") != "write_off":
            raise CaseValidationError(shown, "record_id", f"no write-off {record_id!r} proposed")
        if any(e.get("status") == "approved" and e.get("record_id") == record_id for e in events):
            return False
        if actor == proposal.get("proposer"):
            raise CaseValidationError(
                shown, "actor", "the user who proposed a write-off cannot approve it"
            )
        day = on or at.date()
        if day > at.date():
            raise CaseValidationError(shown, "approved_on", f"{day.isoformat()} is in the future")
        if day < _day(proposal.get("on")):  # type: ignore[operator]
            raise CaseValidationError(
                shown, "approved_on", f"{day.isoformat()} is before the write-off was proposed"
            )
        outstanding = _outstanding(case, events)
        if float(proposal.get("amount") or 0.0) > outstanding + _TOLERANCE:
            raise CaseValidationError(
                shown,
                "amount",
                f"write-off of {proposal['amount']:.2f} is more than the "
                f"{outstanding:.2f} still outstanding",
            )
        detail = {
            "step": "write_off",
            "status": "approved",
            "record_id": record_id,
            "on": day.isoformat(),
            "proposer": proposal.get("proposer"),
            "source": "app",
        }
        _add_event(conn, case_id, at, actor, RECOVERY_KIND, None, detail)
    return True


def recovery_events(store: CaseQueries, case_id: str | None = None) -> pl.DataFrame:
    """Every recovery step recorded (:data:`features.recovery.RECOVERY_EVENT_SCHEMA`),
    oldest first; only ``case_id``'s when given. A write-off's ``approved_on`` and
    ``approved_by`` are null while it is only proposed."""
    query = select(_events.c.case_id, _events.c.actor, _events.c.detail).where(
        _events.c.kind == RECOVERY_KIND
    )
    if case_id is not None:
        query = query.where(_events.c.case_id == case_id)
    with store.engine.connect() as conn:
        rows = [
            {"case_id": r.case_id, "actor": r.actor, **(r.detail or {})}
            for r in conn.execute(query.order_by(_events.c.id))
        ]
    return _event_frame(rows)


def recovery_ledger(store: CaseQueries, as_of: date) -> pl.DataFrame:
    """The recovery accounts on ``as_of``, one row per confirmed case with a sum overpaid
    (:func:`features.recovery.recovery_accounts`: due, recovered, written off,
    outstanding, the ladder's step, the next deadline, ageing from the closing day and the
    status)."""
    cases = store.cases().lazy()
    return recovery_accounts(cases, recovery_events(store).lazy(), as_of).collect()


def recovery_summary(
    ledger: pl.DataFrame, by: Literal["township", "typology"] = "township"
) -> pl.DataFrame:
    """:func:`features.recovery.summarise_recoveries` of a ledger: per township or typology
    and ``all``, the yuan due, recovered and outstanding, the recovery rate and the counts
    per ageing bucket, ladder step and status."""
    return summarise_recoveries(ledger.lazy(), by).collect()


class RecoveryError(ImportRowError):
    """One recovery row that was not recorded: where it is (``place``: the file) and what
    is wrong."""


@dataclass
class RecoveryImportReport(ImportTally[RecoveryError]):
    """What an import of recovery rows did."""

    place_column = "file"


#: The dataset's column names that are not the event detail's.
_COLUMN_OF_FIELD = {"on": "step_date"}


def import_recoveries(
    store: CaseQueries,
    rows: pl.DataFrame,
    *,
    actor: str,
    source: str,
    notice_deadline_days: int,
    file: str | None = None,
    now: datetime | None = None,
) -> RecoveryImportReport:
    """Record the rows of a ``recoveries`` dataset (typed by ingest), reporting every row
    that cannot be recorded by file, row (``_row``), case and column.

    Each row is :func:`record_recovery` with its ``operator`` as the actor (``actor`` when
    empty); a notice without a deadline gets ``on`` + ``notice_deadline_days``. A
    write-off row with ``approved_by`` is proposed and then approved by that user on
    ``approved_on`` (default: the row's date; the same user as the operator is refused). A row whose ``person_id`` is not the case's
    person is refused. Importing the same file again records nothing new.
    """
    now = now or datetime.now(UTC)
    report = RecoveryImportReport(rows=rows.height)
    for index, row in enumerate(rows.iter_rows(named=True)):
        number = row.get("_row") if row.get("_row") is not None else index + 1
        case_id = (row.get("case_id") or "").strip()
        shown = mask_id(case_id) if case_id else None

        def reject(column: str, problem: str, number: int = number, shown: Any = shown) -> None:
            report.rejected += 1
            report.errors.append(RecoveryError(file, number, column, problem, shown))

        if not case_id:
            reject("case_id", "is empty")
            continue
        person = (row.get("person_id") or "").strip().upper()
        known = _person_of(store, case_id)
        if person and known is not None and person != known.strip().upper():
            reject("person_id", f"{mask_id(person)} is not the case's person ({mask_id(known)})")
            continue
        on = row.get("step_date")
        deadline = row.get("deadline")
        if row.get("step") == "notice" and deadline is None and isinstance(on, date):
            deadline = on + timedelta(days=notice_deadline_days)
        operator = (row.get("operator") or "").strip() or actor
        try:
            entry = RecoveryEntry(
                step=row.get("step") or "",
                on=on,
                amount=row.get("amount"),
                method=row.get("method"),
                deadline=deadline,
                reason=row.get("reason"),
                record_id=row.get("record_id"),
            )
            changed = record_recovery(store, case_id, entry, actor=operator, source=source, now=now)
            approver = (row.get("approved_by") or "").strip()
            if row.get("step") == "write_off" and approver:
                changed = (
                    approve_write_off(store, case_id, row["record_id"], actor=approver, now=now)
                    or changed
                )
        except CaseValidationError as exc:
            reject(_COLUMN_OF_FIELD.get(exc.field, exc.field), exc.problem)
            continue
        if changed:
            report.applied += 1
        else:
            report.unchanged += 1
    return report


# ----------------------------------------------------------------------------- internals


def _person_of(store: CaseQueries, case_id: str) -> str | None:
    with store.engine.connect() as conn:
        return conn.execute(
            select(_cases.c.person_id).where(_cases.c.case_id == case_id)
        ).scalar_one_or_none()


def _case_events(conn: Connection, case_id: str) -> list[dict[str, Any]]:
    query = (
        select(_events.c.actor, _events.c.detail)
        .where(_events.c.case_id == case_id)
        .where(_events.c.kind == RECOVERY_KIND)
        .order_by(_events.c.id)
    )
    return [{"actor": r.actor, **(r.detail or {})} for r in conn.execute(query)]


def _same_record(events: list[dict[str, Any]], record_id: str) -> dict[str, Any] | None:
    for event in events:
        if event.get("record_id") == record_id and event.get("status") != "approved":
            return event
    return None


def _content(detail: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(detail.get(k) for k in ("step", "on", "amount", "method", "deadline", "reason"))
