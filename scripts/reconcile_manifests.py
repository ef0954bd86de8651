"""Check that every processed month under OUT reconciles: rows_in = loaded + quarantined.

Usage: python scripts/reconcile_manifests.py OUT   (exit 1 if any dataset does not reconcile)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(out: Path) -> int:
    bad = 0
    for month in sorted(p for p in out.glob("20??-??") if (p / "manifest.json").exists()):
        manifest = json.loads((month / "manifest.json").read_text(encoding="utf-8"))
        cells = []
        for dataset, entry in manifest["inputs"].items():
            ok = entry["rows_in"] == entry["rows_loaded"] + entry["rows_quarantined"]
            bad += not ok
            cells.append(
                f"{dataset} {entry['rows_in']}={entry['rows_loaded']}+{entry['rows_quarantined']}"
                + ("" if ok else " MISMATCH")
            )
        print(month.name, "| " + " | ".join(cells), "| cases", manifest["cases"], "| model", manifest["model_version"])  # noqa: T201
    print("manifests not reconciling:", bad)  # noqa: T201
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
