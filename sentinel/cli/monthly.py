"""The monthly job and its inputs: the demo county, a month's run, validating a drop,
the schedule, and the pre-disbursement screen."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from sentinel.cli.common import (
    ConfigOption,
    CuratedOption,
    InboxOption,
    RunOutOption,
    app,
    console,
    err,
    fail,
    fail_machine,
    fail_prefect_start,
    prefect_api_problem,
    prefect_did_not_start,
    private,
    site_config,
)

if TYPE_CHECKING:
    from sentinel.cli.monthly_run import PartitionOptions
    from sentinel.config import SentinelConfig

#: The monthly job for one month (the flow, in this process or partitioned on Dask).
MonthRunner = Callable[[str], Any]


@app.command()
def demo(
    dest: Annotated[
        Path, typer.Option(help="Folder for the demo county (inbox/ and truth/).")
    ] = Path("demo"),
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed gives the same county.")
    ] = 7,
    scale: Annotated[
        float, typer.Option(help="1.0 = the full reference county (~188k pensioners).")
    ] = 1.0,
    months: Annotated[
        int, typer.Option(help="Number of monthly drops from 2020-01 (at least 3).")
    ] = 12,
    alternative_rates: Annotated[
        bool,
        typer.Option(
            "--alternative-rates",
            help="Use the alternative typology rates (a second, different county).",
        ),
    ] = False,
    world: Annotated[
        str | None,
        typer.Option(
            help="A named world (sentinel.demo.worlds): the reference county under one real phenomenon, e.g. 'lagging_standard', 'common_fraud'. Lists the names when unknown."
        ),
    ] = None,
    formats: Annotated[
        str,
        typer.Option(
            help="'mixed' (parquet, CSV UTF-8/BOM/GB18030, xlsx; messy rows) or 'parquet' (clean parquet); nothing else."
        ),
    ] = "mixed",
) -> None:
    """Generate a demo county: monthly drops in DEST/inbox and ground truth in DEST/truth.

    Without --world the county is the reference world. Example:
    sentinel demo --dest demo --seed 7 --scale 1.0 --world lagging_standard
    """
    from sentinel.demo import TypologyRates, check_demo_options, generate_county
    from sentinel.demo import world as named_world

    try:
        check_demo_options(dest, scale=scale, months=months, formats=formats)
        chosen = named_world(world or "reference")
    except ValueError as exc:
        fail(exc)
    rates = TypologyRates.alternative() if alternative_rates else chosen.rates
    with console.status("generating the demo county…") as status:
        summary = generate_county(
            dest,
            seed=seed,
            scale=scale,
            months=months,
            rates=rates,
            phenomena=chosen.phenomena,
            world_name=chosen.name,
            formats=formats,  # type: ignore[arg-type]
            progress=lambda message: status.update(f"demo county: {message}"),
        )
    pensioners = sum(summary.pensioners.values())
    console.print(
        f"demo county written: {pensioners:,} pensioners, {len(summary.months)} months "
        f"({summary.months[0]}..{summary.months[-1]}); inbox [bold]{summary.inbox}[/], "
        f"ground truth [bold]{summary.truth}[/] (kept outside the inbox)",
        highlight=False,
    )


@app.command()
def run(
    inbox: InboxOption,
    month: Annotated[
        str, typer.Option(help="Month to run, YYYY-MM. Earlier unprocessed months run first.")
    ],
    out: RunOutOption,
    store: CuratedOption = None,
    config: ConfigOption = None,
    partition_by: Annotated[
        str | None,
        typer.Option(
            "--partition-by",
            help="'region': one partition per region, run on Dask (docs/operations.md, Partitioned runs). Absent: one process.",
        ),
    ] = None,
    region_digits: Annotated[
        int | None,
        typer.Option(
            help="With --partition-by region: leading digits of region_code per partition (2 province, 4 prefecture (default), 6 county)."
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="With --partition-by: workers of the local Dask cluster (processes, 1 thread each; default 2). Not with --dask-address."
        ),
    ] = None,
    dask_address: Annotated[
        str | None,
        typer.Option(
            help="With --partition-by: an existing Dask scheduler (tcp://host:8786) instead of a local cluster; it must answer."
        ),
    ] = None,
    reprocess_from: Annotated[
        str | None,
        typer.Option(
            "--reprocess-from",
            help="Run this month (YYYY-MM) and every later one again, e.g. after an input file of it changed; the case store's listings of those months are derived again.",
        ),
    ] = None,
) -> None:
    """Run the monthly audit flow for MONTH (and any earlier month not yet processed).

    Exit code 2 when a drop cannot be trusted (missing file or column, undecodable bytes,
    critical validation failure); nothing under OUT/YYYY-MM is then written. Exit code 2
    too when an input file of a processed month changed since (run again with
    --reprocess-from that month), or when another run holds OUT for longer than
    run.lock_wait_seconds (one run per output folder at a time). Exit code 1 when no
    Prefect API answers: the server PREFECT_API_URL names, or, without it, the temporary one
    within PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS (180 unless set).

    Example: sentinel run --inbox demo/inbox --month 2020-12 --out demo/out
    Changed input: sentinel run --inbox demo/inbox --month 2020-12 --out demo/out --reprocess-from 2020-11
    Province: sentinel run --inbox prov/inbox --month 2020-12 --out prov/out --partition-by region --workers 2
    """
    from sentinel.cli.monthly_run import partition_options, print_summary

    cfg = _checked_run_options(inbox, month, out, store, config, partition_by, reprocess_from)
    try:
        parted = partition_options(partition_by, region_digits, workers, dask_address)
    except ValueError as exc:
        fail(exc)
    problem = prefect_api_problem()
    if problem is not None:
        fail_machine(
            f"{problem}: start it (docs/operations.md), or unset PREFECT_API_URL to run on a "
            "temporary one"
        )
    if parted is None:
        run_month = _monthly_runner(inbox, out, store, config)
    else:
        run_month = _partitioned_runner(inbox, out, config, parted)
    print_summary(_run_months(inbox, month, out, cfg, reprocess_from, run_month))


def _checked_run_options(
    inbox: Path,
    month: str,
    out: Path,
    store: Path | None,
    config: Path | None,
    partition_by: str | None,
    reprocess_from: str | None,
) -> SentinelConfig:
    """The site configuration, once the options of ``sentinel run`` make sense together."""
    from flows.monthly import months_to_run
    from sentinel.cli.monthly_run import check_folder_option, check_month_drop

    try:
        cfg = site_config(config)
        check_folder_option(out, "--out")
        if store is not None:
            check_folder_option(store, "--store")
        if not inbox.is_dir():
            raise ValueError(f"--inbox {inbox}: not a folder")
        months_to_run(inbox, out, month, reprocess_from)
        check_month_drop(inbox, month)
        if partition_by is not None and store is not None:
            raise ValueError(
                "--store does not apply to a partitioned run (its history is OUT/partitions)"
            )
    except (ValueError, FileNotFoundError) as exc:
        fail(exc)
    return cfg


def _monthly_runner(inbox: Path, out: Path, store: Path | None, config: Path | None) -> MonthRunner:
    """``run_month(m)``: the monthly audit flow, in this process."""
    from flows.monthly import monthly_audit

    def run_month(m: str):  # type: ignore[no-untyped-def]
        return monthly_audit(inbox=inbox, out=out, month=m, store=store, config_file=config)

    return run_month


def _partitioned_runner(
    inbox: Path, out: Path, config: Path | None, options: PartitionOptions
) -> MonthRunner:
    """``run_month(m)``: the partitioned audit flow on a Dask cluster (one partition per
    region)."""

    def run_month(m: str):  # type: ignore[no-untyped-def]
        from flows.partitioned import dask_runner, partitioned_audit

        runner = dask_runner(options.workers, options.dask_address)
        audit = partitioned_audit.with_options(task_runner=runner)
        return audit(
            inbox=inbox, out=out, month=m, region_digits=options.region_digits, config_file=config
        )

    return run_month


def _run_months(
    inbox: Path,
    month: str,
    out: Path,
    cfg: SentinelConfig,
    reprocess_from: str | None,
    run_month: MonthRunner,
) -> list[Any]:
    """Every month to run up to ``month``, one at a time under the output folder's lock
    (after deriving again what ``--reprocess-from`` supersedes); their summaries."""
    from flows.monthly import check_processed_inputs, guard_output, months_to_run
    from sentinel.contract import ContractError
    from sentinel.io.runlock import RunLocked

    def waiting(holder) -> None:  # type: ignore[no-untyped-def]
        who = holder.describe() if holder is not None else "another process"
        err.print(
            f"{out} is in use by {who}: waiting up to {cfg.run.lock_wait_seconds:g} s",
            highlight=False,
            soft_wrap=True,
        )

    def stale(holder) -> None:  # type: ignore[no-untyped-def]
        err.print(
            f"took over the lock of {holder.describe()}, which is no longer running",
            highlight=False,
            soft_wrap=True,
        )

    summaries = []
    try:
        with guard_output(out, cfg, on_wait=waiting, on_stale=stale):
            check_processed_inputs(inbox, out, month, reprocess_from)
            if reprocess_from is not None:
                _supersede(inbox, out, cfg, reprocess_from)
            todo = months_to_run(inbox, out, month, reprocess_from)
            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total} months"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            ) as progress:
                bar = progress.add_task("monthly audit", total=len(todo))
                for m in todo:
                    progress.update(bar, description=f"month {m}")
                    try:
                        summaries.append(run_month(m))
                    except ContractError as exc:
                        progress.stop()
                        fail(exc)
                    except RuntimeError as exc:
                        if not prefect_did_not_start(exc):
                            raise
                        progress.stop()
                        fail_prefect_start()
                    progress.advance(bar)
    except (ContractError, RunLocked) as exc:
        fail(exc)
    return summaries


def _supersede(inbox: Path, out: Path, cfg: SentinelConfig, reprocess_from: str) -> None:
    """Derive the case store's listings again from ``reprocess_from`` on (naming the
    changed inputs) and supersede the processed months from it."""
    from flows.context import case_store_url
    from sentinel.casestore import CaseStore
    from sentinel.io.store import processed_months, supersede_months
    from sentinel.manifest import changed_inputs

    again = [m for m in processed_months(out) if m >= reprocess_from]
    if not again:
        return
    changed = sorted({str(e.file) for _, e in changed_inputs(inbox, out, again)})
    reason = f"--reprocess-from {reprocess_from}" + (
        f"; changed: {', '.join(changed)}" if changed else ""
    )
    with CaseStore(case_store_url(out, cfg)) as cases:
        cases.rederive_from(reprocess_from, reason=reason)
    supersede_months(out, reprocess_from)


@app.command()
def validate(
    inbox: InboxOption,
    month: Annotated[str, typer.Option(help="Month to validate, YYYY-MM.")],
    docs: Annotated[Path, typer.Option(help="Where to write the Data Docs HTML.")] = Path(
        "data-docs"
    ),
    store: Annotated[
        Path | None,
        typer.Option(help="Curated history, for the row-count check against the previous month."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Validate one drop without running the month: quarantine counts and expectation results.

    Example: sentinel validate --inbox demo/inbox --month 2020-03 --docs /tmp/docs
    """
    from sentinel.cli.monthly_run import check_folder_option
    from sentinel.contract import ContractError
    from sentinel.ingest import check_drop, read_drop
    from sentinel.io.store import CuratedStore
    from sentinel.validation import validate_month

    cfg = site_config(config)
    try:
        check_folder_option(docs, "--docs")
    except ValueError as exc:
        fail(exc)
    try:
        with console.status(f"reading and checking {inbox / month}…"):
            drops = check_drop(read_drop(inbox / month), cfg, month=month)
        previous = (
            CuratedStore(store).previous_rows(cfg.ingest.row_count_datasets, month)
            if store is not None
            else {}
        )
        with console.status("validating with Great Expectations…"):
            reports = validate_month(
                {n: d.checked for n, d in drops.items()}, cfg, month, previous, docs
            )
    except ContractError as exc:
        fail(exc)
    table = Table(title=f"validation {month}")
    for col in ("dataset", "rows in", "loaded", "quarantined", "critical", "warnings"):
        table.add_column(col, justify="left" if col == "dataset" else "right")
    for name, drop in drops.items():
        rep = reports[name]
        table.add_row(
            name,
            f"{drop.rows_in:,}",
            f"{drop.loaded.height:,}",
            f"{drop.quarantined.height:,}",
            str(len(rep.critical_failures)),
            str(len(rep.failed_expectations) - len(rep.critical_failures)),
        )
    console.print(table)
    problems = Table(title="failed expectations", show_lines=False)
    for col in ("dataset", "severity", "column", "problem"):
        problems.add_column(col)
    for name, rep in reports.items():
        for failure in rep.failed_expectations:
            problems.add_row(name, failure.severity, failure.named_column or "", failure.problem)
    if problems.row_count:
        console.print(problems)
    console.print(f"data docs: {docs / 'index.html'}", highlight=False)
    critical = [(n, r) for n, r in reports.items() if r.critical_failures]
    if critical:
        name, rep = critical[0]
        file = drops[name].file or name
        failure = rep.critical_failures[0]
        fail(ContractError(str(file), failure.named_column, failure.problem))


