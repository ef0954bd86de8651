"""The whole test suite's wall time, as CI runs it (``make test``), and its slowest tests.

Run (in a clean clone, PostgreSQL and Chromium set up as ``.ci/run`` does, or without
them: their tests are then skipped and the JSON says how many)::

    .venv/bin/python benchmarks/suite_bench.py --json benchmarks/results/test_suite.json

Runs ``pytest -m "" -n 2 --dist loadfile`` (the Makefile's test command) with
``--durations``, and records the wall time, the CPU time of the process tree, the outcome
counts and the slowest test phases, with the machine and the commit.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_host import ROOT, cpu_model, git_commit  # noqa: E402

#: The Makefile's ``test`` target.
COMMAND = ["-m", "pytest", "-m", "", "-n", "2", "--dist", "loadfile", "-q"]
_DURATION = re.compile(r"^(\d+\.\d+)s (call|setup|teardown)\s+(\S+)$")
_COUNT = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|warnings?)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="write the result here")
    parser.add_argument("--slowest", type=int, default=25, help="test phases to record")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *COMMAND, f"--durations={args.slowest}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = done.stdout.splitlines()
    summary = next((line for line in reversed(lines) if " in " in line and "passed" in line), "")
    counts = {
        kind.rstrip("s") if kind.startswith(("error", "warning")) else kind: int(n)
        for n, kind in _COUNT.findall(summary)
    }
    slowest = [
        {"seconds": float(m[1]), "phase": m[2], "test": m[3]}
        for m in (_DURATION.match(line) for line in lines)
        if m
    ]
    result = {
        "benchmark": "test_suite",
        "command": shlex.join(["python", *COMMAND]),
        "machine": f"{cpu_model()}, {os.cpu_count()} cores",
        "load_before": round(load, 2),
        "commit": git_commit(),
        "exit_code": done.returncode,
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(children.ru_utime + children.ru_stime, 1),
        "counts": counts,
        "summary": summary.strip("= "),
        "slowest": slowest,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "slowest"}, indent=2))
    for row in slowest[:10]:
        print(f"{row['seconds']:8.2f} s  {row['phase']:<8} {row['test']}")
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
