"""The stage plot of ``docs/benchmarks.md``: where a month's time goes, county and province.

Run: ``.venv/bin/python benchmarks/plot_benchmarks.py benchmarks/results/county_month.json
benchmarks/results/province_month.json --png docs/benchmarks.png``

Each JSON file is what ``benchmarks/pipeline_bench.py --json`` (or
``benchmarks/province_bench.py --json``) wrote: per stage wall seconds and peak RSS, the
read floor and the target. One panel per file, because a county month takes seconds and a
province month minutes; the bar of each stage is its wall time, the dashed line the read
floor, the dotted line the target.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot(results: list[dict], labels: list[str], png: Path) -> None:
    fig, axes = plt.subplots(len(results), 1, figsize=(8, 2.2 + 1.6 * len(results)), squeeze=False)
    for ax, result, label in zip(axes[:, 0], results, labels, strict=True):
        stages = list(result["stages"])
        seconds = [result["stages"][s]["wall_s"] for s in stages]
        ax.barh(stages, seconds, color="#4c72b0")
        ax.invert_yaxis()
        ax.axvline(result["read_floor_s"], color="#dd8452", linestyle="--", label="read floor")
        if result.get("target_s"):
            ax.axvline(result["target_s"], color="#c44e52", linestyle=":", label="target")
        total = result["total_s"]
        rss = result["peak_rss_gib"]
        ax.set_title(
            f"{label}: {total:.1f} s in all, peak RSS {rss:.1f} GiB, "
            f"{result['ratio_to_floor']:.0f}x the read floor",
            fontsize=9,
        )
        ax.set_xlabel("wall seconds")
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, nargs="+")
    parser.add_argument("--png", type=Path, default=Path("docs/benchmarks.png"))
    args = parser.parse_args()
    results = [json.loads(p.read_text(encoding="utf-8")) for p in args.results]
    labels = [r.get("label") or p.stem for r, p in zip(results, args.results, strict=True)]
    plot(results, labels, args.png)


if __name__ == "__main__":
    main()
