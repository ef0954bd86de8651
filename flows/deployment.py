"""When the monthly audit runs unattended: 02:00 on the 5th of each month, Beijing time.

Two ways to put it on a schedule, both needing a Prefect API (see docs/operations.md):

- ``prefect deploy --all`` with the repository's ``prefect.yaml`` and a worker on the
  ``sentinel-pool`` process work pool (the schedule there must match :func:`monthly_schedule`;
  a test checks it does);
- :func:`serve_monthly` (``sentinel serve``): one long-running process on one machine that
  registers the deployment and runs the scheduled flow runs itself.
"""

from __future__ import annotations

from pathlib import Path

from prefect.schedules import Cron, Schedule

from flows.monthly import SCHEDULE_TIMEZONE, scheduled_audit

DEPLOYMENT_NAME = "monthly-audit"
MONTHLY_CRON = "0 2 5 * *"
"""02:00 on the 5th: the month's drops are due by the 3rd (a day's margin for late files)."""


def monthly_schedule() -> Schedule:
    """The monthly audit's schedule: cron ``0 2 5 * *`` in the ``Asia/Shanghai`` timezone."""
    return Cron(MONTHLY_CRON, timezone=SCHEDULE_TIMEZONE)


def deployment_parameters(
    inbox: Path, out: Path, store: Path | None = None, config_file: Path | None = None
) -> dict[str, str]:
    """Default parameters of the scheduled runs (paths as text; unset options left out).

    ``month`` is never a default: each scheduled run works out last month when it starts.
    """
    parameters = {"inbox": inbox, "out": out, "store": store, "config_file": config_file}
    return {name: str(path) for name, path in parameters.items() if path is not None}


def serve_monthly(
    inbox: Path, out: Path, store: Path | None = None, config_file: Path | None = None
) -> None:
    """Register the ``scheduled-audit/monthly-audit`` deployment and serve its runs.

    Blocks until interrupted (Ctrl-C or SIGTERM), then pauses the schedule so no run
    piles up while nothing is serving it. Needs a reachable Prefect API (``PREFECT_API_URL``);
    relative paths are made absolute first, since runs may start from another folder.
    """
    scheduled_audit.serve(
        name=DEPLOYMENT_NAME,
        schedule=monthly_schedule(),
        parameters=deployment_parameters(
            Path(inbox).absolute(),
            Path(out).absolute(),
            Path(store).absolute() if store is not None else None,
            Path(config_file).absolute() if config_file is not None else None,
        ),
        tags=["payout-sentinel"],
    )
