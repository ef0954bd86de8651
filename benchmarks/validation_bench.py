"""Time reading, checking and Great Expectations validation of full-scale county months.

Usage: python benchmarks/validation_bench.py [--demo DIR] [--months 2020-03,2020-12]
Generates the full-scale demo county in DIR if it is not there (seed 7).
Prints one line per month and stage; copy the table into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from sentinel.config import load_config
from sentinel.ingest import check_drop, read_drop
from sentinel.validation import validate_month


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--demo", type=Path, default=Path("demo"))
    parser.add_argument("--months", default="2020-01,2020-02,2020-03,2020-04,2020-05")
    args = parser.parse_args()
    if not (args.demo / "inbox").exists():
        from sentinel.demo import generate_county

        started = time.perf_counter()
        generate_county(args.demo, seed=7, scale=1.0)
        print(f"generated full-scale county in {time.perf_counter() - started:.1f} s")
    config = load_config()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB; commit {commit}")
    print("| month | formats | rows (all datasets) | read s | check s | validate + Data Docs s |")
    print("|---|---|---|---|---|---|")
    for month in args.months.split(","):
        t0 = time.perf_counter()
        tables = read_drop(args.demo / "inbox" / month)
        t1 = time.perf_counter()
        drops = check_drop(tables, config, month=month)
        t2 = time.perf_counter()
        validate_month({n: d.checked for n, d in drops.items()}, config, month, {}, Path(tempfile.mkdtemp()) / 'data-docs')
        t3 = time.perf_counter()
        formats = ",".join(sorted({t.file.suffix.lstrip(".") for t in tables.values() if t is not None}))
        rows = sum(d.rows_in for d in drops.values())
        print(f"| {month} | {formats} | {rows:,} | {t1 - t0:.2f} | {t2 - t1:.2f} | {t3 - t2:.2f} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
