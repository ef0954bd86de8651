"""The run manifest (``OUT/YYYY-MM/manifest.json``): what came in, what was kept, what ran."""

from __future__ import annotations

import subprocess
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sentinel.ingest import DatasetDrop


def code_version() -> str:
    """Package version plus the git commit when run from a checkout (``0.1.0+g1a2b3c4``)."""
    try:
        base = version("payout-sentinel")
    except PackageNotFoundError:
        base = "0+unknown"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return base
    return f"{base}+g{commit}" if commit else base


def build_manifest(
    month: str,
    drops: dict[str, DatasetDrop],
    validation: dict[str, Any],
    *,
    cases: int,
    model_version: str | None,
) -> dict[str, Any]:
    """Assemble the manifest exactly as the data contract lays it out.

    ``rows_in == rows_loaded + rows_quarantined`` holds for every dataset by construction
    and is asserted here, so a manifest that does not reconcile is never written.
    """
    inputs: dict[str, Any] = {}
    for name, drop in drops.items():
        rows_loaded, rows_quarantined = drop.row_counts()
        if drop.rows_in != rows_loaded + rows_quarantined:
            raise AssertionError(
                f"{name}: rows_in {drop.rows_in} != loaded {rows_loaded} + "
                f"quarantined {rows_quarantined}"
            )
        inputs[name] = {
            "file": drop.file.name if drop.file is not None else None,
            "sha256": drop.sha256,
            "rows_in": drop.rows_in,
            "rows_loaded": rows_loaded,
            "rows_quarantined": rows_quarantined,
        }
    return {
        "month": month,
        "inputs": inputs,
        "validation": {
            suite: {
                "success": report.success,
                "failed_expectations": [asdict(f) for f in report.failed_expectations],
            }
            for suite, report in validation.items()
        },
        "cases": cases,
        "code_version": code_version(),
        "model_version": model_version,
    }
