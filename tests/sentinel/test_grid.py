"""The grid's verdict against the targets every world is held to."""

from __future__ import annotations

import polars as pl

from sentinel.grid import GRID_COLUMNS, GRID_TARGETS, grid_targets


def _row(world: str, seed: int, **values: float) -> dict[str, object]:
    passing = {
        "recipients": 17000,
        "improper": 55,
        "precision_at_capacity": 0.9,
        "worst_month_precision": 0.7,
        "worst_month": "2020-03",
        "deceased_paid_listed": 1.0,
        "custody_listed": 1.0,
        "probation_listed_for_pay": 0,
        "yuan_ratio": 20.0,
        "max_list_share": 0.012,
        "max_own_list_share": 0.006,
    }
    return {"world": world, "seed": seed, **passing, **values}


def test_each_target_counts_the_world_seeds_meeting_it_and_names_the_worst():
    table = pl.DataFrame(
        [
            _row("a", 7, precision_at_capacity=0.8, max_list_share=0.0225),
            _row("b", 7, precision_at_capacity=0.764, yuan_ratio=3.8),
            _row("c", 11, max_list_share=0.02, probation_listed_for_pay=1),
        ]
    ).select(GRID_COLUMNS)
    verdict = {r["target"]: r for r in grid_targets(table).iter_rows(named=True)}
    assert len(verdict) == len(GRID_TARGETS)

    precision = verdict["precision at capacity >= 0.8"]
    # The bound itself meets the target.
    assert (precision["met"], precision["of"]) == (2, 3)
    assert (precision["worst"], precision["worst_value"]) == ("b-7", 0.764)

    yuan = verdict["top-capacity yuan >= 5x the best baseline"]
    assert (yuan["met"], yuan["worst"]) == (2, "b-7")

    # At-most targets: the largest value is the worst.
    whole = verdict["the whole list <= 2% of recipients, every month"]
    assert (whole["met"], whole["worst"], whole["worst_value"]) == (2, "a-7", 0.0225)
    probation = verdict["nobody on probation listed for being paid"]
    assert (probation["met"], probation["worst"]) == (2, "c-11")

    listed = verdict["everyone paid after a linked death listed, every month"]
    assert (listed["met"], listed["worst_value"]) == (3, 1.0)
