"""Stage timings and peak memory of one monthly run, and its ratio to the read floor.

Run (a full-scale county whose months before ``--month`` are already curated)::

    .venv/bin/sentinel demo --dest /tmp/full --seed 7 --scale 1.0
    .venv/bin/sentinel run --inbox /tmp/full/inbox --month 2020-11 --out /tmp/full/out
    .venv/bin/python benchmarks/pipeline_bench.py --inbox /tmp/full/inbox \
        --out /tmp/full/out --month 2020-12 --json benchmarks/results/county_month.json

Every stage of ``flows/monthly.py::monthly_audit`` is called the way the flow calls it (the
tasks' own functions, in the flow's order, into the flow's staging folder), so the sum of
the stages is the month without Prefect's orchestration. ``--flow`` then runs the whole
Prefect flow once more, after Prefect has started (start-up excluded, as the target says),
so the orchestration overhead is measured too.

Stages: *read* (decode every input file to text columns), *check* (type every row,
quarantine reasons, evidence flags, kept as Parquet), *validate+curate* (Great Expectations
suites and Data Docs, while the month's partitions and summaries are prepared beside the
history in a thread; then they join it, and the drop's outcomes are recorded), *model*
(choose or train the risk model), *features* (register, ledger, survival evidence and
receiver changes over the 12-month history), *linkage* (death records to persons; the
custody records beside them, in a thread), *score* (the rule families, person features,
risk model, evidence text), *carry* (open cases detection did not raise
again), *suspensions*, *emit* (case store with the month's visits, case list in
Parquet/CSV/xlsx, model inputs, quarantine files, manifest).

The *read floor* is the time to read the month's input files once with polars (all columns
as text, no checks) after the same files were read once to warm the page cache: no run of
the month can be faster than reading its inputs. Peak memory is the resident set size of
this process sampled every 10 ms (``psutil``), per stage and overall.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

# isort: off
import sentinel  # noqa: F401  (before polars: it sets polars' allocator settings)

# isort: on
import polars as pl
import psutil
from bench_host import cpu_model, git_commit

ROOT = Path(__file__).resolve().parents[1]

#: detection's own stage names (``sentinel.detection.StageClock``) → the table's stages.
DETECTION_STAGES = {"prepare": "features", "features": "features", "linkage": "linkage"}


@dataclass
class StageMeter:
    """Wall seconds, CPU seconds and peak RSS (bytes) per stage, in the order first seen."""

    wall: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    peak_rss: dict[str, int] = field(default_factory=dict)
    _current: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def start_sampling(self) -> None:
        process = psutil.Process()

        def sample() -> None:
            while not self._stop.wait(0.01):
                stage = self._current
                if stage is not None:
                    rss = process.memory_info().rss
                    if rss > self.peak_rss.get(stage, 0):
                        self.peak_rss[stage] = rss

        threading.Thread(target=sample, daemon=True).start()

    def stop_sampling(self) -> None:
        self._stop.set()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        outer = self._current
        self._current = name
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - wall
            self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - cpu
            rss = psutil.Process().memory_info().rss
            self.peak_rss[name] = max(self.peak_rss.get(name, 0), rss)
            self._current = outer

    def detection_clock(self, stage: str):  # type: ignore[no-untyped-def]
        """A ``StageClock`` for ``sentinel.detection.detect_month`` filing its stages into ours."""
        head = stage.split(":")[0].strip()
        return self.stage(DETECTION_STAGES.get(head, "score"))


def input_files(month_dir: Path) -> list[Path]:
    return sorted(p for p in month_dir.iterdir() if p.is_file() and not p.name.startswith("."))


def read_floor(month_dir: Path) -> tuple[float, int]:
    """Seconds to read every input file of the month once with polars (all text), and bytes."""

    def read_all() -> None:
        for path in input_files(month_dir):
            suffix = path.suffix.lower()
            if suffix == ".parquet":
                pl.read_parquet(path)
            elif suffix == ".csv":
                data = path.read_bytes()
                try:
                    data.decode("utf-8")
                    pl.read_csv(data, infer_schema=False)
                except UnicodeDecodeError:
                    pl.read_csv(data.decode("gb18030").encode("utf-8"), infer_schema=False)
            elif suffix == ".xlsx":
                pl.read_excel(path, engine="calamine", infer_schema_length=0)

    read_all()  # warm the page cache, as the run itself finds it
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        read_all()
        best = min(best, time.perf_counter() - start)
    return best, sum(p.stat().st_size for p in input_files(month_dir))


def run_month_stages(inbox: Path, out: Path, month: str, meter: StageMeter) -> dict[str, int]:
    """One month through the flow's task functions, each timed; returns row counts."""
    from flows.intake import (
        curate_month,
        prepare_curation,
        record_drop_outcomes,
        validate_month_drop,
        work_folder,
    )
    from flows.publishing import emit_month
    from flows.scoring import carry_open_cases, case_key, choose_model
    from flows.suspensions import list_suspensions, suspend
    from sentinel.config import load_config
    from sentinel.detection import detect_month
    from sentinel.engines import partition_engine
    from sentinel.ingest import check_drop, drop_fingerprint, read_drop, store_drops
    from sentinel.io.store import load_history, staged_month
    from sentinel.manifest import code_version

    config = load_config(None)
    store = out / "curated"
    month_dir = inbox / month
    with staged_month(out, month) as staging:
        with meter.stage("read"):
            raw = read_drop(month_dir)
        with meter.stage("check"):
            fingerprint = drop_fingerprint(month_dir, code_version() + config.model_dump_json())
            drops = store_drops(
                check_drop(raw, config, month=month), work_folder(out, month, str(fingerprint))
            )
        del raw
        with meter.stage("validate+curate"), ThreadPoolExecutor(1) as side:
            # As the flow runs them: curation prepared in a thread beside the suites.
            prepared = side.submit(prepare_curation.fn, drops, store, month)
            reports = validate_month_drop.fn(drops, config, month, store, staging / "data-docs")
            curate_month.fn(prepared.result())
            record_drop_outcomes.fn(drops, out, config, staging)
        with meter.stage("model"):
            model = choose_model.fn(store, out, month, config)
            estimator = model.load()
        history = load_history(store, month)
        with partition_engine():
            detected = detect_month(
                history, config, estimator, clock=meter.detection_clock, case_key=case_key(out)
            )
        with meter.stage("carry"):
            carried = carry_open_cases.fn(
                detected.cases, store, out, month, config, detected.custody_links
            )
        with meter.stage("suspensions"):
            parts = [suspend.fn(store, month, config, detected.custody_links)]
            list_suspensions.fn(parts, staging)
        with meter.stage("emit"):
            summary = emit_month.fn(
                detected, carried, drops, reports, config, out, month, staging, model
            )
    return {"cases": summary.cases, **{name: rows[0] for name, rows in summary.rows.items()}}


