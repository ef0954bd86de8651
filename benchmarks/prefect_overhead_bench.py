"""Prefect's own cost per task run on the local Dask cluster of the partitioned flow.

Run: ``PREFECT_LOCAL_STORAGE_PATH=$(mktemp -d) .venv/bin/python benchmarks/prefect_overhead_bench.py``

Submits, through ``flows.partitioned.dask_runner(2)`` (the partitioned flow's task runner),
106 empty tasks (one per partition of the province benchmark) and then 12 tasks of 4 s
each, first sleeping, then spinning one core: the time above the ideal is what Prefect and
Dask add per task run. A warm-up round first, so that the workers' imports are not counted.
"""

from __future__ import annotations

import time

from prefect import flow, task

from flows.partitioned import dask_runner

PARTITIONS = 106
LONG_TASKS = 12
LONG_SECONDS = 4.0


@task
def _empty(index: int) -> int:
    return index


@task
def _hold(index: int, seconds: float, busy: bool) -> int:
    end = time.perf_counter() + seconds
    if busy:
        while time.perf_counter() < end:
            pass
    else:
        time.sleep(seconds)
    return index


def _run(step, arguments) -> float:  # type: ignore[no-untyped-def]
    """Wall seconds to submit ``step(*arguments(i))`` for every task and collect them all."""
    started = time.perf_counter()
    count = LONG_TASKS if step is _hold else PARTITIONS
    futures = [step.submit(*arguments(i)) for i in range(count)]
    for future in futures:
        future.result()
    return time.perf_counter() - started


@flow(task_runner=dask_runner(2))
def overhead() -> None:
    _run(_empty, lambda i: (i,))  # warm-up: the workers import the project
    empty = _run(_empty, lambda i: (i,))
    print(f"{PARTITIONS} empty tasks on 2 workers: {empty:.1f} s ({empty / PARTITIONS:.3f} s each)")
    ideal = LONG_TASKS * LONG_SECONDS / 2
    for busy in (False, True):
        seconds = _run(_hold, lambda i, busy=busy: (i, LONG_SECONDS, busy))
        kind = "spinning a core" if busy else "sleeping"
        print(f"{LONG_TASKS} tasks of {LONG_SECONDS:.0f} s {kind}: {seconds:.1f} s (ideal {ideal:.0f} s)")


if __name__ == "__main__":
    overhead()
