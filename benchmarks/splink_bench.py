"""Death-record linkage side by side: ``features.linkage.link_records`` vs Splink 5 (DuckDB).

Run (from the repository root, ~1 h on the shared 2-core box)::

    .venv/bin/python benchmarks/splink_bench.py --sizes county,2m,province

Both sides link the SAME register and death records, built once per size by
``linkage_bench.build`` (seed 7) and written to Parquet under ``--work``. Each method runs
in its own child process (``child`` sub-command), so the peak RSS (``ru_maxrss`` of that
child, from ``os.wait4``) and the wall time belong to one method; each child has a
timeout, and a child killed at the timeout leaves its last finished stage behind.

Scoring (in the parent, against the builder's ground truth): a link is correct when it
pairs the record with the pensioner it was made from; any other link (wrong pensioner,
or a non-pensioner record linked) is a false positive. precision = correct / links,
recall = correct / pensioner records.

The Splink model (what a careful Splink user would build for this data, no ground truth
used in training):

- inputs prepared in the child and timed with it: sex as M/F, birth date as text, the
  toneless pinyin of each name (pypinyin, once per unique character), the surname
  (first character), five ID blocking keys (the ID with one window of characters
  removed, windows [0:5) [4:9) [8:12) [11:15) [14:18), so any single wrong digit or
  adjacent swap keeps one key intact) and a name-only key (pinyin of a record with
  neither ID nor birth date; every register person's pinyin);
- comparisons: ID (null / exact / Damerau-Levenshtein <= 1 / <= 2 / else); name
  (null / exact, term-frequency adjusted / same pinyin / Jaro-Winkler on pinyin >= 0.92 /
  >= 0.80 / else); birth date, sex, region exact;
- blocking for predictions: exact ID, each of the five ID keys, (birth date, surname),
  name-only key;
- training: probability two random records match from the exact-ID rule with an
  assumed recall of 0.7; u by random sampling (``U_MAX_PAIRS``, seed 7); m by EM on
  exact-ID blocks, on (birth date, surname) blocks and on name blocks (``EM_MAX_PAIRS``);
- decision: each record's single best candidate (ties between register people dropped,
  Splink's ``ties_method="drop"``) if its match probability reaches the threshold.
  Reported at a fixed 0.9 and at the threshold that maximises F1 against the ground
  truth (an oracle choice, in Splink's favour).

Results: ``benchmarks/results/splink_comparison.{json,md}`` and ``docs/splink_comparison.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from bench_host import add_child_command, cpu_model, git_commit
from linkage_bench import TRUTH_COLUMNS, build
from splink_methods import EM_MAX_PAIRS, METHODS, PREDICT_FLOOR, U_MAX_PAIRS, run_child
from splink_report import write_markdown, write_plot

SIZES = {
    "county": (190_000, 12_000),
    "2m": (2_000_000, 100_000),
    "province": (20_000_000, 1_000_000),
}
REPEATS_UP_TO_REGISTER = {"ours": 2_000_000, "splink": 200_000}
"""Registers up to this size are run best of ``--repeat``, larger ones once (Splink's
u training alone takes minutes on the shared box, so only the county is repeated)."""
FIXED_THRESHOLD = 0.9
ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


# --- data ------------------------------------------------------------------------------


def write_dataset(n_register: int, n_records: int, directory: Path) -> dict[str, Any]:
    """Build the register and death records once and write them as Parquet."""
    start = time.perf_counter()
    register, records = build(n_register, n_records)
    directory.mkdir(parents=True, exist_ok=True)
    register.write_parquet(directory / "register.parquet")
    records.drop(*TRUTH_COLUMNS).write_parquet(directory / "records.parquet")
    records.select("record_id", *TRUTH_COLUMNS).write_parquet(directory / "truth.parquet")
    info = {
        "register": register.height,
        "records": records.height,
        "pensioner_records": records["truth"].is_not_null().sum(),
        "build_seconds": round(time.perf_counter() - start, 1),
    }
    (directory / "dataset.json").write_text(json.dumps(info))
    return info


# --- the parent: run children, score ----------------------------------------------------


def run_method(method: str, data: Path, out: Path, timeout: float) -> dict[str, Any]:
    """Run one method in a child process; wall time, peak RSS, load, stages, status."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("links.parquet", "child.json", "splink_info.json"):
        (out / stale).unlink(missing_ok=True)
    command = [sys.executable, __file__, "child", method, str(data), str(out)]
    load_before = os.getloadavg()
    start = time.perf_counter()
    with (out / "stderr.log").open("w") as log:
        child = subprocess.Popen(command, stdout=log, stderr=log, cwd=ROOT)
        status = "ok"
        while True:
            pid, wait_status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > timeout:
                os.kill(child.pid, signal.SIGKILL)
                _, wait_status, usage = os.wait4(child.pid, 0)
                status = "timeout"
                break
            time.sleep(0.2)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(wait_status)  # already reaped above
    if status == "ok" and child.returncode != 0:
        status = f"failed (exit {child.returncode})"
    progress = [json.loads(line) for line in (out / "progress.jsonl").read_text().splitlines()]
    result: dict[str, Any] = {
        "status": status,
        "wall_seconds": round(wall, 2),
        "peak_rss_mib": usage.ru_maxrss // 1024,
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "stages_done": progress,
    }
    if status == "ok":
        child_info = json.loads((out / "child.json").read_text())
        result["link_seconds"] = child_info["link_seconds"]
        result["stages"] = child_info["stages"]
        stages = child_info["stages"]
        result["train_seconds"] = round(stages.get("train_u", 0) + stages.get("train_em", 0), 2)
        result["without_training_seconds"] = round(
            child_info["link_seconds"] - result["train_seconds"], 2
        )
        if (out / "splink_info.json").exists():
            result.update(json.loads((out / "splink_info.json").read_text()))
    return result


