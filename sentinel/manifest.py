"""The run manifest (``OUT/YYYY-MM/manifest.json``): what came in, what was kept, what ran."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterable
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sentinel.contract import DATASETS, ContractError
from sentinel.ingest import DatasetDrop
from sentinel.io.readers import find_dataset_file

MANIFEST_FILE = "manifest.json"


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
    policy_events: list[dict[str, Any]] | None = None,
    upstream_corroboration: list[dict[str, Any]] | None = None,
    case_ids: str,
) -> dict[str, Any]:
    """Assemble the manifest exactly as the data contract lays it out.

    ``policy_events``: what touched a whole scheme this month
    (:func:`features.policy.policy_events`): back-pay, standard changes, reasons too common
    to be evidence alone. ``upstream_corroboration``: per kind of open upstream suspect,
    how often the rules found the list's suspects and the lift their own evidence was
    weighed by (:func:`features.scoring.suspect_lifts`). ``case_ids``: ``keyed`` when the
    case IDs were made with OUT's key, ``unkeyed`` in a folder begun before keys (a later
    run that finds no key then knows whether it was lost).

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
        "policy_events": list(policy_events or []),
        "upstream_corroboration": list(upstream_corroboration or []),
        "case_ids": case_ids,
    }


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in blocks (a province file is gigabytes)."""
    with Path(path).open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def changed_inputs(
    inbox: Path, out: Path, months: Iterable[str]
) -> list[tuple[str, ContractError]]:
    """The input files of processed ``months`` that differ from their month's manifest.

    Each month's ``OUT/YYYY-MM/manifest.json`` holds the sha256 of every dataset file it
    read; a file whose bytes changed, that was removed or replaced, or that appeared since,
    is one :class:`ContractError` naming the file and the month. A month without a
    manifest or whose inbox folder is gone (drops archived) is not compared.
    """
    found: list[tuple[str, ContractError]] = []
    for month in months:
        manifest = Path(out) / month / MANIFEST_FILE
        folder = Path(inbox) / month
        if not manifest.exists() or not folder.is_dir():
            continue
        inputs = json.loads(manifest.read_text(encoding="utf-8")).get("inputs", {})
        for name, recorded in inputs.items():
            if name not in DATASETS:
                continue
            current = find_dataset_file(folder, DATASETS[name])
            expected = recorded.get("file")
            since = f"since {month} was processed"
            if current is None and expected is None:
                continue
            if current is None:
                found.append(
                    (month, ContractError(str(folder / expected), None, f"removed {since}"))
                )
            elif expected is None:
                found.append((month, ContractError(str(current), None, f"added {since}")))
            elif current.name != expected:
                found.append(
                    (month, ContractError(str(current), None, f"replaces {expected} {since}"))
                )
            else:
                now = file_sha256(current)
                if now != recorded.get("sha256"):
                    problem = (
                        f"changed {since} (sha256 {str(recorded.get('sha256'))[:12]}… "
                        f"in its manifest, now {now[:12]}…)"
                    )
                    found.append((month, ContractError(str(current), None, problem)))
    return found