@app.command()
def serve(
    inbox: InboxOption,
    out: RunOutOption,
    store: CuratedOption = None,
    config: ConfigOption = None,
) -> None:
    """Run the monthly audit on its schedule: 02:00 on the 5th, Asia/Shanghai time.

    Registers the deployment scheduled-audit/monthly-audit and keeps running, starting each
    scheduled run (last month, after any earlier month not yet processed) until Ctrl-C,
    which pauses the schedule. Needs a Prefect server: start one with `prefect server start`
    and set PREFECT_API_URL (see docs/operations.md). `sentinel run` needs no server.

    Example: PREFECT_API_URL=http://127.0.0.1:4200/api sentinel serve --inbox /data/inbox --out /data/out
    """
    from prefect.settings import get_current_settings

    from flows.deployment import serve_monthly

    if not get_current_settings().api.url:
        # Without it Prefect would serve against a throwaway in-process API: no scheduler, no UI.
        err.print(
            "[bold red]error:[/] no Prefect API: start one with `prefect server start` and set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api (see docs/operations.md)",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)
    problem = prefect_api_problem()
    if problem is not None:
        fail_machine(f"{problem}: start it with `prefect server start` (docs/operations.md)")
    serve_monthly(inbox, out, store=store, config_file=config)


def _newer_records_option(records: str, dataset: str) -> Any:
    """The option of ``screen`` naming a file of ``dataset`` records (``records``: their name
    in the help) that came in after the last processed month, as hard evidence for holds."""
    return typer.Option(
        help=f"{records} records newer than the last processed month ({dataset} columns)."
    )