def score(links: pl.DataFrame, truth: pl.DataFrame, threshold: float | None) -> dict[str, Any]:
    """Precision, recall, F1 of ``links`` (at ``score >= threshold``) against the truth."""
    if threshold is not None:
        links = links.filter(pl.col("score") >= threshold)
    scored = truth.join(links.select("record_id", "person_id"), on="record_id", how="left")
    correct = scored.filter(pl.col("person_id") == pl.col("truth")).height
    linked = scored.filter(pl.col("person_id").is_not_null()).height
    pensioners = scored.filter(pl.col("truth").is_not_null()).height
    precision = correct / linked if linked else 0.0
    recall = correct / pensioners
    f1 = 2 * precision * recall / (precision + recall) if correct else 0.0
    by_kind = (
        scored.group_by("kind", "name_kind")
        .agg(
            pl.len().alias("records"),
            (pl.col("person_id") == pl.col("truth")).sum().alias("correct"),
            (
                pl.col("person_id").is_not_null()
                & (pl.col("truth").is_null() | (pl.col("person_id") != pl.col("truth")))
            )
            .sum()
            .alias("wrong"),
        )
        .sort("kind", "name_kind")
    )
    return {
        "threshold": threshold,
        "links": linked,
        "correct": correct,
        "wrong": linked - correct,
        "pensioner_records": pensioners,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "by_kind": by_kind.to_dicts(),
    }


def best_f1_threshold(links: pl.DataFrame, truth: pl.DataFrame) -> float:
    """The score threshold with the highest F1 (an oracle: it looks at the ground truth)."""
    pensioners = truth["truth"].is_not_null().sum()
    ranked = (
        links.join(truth.select("record_id", "truth"), on="record_id", how="left")
        .with_columns((pl.col("person_id") == pl.col("truth")).fill_null(False).alias("ok"))
        .group_by("score")
        .agg(pl.len().alias("n"), pl.col("ok").sum().alias("ok"))
        .sort("score", descending=True)
        .with_columns(pl.col("n").cum_sum(), pl.col("ok").cum_sum())
        .with_columns((2 * pl.col("ok") / (pl.col("n") + pensioners)).alias("f1"))
    )
    return float(ranked.sort("f1", "score", descending=True)["score"][0])


def machine() -> dict[str, Any]:
    import duckdb
    import psutil
    import splink

    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "polars": pl.__version__,
        "splink": splink.__version__,
        "duckdb": duckdb.__version__,
        "git_commit": git_commit(),
    }


