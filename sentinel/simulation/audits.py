"""The audit unit played month by month on a demo world, against an all-knowing auditor.

Each month the monthly job runs on the world's drop; the simulated unit then visits the
cases the list chose for the month (``audit_selection``: the top of the list and the
exploration draws), skipping persons it visited before, and fills any remaining capacity
from the top of the list; the ground truth says what each visit finds, and those outcomes go
into the next month's drop as ``outcomes.csv``, the path a real unit's outcomes take. The
unit also checks every listed upstream suspect due before the next run (``suspect_checks``),
and the centre recovers what the visits confirmed (:mod:`sentinel.simulation.recovery`),
each step in the drop of the month it happens as ``recoveries.csv``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl

from sentinel.casestore import CaseStore, database_url
from sentinel.casestore.recovery import recovery_ledger
from sentinel.config import load_config
from sentinel.contract import OUTCOMES_DATASET
from sentinel.demo import keep_demo_case_key
from sentinel.evaluation import improper_as_of, recipients
from sentinel.io.store import load_history
from sentinel.periods import month_end
from sentinel.simulation.recovery import recovery_steps
from sentinel.simulation.users import AUDITORS, REVIEWERS, pick_user

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
    # The month's list over the month's recipients: with a unit that answers the suspects
    # and closes what it visits, how long the list stays.
    "list_share",
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
        pick_user(AUDITORS).alias("audited_by"),
        pick_user(REVIEWERS).alias("reviewed_by"),
    ).select(OUTCOMES_DATASET.column_names)


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
    # The world's own case IDs, so that a replay names the cases as the world's run does.
    keep_demo_case_key(out, _county_seed(truth))
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
        nxt = months[i + 1] if i + 1 < len(months) else None
        cases = pl.read_parquet(out / month / "cases.parquet")
        visits = _visits(cases, visited, capacity)
        improper = improper_as_of(truth, month).select("person_id", "overpaid")
        oracle = (
            improper.filter(~pl.col("person_id").is_in(list(oracle_visited)))
            .sort("overpaid", "person_id", descending=[True, False])
            .head(capacity)
        )
        oracle_visited |= set(oracle["person_id"].to_list())
        checks = (
            _suspect_checks(cases, visits, visited, month_end(nxt))
            if nxt is not None
            else visits.clear()
        )
        row = _month_row(out, month, visits, improper, oracle, checks, money)
        paid = recipients(load_history(out / "curated", month))
        row["list_share"] = round(cases.height / paid, 4) if paid else None
        rows.append(row)
        visited |= set(visits["person_id"].to_list()) | set(checks["person_id"].to_list())
        if nxt is not None:
            found = visit_outcomes(
                pl.concat([visits, checks]), truth, month, date.fromisoformat(f"{nxt}-15")
            )
            ladder = _send_back(found, ladder, inbox / nxt, _world_seed(world))
    table = pl.DataFrame(rows).with_columns(
        (pl.col("found") / pl.col("oracle")).fill_nan(None).alias("found_share"),
        (pl.col("yuan_found") / pl.col("visits")).fill_nan(None).round(2).alias("yuan_per_visit"),
    )
    return table.select(AUDIT_COLUMNS)


def _month_row(
    out: Path,
    month: str,
    visits: pl.DataFrame,
    improper: pl.DataFrame,
    oracle: pl.DataFrame,
    checks: pl.DataFrame,
    money: pl.DataFrame,
) -> dict[str, object]:
    """One month of :func:`simulate_audits` (before the shares): what the visits found
    against the oracle's, and the recovery ledger at the month's end (``money``)."""
    found = visits.join(improper, on="person_id", how="inner")
    manifest = json.loads((out / month / "manifest.json").read_text(encoding="utf-8"))
    return {
        "month": month,
        "visits": visits.height,
        "found": found.height,
        "oracle": oracle.height,
        "yuan_found": round(float(found["overpaid"].sum() or 0.0), 2),
        "exploration_visits": visits.filter(pl.col("audit_selection") == "exploration").height,
        "suspect_checks": checks.height,
        "model_version": str(manifest["model_version"]),
        "recovered_to_date": round(float(money["recovered"][0] or 0.0), 2),
        "recovery_rate_to_date": (
            round(float(money["recovered"][0]) / float(money["due"][0]), 4)
            if money["due"][0]
            else None
        ),
    }


def _send_back(outcomes: pl.DataFrame, ladder: pl.DataFrame, drop: Path, seed: int) -> pl.DataFrame:
    """The month's outcomes into the next month's ``drop`` as ``outcomes.csv``, and the
    recovery steps that fall in that month as ``recoveries.csv``; returns every recovery
    step so far (``ladder`` and the new outcomes')."""
    outcomes.write_csv(drop / "outcomes.csv", date_format="%Y-%m-%d")
    # The centre recovers what the visits confirmed; each step reaches the case
    # store in the drop of the month it happens, like a real recovery record.
    ladder = pl.concat([ladder, recovery_steps(outcomes, seed=seed)])
    due = ladder.filter(pl.col("step_date").dt.strftime("%Y-%m") == drop.name)
    if due.height:
        due.write_csv(drop / "recoveries.csv", date_format="%Y-%m-%d")
    return ladder


_ACCOUNTS = {
    "case_id": pl.String,
    "outcome": pl.String,
    "closed_on": pl.Date,
    "overpaid_amount": pl.Float64,
}


def _county_seed(truth: Path) -> int:
    """The seed the world was generated with (``truth/truth.json``)."""
    return int(json.loads((truth / "truth.json").read_text(encoding="utf-8"))["seed"])


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
    for ax in axes.flat[len(tables) :]:
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
