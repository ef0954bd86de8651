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
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl

from sentinel.config import month_end
from sentinel.contract import OUTCOMES_DATASET
from sentinel.evaluation import improper_as_of

__all__ = [
    "AUDIT_COLUMNS",
    "SUSPECT_COLUMNS",
    "plot_audit_curve",
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
)
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


#: Who records the simulated results and who signs them off (two people, as sign-off asks).
SIMULATED_AUDITOR = "simulated-auditor"
SIMULATED_REVIEWER = "simulated-reviewer"


def visit_outcomes(
    visits: pl.DataFrame, truth_dir: Path, month: str, closed_on: date
) -> pl.DataFrame:
    """What the visits of ``month`` find, as rows of the ``outcomes`` dataset.

    ``visits``: ``case_id, person_id``. A person with an improper payment made up to
    ``month`` is ``confirmed_deceased`` (when the truth holds a death before
    ``closed_on``) or ``confirmed_improper``, with the overpaid yuan to date; anyone else
    is ``cleared``. Each result is recorded by one simulated user and signed off by another
    (``audited_by``, ``reviewed_by``).
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
        # Sign-off on the paper form (经办 / 复核): the visiting auditor and a second person.
        pl.lit(SIMULATED_AUDITOR).alias("audited_by"),
        pl.lit(SIMULATED_REVIEWER).alias("reviewed_by"),
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
    for i, month in enumerate(months):
        say(f"{month}: monthly job")
        run_month(inbox, out, month)
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
            }
        )
        visited |= set(visits["person_id"].to_list()) | set(checks["person_id"].to_list())
        if closed_on is not None:
            nxt = months[i + 1]
            outcomes = visit_outcomes(pl.concat([visits, checks]), truth, month, closed_on)
            outcomes.write_csv(inbox / nxt / "outcomes.csv", date_format="%Y-%m-%d")
    table = pl.DataFrame(rows).with_columns(
        (pl.col("found") / pl.col("oracle")).fill_nan(None).alias("found_share"),
        (pl.col("yuan_found") / pl.col("visits")).fill_nan(None).round(2).alias("yuan_per_visit"),
    )
    return table.select(AUDIT_COLUMNS)


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
