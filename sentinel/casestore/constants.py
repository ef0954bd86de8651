"""The case store's vocabularies: case states, listing statuses, events, outcomes (:mod:`sentinel.casestore`)."""

from __future__ import annotations

from features.visits import WITHIN_CAPACITY

#: Environment variable holding the store's SQLAlchemy URL (may carry a password).
DATABASE_URL_ENV = "SENTINEL_DATABASE_URL"

#: ``pending``: a field audit's result is recorded but waits for a second user's sign-off
#: (:meth:`sentinel.casestore.CaseStore.approve`); the case stays open until then.
CASE_STATES: tuple[str, ...] = ("new", "assigned", "pending", "closed")
#: States of a case not yet closed: carried on the list until an audit closes it.
OPEN_STATES: tuple[str, ...] = ("new", "assigned", "pending")

#: A listed case's status this month: first listed, still open from an earlier month,
#: open while its payments have stopped (the sum overpaid is still to recover), or confirmed
#: improper by an audit and paid again after it.
LISTING_STATUSES: tuple[str, ...] = ("new", "carried", "payments_stopped", "reopened")

#: How a case was chosen for this month's field visits (:mod:`sentinel.selection`): the
#: selections the visit plans are made for.
SELECTIONS: tuple[str, ...] = WITHIN_CAPACITY

EVENT_KINDS: tuple[str, ...] = (
    "listed",
    "assigned",
    "closed",
    "reopened",
    "suppressed",
    "rederived",
    "proposed",
    "approved",
    "rejected",
)

#: Events written by :meth:`CaseStore.record_month` for one month's listing.
_MONTH_EVENT_KINDS: tuple[str, ...] = ("listed", "reopened", "suppressed")

CONFIRMED: tuple[str, ...] = ("confirmed_deceased", "confirmed_improper")

#: Reason codes that speak for the person (an in-person certification passed): they are
#: never new evidence against a person an audit cleared (sentinel/evidence.py TEMPLATES).
EXCULPATORY_REASONS: frozenset[str] = frozenset({"SA_PROOF_OF_LIFE", "DP_ALIVE_AFTER_DEATH"})


class CaseValidationError(ValueError):
    """A change to a case that cannot be right; names the case, the field and the problem."""

    def __init__(self, case_id: str, field: str, problem: str) -> None:
        self.case_id = case_id
        self.field = field
        self.problem = problem
        super().__init__(f"case {case_id}: {field}: {problem}")