def time_flow(inbox: Path, out: Path, month: str) -> float:
    """Wall seconds of the whole Prefect flow for ``month``, Prefect already started."""
    from prefect import flow

    from flows.monthly import monthly_audit

    @flow(name="warm-up")
    def warm_up() -> None:
        return None

    warm_up()  # starts Prefect's temporary API: the start-up the target excludes
    start = time.perf_counter()
    monthly_audit(inbox, out, month)
    return time.perf_counter() - start


def machine() -> dict[str, object]:
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "commit": git_commit(),
        "polars": pl.__version__,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inbox", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--month", required=True)
    parser.add_argument("--flow", action="store_true", help="also time the whole Prefect flow")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--label", default="county month", help="name of the run in the plot")
    parser.add_argument("--target", type=float, default=10.0, help="target seconds (issue 17)")
    args = parser.parse_args()

    floor, size = read_floor(args.inbox / args.month)
    # Imports (Great Expectations, scikit-learn: seconds) are paid once per process.
    import great_expectations  # noqa: F401
    import sklearn.ensemble  # noqa: F401

    import flows.monthly  # noqa: F401

    meter = StageMeter()
    meter.start_sampling()
    start = time.perf_counter()
    rows = run_month_stages(args.inbox, args.out, args.month, meter)
    total = time.perf_counter() - start
    meter.stop_sampling()
    flow_seconds = time_flow(args.inbox, args.out, args.month) if args.flow else None

    width = max(len(s) for s in meter.wall)
    print(f"month {args.month}: {rows}")
    print(f"{'stage':<{width}}    wall s   cpu s   peak RSS GiB")
    for stage, wall in meter.wall.items():
        print(
            f"{stage:<{width}}  {wall:8.2f}  {meter.cpu[stage]:6.2f}  {meter.peak_rss[stage] / 2**30:8.2f}"
        )
    peak = max(meter.peak_rss.values())
    print(f"{'total':<{width}}  {total:8.2f}  {sum(meter.cpu.values()):6.2f}  {peak / 2**30:8.2f}")
    print(
        f"read floor: {floor:.2f} s for {size / 2**20:.0f} MiB; month / floor = {total / floor:.1f}x"
    )
    if flow_seconds is not None:
        print(f"whole Prefect flow (start-up excluded): {flow_seconds:.2f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        figures = {
            "label": args.label,
            "target_s": args.target,
            "machine": machine(),
            "month": args.month,
            "rows": rows,
            "stages": {
                s: {
                    "wall_s": round(meter.wall[s], 3),
                    "cpu_s": round(meter.cpu[s], 3),
                    "peak_rss_gib": round(meter.peak_rss[s] / 2**30, 3),
                }
                for s in meter.wall
            },
            "total_s": round(total, 3),
            "peak_rss_gib": round(peak / 2**30, 3),
            "read_floor_s": round(floor, 3),
            "input_mib": round(size / 2**20, 1),
            "ratio_to_floor": round(total / floor, 2),
            "flow_s": None if flow_seconds is None else round(flow_seconds, 3),
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