def bench_size(name: str, work: Path, repeat: int, timeout: float) -> dict[str, Any]:
    n_register, n_records = SIZES[name]
    data = work / name
    if not (data / "dataset.json").exists():
        print(f"[{name}] building {n_register:,} x {n_records:,} ...", flush=True)
        subprocess.run(
            [sys.executable, __file__, "build", str(n_register), str(n_records), str(data)],
            check=True,
            cwd=ROOT,
            timeout=3600,
        )
    dataset = json.loads((data / "dataset.json").read_text())
    truth = pl.read_parquet(data / "truth.parquet")
    size: dict[str, Any] = {"register": n_register, "records": n_records, "dataset": dataset}
    for method in METHODS:
        runs = repeat if n_register <= REPEATS_UP_TO_REGISTER[method] else 1
        attempts = []
        for attempt in range(runs):
            out = work / f"{name}-{method}"
            result = run_method(method, data, out, timeout)
            print(f"[{name}] {method} run {attempt + 1}/{runs}: {_brief(result)}", flush=True)
            if result["status"] == "ok":
                links = pl.read_parquet(out / "links.parquet")
                if method == "ours":
                    result["quality"] = {"as_linked": score(links, truth, None)}
                else:
                    best = best_f1_threshold(links, truth)
                    result["quality"] = {
                        "fixed_0.9": score(links, truth, FIXED_THRESHOLD),
                        "best_f1": score(links, truth, best),
                    }
            attempts.append(result)
            if result["status"] != "ok":
                break
        done = [a for a in attempts if a["status"] == "ok"]
        chosen = min(done, key=lambda a: a["link_seconds"]) if done else attempts[-1]
        chosen["runs"] = len(attempts)
        chosen["all_link_seconds"] = [a.get("link_seconds") for a in attempts]
        chosen["all_wall_seconds"] = [a["wall_seconds"] for a in attempts]
        size[method] = chosen
    return size


def _brief(result: dict[str, Any]) -> str:
    if result["status"] != "ok":
        last = result["stages_done"][-1] if result["stages_done"] else None
        return f"{result['status']} after {result['wall_seconds']} s, last stage {last}"
    return (
        f"link {result['link_seconds']} s, wall {result['wall_seconds']} s, "
        f"peak {result['peak_rss_mib']} MiB, load {result['load_before'][0]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    b = sub.add_parser("build", help="internal: build one dataset")
    b.add_argument("register", type=int)
    b.add_argument("records", type=int)
    b.add_argument("directory", type=Path)
    add_child_command(sub, METHODS)
    sub.add_parser("report", help="rewrite the .md and .png from the .json (no runs)")
    parser.add_argument("--sizes", default="county,2m,province")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=1200, help="seconds per method run")
    parser.add_argument("--work", type=Path, default=Path("/tmp/splink_bench"))
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.command == "build":
        print(write_dataset(args.register, args.records, args.directory), flush=True)
        return
    if args.command == "child":
        run_child(args.method, args.data, args.out)
        return

    args.results.mkdir(parents=True, exist_ok=True)
    json_path = args.results / "splink_comparison.json"
    if args.command == "report":
        report = json.loads(json_path.read_text())
        write_markdown(report, args.results / "splink_comparison.md")
        write_plot(report, ROOT / "docs" / "splink_comparison.png")
        return
    report: dict[str, Any] = (
        json.loads(json_path.read_text()) if json_path.exists() else {"sizes": {}}
    )
    report.update(
        machine=machine(),
        # sizes may be run in separate invocations; they merge into one report
        command="PYTHONPATH=. .venv/bin/python benchmarks/splink_bench.py "
        f"--sizes county,2m,province --repeat {args.repeat} --timeout {args.timeout:.0f}",
        repeat=args.repeat,
        timeout_seconds=args.timeout,
        splink_model={
            "u_max_pairs": U_MAX_PAIRS,
            "em_max_pairs": EM_MAX_PAIRS,
            "predict_floor": PREDICT_FLOOR,
            "fixed_threshold": FIXED_THRESHOLD,
        },
    )
    for name in args.sizes.split(","):
        size = bench_size(name, args.work, args.repeat, args.timeout)
        size["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        report["sizes"][name] = size
        json_path.write_text(json.dumps(report, indent=1, ensure_ascii=False))
        write_markdown(report, args.results / "splink_comparison.md")
    write_plot(report, ROOT / "docs" / "splink_comparison.png")


if __name__ == "__main__":
    main()
