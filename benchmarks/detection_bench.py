"""Stage timings of ``sentinel.detection.detect_cases`` on a curated history.

Run: ``python benchmarks/detection_bench.py --store /tmp/full/out/curated --month 2020-12``
(optionally ``--repeat 3`` for the best of three, ``--out cases.parquet`` to keep the cases).

The history is read the way the monthly flow reads it (``CuratedStore.scan`` up to the
month). Every stage of detection is timed by wall clock: prepare (register, ledger,
survival evidence, receiver changes), linkage (death records to persons), each rule family,
the reason merge, the person features, the model and the evidence text. The target for a
full-scale county month (~188k pensioners, 12 months of history) is 5 s on two cores.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from sentinel.config import load_config
from sentinel.detection import MonthHistory, detect_month
from sentinel.io.store import load_history


def curated_history(store: Path, month: str) -> MonthHistory:
    """The :class:`MonthHistory` of ``month`` from a curated store (as the monthly flow builds it)."""
    return load_history(store, month)


def time_stages(
    history: MonthHistory,
) -> tuple[dict[str, tuple[float, float]], tuple[float, float], pl.DataFrame]:
    """(wall, CPU) seconds per stage and in total, and the cases of one detection run.

    CPU seconds (all threads of this process) stay comparable on a busy machine, where
    wall-clock time depends on what else runs.
    """
    seconds: dict[str, tuple[float, float]] = {}

    @contextmanager
    def clock(stage: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            before = seconds.get(stage, (0.0, 0.0))
            seconds[stage] = (
                before[0] + time.perf_counter() - wall,
                before[1] + time.process_time() - cpu,
            )

    wall, cpu = time.perf_counter(), time.process_time()
    cases = detect_month(history, load_config(), None, clock=clock).cases
    return seconds, (time.perf_counter() - wall, time.process_time() - cpu), cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path("/tmp/full/out/curated"))
    parser.add_argument("--month", default="2020-12")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs; the table shows the fastest per stage"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="write the cases of the last run here"
    )
    args = parser.parse_args()

    history = curated_history(args.store, args.month)
    # scikit-learn's import (about a second) is paid once per process, not per detection.
    wall, cpu = time.perf_counter(), time.process_time()
    import models.unsupervised  # noqa: F401

    sklearn_import = (time.perf_counter() - wall, time.process_time() - cpu)
    runs = [time_stages(history) for _ in range(args.repeat)]
    stages = list(runs[0][0])
    best = {
        s: min((run[0].get(s, (float("nan"),) * 2) for run in runs), key=lambda t: t[0])
        for s in stages
    }
    total = min((run[1] for run in runs), key=lambda t: t[0])
    cases = runs[-1][2]
    width = max(len(s) for s in [*stages, "total"])
    print(f"detection {args.month}: {cases.height} cases, {args.repeat} run(s), fastest shown")
    print(f"{'stage':<{width}}     wall   share     cpu")
    for stage in stages:
        wall, cpu = best[stage]
        print(f"{stage:<{width}}  {wall:7.2f}  {wall / total[0]:6.1%}  {cpu:6.2f}")
    print(f"{'total':<{width}}  {total[0]:7.2f}  {'':6}  {total[1]:6.2f}")
    print(f"(once per process, not in the total: scikit-learn import {sklearn_import[0]:.2f} s)")
    if args.out is not None:
        cases.write_parquet(args.out)


if __name__ == "__main__":
    main()
