"""The reviewed expectation suites in ``expectations/`` and the values of their parameters.

Policy numbers are not in the JSON: suites reference suite parameters (``{"$PARAMETER": ...}``)
whose values come from the typed :class:`~sentinel.config.SentinelConfig` at run time (see
:func:`suite_parameters`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from sentinel.config import SentinelConfig
from sentinel.contract import DATASETS

EXPECTATIONS_DIR = Path(__file__).resolve().parents[2] / "expectations"
PARAMETER_KEY = "$PARAMETER"


def load_suite(dataset: str) -> dict:
    """The reviewed suite of ``dataset`` as stored in ``expectations/<dataset>.json``.

    Raises ``KeyError`` for a name that is not a contract dataset.
    """
    if dataset not in DATASETS:
        raise KeyError(f"unknown dataset {dataset!r}; expected one of {sorted(DATASETS)}")
    path = EXPECTATIONS_DIR / f"{dataset}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def suite_parameters(
    dataset: str, config: SentinelConfig, month: str, previous_rows: int | None
) -> dict:
    """Values of the suite parameters of ``dataset`` for ``month``, from the typed config.

    - ``min_row_count``: previous month's loaded rows x ``ingest.min_row_ratio_vs_previous``
      rounded up; with no previous month (``previous_rows`` None or 0), 1 for a dataset
      every drop must deliver (a register or a ledger without rows is no month: a county's
      first month has no other guard) and 0 for the others.
    - ``min_parsed_share``: 1 - ``ingest.max_unparseable_share`` (``mostly`` of not-null checks).
    - ``min_on_period_share``: 1 - ``ingest.max_off_period_share`` (payouts only).
    - ``<scheme>_low`` / ``<scheme>_high``: ``policy.amount_bounds`` in yuan (payouts only).

    Only the parameters the suite references are returned. ``month`` (``YYYY-MM``) is
    accepted so month-dependent parameters can be added without changing callers.
    """
    ingest = config.ingest
    min_rows = 1 if DATASETS[dataset].required else 0
    if previous_rows:
        min_rows = max(min_rows, math.ceil(previous_rows * ingest.min_row_ratio_vs_previous))
    available: dict[str, Any] = {
        "month": month,
        "min_row_count": min_rows,
        "min_parsed_share": round(1.0 - ingest.max_unparseable_share, 10),
        "min_on_period_share": round(1.0 - ingest.max_off_period_share, 10),
    }
    for scheme, bounds in config.policy.amount_bounds.items():
        available[f"{scheme}_low"] = bounds.low
        available[f"{scheme}_high"] = bounds.high
    referenced = _referenced_parameters(load_suite(dataset))
    missing = referenced - available.keys()
    if missing:
        raise KeyError(f"suite {dataset!r} references unknown parameters {sorted(missing)}")
    return {name: available[name] for name in sorted(referenced)}


def resolved(value: Any, parameters: dict) -> Any:
    """``value``, or the parameter's value when it is a ``{"$PARAMETER": name}`` reference."""
    if isinstance(value, dict) and set(value) == {PARAMETER_KEY}:
        return parameters[value[PARAMETER_KEY]]
    return value


def _referenced_parameters(node: Any) -> set[str]:
    if isinstance(node, dict):
        if set(node) == {PARAMETER_KEY}:
            return {node[PARAMETER_KEY]}
        return set().union(*(_referenced_parameters(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_referenced_parameters(v) for v in node))
    return set()
