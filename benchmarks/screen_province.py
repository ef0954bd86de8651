"""The pre-disbursement screen on a province pay file: wall time and peak memory of one
``sentinel screen`` call.

Run (the province of ``province_bench.py``: 106 clones of the seed-7 full-scale county,
2020-01..2020-11 curated per county partition)::

    .venv/bin/sentinel demo --dest /tmp/base --seed 7 --scale 1.0 --formats parquet
    .venv/bin/sentinel run --inbox /tmp/base/inbox --month 2020-11 --out /tmp/base/out
    .venv/bin/python -m sentinel.demo.province --base /tmp/base --dest /tmp/prov \
        --counties 106 --month 2020-12 --region-digits 6
    PYTHONPATH=. .venv/bin/python benchmarks/screen_province.py --base /tmp/base \
        --prov /tmp/prov --month 2020-12 --repeat 3 \
        --json benchmarks/results/screen_province.json --md benchmarks/results/screen_province.md

The draft pay file is the province drop's payouts file of ``--month`` (18.9M rows); what the
screen knows is the province's history before it.

*What the screen reads.* ``screen_payroll`` reads what ``OUT`` knows up to the last month
with a manifest before the pay period; after a partitioned run (a province) that is every
partition's store (``OUT/partitions/<county>/curated``) and the global one (``OUT/curated``):
``sentinel.screen.known_history``. The province generator leaves that layout but writes no
manifest (no month was run) and clones no custody records. So the script first lays out an
``OUT`` for the screen (``--view``, default ``PROV/screen-out``; untimed, reused when
present): the province's partitions and global death records and outcomes linked; the base
county's custody records of the months before, cloned as the generator clones the other
datasets (``sentinel.demo.clones.relabel``; record numbers tagged per clone); and
``OUT/<month before>/manifest.json``, the mark that the history through that month is in.
The partitions are linked, not copied: the register facts each partition's register
summary keeps for the screen (``register_persons``, ``register_terminations``,
``linkage_register``; ``sentinel.io.store``) come with them when the province was built by
a release that keeps them, and the screen derives them otherwise.

The newer records given with the draft, as ``screen_worlds.py`` gives them: the drop's
death records and the cloned custody records of ``--month`` received before the file's
earliest pay date.

*Timed*: one ``sentinel.screen.screen_payroll`` call, whole (reading the pay file, the
history and the newer records, the linkage, the holds, and writing ``holds.csv``,
``holds.xlsx``, ``release.csv`` and ``summary.json``), each run in a process of its own;
peak RSS of that process sampled every 20 ms (``psutil``). The files are in the page cache
(an earlier run read them, or the province was just built).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

# isort: off
import sentinel  # noqa: F401  (before polars: it sets polars' allocator settings)

# isort: on
import polars as pl
import psutil
from pipeline_bench import machine  # type: ignore[import-not-found]

from sentinel.io.store import CuratedStore
from sentinel.partition import GLOBAL_DATASETS, partition_store, partitions_root

TARGET_S = 60.0
_SUMMARIES = ("register_runs", "ledger_runs")


def _partitions(prov_out: Path) -> list[str]:
    root = partitions_root(prov_out)
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _earliest_pay_date(pay_file: Path) -> Any:
    return pl.scan_parquet(pay_file).select(pl.col("pay_date").cast(pl.Date).min()).collect().item()


def _clone_custody(
    base: Path, month: str, counties: int, view: Path, first_pay: Any
) -> tuple[int, int]:
    """The base county's custody records cloned per county: its curated months before
    ``month`` into the view's store, and ``month``'s records received before ``first_pay``
    into ``view/newer/custody-<month>.parquet``. Returns (history rows, newer rows)."""
    from sentinel.demo.clones import (  # the generator's own clone plan and relabelling
        id_maps,
        plan_clones,
        register_prefixes,
        register_region,
        relabel,
    )

    register = pl.read_parquet(base / "inbox" / month / "beneficiaries.parquet")
    clones = plan_clones(register_region(register), register_prefixes(register), counties)
    codes = [c.region_code for c in clones]
    store = CuratedStore(base / "out" / "curated")
    months = [m for m in store.months("custody") if m < month]
    frames = {m: pl.read_parquet(store.partition("custody", m) / "part-0.parquet") for m in months}
    newer = pl.read_parquet(base / "inbox" / month / "custody.parquet")
    maps = id_maps([f.lazy() for f in [*frames.values(), newer]], clones)

    def cloned(frame: pl.DataFrame) -> pl.DataFrame:
        return pl.concat(
            [
                relabel(frame.lazy(), "custody", c, maps.get(c.index), codes).with_columns(
                    (pl.col("record_id") + pl.lit(f"-{c.index:03d}"))
                    if c.index
                    else pl.col("record_id")
                )
                for c in clones
            ]
        ).collect()

    target = CuratedStore(view / "curated")
    history_rows = 0
    for m, frame in frames.items():
        rows = cloned(frame)
        history_rows += rows.height
        target.write_month("custody", m, rows)
    received = cloned(newer).filter(
        pl.col("received_on").is_null() | (pl.col("received_on") < first_pay)
    )
    (view / "newer").mkdir(parents=True, exist_ok=True)
    received.write_parquet(view / "newer" / f"custody-{month}.parquet")
    return history_rows, received.height


def lay_out(base: Path, prov: Path, month: str, counties: int, view: Path) -> dict[str, Any]:
    """The screen's ``OUT`` (see the module), built once; returns what it holds."""
    started = time.perf_counter()
    prov_out = prov / "out"
    view.mkdir(parents=True, exist_ok=True)
    if not (view / "partitions").exists():
        (view / "partitions").symlink_to(
            partitions_root(prov_out).resolve(), target_is_directory=True
        )
    curated = view / "curated"
    curated.mkdir(exist_ok=True)
    for dataset in GLOBAL_DATASETS:
        source = (prov_out / "curated" / dataset).resolve()
        if source.exists() and not (curated / dataset).exists():
            (curated / dataset).symlink_to(source, target_is_directory=True)
    pay_file = prov / "inbox" / month / "payouts.parquet"
    first_pay = _earliest_pay_date(pay_file)
    custody_rows, newer_custody = _clone_custody(base, month, counties, view, first_pay)
    deaths = pl.read_parquet(prov / "inbox" / month / "deaths.parquet")
    received = deaths.filter(pl.col("recorded_on").is_null() | (pl.col("recorded_on") < first_pay))
    received.write_parquet(view / "newer" / f"deaths-{month}.parquet")
    parts = _partitions(prov_out)
    known = partition_store(prov_out, parts[0]).months("beneficiaries")[-1]
    (view / known).mkdir(parents=True, exist_ok=True)
    (view / known / "manifest.json").write_text(
        json.dumps({"month": known, "history": "curated by sentinel.demo.province"}) + "\n",
        encoding="utf-8",
    )
    layout = {
        "partitions": len(parts),
        "known_through": known,
        "custody_history_rows": custody_rows,
        "newer_custody_rows": newer_custody,
        "newer_death_rows": received.height,
        "seconds": round(time.perf_counter() - started, 1),
    }
    (view / "layout.json").write_text(json.dumps(layout, indent=2) + "\n", encoding="utf-8")
    return layout


