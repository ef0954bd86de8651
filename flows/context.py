"""What every task of a run shares besides its inputs: the run's logger and the case
store of its output folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger
from prefect.exceptions import MissingContextError
from prefect.logging import get_logger

from sentinel.casestore import database_url
from sentinel.config import SentinelConfig


def run_logger() -> Any:
    """The run logger inside a flow run; the module logger when a task is called as ``.fn``."""
    try:
        return get_run_logger()
    except MissingContextError:
        return get_logger("sentinel.flows")


def case_store_url(out: Path, config: SentinelConfig) -> str:
    """``$SENTINEL_DATABASE_URL`` when set, else the SQLite file under OUT."""
    return database_url(Path(out) / config.cases.database_file)
