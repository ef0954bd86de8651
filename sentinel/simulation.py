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
visits find to that, month by month and over the year, is what the list is worth.

Upstream suspects are a duty of their own: each month the unit also checks every suspect on
the list whose batch is due before the next month's run could carry its answer, whether or
not the list put it within the visits (``suspect_checks``; their outcomes go back like the
visits'). :func:`suspect_ranking` then reads every month's reply file: was each suspect
answered by its due date, and how well did the list rank the batch's true suspects?

What the unit confirms, the centre then recovers (:func:`recovery_steps`): a notice a week
after the closing, then payments in full, by instalments, by offset against the pension
still payable or by the bank returning what is left in a deceased person's account;
escalations after a missed deadline; write-offs proposed by one simulated user and approved
by another. The steps go into the drops as ``recoveries.csv`` (each in the drop of the
month it happens), the path a real centre's recovery records take, so the year's ledger is
the case store's and ``sentinel report recovery --out WORK/out`` shows it
(:func:`recovery_year`). The ladder's probabilities are estimates, documented on
:class:`RecoveryLadder`.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from sentinel.casestore import CaseStore, database_url
from sentinel.casestore.recovery import recovery_ledger, recovery_summary
from sentinel.config import load_config, month_end
from sentinel.contract import OUTCOMES_DATASET, RECOVERIES
from sentinel.evaluation import improper_as_of

__all__ = [
    "AUDIT_COLUMNS",
    "SUSPECT_COLUMNS",
    "RecoveryLadder",
    "plot_audit_curve",
    "recovery_steps",
    "recovery_year",
    "simulate_audits",
    "suspect_ranking",
    "visit_outcomes",
]

#: Columns of :func:`simulate_audits`'s table, one row per month.
AUDIT_COLUMNS: tuple[str, ...] = (
    "month",
    "visits",
    "found",
    "oracle",
    "found_share",
    "yuan_found",
    "yuan_per_visit",
    "exploration_visits",
    "suspect_checks",
    "model_version",
    # The recovery ledger at the month's end (the case store's): yuan recovered of all
    # confirmed so far, and its share.
    "recovered_to_date",
    "recovery_rate_to_date",
)
#: Simulated users of the audit unit: who audits a case and who reviews the closure are
#: never the same person (经办 / 复核); who proposes a write-off and who approves it neither.
AUDITORS: tuple[str, ...] = ("sim-auditor-wang", "sim-auditor-li", "sim-auditor-zhao")
REVIEWERS: tuple[str, ...] = ("sim-reviewer-chen", "sim-reviewer-sun")
WRITE_OFF_PROPOSER = "sim-finance-zhang"
WRITE_OFF_APPROVER = "sim-director-liu"
#: Columns of :func:`suspect_ranking`, one row per batch and one for all batches.
SUSPECT_COLUMNS: tuple[str, ...] = (
    "batch_id",
    "suspects",
    "true_suspects",
    "answered",
    "answered_by_due_date",
    "top_half_precision",
    "base_rate",
    "auc",
)


def visit_outcomes(
    visits: pl.DataFrame, truth_dir: Path, month: str, closed_on: date
) -> pl.DataFrame:
    """What the visits of ``month`` find, as rows of the ``outcomes`` dataset.

    ``visits``: ``case_id, person_id``. A person with an improper payment made up to
    ``month`` is ``confirmed_deceased`` (when the truth holds a death before
    ``closed_on``) or ``confirmed_improper``, with the overpaid yuan to date; anyone else
    is ``cleared``. ``audited_by`` and ``reviewed_by`` name two different simulated users
    (:data:`AUDITORS`, :data:`REVIEWERS`, chosen by the case id).
    """
    truth_dir = Path(truth_dir)
    improper = improper_as_of(truth_dir, month).select("person_id", "overpaid")
    deaths = (
        pl.read_parquet(truth_dir / "people.parquet")
        .filter(pl.col("true_death_date").is_not_null())
        .group_by("person_id")
        .agg(pl.col("true_death_date").min())
    )
    found = visits.join(improper, on="person_id", how="left").join(
        deaths, on="person_id", how="left"
    )
    died = pl.col("true_death_date").is_not_null() & (pl.col("true_death_date") <= closed_on)
    is_improper = pl.col("overpaid").is_not_null()
    return found.select(
        "case_id",
        "person_id",
        pl.lit(closed_on).alias("closed_on"),
        pl.when(is_improper & died)
        .then(pl.lit("confirmed_deceased"))
        .when(is_improper)
        .then(pl.lit("confirmed_improper"))
        .otherwise(pl.lit("cleared"))
        .alias("outcome"),
        pl.when(is_improper & died).then(pl.col("true_death_date")).alias("death_date"),
        pl.when(is_improper).then(pl.col("overpaid").round(2)).alias("overpaid_amount"),
        pl.when(is_improper).then(pl.lit(0.0)).alias("recovered_amount"),
        _pick(AUDITORS).alias("audited_by"),
        _pick(REVIEWERS).alias("reviewed_by"),
    ).select(OUTCOMES_DATASET.column_names)


def _pick(users: tuple[str, ...]) -> pl.Expr:
    """One of ``users`` by the case id (stable across runs)."""
    index = pl.col("case_id").str.slice(-2).str.to_integer(base=16, strict=False).fill_null(0)
    index = index % len(users)
    return index.replace_strict(dict(enumerate(users)), return_dtype=pl.String)


@dataclass(frozen=True)
class RecoveryLadder:
    """Probabilities and delays of the simulated recovery ladder (estimates, seeded).

    No published source gives the ladder's branch probabilities; they are chosen so that
    what the ladder recovers in the end, in yuan, lands between the two published recovery
    rates (DOMAIN.md): the UK's pension mortality screening, 89% recovered in the largest
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


def _ladder_of(
    account: dict[str, object], rng: random.Random, ladder: RecoveryLadder
) -> list[dict[str, object]]:
    case_id = str(account["case_id"])
    closed = account["closed_on"]
    assert isinstance(closed, date)
    due = round(float(account["overpaid_amount"]), 2)  # type: ignore[arg-type]
    deceased = account["outcome"] == "confirmed_deceased"
    steps: list[dict[str, object]] = []
    left = due

    def step(kind: str, on: date, **values: object) -> None:
        steps.append(
            {
                "record_id": f"SIM-{case_id}-{len(steps) + 1}",
                "case_id": case_id,
                "step": kind,
                "step_date": on,
                "operator": AUDITORS[len(steps) % len(AUDITORS)],
                **values,
            }
        )

    def pay(on: date, amount: float, method: str) -> None:
        nonlocal left
        amount = round(min(amount, left), 2)
        if amount >= 0.01:
            step("payment", on, amount=amount, method=method)
            left = round(left - amount, 2)

    def by_parts(first: date, parts: int, method: str) -> None:
        share = round(left / parts, 2)
        for k in range(parts):
            pay(first + timedelta(days=30 * k), share if k < parts - 1 else left, method)

    if deceased and rng.random() < ladder.bank_return:
        low, high = ladder.bank_return_share
        pay(closed + timedelta(days=rng.randint(2, 6)), due * rng.uniform(low, high), "bank_return")
    if left < 0.01:
        return steps
    notice = closed + timedelta(days=ladder.notice_after_days)
    deadline = notice + timedelta(days=ladder.deadline_days)
    step("notice", notice, deadline=deadline)
    answer = rng.random()
    reply = notice + timedelta(days=rng.randint(3, ladder.deadline_days))
    if deceased:
        full, parts = ladder.deceased_full, ladder.deceased_instalment
        offset = 0.0
    else:
        full, offset = ladder.living_full, ladder.living_offset
        parts = ladder.living_instalment
    if answer < full:
        pay(reply, left, "full")
        return steps
    if answer < full + offset:
        by_parts(notice + timedelta(days=30), rng.randint(*ladder.offsets), "offset")
        return steps
    if answer < full + offset + parts:
        by_parts(reply, rng.randint(*ladder.instalments), "instalment")
        return steps
    order = deadline + timedelta(days=ladder.escalate_after_days)
    order_deadline = order + timedelta(days=ladder.deadline_days)
    step("escalation", order, method="administrative_order", deadline=order_deadline)
    if rng.random() < ladder.order_paid:
        pay(order + timedelta(days=rng.randint(5, ladder.deadline_days)), left, "full")
        return steps
    channel = "police" if not deceased and rng.random() < ladder.police_share else "court"
    referred = order_deadline + timedelta(days=rng.randint(5, 20))
    step("escalation", referred, method=channel)
    if rng.random() < ladder.court_recovers:
        pay(referred + timedelta(days=ladder.court_days), left, "full")
        return steps
    proposed = referred + timedelta(days=ladder.write_off_after_days)
    reason = "无可执行财产" if not deceased else "继承人无遗产可供追回"
    step(
        "write_off",
        proposed,
        amount=left,
        reason=reason,
        approved_by=WRITE_OFF_APPROVER,
        approved_on=proposed + timedelta(days=ladder.approval_days),
    )
    steps[-1]["operator"] = WRITE_OFF_PROPOSER
    return steps


def recovery_year(
    out: Path, as_of: date, *, by: str = "typology", store_url: str | None = None
) -> pl.DataFrame:
    """The simulated year's recovery ledger summed per ``by`` and ``all`` on ``as_of``
    (:func:`sentinel.casestore.recovery.recovery_summary` of the case store under
    ``out``): yuan due, recovered and outstanding, the rate, ageing and the ladder."""
    url = store_url or database_url(Path(out) / load_config().cases.database_file)
    with CaseStore(url) as store:
        return recovery_summary(recovery_ledger(store, as_of), by)  # type: ignore[arg-type]


def _visits(cases: pl.DataFrame, visited: set[str], capacity: int) -> pl.DataFrame:
    """The month's visits: the list's chosen cases not visited before, then the top of
    the list (reopened cases and visited persons skipped) up to the capacity."""
    ranked = cases.sort("priority_rank").filter(
        ~pl.col("person_id").is_in(list(visited)) & (pl.col("status") != "reopened")
    )
    chosen = ranked.filter(pl.col("audit_selection").is_not_null())
    rest = ranked.filter(pl.col("audit_selection").is_null())
    picked = pl.concat([chosen, rest]).unique("person_id", keep="first", maintain_order=True)
    return picked.head(capacity).select("case_id", "person_id", "audit_selection")


def _suspect_checks(
    cases: pl.DataFrame, visits: pl.DataFrame, visited: set[str], answer_by: date
) -> pl.DataFrame:
    """Listed persons with an open upstream suspect due by ``answer_by`` that the visits do
    not already cover (the unit must answer them in time, visits or not)."""
    if "suspect_due" not in cases.columns:
        return visits.clear()
    due = cases.filter(
        pl.col("suspect_due").is_not_null()
        & (pl.col("suspect_due") <= answer_by)
        & ~pl.col("person_id").is_in(list(visited | set(visits["person_id"].to_list())))
    )
    return (
        due.sort("priority_rank")
        .unique("person_id", keep="first", maintain_order=True)
        .select("case_id", "person_id", pl.lit(None, dtype=pl.String).alias("audit_selection"))
    )


def suspect_ranking(out: Path, truth_dir: Path) -> pl.DataFrame:
    """How the upstream suspects of a simulated year were answered and ranked
    (:data:`SUSPECT_COLUMNS`; the last row, ``all``, pools the batches).

    ``answered``: suspects whose reply, in some month's ``suspect_replies.csv``, is no longer
    ``verifying``; ``answered_by_due_date``: those whose first such reply was checked on or
    before the batch's due date. Ranking: the suspects on the register, ordered by their
    priority on the list of the month their batch arrived; ``top_half_precision`` is the
    share of true suspects in the better half, against ``base_rate``, the share of true
    suspects among them all; ``auc`` the probability that a true suspect is ranked above a
    false one.
    """
    truth = pl.read_parquet(Path(truth_dir) / "suspects.parquet")
    months = sorted(p.parent.name for p in Path(out).glob("*/suspect_replies.csv"))
    replies = pl.concat(
        [
            pl.read_csv(Path(out) / m / "suspect_replies.csv", infer_schema_length=0).with_columns(
                pl.lit(m).alias("reply_month")
            )
            for m in months
        ]
    ) if months else pl.DataFrame(schema={"batch_id": pl.String, "person_id": pl.String, "result": pl.String, "checked_on": pl.String, "reply_month": pl.String})
    first_answer = (
        replies.filter(pl.col("result") != "verifying")
        .sort("reply_month")
        .unique(["batch_id", "person_id"], keep="first")
        .select("batch_id", "person_id", pl.col("checked_on").str.to_date().alias("checked_on"))
    )
    ranks = []
    for m in months:
        cases = pl.read_parquet(Path(out) / m / "cases.parquet")
        if "suspect_batch" in cases.columns:
            ranks.append(cases.select("person_id", "priority_rank", pl.lit(m).alias("listed_in")))
    listed = pl.concat(ranks) if ranks else pl.DataFrame(schema={"person_id": pl.String, "priority_rank": pl.Int64, "listed_in": pl.String})
    pushed = replies.group_by("batch_id").agg(pl.col("reply_month").min().alias("listed_in"))
    rows = (
        truth.join(first_answer, on=["batch_id", "person_id"], how="left")
        .join(pushed, on="batch_id", how="left")
        .join(listed, on=["person_id", "listed_in"], how="left")
    )
    counts = {str(b): _suspect_counts(rows.filter(pl.col("batch_id") == b)) for b in rows["batch_id"].unique().sort()}
    counts["all"] = {k: sum(c[k] for c in counts.values()) for k in _COUNT_KEYS}
    table = [
        {
            "batch_id": batch,
            "suspects": c["suspects"],
            "true_suspects": c["true_suspects"],
            "answered": c["answered"],
            "answered_by_due_date": c["on_time"],
            "top_half_precision": round(c["half_true"] / c["half"], 3) if c["half"] else None,
            "base_rate": round(c["ranked_true"] / c["ranked"], 3) if c["ranked"] else None,
            "auc": round(c["above"] / c["pairs"], 3) if c["pairs"] else None,
        }
        for batch, c in counts.items()
    ]
    return pl.DataFrame(
        table,
        schema={
            c: pl.String if c == "batch_id" else pl.Float64 if c in ("top_half_precision", "base_rate", "auc") else pl.Int64
            for c in SUSPECT_COLUMNS
        },
    )


_COUNT_KEYS = ("suspects", "true_suspects", "answered", "on_time", "half", "half_true", "ranked", "ranked_true", "above", "pairs")


def _suspect_counts(rows: pl.DataFrame) -> dict[str, int]:
    """One batch's counts for :func:`suspect_ranking` (pooled over batches by summing)."""
    answered = rows.filter(pl.col("checked_on").is_not_null())
    ranked = rows.filter(pl.col("on_register") & pl.col("priority_rank").is_not_null()).sort("priority_rank")
    truth = ranked["is_improper"].to_list()
    half = truth[: len(truth) // 2]
    positives = sum(truth)
    # AUC from ranks: each (true, false) pair with the true suspect above counts 1 (a
    # month's list has no ties).
    above = false_seen = 0
    for is_true in reversed(truth):
        if is_true:
            above += false_seen
        else:
            false_seen += 1
    return {
        "suspects": rows.height,
        "true_suspects": int(rows["is_improper"].sum()),
        "answered": answered.height,
        "on_time": answered.filter(pl.col("checked_on") <= pl.col("due_on")).height,
        "half": len(half),
        "half_true": sum(half),
        "ranked": len(truth),
        "ranked_true": positives,
        "above": above,
        "pairs": positives * (len(truth) - positives),
    }


def simulate_audits(
    world: Path,
    work: Path,
    capacity: int,
    run_month: Callable[[Path, Path, str], object],
    progress: Callable[[str], None] | None = None,
) -> pl.DataFrame:
    """Play the audit unit over every month of the demo world in ``world``
    (``world/inbox``, ``world/truth``); returns one row per month (:data:`AUDIT_COLUMNS`).

    The world's inbox is copied to ``work/inbox`` (outcomes are added there, the world
    stays as generated) and the monthly job writes to ``work/out``. ``run_month(inbox, out,
    month)`` runs the monthly job (the Prefect flow in the CLI).
    """
    say = progress or (lambda _msg: None)
    inbox, out = Path(work) / "inbox", Path(work) / "out"
    if Path(work).exists():
        shutil.rmtree(work)
    shutil.copytree(Path(world) / "inbox", inbox)
    months = sorted(p.name for p in inbox.iterdir() if p.is_dir())
    truth = Path(world) / "truth"
    visited: set[str] = set()
    oracle_visited: set[str] = set()
    rows: list[dict[str, object]] = []
    ladder = recovery_steps(pl.DataFrame(schema=_ACCOUNTS), seed=0)
    store_url = database_url(out / load_config().cases.database_file)
    for i, month in enumerate(months):
        say(f"{month}: monthly job")
        run_month(inbox, out, month)
        with CaseStore(store_url) as store:
            money = recovery_ledger(store, month_end(month)).select("due", "recovered").sum()
        cases = pl.read_parquet(out / month / "cases.parquet")
        visits = _visits(cases, visited, capacity)
        improper = improper_as_of(truth, month).select("person_id", "overpaid")
        oracle = (
            improper.filter(~pl.col("person_id").is_in(list(oracle_visited)))
            .sort("overpaid", "person_id", descending=[True, False])
            .head(capacity)
        )
        oracle_visited |= set(oracle["person_id"].to_list())
        closed_on = date.fromisoformat(f"{months[i + 1]}-15") if i + 1 < len(months) else None
        checks = (
            _suspect_checks(cases, visits, visited, month_end(months[i + 1]))
            if closed_on is not None
            else visits.clear()
        )
        found = visits.join(improper, on="person_id", how="inner")
        manifest = json.loads((out / month / "manifest.json").read_text(encoding="utf-8"))
        rows.append(
            {
                "month": month,
                "visits": visits.height,
                "found": found.height,
                "oracle": oracle.height,
                "yuan_found": round(float(found["overpaid"].sum() or 0.0), 2),
                "exploration_visits": visits.filter(
                    pl.col("audit_selection") == "exploration"
                ).height,
                "suspect_checks": checks.height,
                "model_version": str(manifest["model_version"]),
                "recovered_to_date": round(float(money["recovered"][0] or 0.0), 2),
                "recovery_rate_to_date": (
                    round(float(money["recovered"][0]) / float(money["due"][0]), 4)
                    if money["due"][0]
                    else None
                ),
            }
        )
        visited |= set(visits["person_id"].to_list()) | set(checks["person_id"].to_list())
        if closed_on is not None:
            nxt = months[i + 1]
            outcomes = visit_outcomes(pl.concat([visits, checks]), truth, month, closed_on)
            outcomes.write_csv(inbox / nxt / "outcomes.csv", date_format="%Y-%m-%d")
            # The centre recovers what the visits confirmed; each step reaches the case
            # store in the drop of the month it happens, like a real recovery record.
            ladder = pl.concat([ladder, recovery_steps(outcomes, seed=_world_seed(world))])
            due = ladder.filter(pl.col("step_date").dt.strftime("%Y-%m") == nxt)
            if due.height:
                due.write_csv(inbox / nxt / "recoveries.csv", date_format="%Y-%m-%d")
    table = pl.DataFrame(rows).with_columns(
        (pl.col("found") / pl.col("oracle")).fill_nan(None).alias("found_share"),
        (pl.col("yuan_found") / pl.col("visits")).fill_nan(None).round(2).alias("yuan_per_visit"),
    )
    return table.select(AUDIT_COLUMNS)


_ACCOUNTS = {
    "case_id": pl.String,
    "outcome": pl.String,
    "closed_on": pl.Date,
    "overpaid_amount": pl.Float64,
}


def _world_seed(world: Path) -> int:
    """The seed of the simulated recovery: the world's folder name, fixed across runs."""
    return int.from_bytes(hashlib.sha256(Path(world).name.encode()).digest()[:4], "big")


def plot_audit_curve(tables: dict[str, pl.DataFrame], path: Path) -> Path:
    """One PNG: improper persons found per month by the list and by the all-knowing
    auditor with the same visits, one panel per world."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(3, len(tables))
    rows = -(-len(tables) // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False, sharex=True
    )
    for ax in axes.flat[len(tables):]:
        ax.set_visible(False)
    for ax, (name, table) in zip(axes.flat, tables.items(), strict=False):
        months = [m[5:] for m in table["month"].to_list()]
        ax.plot(months, table["oracle"].to_list(), label="all-knowing auditor", color="#999999")
        ax.plot(months, table["found"].to_list(), label="following the list", color="#1f77b4")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("month")
        ax.set_ylim(bottom=0)
    for row in axes:
        row[0].set_ylabel("improper persons found")
    axes[0][0].legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
