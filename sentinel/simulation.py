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
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl

from sentinel.contract import OUTCOMES_DATASET
from sentinel.evaluation import improper_as_of

__all__ = ["AUDIT_COLUMNS", "plot_audit_curve", "simulate_audits", "visit_outcomes"]

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
    "model_version",
)


def visit_outcomes(
    visits: pl.DataFrame, truth_dir: Path, month: str, closed_on: date
) -> pl.DataFrame:
    """What the visits of ``month`` find, as rows of the ``outcomes`` dataset.

    ``visits``: ``case_id, person_id``. A person with an improper payment made up to
    ``month`` is ``confirmed_deceased`` (when the truth holds a death before
    ``closed_on``) or ``confirmed_improper``, with the overpaid yuan to date; anyone else
    is ``cleared``.
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
                "model_version": str(manifest["model_version"]),
            }
        )
        visited |= set(visits["person_id"].to_list())
        if i + 1 < len(months):
            nxt = months[i + 1]
            closed_on = date.fromisoformat(f"{nxt}-15")
            outcomes = visit_outcomes(visits, truth, month, closed_on)
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
