"""The report of ``splink_bench.py``: ``splink_comparison.md`` (a table per size and
method, and correct / wrong links by kind of record) and ``splink_comparison.png``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from splink_methods import METHODS


def write_markdown(report: dict[str, Any], path: Path) -> None:
    """``splink_comparison.md``: the machine, how to read the figures, the results table and
    the links by kind of record."""
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
    lines += _result_rows(report)
    lines += ["", *report.get("conclusion", []), ""]
    lines += _by_kind_tables(report)
    path.write_text("\n".join(lines))


def _result_rows(report: dict[str, Any]) -> list[str]:
    """One row per size and method (two for Splink: the fixed and the best-F1 threshold)."""
    lines: list[str] = []
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
    return lines


def _by_kind_tables(report: dict[str, Any]) -> list[str]:
    """Correct / wrong links by kind of record, per size both methods finished."""
    lines: list[str] = []
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
    return lines


def write_plot(report: dict[str, Any], path: Path) -> None:
    """``splink_comparison.png``: link time, peak memory and F1 per size, side by side."""
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