#: The screen's steps timed with ``--stages`` (its own functions, wrapped): the run's in
#: ``sentinel.screen``, the hold rules' in ``sentinel.holds``.
STEPS = {
    "read_dataset": "read (pay file, newer records)",
    "parse_records": "type the rows",
    "known_history": "history",
    "known_facts": "register facts kept by the monthly run (read)",
    "register_persons": "register persons (derived: no kept facts)",
    "prepare_register": "normalise the register for linkage (no kept one)",
    "_unreadable": "unreadable",
    "_bad_identity": "bad identity",
    "_deceased": "deceased (death linkage)",
    "_duplicates": "duplicates",
    "_already_paid": "already paid",
    "_terminated": "terminated",
    "_in_custody": "in custody (custody linkage)",
    "_hold_table": "hold table (evidence)",
    "write_csv_bom": "write holds.csv, release.csv",
    "write_table_xlsx": "write holds.xlsx",
}


def _time_steps() -> dict[str, list[float]]:
    """Wrap the screen's steps (:data:`STEPS`) so each adds its wall and CPU seconds."""
    import functools

    import sentinel.holds as holds
    import sentinel.screen as screen

    spent: dict[str, list[float]] = {}

    def timed(name: str, step: Any) -> Any:
        @functools.wraps(step)
        def run(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.process_time()
            result = step(*args, **kwargs)
            if isinstance(result, pl.LazyFrame) and name in ("register_persons", "parse_records"):
                result = result.collect().lazy()  # the step's work, not the caller's
            total = spent.setdefault(STEPS[name], [0.0, 0.0])
            total[0] += time.perf_counter() - wall
            total[1] += time.process_time() - cpu
            return result

        return run

    for name in STEPS:
        module = screen if hasattr(screen, name) else holds
        setattr(module, name, timed(name, getattr(module, name)))
    return spent


def screen_once(pay_file: Path, view: Path, month: str, stages: bool = False) -> dict[str, Any]:
    """One timed screen in this process (see the module); with ``stages``, its steps timed."""
    from sentinel.config import load_config
    from sentinel.screen import screen_payroll

    config = load_config()
    spent = _time_steps() if stages else None
    process = psutil.Process()
    peak = [process.memory_info().rss]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            peak[0] = max(peak[0], process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    cpu = time.process_time()
    started = time.perf_counter()
    result = screen_payroll(
        pay_file,
        view,
        config,
        deaths=view / "newer" / f"deaths-{month}.parquet",
        custody=view / "newer" / f"custody-{month}.parquet",
        period=month,
    )
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    stop.set()
    sampler.join()
    peak[0] = max(peak[0], process.memory_info().rss)
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "peak_rss_gib": round(peak[0] / 2**30, 2),
        "rows_screened": result.rows,
        "yuan_screened": result.yuan,
        "rows_held": result.holds.height,
        "yuan_held": round(float(result.holds["amount"].fill_null(0.0).sum()), 2),
        "held_by_reason": result.held_by_reason,
        "known_through": result.known_through,
        "load_average_1m": round(os.getloadavg()[0], 2),
        **(
            {
                "steps": {
                    k: {"wall_s": round(w, 2), "cpu_s": round(c, 2)} for k, (w, c) in spent.items()
                }
            }
            if spent
            else {}
        ),
    }


def history_size(view: Path, known: str) -> dict[str, int]:
    """The history the screen knows (its partitions' stores and the global one)."""
    from sentinel.screen import known_history

    history = known_history(view, known)

    def rows(frame: pl.LazyFrame | None) -> int:
        return 0 if frame is None else int(frame.select(pl.len()).collect().item())

    register = history.register_runs
    return {
        "registered_persons": 0
        if register is None
        else int(register.select(pl.col("person_id").n_unique()).collect().item()),
        "register_runs": rows(register),
        "ledger_runs": rows(history.ledger_runs),
        "payout_rows": rows(history.payouts),
        "death_records": rows(history.deaths),
        "custody_records": rows(history.custody),
    }


def markdown(figures: dict[str, Any]) -> str:
    m, runs = figures["machine"], figures["runs"]
    first = runs[0]
    lines = [
        "# The pre-disbursement screen on a province pay file",
        "",
        "```",
        figures["command"],
        "```",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, commit {m['commit']}, "
        f"polars {m['polars']}. Draft: the province's {figures['month']} payouts file, "
        f"{first['rows_screened']:,} rows; history through {first['known_through']}: "
        f"{figures['history']['registered_persons']:,} registered persons, "
        f"{figures['history']['payout_rows']:,} payout rows, "
        f"{figures['history']['death_records']:,} death and "
        f"{figures['history']['custody_records']:,} custody records; newer records given: "
        f"{figures['layout']['newer_death_rows']:,} deaths, "
        f"{figures['layout']['newer_custody_rows']:,} custody.",
        "",
        "| run | wall s | CPU s | peak RSS GiB | rows held | yuan held | load (1 min) |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(runs, 1):
        lines.append(
            f"| {i} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['peak_rss_gib']:.2f} | "
            f"{r['rows_held']:,} | {r['yuan_held']:,.2f} | {r['load_average_1m']} |"
        )
    lines += ["", "Held by reason (a row held for two reasons counts under both):", ""]
    lines += ["| reason | rows | yuan |", "|---|---|---|"]
    for reason, held in first["held_by_reason"].items():
        lines.append(f"| {reason} | {held['rows']:,} | {held['yuan']:,.2f} |")
    staged = figures.get("stages_run")
    if staged:
        lines += [
            "",
            f"Steps of one more run ({staged['wall_s']:.2f} s wall, {staged['cpu_s']:.2f} s CPU, "
            f"load {staged['load_average_1m']}; the rest: finding the period, the release filter, "
            "the summary):",
            "",
            "| step | wall s | CPU s |",
            "|---|---|---|",
        ]
        for step, t in sorted(staged["steps"].items(), key=lambda kv: -kv[1]["cpu_s"]):
            lines.append(f"| {step} | {t['wall_s']:.2f} | {t['cpu_s']:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base", type=Path, required=True, help="the base county (its inbox and out)"
    )
    parser.add_argument("--prov", type=Path, required=True, help="the province built from it")
    parser.add_argument(
        "--month", default="2020-12", help="the pay period: its payouts file is the draft"
    )
    parser.add_argument("--counties", type=int, default=106, help="as the province was built")
    parser.add_argument("--view", type=Path, help="the screen's OUT (default PROV/screen-out)")
    parser.add_argument("--repeat", type=int, default=1, help="screens, each in its own process")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--md", type=Path, help="and a short table here")
    parser.add_argument("--stages", action="store_true", help="one more run, its steps timed")
    parser.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--once-stages", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    view = args.view or args.prov / "screen-out"
    pay_file = args.prov / "inbox" / args.month / "payouts.parquet"
    if args.once or args.once_stages:
        print(json.dumps(screen_once(pay_file, view, args.month, stages=args.once_stages)))
        return
    if not (view / "layout.json").exists():
        print(f"laying out {view} ...", flush=True)
        lay_out(args.base, args.prov, args.month, args.counties, view)
    layout = json.loads((view / "layout.json").read_text(encoding="utf-8"))

    def run(flag: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, __file__, *sys.argv[1:], flag],
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(done.stdout.strip().splitlines()[-1])

    runs = []
    for i in range(args.repeat):
        runs.append(run("--once"))
        r = runs[-1]
        print(
            f"run {i + 1}: {r['wall_s']:.2f} s wall, {r['cpu_s']:.2f} s CPU, "
            f"{r['peak_rss_gib']:.2f} GiB, {r['rows_screened']:,} rows, {r['rows_held']:,} held",
            flush=True,
        )
    steps = run("--once-stages") if args.stages else None
    walls = [r["wall_s"] for r in runs]
    figures = {
        "label": "province screen",
        "target_s": TARGET_S,
        "machine": machine(),
        "command": "PYTHONPATH=. .venv/bin/python benchmarks/screen_province.py "
        + " ".join(sys.argv[1:]),
        "month": args.month,
        "pay_file_rows": runs[0]["rows_screened"],
        "history": history_size(view, layout["known_through"]),
        "layout": layout,
        "wall_s": {"min": min(walls), "max": max(walls), "mean": round(sum(walls) / len(walls), 2)},
        "peak_rss_gib": max(r["peak_rss_gib"] for r in runs),
        "rows_held": runs[0]["rows_held"],
        "runs": runs,
        **({"stages_run": steps} if steps else {}),
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    if args.md:
        args.md.write_text(markdown(figures), encoding="utf-8")


if __name__ == "__main__":
    main()
