"""Partitioned run on Dask: wall time and peak memory with 1 and 2 workers, and the
per-partition throughput a national plan is extrapolated from.

    .venv/bin/python benchmarks/dask_bench.py --base BASE --dest PROV --counties 8 --month 2020-12

``BASE`` is a demo county with parquet drops and its curated history up to the month
before ``--month`` (``sentinel demo --formats parquet`` then ``sentinel run``); the
province is built from it with ``sentinel.demo.province`` when ``PROV`` is missing.
Writes ``benchmarks/results/dask_scaling.json`` (the figures) and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import psutil

ROOT = Path(__file__).resolve().parents[1]


def _run_month(prov: Path, out: Path, month: str, workers: int, digits: int) -> dict[str, float]:
    """``sentinel run --partition-by region`` in a subprocess; wall time and peak RSS of the
    whole process tree (flow process + Dask scheduler and workers), polled every 0.2 s."""
    cmd = [
        str(ROOT / ".venv" / "bin" / "sentinel"), "run", "--inbox", str(prov / "inbox"), "--month", month,
        "--out", str(out), "--partition-by", "region", "--region-digits", str(digits), "--workers", str(workers),
    ]  # fmt: skip
    load_before = os.getloadavg()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.2)
    wall = time.perf_counter() - start
    output = proc.stdout.read().decode() if proc.stdout else ""
    if proc.returncode != 0:
        raise RuntimeError(output)
    return {
        "workers": workers,
        "wall_s": round(wall, 1),
        "peak_rss_gib": round(peak / 2**30, 2),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }


def _per_partition(out: Path, month: str) -> list[dict[str, float]]:
    """Time each partition's two worker steps in this process, one after the other."""
    from flows.partitioned import detect_partition
    from sentinel.config import load_config
    from sentinel.partition import OWNERS_FILE, project_partition

    config = load_config(None)
    owners = pl.read_parquet(out / "partitions" / OWNERS_FILE)
    sizes = dict(owners.group_by("partition").len().iter_rows())
    rows = []
    for partition in sorted(sizes):
        start = time.perf_counter()
        project_partition(out, partition, month, config)
        detect_partition.fn(out, partition, month, config)
        seconds = time.perf_counter() - start
        rows.append({"partition": partition, "persons": sizes[partition], "seconds": round(seconds, 2),
                     "persons_per_s": round(sizes[partition] / seconds, 0)})  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--dest", type=Path, required=True)
    parser.add_argument("--counties", type=int, default=8)
    parser.add_argument("--per-prefecture", type=int, default=2)
    parser.add_argument("--month", default="2020-12")
    parser.add_argument("--region-digits", type=int, default=4)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--save", type=Path, default=ROOT / "benchmarks" / "results" / "dask_scaling.json"
    )
    args = parser.parse_args()

    from sentinel.demo.province import build_province

    pristine = args.dest / "out"
    if not (args.dest / "inbox" / args.month).exists():
        start = time.perf_counter()
        build_province(args.base, args.dest, counties=args.counties, month=args.month,
                       region_digits=args.region_digits, per_prefecture=args.per_prefecture)  # fmt: skip
        print(f"province built in {time.perf_counter() - start:.1f} s", flush=True)
    owners = pl.read_parquet(pristine / "partitions" / "owners.parquet")
    register = pl.scan_parquet(args.dest / "inbox" / args.month / "beneficiaries.parquet")
    persons = register.select(pl.col("person_id").n_unique()).collect().item()
    runs = []
    out = args.dest / "run"
    for workers in args.workers:
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(pristine, out)
        result = _run_month(args.dest, out, args.month, workers, args.region_digits)
        result["persons_per_s"] = round(persons / result["wall_s"], 0)
        runs.append(result)
        print(json.dumps(result), flush=True)
    partitions = _per_partition(out, args.month)
    total_s = sum(p["seconds"] for p in partitions)
    summary = {
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        },
        "province": {
            "counties": args.counties,
            "persons": persons,
            "owners": owners.height,
            "partitions": len(partitions),
            "region_digits": args.region_digits,
            "month": args.month,
        },  # fmt: skip
        "runs": runs,
        "per_partition": partitions,
        "partition_steps_total_s": round(total_s, 1),
        "partition_persons_per_s": round(sum(p["persons"] for p in partitions) / total_s, 0),
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    args.save.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in summary.items() if k != "per_partition"}, indent=2))


if __name__ == "__main__":
    main()
