"""What every task of a run shares besides its inputs: the run's logger, the case store of
its output folder, and when a failed task is worth a retry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger
from prefect.exceptions import MissingContextError
from prefect.logging import get_logger

from sentinel.casestore import database_url
from sentinel.config import SentinelConfig
from sentinel.contract import ContractError


def run_logger() -> Any:
    """The run logger inside a flow run; the module logger when a task is called as ``.fn``."""
    try:
        return get_run_logger()
    except MissingContextError:
        return get_logger("sentinel.flows")


def case_store_url(out: Path, config: SentinelConfig) -> str:
    """``$SENTINEL_DATABASE_URL`` when set, else the SQLite file under OUT."""
    return database_url(Path(out) / config.cases.database_file)


def worth_a_retry(_task: Any, _task_run: Any, state: Any) -> bool:
    """Whether a failed task may be retried: not when the drop itself breaks the contract (a
    file or column missing, undecodable bytes), which a retry would read again as it is."""
    return not isinstance(state.result(raise_on_failure=False), ContractError)


#: Retries of a task that reads or writes the run's files (``@task(**FILE_RETRY)``): twice,
#: after 2 s and 10 s (a network share's hiccup passes), unless :func:`worth_a_retry` says
#: otherwise.
FILE_RETRY: dict[str, Any] = {
    "retries": 2,
    "retry_delay_seconds": [2, 10],
    "retry_condition_fn": worth_a_retry,
}