@app.command()
def screen(
    payroll: Annotated[
        Path,
        typer.Option(
            help="The draft pay file of the coming disbursement (payouts columns; parquet, CSV or xlsx)."
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            help="Output folder of the monthly job (what is known so far); holds go to OUT/screen/<period>/."
        ),
    ],
    deaths: Annotated[Path | None, _newer_records_option("Death", "deaths")] = None,
    custody: Annotated[Path | None, _newer_records_option("Custody", "custody")] = None,
    period: Annotated[
        str | None,
        typer.Option(
            help="Pay period YYYY-MM (default: the one most regular rows name); one some regular row names."
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Hold the payments of a draft pay file that hard evidence says must not be made.

    Holds only on a death or custody linked as proof, a duplicate, a period already paid, an
    ID that fails its checksum, a terminated pension or an unreadable row; writes holds.{csv,xlsx},
    release.csv (the pay file less the holds) and summary.json to OUT/screen/<period>/.

    Example: sentinel screen --payroll demo/drafts/2020-12/payroll.parquet --out demo/out
    """
    from sentinel.contract import ContractError
    from sentinel.screen import screen_payroll

    cfg = site_config(config)
    if out.is_dir():
        private(out, cfg)  # release.csv holds every payee's ID and account
    try:
        result = screen_payroll(payroll, out, cfg, deaths=deaths, custody=custody, period=period)
    except ContractError as exc:
        fail(exc)
    held_yuan = sum(v["yuan"] for v in result.held_by_reason.values())
    table = Table(
        title=f"{result.period}: {result.holds.height:,} of {result.rows:,} payments held (known through {result.known_through})"
    )
    for col in ("reason", "rows", "yuan"):
        table.add_column(col)
    for reason, figures in result.held_by_reason.items():
        table.add_row(reason, f"{int(figures['rows']):,}", f"{figures['yuan']:,.2f}")
    console.print(table)
    console.print(
        f"held {float(result.holds['amount'].fill_null(0.0).sum()):,.2f} of {result.yuan:,.2f} yuan "
        f"(by reason, a row held twice counts twice: {held_yuan:,.2f}); "
        f"holds, release and summary in [bold]{result.folder}[/] ({result.seconds:.1f} s)",
        highlight=False,
    )
