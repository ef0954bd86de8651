"""Shared fixtures: a Prefect test server per test session, and small demo counties."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect API for flow tests (the first start in a fresh env is slow)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="session")
def tiny_county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated county (4 months, mixed formats) shared read-only by tests."""
    from sentinel.demo import generate_county

    dest = tmp_path_factory.mktemp("tiny-county")
    generate_county(dest, seed=11, scale=0.01, months=4, formats="mixed")
    return dest


@pytest.fixture
def county_copy(tiny_county: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny county that a test may damage."""
    dest = tmp_path / "county"
    shutil.copytree(tiny_county, dest)
    return dest
