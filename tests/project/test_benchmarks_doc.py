"""docs/benchmarks.md is a reference: its stage tables are the recorded results, and it is short.

The county and province stage tables are copied by hand from ``benchmarks/results/``; a
table edited against the wrong result (the province once showed the county's stages) or a
result re-run without its table fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
MAX_DOC_LINES = 250

# section heading, table header, result file, the JSON keys of the table's columns
TABLES = {
    "county": (
        "## County month, stage by stage",
        "| stage | wall s | CPU s | peak RSS GiB |",
        "county_month.json",
        ("wall_s", "cpu_s", "peak_rss_gib"),
    ),
    "province": (
        "## Province month",
        "| stage | wall s | peak GiB | cores busy |",
        "province_month.json",
        ("wall_s", "peak_rss_gib", "cores_busy"),
    ),
}


def _table(heading: str, header: str) -> dict[str, list[float]]:
    """The stage rows of the first table under ``heading``: stage name to its figures."""
    section = DOC.split(heading, 1)[1].split("\n## ", 1)[0]
    lines = section.split(header, 1)[1].strip().splitlines()[1:]
    rows: dict[str, list[float]] = {}
    for line in lines:
        if not line.startswith("|"):
            break
        cells = [c.strip().strip("*") for c in line.strip("|").split("|")]
        rows[cells[0].split(" (", 1)[0]] = [float(c) for c in cells[1:]]
    return rows


@pytest.mark.parametrize("name", sorted(TABLES))
def test_a_stage_table_shows_its_recorded_result(name: str) -> None:
    heading, header, result, keys = TABLES[name]
    recorded = json.loads((ROOT / "benchmarks" / "results" / result).read_text(encoding="utf-8"))
    table = _table(heading, header)
    assert table.pop("total")[0] == pytest.approx(recorded["total_s"], abs=0.05)
    assert set(table) == set(recorded["stages"]), f"{name}: the table's stages are not the result's"
    for stage, figures in table.items():
        expected = [recorded["stages"][stage][key] for key in keys]
        # Two decimals: half a unit of the last digit, and the float error of a value that
        # lies exactly halfway (0.805 shown as 0.81).
        assert figures == pytest.approx(expected, abs=0.005 + 1e-9), (
            f"{name}, {stage}: not as in {result}"
        )


def test_the_benchmarks_page_stays_a_short_reference() -> None:
    assert len(DOC.splitlines()) <= MAX_DOC_LINES, "older runs belong in benchmarks/results/"
