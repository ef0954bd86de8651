"""A province month end to end: the partitioned Prefect flow on Dask, stage by stage.

Run (a province built from a base county, its months before ``--month`` curated)::

    .venv/bin/sentinel demo --dest /tmp/base --seed 7 --scale 1.0 --formats parquet
    .venv/bin/sentinel run --inbox /tmp/base/inbox --month 2020-11 --out /tmp/base/out
    .venv/bin/python -m sentinel.demo.province --base /tmp/base --dest /tmp/prov \
        --counties 106 --month 2020-12
    .venv/bin/python benchmarks/province_bench.py --inbox /tmp/prov/inbox --out /tmp/prov/out \
        --month 2020-12 --workers 2 --json benchmarks/results/province_month.json

The whole ``flows.partitioned.partitioned_audit`` flow runs once, in this process, with
prefect-dask's ``DaskTaskRunner`` (a local cluster of ``--workers`` processes), after
Prefect's temporary API has started (start-up excluded, as for the county). Stage times come
from Prefect itself: every task run's start and end, read back from the API after the run and
grouped into the county table's stages. A stage run per partition on the workers reports its
wall time (first start to last end) and its *task seconds* (the sum over partitions).

Peak memory is the resident set size of the whole process tree (this process, the Dask
scheduler and workers), sampled every 0.2 s; a stage's peak is the highest sample taken
while it ran. The *read floor* is the time to read the month's input files once (warm
page cache).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
from pipeline_bench import machine, read_floor  # type: ignore[import-not-found]

#: Prefect task name → stage of the table (same stage names as the county table).
TASK_STAGES = {
    "read_and_check_drop": "read + check",
    "validate_province_drop": "validate",
    "split_month": "curate",
    "record_drop_outcomes": "curate",
    "summarise_partition_history": "curate",
    "choose_model": "model",
    "link_deaths_across": "linkage",
    "find_halo": "features",
    "gather_halo_rows": "features",
    "detect_partition": "score",
    "rank_province": "score",
    "suspend": "suspensions",
    "list_suspensions": "suspensions",
    "emit_month": "emit",
    "publish_artifacts": "emit",
}
PER_PARTITION = {
    "summarise_partition_history",
    "gather_halo_rows",
    "detect_partition",
    "suspend",
}


class TreeSampler:
    """RSS of this process and all its children, and the machine's busy CPU seconds (all
    cores: user + system), sampled with timestamps."""

    def __init__(self, every_s: float = 0.2) -> None:
        self.samples: list[tuple[float, int]] = []
        self.cpu: list[tuple[float, float]] = []
        self._every = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        root = psutil.Process()
        while not self._stop.wait(self._every):
            total = 0
            for proc in [root, *root.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
            now = time.time()
            self.samples.append((now, total))
            times = psutil.cpu_times()
            self.cpu.append((now, times.user + times.system))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, start: float, end: float) -> int:
        return max((rss for t, rss in self.samples if start <= t <= end), default=0)

    def busy(self, start: float, end: float) -> float:
        """CPU seconds the machine spent busy between ``start`` and ``end`` (every core)."""
        inside = [(t, cpu) for t, cpu in self.cpu if start <= t <= end]
        return inside[-1][1] - inside[0][1] if len(inside) > 1 else 0.0


def _task_runs(flow_run_id: Any) -> list[dict[str, Any]]:
    """Name, start and end (epoch seconds) of every task run of the flow run."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async def read() -> list[Any]:
        # The API pages at 200 task runs (a province month has > 220).
        runs: list[Any] = []
        async with get_client() as client:
            while True:
                page = await client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                    limit=200,
                    offset=len(runs),
                )
                runs.extend(page)
                if len(page) < 200:
                    return runs

    runs = []
    for run in asyncio.run(read()):
        if run.start_time is None or run.end_time is None:
            continue
        runs.append(
            {
                "task": run.task_key.rsplit("-", 1)[0] if run.task_key else run.name,
                "name": run.name,
                "start": _epoch(run.start_time),
                "end": _epoch(run.end_time),
            }
        )
    return runs


def _epoch(moment: datetime | Any) -> float:
    return float(moment.timestamp())


