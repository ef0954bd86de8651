"""Shared fixtures: a Prefect test server per test session, and small demo counties."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from sentinel.casestore import CaseStore

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
# Runs the tests start as subprocesses start their own temporary Prefect API; on two busy
# cores its start can take longer than Prefect's default 20 s wait.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


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
    return shutil.copytree(tiny_county, tmp_path / "county")


#: A PostgreSQL server URL for the case-store tests (`.ci/run` starts one and sets it).
POSTGRES_ENV = "SENTINEL_TEST_POSTGRES_URL"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty case-store URL: a SQLite file, or a private schema on the PostgreSQL
    test server (skipped when ``SENTINEL_TEST_POSTGRES_URL`` is not set)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cases.sqlite'}"
        return
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"{POSTGRES_ENV} not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def case_store(store_url: str) -> Iterator[CaseStore]:
    """A fresh case store (SQLite, or PostgreSQL when the test server is set)."""
    with CaseStore(store_url) as store:
        yield store
