"""What the unit confirms, the centre recovers: the simulated recovery ladder.

A notice a week after the closing, then payments in full, by instalments, by offset against
the pension still payable or by the bank returning what is left in a deceased person's
account; escalations after a missed deadline; write-offs proposed by one simulated user and
approved by another. The ladder's probabilities are estimates, documented on
:class:`RecoveryLadder`.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from sentinel.casestore import CaseStore, database_url
from sentinel.casestore.recovery import recovery_ledger, recovery_summary
from sentinel.config import load_config
from sentinel.contract import RECOVERIES
from sentinel.simulation.users import AUDITORS, WRITE_OFF_APPROVER, WRITE_OFF_PROPOSER


@dataclass(frozen=True)
class RecoveryLadder:
    """Probabilities and delays of the simulated recovery ladder (estimates, seeded).

    No published source gives the ladder's branch probabilities; they are chosen so that
    what the ladder recovers in the end, in yuan, lands between the two published recovery
    rates (docs/domain.md): the UK's pension mortality screening, 89% recovered in the largest
    scheme, and one Jiangxi city, 94.8% of 4.85M yuan. With these values the expected
    share is about 0.94 for living persons and 0.92 for deceased ones (heirs), the rest
    written off; ``tests/sentinel/test_simulation.py`` holds it in [0.89, 0.948] over
    thousands of accounts. The reference county's 369,200 yuan from 673 audits (about 549
    yuan an audit, found and not) is a yield per visit, not a rate: the simulation reports
    its own yuan recovered per visit beside it rather than fitting to it, since the sums
    overpaid are the demo world's.

    Every account gets a notice ``notice_after_days`` after the closing with a deadline
    ``deadline_days`` later (the ``[recovery]`` configuration's default). A deceased
    person's bank returns what is left in the account with ``bank_return`` (a share of the
    sum between ``bank_return_share`` bounds) before the heirs answer; the heirs pay in
    full, by instalments, or not at all (``deceased_full``, ``deceased_instalment``, the
    rest); a living person pays in full, has it offset against the pension still payable,
    pays by instalments, or not at all (``living_full``, ``living_offset``,
    ``living_instalment``, the rest). A missed deadline brings an administrative order
    ``escalate_after_days`` after it; it is paid in full with ``order_paid``; otherwise
    the court (the police for a living person with ``police_share``) recovers it with
    ``court_recovers`` after ``court_days``; what it cannot is written off after
    ``write_off_after_days``, approved ``approval_days`` later by a second user.
    """

    notice_after_days: int = 7
    deadline_days: int = 30
    bank_return: float = 0.5
    bank_return_share: tuple[float, float] = (0.5, 1.0)
    deceased_full: float = 0.45
    deceased_instalment: float = 0.15
    living_full: float = 0.40
    living_offset: float = 0.28
    living_instalment: float = 0.12
    instalments: tuple[int, int] = (2, 6)
    offsets: tuple[int, int] = (3, 12)
    escalate_after_days: int = 14
    order_paid: float = 0.5
    police_share: float = 0.3
    court_days: int = 120
    court_recovers: float = 0.4
    write_off_after_days: int = 180
    approval_days: int = 14


def recovery_steps(
    accounts: pl.DataFrame, *, seed: int, ladder: RecoveryLadder | None = None
) -> pl.DataFrame:
    """The simulated recovery of confirmed accounts, as rows of the ``recoveries``
    dataset, by date (every step the ladder will take, whenever it falls).

    ``accounts``: ``case_id, outcome, closed_on, overpaid_amount`` (outcome rows; those not
    confirmed or with nothing overpaid are skipped). Each account draws from its own
    generator (``seed`` and the case id), so adding an account changes no other's steps.
    Sums add up to the amount due exactly; record ids are ``SIM-<case>-<n>``.
    """
    ladder = ladder or RecoveryLadder()
    rows: list[dict[str, object]] = []
    confirmed = accounts.filter(
        pl.col("outcome").is_in(["confirmed_deceased", "confirmed_improper"])
        & (pl.col("overpaid_amount").fill_null(0.0) > 0)
    )
    for account in confirmed.sort("case_id").iter_rows(named=True):
        digest = hashlib.sha256(f"{seed}|{account['case_id']}".encode()).digest()
        rng = random.Random(int.from_bytes(digest[:8], "big"))
        rows.extend(_ladder_of(account, rng, ladder))
    columns = [c.name for c in RECOVERIES.columns]
    frame = pl.DataFrame(
        rows,
        schema={
            c.name: pl.Date if c.kind == "date" else pl.Float64 if c.kind == "amount" else pl.String
            for c in RECOVERIES.columns
        },
    )
    return frame.select(columns).sort("step_date", "case_id", "record_id")


class _Recovery:
    """One account's recovery as the ladder takes it: its steps so far and what is left."""

    def __init__(self, case_id: str, due: float) -> None:
        self.case_id = case_id
        self.left = due
        self.steps: list[dict[str, object]] = []

    def step(self, kind: str, on: date, **values: object) -> None:
        self.steps.append(
            {
                "record_id": f"SIM-{self.case_id}-{len(self.steps) + 1}",
                "case_id": self.case_id,
                "step": kind,
                "step_date": on,
                "operator": AUDITORS[len(self.steps) % len(AUDITORS)],
                **values,
            }
        )

    def pay(self, on: date, amount: float, method: str) -> None:
        amount = round(min(amount, self.left), 2)
        if amount >= 0.01:
            self.step("payment", on, amount=amount, method=method)
            self.left = round(self.left - amount, 2)

    def by_parts(self, first: date, parts: int, method: str) -> None:
        share = round(self.left / parts, 2)
        for k in range(parts):
            self.pay(first + timedelta(days=30 * k), share if k < parts - 1 else self.left, method)


