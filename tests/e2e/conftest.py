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

from sentinel.casestore import CaseStore
from sentinel.config import load_config
from sentinel.detection import detect_cases
from sentinel.ingest import check_drop, read_drop
from sentinel.io.reports import write_case_list
from sentinel.io.store import CuratedStore, load_history
from sentinel.listing import publish_listing

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


def _build_output(inbox: Path, out: Path) -> None:
    config = load_config()
    curated = CuratedStore(out / "curated")
    for month in MONTHS:
        drops = check_drop(read_drop(inbox / month), config, month=month)
        for name in ("beneficiaries", "payouts", "deaths", "certifications", "outcomes"):
            curated.write_month(name, month, drops[name].loaded)
        curated.write_month("quarantined_payouts", month, drops["payouts"].quarantined)
        cases = detect_cases(load_history(out / "curated", month), config).collect()
        with CaseStore(out / config.cases.database_file) as store:
            cases = publish_listing(store, cases, pl.DataFrame(), month, config)
        (out / month).mkdir(parents=True, exist_ok=True)
        write_case_list(cases, out / month, language=config.detection.report_language, month=month)


@pytest.fixture(scope="module")
def served_app(tiny_county: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    root = tmp_path_factory.mktemp("e2e")
    out = root / "out"
    _build_output(tiny_county / "inbox", out)
    env = {k: v for k, v in os.environ.items() if k != "SENTINEL_DATABASE_URL"}
    env["SENTINEL_REVIEW_PASSWORD"] = PASSWORD
    subprocess.run(
        [*SENTINEL, "users", "add", "zhao", "--role", "supervisor", "--out", str(out)],
        check=True,
        env=env,
        capture_output=True,
    )
    subprocess.run(
        [*SENTINEL, "users", "add", "qian", "--role", "reviewer", "--out", str(out)],
        check=True,
        env=env,
        capture_output=True,
    )
    cases = pl.read_parquet(out / MONTHS[-1] / "cases.parquet")
    townships = sorted(cases["township"].drop_nulls().unique())
    subprocess.run(
        [
            *SENTINEL,
            "users",
            "add",
            "wang",
            "--role",
            "auditor",
            "--out",
            str(out),
            *(arg for t in townships for arg in ("--township", t)),
        ],
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
