"""A served review app for browser tests: the tiny county's first two months (scored and
recorded without Prefect), users created with `sentinel users add`, and `sentinel review`
running in a subprocess on a free localhost port."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from sentinel.config import load_config
from sentinel.review.local_server import SENTINEL, review_served

sys.path.insert(0, str(Path(__file__).parents[1] / "sentinel" / "review"))
# The review tests' output folder, its months and the test users' password.
from review_output import MONTHS, PASSWORD, build_output  # noqa: E402


@dataclass(frozen=True)
class ServedApp:
    url: str
    username: str
    password: str
    #: A user with the reviewer role (复核), who signs off the supervisor's results.
    reviewer: str
    out: Path
    month: str
    cases: pl.DataFrame


@pytest.fixture(scope="module")
def served_app(tiny_county: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    root = tmp_path_factory.mktemp("e2e")
    out = root / "out"
    build_output(tiny_county / "inbox", out, load_config(), MONTHS)
    env = {k: v for k, v in os.environ.items() if k != "SENTINEL_DATABASE_URL"}
    env["SENTINEL_REVIEW_PASSWORD"] = PASSWORD
    cases = pl.read_parquet(out / MONTHS[-1] / "cases.parquet")
    townships = sorted(cases["township"].drop_nulls().unique())
    users = {
        "zhao": ["--role", "supervisor"],
        "qian": ["--role", "reviewer"],
        "wang": ["--role", "auditor", *(arg for t in townships for arg in ("--township", t))],
    }
    for username, options in users.items():
        subprocess.run(
            [*SENTINEL, "users", "add", username, "--out", str(out), *options],
            check=True,
            env=env,
            capture_output=True,
        )
    env.pop("SENTINEL_REVIEW_PASSWORD")
    with review_served(out, env, root) as url:
        yield ServedApp(url, "zhao", PASSWORD, "qian", out, MONTHS[-1], cases)
