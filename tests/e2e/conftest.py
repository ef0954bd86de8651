"""A served review app for browser tests: the tiny county's first two months (scored and
recorded without Prefect), users created with `sentinel users add`, and `sentinel review`
running in a subprocess on a free localhost port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import polars as pl
import pytest

from sentinel.config import load_config

sys.path.insert(0, str(Path(__file__).parents[1] / "sentinel" / "review"))
from review_output import build_output  # noqa: E402  the review tests' output folder

MONTHS = ("2020-01", "2020-02")
PASSWORD = "correct horse battery"  # a generated test user
SENTINEL = [sys.executable, "-m", "sentinel.cli"]


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    site = root / "site.toml"
    # Plain http on localhost: the session cookie cannot be Secure here.
    site.write_text('[review]\nlanguage = "zh"\nsecure_cookies = false\n', encoding="utf-8")
    port = _free_port()
    env.pop("SENTINEL_REVIEW_PASSWORD")
    server = subprocess.Popen(
        [*SENTINEL, "review", "--out", str(out), "--port", str(port), "--config", str(site)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                output = server.stdout.read().decode() if server.stdout else ""
                raise RuntimeError(f"sentinel review did not start:\n{output}")
            time.sleep(0.3)
        yield ServedApp(url, "zhao", PASSWORD, "qian", out, MONTHS[-1], cases)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
