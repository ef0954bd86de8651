"""The package's one import-time default: polars' allocator settings."""

from __future__ import annotations

import os
import subprocess
import sys

from sentinel import ALLOCATOR_SETTINGS


def _allocator_after_import(module: str, environment: dict[str, str]) -> str:
    code = f"import {module}, os; print(os.environ['_RJEM_MALLOC_CONF'])"
    done = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def _without_allocator() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}


def test_the_flows_set_polars_allocator_before_polars_loads():
    """polars appends a value it finds to its own settings (later ones win in jemalloc):
    ours must be there, last, whichever flow module is imported first."""
    for module in ("flows.monthly", "flows.partitioned"):
        settings = _allocator_after_import(module, _without_allocator())
        assert settings.endswith("," + ALLOCATOR_SETTINGS), settings


def test_an_allocator_setting_in_the_environment_wins():
    settings = _allocator_after_import(
        "flows.monthly", {**_without_allocator(), "_RJEM_MALLOC_CONF": "dirty_decay_ms:0"}
    )
    assert settings.endswith(",dirty_decay_ms:0")
    assert "thp:always,metadata_thp" not in settings
