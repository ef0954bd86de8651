"""Detection judged over many worlds: every named world (:mod:`sentinel.demo.worlds`) and
several seeds, each run through the monthly job month by month, the worst first.

One world is one county a team wrote itself; a threshold only it justifies is a defect.
:func:`evaluate_grid` therefore reports, per world and seed, what the audit unit gets
from the case list (:func:`sentinel.evaluation.world_metrics`): precision at capacity in
the last month and in the worst month, whether every person paid after a linked death is
on the list in every month, yuan in the top of the list against the best naive baseline,
and the list's size against the recipients.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl

from sentinel.demo import generate_world
from sentinel.evaluation import world_metrics
from sentinel.io.store import load_history

__all__ = ["GRID_COLUMNS", "GRID_TARGETS", "evaluate_grid", "evaluate_world_run", "grid_targets"]

#: Columns of :func:`evaluate_grid`, one row per world and seed.
GRID_COLUMNS: tuple[str, ...] = (
    "world",
    "seed",
    "recipients",
    "improper",
    "precision_at_capacity",
    "worst_month_precision",
    "worst_month",
    "deceased_paid_listed",
    "custody_listed",
    "probation_listed_for_pay",
    "yuan_ratio",
    "max_list_share",
    "max_own_list_share",
)

#: What the audit unit is promised in every world (issue 17's acceptance, issue 21's custody
#: policy): the target's name, the grid column, the bound, and whether the column must be at
#: least (True) or at most (False) the bound.
GRID_TARGETS: tuple[tuple[str, str, float, bool], ...] = (
    ("precision at capacity >= 0.8", "precision_at_capacity", 0.8, True),
    ("everyone paid after a linked death listed, every month", "deceased_paid_listed", 1.0, True),
    ("everyone paid against the custody policy listed, every month", "custody_listed", 1.0, True),
    ("nobody on probation listed for being paid", "probation_listed_for_pay", 0.0, False),
    ("top-capacity yuan >= 5x the best baseline", "yuan_ratio", 5.0, True),
    ("the whole list <= 2% of recipients, every month", "max_list_share", 0.02, False),
    ("the product's own list <= 2% of recipients, every month", "max_own_list_share", 0.02, False),
)

#: Months at the start of a history whose lists are not judged for the worst month: a
#: county with one or two months of history has too few improper payments made yet.
_WARM_UP_MONTHS = 2


def evaluate_world_run(dest: Path, out: Path, capacity: int) -> dict[str, object]:
    """The grid row of one world already generated in ``dest`` and run into ``out``."""
    months = sorted(p.name for p in (Path(dest) / "inbox").iterdir() if p.is_dir())
    per_month: list[dict[str, float]] = []
    for month in months:
        history = load_history(Path(out) / "curated", month)
        cases = pl.read_parquet(Path(out) / month / "cases.parquet")
        per_month.append(
            {"month": month, **world_metrics(cases, Path(dest) / "truth", history, capacity)}
        )  # type: ignore[dict-item]
    last = per_month[-1]
    judged = per_month[_WARM_UP_MONTHS:] or per_month
    worst = min(judged, key=lambda m: m["precision_at_capacity"])
    return {
        "recipients": int(last["recipients"]),
        "improper": int(last["improper"]),
        "precision_at_capacity": round(last["precision_at_capacity"], 3),
        "worst_month_precision": round(worst["precision_at_capacity"], 3),
        "worst_month": worst["month"],
        "deceased_paid_listed": round(min(m["deceased_paid_listed"] for m in per_month), 3),
        "custody_listed": round(min(m["custody_listed"] for m in per_month), 3),
        "probation_listed_for_pay": int(max(m["probation_listed_for_pay"] for m in per_month)),
        "yuan_ratio": round(last["yuan_ratio"], 1),
        "max_list_share": round(max(m["list_share"] for m in per_month), 4),
        "max_own_list_share": round(max(m["own_list_share"] for m in per_month), 4),
    }


def evaluate_grid(
    worlds: Sequence[str],
    seeds: Sequence[int],
    scale: float,
    work: Path,
    capacity: int,
    run_months: Callable[[Path, Path, str], object],
    progress: Callable[[str], None] | None = None,
    months: int = 12,
) -> pl.DataFrame:
    """Generate each world at each seed under ``work`` (``months`` months from 2020-01),
    run every month with ``run_months(inbox, out, last_month)`` and tabulate
    :data:`GRID_COLUMNS`, worst world first (by the last month's precision at capacity,
    then the worst month's)."""
    say = progress or (lambda _msg: None)
    rows = []
    for name in worlds:
        for seed in seeds:
            dest = Path(work) / f"{name}-{seed}"
            # Replaced, not reused: the monthly job skips months already under OUT, so a
            # run left by an earlier version would be judged as this one's.
            shutil.rmtree(dest, ignore_errors=True)
            say(f"{name} seed {seed}: generating")
            summary = generate_world(dest, name, seed=seed, scale=scale, months=months)
            say(f"{name} seed {seed}: monthly job")
            run_months(summary.inbox, dest / "out", summary.months[-1])
            rows.append(
                {"world": name, "seed": seed, **evaluate_world_run(dest, dest / "out", capacity)}
            )
    return (
        pl.DataFrame(rows)
        .select(GRID_COLUMNS)
        .sort(["precision_at_capacity", "worst_month_precision", "world", "seed"])
    )


def grid_targets(table: pl.DataFrame) -> pl.DataFrame:
    """Each of :data:`GRID_TARGETS` against a grid table (:data:`GRID_COLUMNS`): ``target``,
    ``met`` (world-seeds meeting it), ``of`` (world-seeds), and the worst world-seed with its
    value (``worst``, ``worst_value``), so the verdict is read off the same run as the table."""
    rows = []
    for name, column, bound, at_least in GRID_TARGETS:
        values = pl.col(column)
        meets = values >= bound if at_least else values <= bound
        worst = table.sort([column, "world", "seed"], descending=[not at_least, False, False]).row(
            0, named=True
        )
        rows.append(
            {
                "target": name,
                "met": table.filter(meets).height,
                "of": table.height,
                "worst": f"{worst['world']}-{worst['seed']}",
                "worst_value": float(worst[column]),
            }
        )
    return pl.DataFrame(rows)
