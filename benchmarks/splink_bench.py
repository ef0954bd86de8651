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
import logging
import os
import platform
import resource
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from linkage_bench import RECORD_COLUMNS, REGISTER_COLUMNS, TRUTH_COLUMNS, build

SIZES = {
    "county": (190_000, 12_000),
    "2m": (2_000_000, 100_000),
    "province": (20_000_000, 1_000_000),
}
REPEATS_UP_TO_REGISTER = {"ours": 2_000_000, "splink": 200_000}
"""Registers up to this size are run best of ``--repeat``, larger ones once (Splink's
u training alone takes minutes on the shared box, so only the county is repeated)."""
U_MAX_PAIRS = 1e7
EM_MAX_PAIRS = 5e6
PREDICT_FLOOR = 0.01
"""Pairs below this match probability are not kept by Splink's predict (thresholds swept above)."""
FIXED_THRESHOLD = 0.9
ID_WINDOWS = ((0, 5), (4, 9), (8, 12), (11, 15), (14, 18))
METHODS = ("ours", "splink")
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


# --- the two methods (run inside a child process) --------------------------------------


class Progress:
    """Stage log of a child: one JSON line per finished stage, readable after a kill."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.start = time.perf_counter()
        self.stages: dict[str, float] = {}
        self._last = self.start
        path.write_text("")

    def done(self, stage: str) -> None:
        now = time.perf_counter()
        self.stages[stage] = round(now - self._last, 2)
        self._last = now
        line = {
            "stage": stage,
            "seconds": self.stages[stage],
            "elapsed": round(now - self.start, 2),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            "load1": os.getloadavg()[0],
        }
        with self.path.open("a") as f:
            f.write(json.dumps(line) + "\n")


def link_ours(data: Path, progress: Progress) -> pl.DataFrame:
    """``link_records`` exactly as ``linkage_bench`` calls it (in-memory engine)."""
    from features.linkage import link_records

    register = pl.read_parquet(data / "register.parquet")
    records = pl.read_parquet(data / "records.parquet")
    progress.done("read")
    links = link_records(
        records.lazy(),
        register.lazy(),
        records_cols=RECORD_COLUMNS,
        register_cols=REGISTER_COLUMNS,
    ).collect()
    progress.done("link")
    return links.select(
        pl.col("record_key").alias("record_id"),
        pl.col("register_key").alias("person_id"),
        pl.col("confidence").alias("score"),
        "method",
    )


def _splink_input(frame: pl.DataFrame, *, key: str, is_register: bool) -> pl.DataFrame:
    """The columns the Splink model compares and blocks on (see the module docstring)."""
    from pypinyin import lazy_pinyin

    chars = frame["name"].drop_nulls().str.split("").explode().unique().to_list()
    reading = {c: lazy_pinyin(c)[0] for c in chars}
    pid = pl.col("person_id")
    pinyin = (
        pl.col("name")
        .str.split("")
        .list.eval(pl.element().replace_strict(reading, default="?", return_dtype=pl.String))
        .list.join("")
    )
    no_id_no_birth = pid.is_null() & pl.col("birth_date").is_null()
    return frame.select(
        pl.col(key).alias("unique_id"),
        pid,
        "name",
        pinyin.alias("name_py"),
        pl.col("name").str.slice(0, 1).alias("surname"),
        pl.col("birth_date").cast(pl.String),
        pl.col("sex").replace_strict(
            {"M": "M", "F": "F", "男": "M", "女": "F"}, default=None, return_dtype=pl.String
        ),
        "region_code",
        *[
            (pid.str.slice(0, a) + pid.str.slice(b)).alias(f"id_key_{i}")
            for i, (a, b) in enumerate(ID_WINDOWS)
        ],
        (pinyin if is_register else pl.when(no_id_no_birth).then(pinyin)).alias("name_only_key"),
    )


def splink_settings() -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name"),
            cll.ExactMatchLevel("name", term_frequency_adjustments=True),
            cll.ExactMatchLevel("name_py").configure(label_for_charts="same pinyin"),
            cll.JaroWinklerLevel("name_py", 0.92),
            cll.JaroWinklerLevel("name_py", 0.80),
            cll.ElseLevel(),
        ],
    )
    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.DamerauLevenshteinAtThresholds("person_id", [1, 2]),
            name,
            cl.ExactMatch("birth_date"),
            cl.ExactMatch("sex"),
            cl.ExactMatch("region_code"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("person_id"),
            *[block_on(f"id_key_{i}") for i in range(len(ID_WINDOWS))],
            block_on("birth_date", "surname"),
            block_on("name_only_key"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def link_splink(data: Path, progress: Progress) -> pl.DataFrame:
    """Splink 5, DuckDB backend: prepare, train (u sampling, EM), predict, best link per record."""
    import duckdb
    from splink import DuckDBAPI, Linker, block_on

    register = pl.read_parquet(data / "register.parquet")
    records = pl.read_parquet(data / "records.parquet")
    progress.done("read")
    # DuckDB's own defaults (memory limit 80 % of RAM, all cores); spills go to the work dir.
    con = duckdb.connect(config={"temp_directory": str(progress.path.parent / "duckdb_tmp")})
    register_in = _splink_input(register, key="person_id", is_register=True).to_arrow()
    records_in = _splink_input(records, key="record_id", is_register=False).to_arrow()
    del register, records
    con.register("register_arrow", register_in)
    con.register("records_arrow", records_in)
    con.execute("create table register_in as from register_arrow")
    con.execute("create table records_in as from records_arrow")
    con.unregister("register_arrow")
    con.unregister("records_arrow")
    del register_in, records_in
    db_api = DuckDBAPI(connection=con)
    register_sdf = db_api.register("register_in", dataset_display_name="register")
    records_sdf = db_api.register("records_in", dataset_display_name="records")
    linker = Linker([register_sdf, records_sdf], splink_settings(), log_level=logging.WARNING)
    progress.done("prepare")

    training = linker.training
    training.estimate_probability_two_random_records_match([block_on("person_id")], recall=0.7)
    training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=7)
    progress.done("train_u")
    training.estimate_parameters_using_expectation_maximisation(block_on("person_id"))
    # Within exact-ID blocks a true match never disagrees on birth date or region, so
    # those "else" levels are learnt from the two sessions that do not block on them.
    for rule in (block_on("birth_date", "surname"), block_on("name")):
        training.estimate_parameters_using_expectation_maximisation(rule, max_pairs=EM_MAX_PAIRS)
    progress.done("train_em")
    linker.misc.save_model_to_json(str(progress.path.parent / "splink_model.json"), overwrite=True)

    predictions = linker.inference.predict(threshold_match_probability=PREDICT_FLOOR)
    progress.done("predict")
    pairs = predictions.physical_name
    best = con.sql(
        f"""
        with pairs as (
            select
                case when source_dataset_l = 'records' then unique_id_l else unique_id_r end
                    as record_id,
                case when source_dataset_l = 'records' then unique_id_r else unique_id_l end
                    as person_id,
                match_probability
            from {pairs}
        ),
        best as (
            select *, max(match_probability) over (partition by record_id) as top
            from pairs
        )
        select record_id, any_value(person_id) as person_id, max(match_probability) as score
        from best
        where match_probability = top
        group by record_id
        having count(distinct person_id) = 1
        """
    ).pl()
    progress.done("best_link")
    info = {
        "pairs_scored": con.sql(f"select count(*) from {pairs}").fetchall()[0][0],
        "probability_two_random_records_match": (
            linker._settings_obj._probability_two_random_records_match
        ),
    }
    (progress.path.parent / "splink_info.json").write_text(json.dumps(info))
    return best.with_columns(pl.lit("splink").alias("method"))


def run_child(method: str, data: Path, out: Path) -> None:
    """Child process entry: link, write ``links.parquet`` and ``child.json`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    progress = Progress(out / "progress.jsonl")
    links = (link_ours if method == "ours" else link_splink)(data, progress)
    link_seconds = sum(s for k, s in progress.stages.items() if k != "read")
    links.write_parquet(out / "links.parquet")
    (out / "child.json").write_text(
        json.dumps({"stages": progress.stages, "link_seconds": round(link_seconds, 2)})
    )


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
    import psutil

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    import duckdb
    import splink

    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "polars": pl.__version__,
        "splink": splink.__version__,
        "duckdb": duckdb.__version__,
        "git_commit": commit,
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


# --- reports ----------------------------------------------------------------------------


def write_markdown(report: dict[str, Any], path: Path) -> None:
    m = report["machine"]
    lines = [
        "# Death-record linkage: ours vs Splink 5 (DuckDB)",
        "",
        f"Machine: {m['cpu_model']}, {m['cores']} cores, {m['memory_gib']} GiB, shared with "
        f"other engineers' runs (load average noted per figure). Commit {m['git_commit']}, "
        f"polars {m['polars']}, Splink {m['splink']}, DuckDB {m['duckdb']}.",
        "",
        "Reproduce: `" + report["command"] + "`",
        "",
        "*link s* = linkage time inside the method's child process, after reading the Parquet "
        "inputs; for Splink it includes preparing its inputs (pinyin, blocking keys), training "
        "(u sampling, EM), predicting and picking each record's best link. *without training* "
        "= the same minus training, i.e. what a month would cost with a Splink model trained "
        "once and reused. Peak RSS = `ru_maxrss` of the method's own child process (whole "
        f"run). County best of {report['repeat']} (Splink at county too), 2M best of "
        f"{report['repeat']} for ours and once for Splink, province once. Load = 1-minute load "
        "average before–after the run (2 cores; other engineers' jobs).",
        "",
        "| size | method | link s | without training s | peak RSS GiB | precision | recall | "
        "F1 | links (wrong) | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, size in report["sizes"].items():
        label = f"{name} {size['register']:,} × {size['records']:,}"
        for method in METHODS:
            r = size.get(method)
            if r is None:
                continue
            rss = f"{r['peak_rss_mib'] / 1024:.1f}"
            load = f"{r['load_before'][0]:.1f}–{r['load_after'][0]:.1f}"
            if r["status"] != "ok":
                last = r["stages_done"][-1]["stage"] if r["stages_done"] else "none"
                lines.append(
                    f"| {label} | {method} | **{r['status']}** at {r['wall_seconds']:.0f} s "
                    f"(last stage done: {last}) | – | {rss} | – | – | – | – | {load} |"
                )
                continue
            variants = (
                [("ours", r["quality"]["as_linked"])]
                if method == "ours"
                else [
                    ("Splink p ≥ 0.9", r["quality"]["fixed_0.9"]),
                    (
                        f"Splink p ≥ {r['quality']['best_f1']['threshold']:.3g} (best F1)",
                        r["quality"]["best_f1"],
                    ),
                ]
            )
            for variant, q in variants:
                lines.append(
                    f"| {label} | {variant} | {r['link_seconds']:.1f} | "
                    f"{r['without_training_seconds']:.1f} | {rss} | "
                    f"{q['precision']:.4f} | {q['recall']:.4f} | {q['f1']:.4f} | "
                    f"{q['links']:,} ({q['wrong']:,}) | {load} |"
                )
    lines += ["", *report.get("conclusion", []), ""]
    for name, size in report["sizes"].items():
        ours, spl = size.get("ours"), size.get("splink")
        if not (ours and spl and ours["status"] == "ok" and spl["status"] == "ok"):
            continue
        lines += [
            f"### Correct / wrong links by kind of record, {name}",
            "",
            "| kind | name written | records | ours correct / wrong | "
            "Splink 0.9 correct / wrong | Splink best-F1 correct / wrong |",
            "|---|---|---|---|---|---|",
        ]
        keyed = {
            key: {(k["kind"], k["name_kind"]): k for k in q["by_kind"]}
            for key, q in (
                ("ours", ours["quality"]["as_linked"]),
                ("s09", spl["quality"]["fixed_0.9"]),
                ("sbest", spl["quality"]["best_f1"]),
            )
        }
        for kind, row in keyed["ours"].items():
            cells = [f"{keyed[k][kind]['correct']} / {keyed[k][kind]['wrong']}" for k in keyed]
            lines.append(
                f"| {kind[0]} | {kind[1]} | {row['records']} | " + " | ".join(cells) + " |"
            )
        lines.append("")
    path.write_text("\n".join(lines))


def write_plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n, s in report["sizes"].items() if all(m in s for m in METHODS)]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    width = 0.38
    for offset, method in ((-width / 2, "ours"), (width / 2, "splink")):
        runs = [report["sizes"][n][method] for n in names]
        seconds = [r.get("link_seconds", r["wall_seconds"]) for r in runs]
        hatches = ["" if r["status"] == "ok" else "//" for r in runs]
        xs = [i + offset for i in range(len(names))]
        bars = axes[0].bar(xs, seconds, width, label=method)
        for bar, hatch in zip(bars, hatches, strict=True):
            bar.set_hatch(hatch)
        axes[1].bar(xs, [r["peak_rss_mib"] / 1024 for r in runs], width, label=method)
        f1 = [
            (
                r["quality"]["as_linked" if method == "ours" else "best_f1"]["f1"]
                if r["status"] == "ok"
                else 0
            )
            for r in runs
        ]
        axes[2].bar(xs, f1, width, label=method + ("" if method == "ours" else " (best-F1 p)"))
    reused = [report["sizes"][n]["splink"].get("without_training_seconds") for n in names]
    axes[0].scatter(
        [i + width / 2 for i in range(len(names))],
        [r if r is not None else float("nan") for r in reused],
        marker="_", s=600, color="black", zorder=3, label="splink, model trained beforehand",
    )  # fmt: skip
    axes[0].set_yscale("log")
    axes[0].set_title("link time, s (log; hatched = timed out)")
    axes[1].set_title("peak RSS of the process, GiB")
    axes[2].set_title("F1 against ground truth")
    axes[2].set_ylim(0.8, 1.0)
    for ax in axes:
        ax.set_xticks(range(len(names)), names)
        ax.legend(fontsize=8)
    fig.suptitle("Death-record linkage: features.linkage vs Splink 5 (DuckDB), 2 shared cores")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    b = sub.add_parser("build", help="internal: build one dataset")
    b.add_argument("register", type=int)
    b.add_argument("records", type=int)
    b.add_argument("directory", type=Path)
    c = sub.add_parser("child", help="internal: run one method")
    c.add_argument("method", choices=METHODS)
    c.add_argument("data", type=Path)
    c.add_argument("out", type=Path)
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