def _ladder_of(
    account: dict[str, object], rng: random.Random, ladder: RecoveryLadder
) -> list[dict[str, object]]:
    """The steps of one confirmed account: the bank's return (deceased), the notice, and
    the escalations when the notice goes unanswered."""
    closed = account["closed_on"]
    assert isinstance(closed, date)
    due = round(float(account["overpaid_amount"]), 2)  # type: ignore[arg-type]
    deceased = account["outcome"] == "confirmed_deceased"
    recovery = _Recovery(str(account["case_id"]), due)
    if deceased and rng.random() < ladder.bank_return:
        low, high = ladder.bank_return_share
        recovery.pay(
            closed + timedelta(days=rng.randint(2, 6)), due * rng.uniform(low, high), "bank_return"
        )
    if recovery.left < 0.01:
        return recovery.steps
    notice = closed + timedelta(days=ladder.notice_after_days)
    deadline = notice + timedelta(days=ladder.deadline_days)
    recovery.step("notice", notice, deadline=deadline)
    if not _answered(recovery, notice, deceased, rng, ladder):
        _escalated(recovery, deadline, deceased, rng, ladder)
    return recovery.steps


def _answered(
    recovery: _Recovery, notice: date, deceased: bool, rng: random.Random, ladder: RecoveryLadder
) -> bool:
    """Whether the notice is answered: paid in full, offset against the pension (living
    persons) or by instalments."""
    answer = rng.random()
    reply = notice + timedelta(days=rng.randint(3, ladder.deadline_days))
    if deceased:
        full, parts = ladder.deceased_full, ladder.deceased_instalment
        offset = 0.0
    else:
        full, offset = ladder.living_full, ladder.living_offset
        parts = ladder.living_instalment
    if answer < full:
        recovery.pay(reply, recovery.left, "full")
        return True
    if answer < full + offset:
        recovery.by_parts(notice + timedelta(days=30), rng.randint(*ladder.offsets), "offset")
        return True
    if answer < full + offset + parts:
        recovery.by_parts(reply, rng.randint(*ladder.instalments), "instalment")
        return True
    return False


def _escalated(
    recovery: _Recovery, deadline: date, deceased: bool, rng: random.Random, ladder: RecoveryLadder
) -> None:
    """A missed deadline: an administrative order, then the court (or the police), and
    what they cannot recover written off by one user and approved by another."""
    order = deadline + timedelta(days=ladder.escalate_after_days)
    order_deadline = order + timedelta(days=ladder.deadline_days)
    recovery.step("escalation", order, method="administrative_order", deadline=order_deadline)
    if rng.random() < ladder.order_paid:
        recovery.pay(
            order + timedelta(days=rng.randint(5, ladder.deadline_days)), recovery.left, "full"
        )
        return
    channel = "police" if not deceased and rng.random() < ladder.police_share else "court"
    referred = order_deadline + timedelta(days=rng.randint(5, 20))
    recovery.step("escalation", referred, method=channel)
    if rng.random() < ladder.court_recovers:
        recovery.pay(referred + timedelta(days=ladder.court_days), recovery.left, "full")
        return
    proposed = referred + timedelta(days=ladder.write_off_after_days)
    reason = "无可执行财产" if not deceased else "继承人无遗产可供追回"
    recovery.step(
        "write_off",
        proposed,
        amount=recovery.left,
        reason=reason,
        approved_by=WRITE_OFF_APPROVER,
        approved_on=proposed + timedelta(days=ladder.approval_days),
    )
    recovery.steps[-1]["operator"] = WRITE_OFF_PROPOSER


def recovery_year(
    out: Path, as_of: date, *, by: str = "typology", store_url: str | None = None
) -> pl.DataFrame:
    """The simulated year's recovery ledger summed per ``by`` and ``all`` on ``as_of``
    (:func:`sentinel.casestore.recovery.recovery_summary` of the case store under
    ``out``): yuan due, recovered and outstanding, the rate, ageing and the ladder."""
    url = store_url or database_url(Path(out) / load_config().cases.database_file)
    with CaseStore(url) as store:
        return recovery_summary(recovery_ledger(store, as_of), by)  # type: ignore[arg-type]
