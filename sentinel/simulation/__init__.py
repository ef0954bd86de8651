"""The audit unit played month by month on a demo world, to measure the learning loop.

Each month the monthly job runs on the world's drop; the simulated unit then visits the
cases the list chose for the month (``audit_selection``: the top of the list and the
exploration draws), skipping persons it visited before, and fills any remaining capacity
from the top of the list; the ground truth says what each visit finds, and those outcomes go
into the next month's drop as ``outcomes.csv``, the path a real unit's outcomes take. The
unit learns nothing the product does not: it only follows the list.

Against it stands an auditor who knows the truth and has the same capacity: each month
they visit the improper persons they have not visited yet, up to the capacity. Over the
year they find every improper person the capacity allows; the ratio of what the list's
visits find to that, month by month and over the year, is what the list is worth
(:mod:`sentinel.simulation.audits`).

Upstream suspects are a duty of their own: each month the unit also checks every suspect on
the list whose batch is due before the next month's run could carry its answer, whether or
not the list put it within the visits (``suspect_checks``; their outcomes go back like the
visits'). :func:`suspect_ranking` then reads every month's reply file: was each suspect
answered by its due date, and how well did the list rank the batch's true suspects?
(:mod:`sentinel.simulation.suspects`)

What the unit confirms, the centre then recovers (:func:`recovery_steps`): a notice a week
after the closing, then payments in full, by instalments, by offset against the pension
still payable or by the bank returning what is left in a deceased person's account;
escalations after a missed deadline; write-offs proposed by one simulated user and approved
by another (:mod:`sentinel.simulation.users`). The steps go into the drops as
``recoveries.csv`` (each in the drop of the month it happens), the path a real centre's
recovery records take, so the year's ledger is the case store's and ``sentinel report
recovery --out WORK/out`` shows it (:func:`recovery_year`). The ladder's probabilities are
estimates, documented on :class:`RecoveryLadder` (:mod:`sentinel.simulation.recovery`).
"""

from __future__ import annotations

from sentinel.simulation.audits import (
    AUDIT_COLUMNS,
    plot_audit_curve,
    simulate_audits,
    visit_outcomes,
)
from sentinel.simulation.recovery import RecoveryLadder, recovery_steps, recovery_year
from sentinel.simulation.suspects import SUSPECT_COLUMNS, suspect_ranking
from sentinel.simulation.year import YEAR_COLUMNS, year_summary

__all__ = [
    "AUDIT_COLUMNS",
    "SUSPECT_COLUMNS",
    "YEAR_COLUMNS",
    "RecoveryLadder",
    "plot_audit_curve",
    "recovery_steps",
    "recovery_year",
    "simulate_audits",
    "suspect_ranking",
    "visit_outcomes",
    "year_summary",
]