def stage_table(runs: list[dict[str, Any]], sampler: TreeSampler) -> dict[str, dict[str, float]]:
    """Per stage: wall seconds (union of its task runs' spans), task seconds (their sum),
    number of task runs and peak RSS of the process tree while it ran."""
    stages: dict[str, dict[str, Any]] = {}
    for run in sorted(runs, key=lambda r: r["start"]):
        task = next((t for t in TASK_STAGES if run["name"].startswith(t)), None)
        stage = TASK_STAGES.get(task or "", "other")
        entry = stages.setdefault(stage, {"spans": [], "task_s": 0.0, "runs": 0})
        entry["spans"].append((run["start"], run["end"]))
        entry["task_s"] += run["end"] - run["start"]
        entry["runs"] += 1
    table: dict[str, dict[str, float]] = {}
    for stage, entry in stages.items():
        wall, peak, cursor, busy = 0.0, 0, 0.0, 0.0
        for start, end in sorted(entry["spans"]):
            if end > cursor:
                busy += sampler.busy(max(start, cursor), end)
            wall += max(0.0, end - max(start, cursor))
            cursor = max(cursor, end)
            peak = max(peak, sampler.peak(start, end))
        table[stage] = {
            "wall_s": round(wall, 2),
            "task_s": round(entry["task_s"], 2),
            "task_runs": entry["runs"],
            "peak_rss_gib": round(peak / 2**30, 2),
            # Busy CPU seconds of the machine per wall second (2.0: both cores of two busy).
            "cores_busy": round(busy / wall, 2) if wall else 0.0,
        }
    return table


def step_table(runs: list[dict[str, Any]], started: float) -> dict[str, float]:
    """Per task (in the order the flow finishes them): seconds from the previous task's last
    run end (the flow's start for the first) to this task's last run end. The steps add up
    to the flow's time up to its last task; a step's time includes any wait before it."""
    last: dict[str, float] = {}
    for run in runs:
        last[run["task"]] = max(last.get(run["task"], 0.0), run["end"])
    steps, cursor = {}, started
    for task, end in sorted(last.items(), key=lambda item: item[1]):
        steps[task] = round(end - cursor, 1)
        cursor = end
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inbox", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--month", required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--region-digits", type=int, default=4)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--label", default="province month")
    parser.add_argument("--target", type=float, default=600.0)
    args = parser.parse_args()

    floor, size = read_floor(args.inbox / args.month)
    from prefect import flow

    from flows.partitioned import dask_runner, partitioned_audit

    @flow(name="warm-up")
    def warm_up() -> None:
        return None

    warm_up()  # Prefect's temporary API starts here: the start-up the target excludes
    load_before = machine()["load_average_1m"]
    sampler = TreeSampler()
    sampler.start()
    started = time.time()
    audit = partitioned_audit.with_options(task_runner=dask_runner(args.workers))
    state = audit(args.inbox, args.out, args.month, args.region_digits, return_state=True)
    total = time.time() - started
    sampler.stop()
    summary = state.result()
    runs = _task_runs(state.state_details.flow_run_id)
    table = stage_table(runs, sampler)
    peak = max((rss for _, rss in sampler.samples), default=0)

    order = ["read + check", "validate", "curate", "model", "features", "linkage", "score",
             "suspensions", "emit", "other"]  # fmt: skip
    print(f"month {args.month}: {summary.cases} cases; rows {summary.rows}")
    print(f"{'stage':<13} {'wall s':>8} {'task s':>8} {'runs':>5} {'peak RSS GiB':>13} "
          f"{'cores busy':>10}")  # fmt: skip
    for stage in [s for s in order if s in table]:
        row = table[stage]
        print(f"{stage:<13} {row['wall_s']:8.1f} {row['task_s']:8.1f} {row['task_runs']:5d} "
              f"{row['peak_rss_gib']:13.2f} {row['cores_busy']:10.2f}")  # fmt: skip
    busy = sampler.busy(started, started + total)
    print(f"{'total':<13} {total:8.1f} {'':>8} {'':>5} {peak / 2**30:13.2f} "
          f"{busy / total:10.2f}")  # fmt: skip
    steps = step_table(runs, started)
    print("steps: " + " · ".join(f"{task} {s:.1f}" for task, s in steps.items()))
    print(
        f"read floor: {floor:.2f} s for {size / 2**20:.0f} MiB; month / floor = {total / floor:.1f}x"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        figures = {
            "label": args.label,
            "target_s": args.target,
            "machine": {**machine(), "load_average_1m_before": load_before},
            "month": args.month,
            "workers": args.workers,
            "region_digits": args.region_digits,
            "cases": summary.cases,
            "rows": {name: rows[0] for name, rows in summary.rows.items()},
            "stages": {s: table[s] for s in order if s in table},
            "steps_s": steps,
            "total_s": round(total, 1),
            "peak_rss_gib": round(peak / 2**30, 2),
            "cores_busy": round(busy / total, 2),
            "read_floor_s": round(floor, 2),
            "input_mib": round(size / 2**20, 1),
            "ratio_to_floor": round(total / floor, 1),
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
