"""Which polars engine runs the queries of a step.

polars picks its streaming engine by default: it processes data in batches and never holds
a whole province dataset (20M register rows) at once, which the whole-drop steps need.
A county, or one partition of a province (≈ 200k persons), is another matter: its
history, already summarised per person, is held in memory, and its many mid-size joins
and group-bys run faster on the in-memory engine (``benchmarks/province_bench.py``), with
the same rows.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import polars as pl


def partition_engine() -> AbstractContextManager[object]:
    """polars' in-memory engine for the queries inside the block (the engine before it is
    restored after it). For work on one county or one partition: detection, the rank of
    its cases and the suspension list. The single-process and the partitioned runs both
    use it for these steps, so that their sums are taken alike."""
    return pl.Config(engine_affinity="in-memory")


__all__ = ["partition_engine"]
