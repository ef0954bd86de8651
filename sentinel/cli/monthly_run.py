"""What the monthly job's commands do besides running flows: their options checked before
anything is written (a folder option that names a file, the partitioned run's options given
without ``--partition-by`` or against each other, a Dask scheduler nobody answers at; each
check raises ``ValueError`` naming the option and the problem, the command turns it into
one line), and the table ``sentinel run`` prints when its months are done."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich.table import Table

from flows.monthly import inbox_months
from sentinel.cli.common import console

__all__ = [
    "DEFAULT_REGION_DIGITS",
    "DEFAULT_WORKERS",
    "PartitionOptions",
    "check_folder_option",
    "check_scheduler",
    "partition_options",
    "print_summary",
]

#: ``--region-digits`` when not given: prefecture partitions.
DEFAULT_REGION_DIGITS = 4
#: ``--workers`` when not given: the processes of the local Dask cluster.
DEFAULT_WORKERS = 2
#: A region code (GB/T 2260) has six digits: province, prefecture, county, two each.
REGION_CODE_DIGITS = 6
#: How long a Dask scheduler has to accept a connection before the run is refused.
SCHEDULER_TIMEOUT_SECONDS = 5.0
_SCHEDULER_SCHEMES = ("tcp", "tls")


@dataclass(frozen=True)
class PartitionOptions:
    """How ``sentinel run --partition-by region`` splits and where it runs: ``dask_address``
    an existing scheduler, else a local cluster of ``workers`` processes."""

    region_digits: int
    workers: int
    dask_address: str | None


def check_folder_option(path: Path, option: str) -> None:
    """Refuse a folder option (``--out``, ``--docs``, ``--dest``) that names a file, or a
    folder under a file: the command could not write into it."""
    path = Path(path)
    for existing in (path, *path.parents):
        if not existing.exists():
            continue
        if existing.is_dir():
            return
        where = "" if existing == path else f" ({existing} is a file)"
        raise ValueError(f"{option} {path}: not a folder{where}")


def check_month_drop(inbox: Path, month: str) -> None:
    """Refuse a run whose own month has no drop folder in INBOX before any earlier month is
    caught up: the run would fail there anyway, after minutes of work on the others."""
    if (Path(inbox) / month).is_dir():
        return
    months = inbox_months(inbox)
    held = f"{months[0]}..{months[-1]}" if months else "none"
    raise ValueError(f"{Path(inbox) / month}: drop folder not found (the inbox's months: {held})")


def partition_options(
    partition_by: str | None,
    region_digits: int | None,
    workers: int | None,
    dask_address: str | None,
) -> PartitionOptions | None:
    """The partitioned run's options (None for a run in one process), once they make sense:
    each applies only with ``--partition-by region``; ``--workers`` sizes a local cluster,
    so it cannot go with ``--dask-address``; a region is 1 to 6 leading digits of the
    region code; the scheduler at ``--dask-address`` must answer (:func:`check_scheduler`)."""
    given = {"--region-digits": region_digits, "--workers": workers, "--dask-address": dask_address}
    named = [option for option, value in given.items() if value is not None]
    if partition_by is None:
        if named:
            verb = "applies" if len(named) == 1 else "apply"
            raise ValueError(
                f"{' and '.join(named)} only {verb} with --partition-by region "
                "(without it the run is one process)"
            )
        return None
    if partition_by != "region":
        raise ValueError(f"--partition-by must be 'region', got {partition_by!r}")
    if workers is not None and dask_address is not None:
        raise ValueError(
            "--workers and --dask-address exclude each other: --workers sizes a local "
            "cluster, the scheduler at --dask-address brings its own workers"
        )
    digits = DEFAULT_REGION_DIGITS if region_digits is None else region_digits
    if not 1 <= digits <= REGION_CODE_DIGITS:
        raise ValueError(
            f"--region-digits {digits}: must be 1 to {REGION_CODE_DIGITS} "
            "(leading digits of the six-digit region code)"
        )
    if workers is not None and workers < 1:
        raise ValueError(f"--workers {workers}: must be at least 1")
    if dask_address is not None:
        check_scheduler(dask_address)
    return PartitionOptions(digits, DEFAULT_WORKERS if workers is None else workers, dask_address)


def check_scheduler(address: str, timeout: float = SCHEDULER_TIMEOUT_SECONDS) -> None:
    """Refuse ``--dask-address`` unless it is ``[tcp|tls]://host:port`` and something
    accepts a connection there within ``timeout`` seconds (before the run writes a thing;
    prefect-dask would otherwise retry for half a minute, then fail half-way)."""
    scheme, _, rest = address.rpartition("://")
    if scheme not in ("", *_SCHEDULER_SCHEMES):
        raise ValueError(f"--dask-address {address}: not tcp://host:port or tls://host:port")
    try:
        parts = urlsplit(f"tcp://{rest}")
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or port is None:
        raise ValueError(f"--dask-address {address}: not tcp://host:port or tls://host:port")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise ValueError(
            f"--dask-address {address}: no Dask scheduler answers there ({reason})"
        ) from None


def print_summary(summaries: list[Any]) -> None:
    """Rows in, loaded and quarantined per month and dataset; the last month's cases and
    where its outputs are."""
    if not summaries:
        return
    table = Table(title="monthly audit", show_lines=False)
    for col in ("month", "dataset", "rows in", "loaded", "quarantined"):
        table.add_column(col, justify="right" if col not in ("month", "dataset") else "left")
    for s in summaries:
        for i, (dataset, (rows_in, loaded, quarantined)) in enumerate(s.rows.items()):
            table.add_row(
                s.month if i == 0 else "",
                dataset,
                f"{rows_in:,}",
                f"{loaded:,}",
                f"{quarantined:,}",
            )
    console.print(table)
    last = summaries[-1]
    console.print(
        f"{last.month}: [bold]{last.cases}[/] cases, est. overpayment "
        f"{last.est_overpayment:,.2f} yuan (model {last.model_version})"
    )
    for label, key in (
        ("case list", "cases"),
        ("case list (CSV)", "cases_csv"),
        ("workbook", "workbook"),
        ("quarantine", "quarantine"),
        ("suspension list", "suspensions"),
        ("suspect replies", "suspect_replies"),
        ("manifest", "manifest"),
        ("data docs", "data_docs"),
    ):
        if key in last.outputs:
            console.print(f"  {label:16} {last.outputs[key]}", highlight=False)
