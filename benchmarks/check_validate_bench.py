"""Read + check, then validate, one drop in one process (as the monthly flow runs them).

Run: ``.venv/bin/python benchmarks/check_validate_bench.py --drop /tmp/prov/inbox/2020-12
--month 2020-12 --work /tmp/checkbench``

Prints each step's wall seconds and the peak RSS of the process and its children (the
validation worker processes) while it ran (sampled every 0.2 s; the validate step starts
with whatever the check step left in the process).
"""

from __future__ import annotations

import argparse
import shutil
import threading
import time
from pathlib import Path

import psutil

from flows.intake import validate_against
from sentinel.config import load_config
from sentinel.ingest import check_and_store_drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drop", type=Path, required=True)
    parser.add_argument("--month", required=True)
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args()
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        process = psutil.Process()
        while not stop.wait(0.2):
            total = 0
            for proc in [process, *process.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:  # a worker process that just ended
                    pass
            peak[0] = max(peak[0], total)

    threading.Thread(target=sample, daemon=True).start()
    config = load_config()
    shutil.rmtree(args.work, ignore_errors=True)
    started = time.perf_counter()
    stored = check_and_store_drop(args.drop, config, month=args.month, folder=args.work / "drop")
    rows = {name: drop.rows_in for name, drop in stored.items()}
    print(f"check {time.perf_counter() - started:.1f} s peak {peak[0] / 2**30:.2f} GiB {rows}")
    peak[0] = 0
    started = time.perf_counter()
    validate_against(stored, config, args.month, {}, args.work / "data-docs")
    print(f"validate {time.perf_counter() - started:.1f} s peak {peak[0] / 2**30:.2f} GiB")
    stop.set()


if __name__ == "__main__":
    main()
