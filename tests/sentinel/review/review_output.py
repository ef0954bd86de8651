"""The review app's output folder as the monthly procedure leaves it, built without Prefect:
shared by the route tests and the browser tests."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from sentinel.casestore import CaseStore
from sentinel.config import SentinelConfig
from sentinel.detection import detect_cases
from sentinel.ingest import check_drop, read_drop
from sentinel.io.reports import write_case_list
from sentinel.io.store import CuratedStore, load_history
from sentinel.listing import publish_listing

#: The months of the shared output folder: the tiny county's first two.
MONTHS = ("2020-01", "2020-02")
PASSWORD = "correct horse battery"  # generated test users only


def build_output(inbox: Path, out: Path, config: SentinelConfig, months: tuple[str, ...]) -> None:
    """The monthly procedure's data steps without Prefect: check, curate, score, record,
    write the case list."""
    curated = CuratedStore(out / "curated")
    for month in months:
        drops = check_drop(read_drop(inbox / month), config, month=month)
        for name in ("beneficiaries", "payouts", "deaths", "certifications", "outcomes"):
            curated.write_month(name, month, drops[name].loaded)
        curated.write_month("quarantined_payouts", month, drops["payouts"].quarantined)
        cases = detect_cases(load_history(out / "curated", month), config).collect()
        with CaseStore(out / config.cases.database_file) as store:
            cases = publish_listing(store, cases, pl.DataFrame(), month, config)
        (out / month).mkdir(parents=True, exist_ok=True)
        write_case_list(cases, out / month, language=config.detection.report_language, month=month)
