"""The ``sentinel`` command line: demo county, monthly run, validation, evaluation."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

# Prefect's console handler stays quiet (the CLI prints its own progress and summary, and a
# failure must end in one clear line); flow and task logs still reach the Prefect API and UI.
# Set PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL=INFO to see them in the terminal too.
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
os.environ.setdefault("PREFECT_LOGGING_LOG_PRINTS", "false")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")

app = typer.Typer(
    name="sentinel",
    help="payout-sentinel: find improper pension payments and rank the cases worth a field audit.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=False)
err = Console(stderr=True)

EXIT_UNTRUSTED_DROP = 2


def _fail(exc: Exception) -> None:
    err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_UNTRUSTED_DROP)


@app.command()
def demo(
    dest: Annotated[Path, typer.Option(help="Folder for the demo county (inbox/ and truth/).")] = Path("demo"),
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same county.")] = 7,
    scale: Annotated[float, typer.Option(help="1.0 = the full reference county (~188k pensioners).")] = 1.0,
    months: Annotated[int, typer.Option(help="Number of monthly drops from 2020-01.")] = 12,
    alternative_rates: Annotated[bool, typer.Option("--alternative-rates", help="Use the alternative typology rates (a second, different county).")] = False,
    world: Annotated[str | None, typer.Option(help="A named world (sentinel.demo.worlds): the reference county under one real phenomenon, e.g. 'lagging_standard', 'common_fraud'. Lists the names when unknown.")] = None,
    formats: Annotated[str, typer.Option(help="'mixed' (parquet, CSV UTF-8/BOM/GB18030, xlsx; messy rows) or 'parquet'.")] = "mixed",
) -> None:
    """Generate a demo county: monthly drops in DEST/inbox and ground truth in DEST/truth.

    Without --world the county is the reference world. Example:
    sentinel demo --dest demo --seed 7 --scale 1.0 --world lagging_standard
    """
    from sentinel.demo import TypologyRates, generate_county
    from sentinel.demo import world as named_world

    try:
        chosen = named_world(world or "reference")
    except ValueError as exc:
        _fail(exc)
    rates = TypologyRates.alternative() if alternative_rates else chosen.rates
    with console.status("generating the demo county…") as status:
        summary = generate_county(
            dest, seed=seed, scale=scale, months=months, rates=rates, phenomena=chosen.phenomena,
            world_name=chosen.name, formats=formats,  # type: ignore[arg-type]
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
    inbox: Annotated[Path, typer.Option(help="Folder of monthly drops INBOX/YYYY-MM/.")],
    month: Annotated[str, typer.Option(help="Month to run, YYYY-MM. Earlier unprocessed months run first.")],
    out: Annotated[Path, typer.Option(help="Output folder: OUT/YYYY-MM/ per month.")],
    store: Annotated[Path | None, typer.Option(help="Curated history folder (default OUT/curated).")] = None,
    config: Annotated[Path | None, typer.Option(help="Site configuration TOML overriding the defaults.")] = None,
    partition_by: Annotated[str | None, typer.Option("--partition-by", help="'region': one partition per region, run on Dask (docs/operations.md, Partitioned runs). Absent: one process.")] = None,
    region_digits: Annotated[int, typer.Option(help="With --partition-by region: leading digits of region_code per partition (2 province, 4 prefecture, 6 county).")] = 4,
    workers: Annotated[int, typer.Option(help="With --partition-by: workers of the local Dask cluster (processes, 1 thread each).")] = 2,
    dask_address: Annotated[str | None, typer.Option(help="With --partition-by: an existing Dask scheduler (tcp://host:8786) instead of a local cluster.")] = None,
    reprocess_from: Annotated[str | None, typer.Option("--reprocess-from", help="Run this month (YYYY-MM) and every later one again, e.g. after an input file of it changed; the case store's listings of those months are derived again.")] = None,
) -> None:
    """Run the monthly audit flow for MONTH (and any earlier month not yet processed).

    Exit code 2 when a drop cannot be trusted (missing file or column, undecodable bytes,
    critical validation failure); nothing under OUT/YYYY-MM is then written. Exit code 2
    too when an input file of a processed month changed since (run again with
    --reprocess-from that month), or when another run holds OUT for longer than
    run.lock_wait_seconds (one run per output folder at a time).

    Example: sentinel run --inbox demo/inbox --month 2020-12 --out demo/out
    Changed input: sentinel run --inbox demo/inbox --month 2020-12 --out demo/out --reprocess-from 2020-11
    Province: sentinel run --inbox prov/inbox --month 2020-12 --out prov/out --partition-by region --workers 2
    """
    from flows.monthly import (
        case_store_url,
        check_processed_inputs,
        guard_output,
        monthly_audit,
        months_to_run,
    )
    from sentinel.casestore import CaseStore
    from sentinel.config import load_config
    from sentinel.contract import ContractError
    from sentinel.io.runlock import RunLocked
    from sentinel.io.store import processed_months, supersede_months
    from sentinel.manifest import changed_inputs

    try:
        cfg = load_config(config)
        months_to_run(inbox, out, month, reprocess_from)
        if partition_by not in (None, "region"):
            raise ValueError(f"--partition-by must be 'region', got {partition_by!r}")
        if partition_by is not None and store is not None:
            raise ValueError("--store does not apply to a partitioned run (its history is OUT/partitions)")
    except (ValueError, FileNotFoundError) as exc:
        _fail(exc)

    def run_month(m: str):  # type: ignore[no-untyped-def]
        if partition_by is None:
            return monthly_audit(inbox=inbox, out=out, month=m, store=store, config_file=config)
        from flows.partitioned import dask_runner, partitioned_audit

        audit = partitioned_audit.with_options(task_runner=dask_runner(workers, dask_address))
        return audit(inbox=inbox, out=out, month=m, region_digits=region_digits, config_file=config)

    def waiting(holder) -> None:  # type: ignore[no-untyped-def]
        who = holder.describe() if holder is not None else "another process"
        err.print(f"{out} is in use by {who}: waiting up to {cfg.run.lock_wait_seconds:g} s", highlight=False, soft_wrap=True)

    def stale(holder) -> None:  # type: ignore[no-untyped-def]
        err.print(f"took over the lock of {holder.describe()}, which is no longer running", highlight=False, soft_wrap=True)

    summaries = []
    try:
        with guard_output(out, cfg, on_wait=waiting, on_stale=stale):
            check_processed_inputs(inbox, out, month, reprocess_from)
            if reprocess_from is not None:
                again = [m for m in processed_months(out) if m >= reprocess_from]
                if again:
                    changed = sorted({str(e.file) for _, e in changed_inputs(inbox, out, again)})
                    reason = f"--reprocess-from {reprocess_from}" + (f"; changed: {', '.join(changed)}" if changed else "")
                    with CaseStore(case_store_url(out, cfg)) as cases:
                        cases.rederive_from(reprocess_from, reason=reason)
                    supersede_months(out, reprocess_from)
            todo = months_to_run(inbox, out, month, reprocess_from)
            with Progress(
                SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                TextColumn("{task.completed}/{task.total} months"), TimeElapsedColumn(),
                console=console, transient=True,
            ) as progress:
                bar = progress.add_task("monthly audit", total=len(todo))
                for m in todo:
                    progress.update(bar, description=f"month {m}")
                    try:
                        summaries.append(run_month(m))
                    except ContractError as exc:
                        progress.stop()
                        _fail(exc)
                    progress.advance(bar)
    except (ContractError, RunLocked) as exc:
        _fail(exc)
    _print_summary(summaries)


def _print_summary(summaries) -> None:  # type: ignore[no-untyped-def]
    if not summaries:
        return
    table = Table(title="monthly audit", show_lines=False)
    for col in ("month", "dataset", "rows in", "loaded", "quarantined"):
        table.add_column(col, justify="right" if col not in ("month", "dataset") else "left")
    for s in summaries:
        for i, (dataset, (rows_in, loaded, quarantined)) in enumerate(s.rows.items()):
            table.add_row(s.month if i == 0 else "", dataset, f"{rows_in:,}", f"{loaded:,}", f"{quarantined:,}")
    console.print(table)
    last = summaries[-1]
    console.print(
        f"{last.month}: [bold]{last.cases}[/] cases, est. overpayment "
        f"{last.est_overpayment:,.2f} yuan (model {last.model_version})"
    )
    for label, key in (
        ("case list", "cases"), ("case list (CSV)", "cases_csv"), ("workbook", "workbook"),
        ("quarantine", "quarantine"), ("suspension list", "suspensions"),
        ("suspect replies", "suspect_replies"), ("manifest", "manifest"), ("data docs", "data_docs"),
    ):
        if key in last.outputs:
            console.print(f"  {label:16} {last.outputs[key]}", highlight=False)


@app.command()
def validate(
    inbox: Annotated[Path, typer.Option(help="Folder of monthly drops INBOX/YYYY-MM/.")],
    month: Annotated[str, typer.Option(help="Month to validate, YYYY-MM.")],
    docs: Annotated[Path, typer.Option(help="Where to write the Data Docs HTML.")] = Path("data-docs"),
    store: Annotated[Path | None, typer.Option(help="Curated history, for the row-count check against the previous month.")] = None,
    config: Annotated[Path | None, typer.Option(help="Site configuration TOML overriding the defaults.")] = None,
) -> None:
    """Validate one drop without running the month: quarantine counts and expectation results.

    Example: sentinel validate --inbox demo/inbox --month 2020-03 --docs /tmp/docs
    """
    from sentinel.config import load_config
    from sentinel.contract import ContractError
    from sentinel.ingest import check_drop, read_drop
    from sentinel.io.store import CuratedStore
    from sentinel.validation import validate_month

    cfg = load_config(config)
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
        _fail(exc)
    table = Table(title=f"validation {month}")
    for col in ("dataset", "rows in", "loaded", "quarantined", "critical", "warnings"):
        table.add_column(col, justify="left" if col == "dataset" else "right")
    for name, drop in drops.items():
        rep = reports[name]
        table.add_row(
            name, f"{drop.rows_in:,}", f"{drop.loaded.height:,}", f"{drop.quarantined.height:,}",
            str(len(rep.critical_failures)),
            str(len(rep.failed_expectations) - len(rep.critical_failures)),
        )
    console.print(table)
    problems = Table(title="failed expectations", show_lines=False)
    for col in ("dataset", "severity", "column", "problem"):
        problems.add_column(col)
    for name, rep in reports.items():
        for failure in rep.failed_expectations:
            problems.add_row(name, failure.severity, failure.column or "", failure.problem)
    if problems.row_count:
        console.print(problems)
    console.print(f"data docs: {docs / 'index.html'}", highlight=False)
    critical = [(n, r) for n, r in reports.items() if r.critical_failures]
    if critical:
        name, rep = critical[0]
        file = drops[name].file or name
        _fail(ContractError(str(file), rep.critical_failures[0].column, rep.critical_failures[0].problem))


@app.command()
def evaluate(
    truth: Annotated[Path | None, typer.Option(help="Ground-truth folder of a demo county (DEMO/truth); with --out and --month.")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder of the runs (holds OUT/YYYY-MM/cases.parquet).")] = None,
    month: Annotated[str | None, typer.Option(help="Month whose case list is evaluated, YYYY-MM.")] = None,
    store: Annotated[Path | None, typer.Option(help="Curated history (default OUT/curated).")] = None,
    config: Annotated[Path | None, typer.Option(help="Site configuration TOML overriding the defaults.")] = None,
    save: Annotated[Path | None, typer.Option(help="Also write the table as CSV here.")] = None,
    grid: Annotated[bool, typer.Option("--grid", help="Run the monthly job on every named world (or --world, repeatable) at each seed and tabulate the worst world first.")] = False,
    simulate_audits: Annotated[bool, typer.Option("--simulate-audits", help="Play the audit unit month by month on --world (repeatable): visits, true outcomes back through outcomes.csv, found vs an all-knowing auditor.")] = False,
    world: Annotated[list[str] | None, typer.Option("--world", help="A named world (sentinel demo --world); repeat for several.")] = None,
    seed: Annotated[list[int] | None, typer.Option("--seed", help="Seed of the generated worlds; repeat for several (default 7 and 11 for --grid, 7 otherwise).")] = None,
    scale: Annotated[float, typer.Option(help="World size: 0.1 = about 18,800 pensioners (the size of the independent test county).")] = 0.1,
    work: Annotated[Path, typer.Option(help="Folder for the generated worlds and their runs (replaced).")] = Path("evaluation-work"),
    plot: Annotated[Path | None, typer.Option(help="With --simulate-audits: write the found-per-month curves as PNG here.")] = None,
) -> None:
    """Judge detection against demo ground truth: one month's list, the grid of worlds, or
    the simulated audit loop.

    One month (three baselines beside: random, oldest first, longest uncertified):
      sentinel evaluate --truth demo/truth --out demo/out --month 2020-12
    Every world, two seeds, worst first:
      sentinel evaluate --grid --save docs/evaluation-grid.csv
    The learning loop on three worlds (with --save, the year's recovery ledger per typology
    goes to <save>-recovery.csv; `sentinel report recovery --out WORK/<world>-<seed>/audited/out`
    shows it in full):
      sentinel evaluate --simulate-audits --world reference --world common_fraud --world late_certifiers --plot docs/audit-curve.png
    """
    import polars as pl

    from sentinel.config import load_config

    cfg = load_config(config)
    capacity = cfg.detection.audit_capacity
    if grid or simulate_audits:
        from sentinel.demo import WORLDS

        names = world or (list(WORLDS) if grid else ["reference"])
        try:
            for name in names:
                if name not in WORLDS:
                    raise ValueError(f"unknown world {name!r}; known: {', '.join(WORLDS)}")
        except ValueError as exc:
            _fail(exc)
        seeds = seed or ([7, 11] if grid else [7])
        suspects = recoveries = None
        if grid:
            table = _evaluate_grid(names, seeds, scale, work, capacity, config)
        else:
            table, suspects, recoveries = _simulate(names, seeds[0], scale, work, capacity, config, plot)
        _print_frame(table, "grid of worlds (worst first)" if grid else "simulated audits")
        if suspects is not None:
            _print_frame(suspects, "upstream suspects: answered and ranked")
        if recoveries is not None:
            _print_frame(
                recoveries.select("world", "typology", "accounts", "due", "recovered", "written_off", "outstanding", "recovery_rate"),
                "the year's recovery ledger (sentinel report recovery --out WORK/<world>-<seed>/audited/out)",
            )
        if save is not None:
            from sentinel.io.reports import write_csv_bom

            write_csv_bom(table, save)
            if suspects is not None:
                write_csv_bom(suspects, save.with_name(f"{save.stem}-suspects.csv"))
            if recoveries is not None:
                write_csv_bom(recoveries, save.with_name(f"{save.stem}-recovery.csv"))
        return

    from sentinel.evaluation import evaluate as evaluate_cases
    from sentinel.io.store import load_history

    if truth is None or out is None or month is None:
        _fail(ValueError("give --truth, --out and --month (or --grid / --simulate-audits)"))
    cases_file = out / month / "cases.parquet"
    if not cases_file.exists():
        _fail(FileNotFoundError(f"{cases_file}: no case list for {month} (run the month first)"))
    history = load_history(store or out / "curated", month)
    with console.status("evaluating against the ground truth…"):
        table = evaluate_cases(pl.read_parquet(cases_file), truth, month, history, capacity, cfg)
    grid_table = Table(title=f"evaluation {month} (capacity {capacity})")
    for col in table.columns:
        grid_table.add_column(col, justify="left" if col == "metric" else "right", no_wrap=col == "metric")
    for row in table.iter_rows():
        grid_table.add_row(escape(row[0]), *("" if v is None else f"{v:.3f}".rstrip("0").rstrip(".") if v != int(v) else f"{int(v)}" for v in row[1:]))
    console.print(grid_table)
    if save is not None:
        from sentinel.io.reports import write_csv_bom

        write_csv_bom(table, save)


def _monthly_runner(config: Path | None):  # type: ignore[no-untyped-def]
    """``run(inbox, out, month)``: the monthly job for every month up to ``month``."""
    from flows.monthly import catch_up, monthly_audit

    def run_months(inbox: Path, out: Path, month: str):  # type: ignore[no-untyped-def]
        return catch_up(inbox=inbox, out=out, month=month, config_file=config)

    def run_month(inbox: Path, out: Path, month: str):  # type: ignore[no-untyped-def]
        return monthly_audit(inbox=inbox, out=out, month=month, config_file=config)

    return run_months, run_month


def _evaluate_grid(names, seeds, scale, work, capacity, config):  # type: ignore[no-untyped-def]
    from sentinel.grid import evaluate_grid

    run_months, _ = _monthly_runner(config)
    with console.status("grid of worlds…") as status:
        return evaluate_grid(
            names, seeds, scale, work, capacity, run_months,
            progress=lambda message: status.update(f"grid: {message}"),
        )


def _simulate(names, seed, scale, work, capacity, config, plot):  # type: ignore[no-untyped-def]
    import polars as pl

    from sentinel.config import month_end
    from sentinel.demo import generate_county
    from sentinel.demo import world as named_world
    from sentinel.simulation import (
        plot_audit_curve,
        recovery_year,
        simulate_audits,
        suspect_ranking,
    )

    _, run_month = _monthly_runner(config)
    tables = {}
    suspects = {}
    recoveries = {}
    with console.status("simulated audits…") as status:
        for name in names:
            chosen = named_world(name)
            dest = work / f"{name}-{seed}"
            generate_county(
                dest, seed=seed, scale=scale, rates=chosen.rates, phenomena=chosen.phenomena,
                world_name=name,
            )
            tables[name] = simulate_audits(
                dest, dest / "audited", capacity, run_month,
                progress=lambda message, name=name: status.update(f"{name}: {message}"),
            )
            suspects[name] = suspect_ranking(dest / "audited" / "out", dest / "truth")
            last = tables[name]["month"][-1]
            recoveries[name] = recovery_year(dest / "audited" / "out", month_end(last))
    if plot is not None:
        plot_audit_curve(tables, plot)

    def by_world(frames):  # type: ignore[no-untyped-def]
        return pl.concat(
            [t.with_columns(pl.lit(n).alias("world")).select("world", *t.columns) for n, t in frames.items()]
        )

    return by_world(tables), by_world(suspects), by_world(recoveries)


@app.command()
def serve(
    inbox: Annotated[Path, typer.Option(help="Folder of monthly drops INBOX/YYYY-MM/.")],
    out: Annotated[Path, typer.Option(help="Output folder: OUT/YYYY-MM/ per month.")],
    store: Annotated[Path | None, typer.Option(help="Curated history folder (default OUT/curated).")] = None,
    config: Annotated[Path | None, typer.Option(help="Site configuration TOML overriding the defaults.")] = None,
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
            highlight=False, soft_wrap=True,
        )
        raise typer.Exit(1)
    serve_monthly(inbox, out, store=store, config_file=config)


@app.command()
def screen(
    payroll: Annotated[Path, typer.Option(help="The draft pay file of the coming disbursement (payouts columns; parquet, CSV or xlsx).")],
    out: Annotated[Path, typer.Option(help="Output folder of the monthly job (what is known so far); holds go to OUT/screen/<period>/.")],
    deaths: Annotated[Path | None, typer.Option(help="Death records newer than the last processed month (deaths columns).")] = None,
    custody: Annotated[Path | None, typer.Option(help="Custody records newer than the last processed month (custody columns).")] = None,
    period: Annotated[str | None, typer.Option(help="Pay period YYYY-MM (default: the one most regular rows name).")] = None,
    config: Annotated[Path | None, typer.Option(help="Site configuration TOML overriding the defaults.")] = None,
) -> None:
    """Hold the payments of a draft pay file that hard evidence says must not be made.

    Holds only on a death or custody linked as proof, a duplicate, a period already paid, an
    ID that fails its checksum, a terminated pension or an unreadable row; writes holds.{csv,xlsx},
    release.csv (the pay file less the holds) and summary.json to OUT/screen/<period>/.

    Example: sentinel screen --payroll drafts/2021-01.csv --out demo/out --deaths new_deaths.csv
    """
    from sentinel.config import load_config
    from sentinel.contract import ContractError
    from sentinel.screen import screen_payroll

    try:
        result = screen_payroll(
            payroll, out, load_config(config), deaths=deaths, custody=custody, period=period
        )
    except ContractError as exc:
        _fail(exc)
    held_yuan = sum(v["yuan"] for v in result.held_by_reason.values())
    table = Table(title=f"{result.period}: {result.holds.height:,} of {result.rows:,} payments held (known through {result.known_through})")
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


outcomes_app = typer.Typer(help="Audit outcomes back in: the filled-in workbook or an outcomes file.", no_args_is_help=True)
app.add_typer(outcomes_app, name="outcomes")
report_app = typer.Typer(help="Reports from the case store.", no_args_is_help=True)
app.add_typer(report_app, name="report")


def _case_store(out: Path, config: Path | None):  # type: ignore[no-untyped-def]
    from flows.monthly import case_store_url
    from sentinel.audit_result import OutcomeLimits, SignOff
    from sentinel.casestore import CaseStore
    from sentinel.config import load_config

    cfg = load_config(config)
    _private(out, cfg)
    return CaseStore(
        case_store_url(out, cfg),
        limits=OutcomeLimits.from_config(cfg),
        signoff=SignOff.from_config(cfg),
    )


def _private(out: Path, cfg) -> None:  # type: ignore[no-untyped-def]
    """What this command creates under OUT (the case store) is its owner's only (run.umask)."""
    from sentinel.io.store import restrict_permissions

    restrict_permissions(out, cfg.run.umask_bits())


@outcomes_app.command("import")
def outcomes_import(
    file: Annotated[Path, typer.Argument(help="The filled-in cases.xlsx, or an outcomes .csv/.parquet/.xlsx in the contract's columns.")],
    out: Annotated[Path, typer.Option(help="Output folder whose case store receives the outcomes.")],
    actor: Annotated[str, typer.Option(help="Who reports these outcomes (kept in the audit trail).")] = "auditor",
    errors: Annotated[Path | None, typer.Option(help="Write the rejected rows and why to this CSV.")] = None,
    config: Annotated[Path | None, typer.Option(help="Site configuration TOML overriding the defaults.")] = None,
) -> None:
    """Close cases with field-audit outcomes; every bad row gets a clear error.

    A workbook emitted by `sentinel run` is read sheet by sheet (the outcome columns the
    auditors filled in). Re-importing the same file changes nothing. A result that needs
    sign-off (经办 / 复核, ``cases.signoff_*``) closes its case only when the row names a
    second person in ``reviewed_by`` (复核人); otherwise it waits for approval in the review
    app. Exit code 2 when any row was rejected.

    Example: sentinel outcomes import demo/out/2020-12/cases.xlsx --out demo/out --actor 王审计
    """
    from sentinel.contract import DATASETS, ContractError
    from sentinel.io.readers import read_dataset
    from sentinel.outcomes import import_outcomes, read_outcomes_workbook

    if not file.exists():
        _fail(FileNotFoundError(f"{file}: no such file"))
    try:
        if file.suffix.lower() == ".xlsx" and file.name.startswith("cases"):
            rows = read_outcomes_workbook(file)
        else:
            from features.records import parse_records

            raw = read_dataset(file, DATASETS["outcomes"]).frame
            rows = parse_records(raw.lazy(), DATASETS["outcomes"], month="0000-00").collect()
    except ContractError as exc:
        _fail(exc)
    with _case_store(out, config) as store:
        report = import_outcomes(store, rows, actor=actor)
    console.print(
        f"{report.rows} rows: {report.applied - report.pending} cases closed, "
        f"{report.pending} waiting for sign-off, {report.unchanged} already recorded, "
        f"{report.rejected} rejected"
    )
    for error in report.errors:
        err.print(f"  {error}", highlight=False)
    if errors is not None:
        from sentinel.io.reports import write_csv_bom

        write_csv_bom(report.errors_frame(), errors)
    if report.rejected:
        raise typer.Exit(EXIT_UNTRUSTED_DROP)


audit_app = typer.Typer(help="The tamper-evident history of cases and reviews.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(
    out: Annotated[Path, typer.Option(help="Output folder holding the case store and the months' history.json.")],
    config: Annotated[Path | None, typer.Option(help="Site configuration TOML.")] = None,
) -> None:
    """Check that the case events and the review audit log still form their hash chains,
    and hold the chain heads every monthly run recorded. Exit code 1 names the first
    broken link (table, row id, chain position).

    Example: sentinel audit verify --out demo/out
    """
    from sentinel.casestore.chain import check_history
    from sentinel.io.store import history_anchors

    with _case_store(out, config) as store:
        result = check_history(store.engine, history_anchors(out))
    heads = ", ".join(f"{name} at {h['position']}" for name, h in result.heads.items())
    if result.holds:
        console.print(f"history holds: {result.rows_checked} rows checked ({heads})")
        return
    err.print(f"[bold red]history broken:[/] {result.broken}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


@report_app.command("precision")
def report_precision(
    out: Annotated[Path, typer.Option(help="Output folder holding the case store.")],
    by: Annotated[str, typer.Option(help="'typology' or 'reason'.")] = "typology",
    config: Annotated[Path | None, typer.Option(help="Site configuration TOML.")] = None,
) -> None:
    """Precision of closed cases (confirmed vs cleared) per typology or reason code.

    Example: sentinel report precision --out demo/out --by reason
    """
    with _case_store(out, config) as store:
        frame = store.precision_by_reason() if by == "reason" else store.precision_by_typology()
    _print_frame(frame, f"precision by {by}")


@report_app.command("recovery")
def report_recovery(
    out: Annotated[Path, typer.Option(help="Output folder holding the case store.")],
    as_of: Annotated[str | None, typer.Option(help="The ledger on this day (YYYY-MM-DD; default today).")] = None,
    by: Annotated[str, typer.Option(help="'township' or 'typology'.")] = "township",
    config: Annotated[Path | None, typer.Option(help="Site configuration TOML.")] = None,
) -> None:
    """The recovery ledger: yuan due, recovered and outstanding, the recovery rate, open
    accounts by age (days since the case was closed: 0-30, 31-90, 91-180, >180) and how far
    the ladder went (notice, administrative order, court, police), per township or
    typology; then the overpayment the audits found vs the list's estimate. Writes OUT/reports/recovery.csv
    and .xlsx (the summary) recovery_accounts.csv (one row per account, full IDs) and recoveries_template.xlsx
    (an empty recovery sheet to fill in and drop as recoveries.xlsx, open accounts beside).

    Example: sentinel report recovery --out demo/out --as-of 2020-12-31 --by typology
    """
    from datetime import date

    import polars as pl

    from sentinel.casestore.recovery import recovery_ledger, recovery_summary
    from sentinel.config import load_config
    from sentinel.io.reports import write_csv_bom, write_recovery_template, write_table_xlsx

    if by not in ("township", "typology"):
        _fail(ValueError(f"--by {by!r}: expected 'township' or 'typology'"))
    try:
        day = date.fromisoformat(as_of) if as_of else date.today()
    except ValueError:
        _fail(ValueError(f"--as-of {as_of!r}: not a date YYYY-MM-DD"))
    with _case_store(out, config) as store:
        ledger = recovery_ledger(store, day)
        summary = recovery_summary(ledger, by)  # type: ignore[arg-type]
        estimated = store.recovered_vs_estimated()
    money = [by, "accounts", "due", "recovered", "written_off", "outstanding", "recovery_rate"]
    _print_frame(summary.select(money), f"recovery ledger on {day} by {by} (yuan)")
    _print_frame(
        summary.select(by, *(c for c in summary.columns if c.startswith(("aged_", "status_")))),
        "open accounts by days since closing, and accounts by status",
    )
    _print_frame(
        summary.select(by, *(c for c in summary.columns if c.startswith("step_"))),
        "how far the recovery ladder went (accounts)",
    )
    # What the audits found against what the list estimated; recovered is the ledger's above.
    _print_frame(
        estimated.select("typology", "confirmed", "est_overpayment", "overpaid_amount", "overpaid_per_estimated"),
        "overpaid (found by the audits) vs estimated (on the case list)",
    )
    folder = out / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    write_csv_bom(summary, folder / "recovery.csv")
    numbers = tuple(c for c in summary.columns if c != by)
    write_table_xlsx(summary, folder / "recovery.xlsx", "recovery", numbers=numbers)
    write_csv_bom(ledger, folder / "recovery_accounts.csv")
    language = load_config(config).detection.report_language
    write_recovery_template(
        ledger.filter(pl.col("status") == "open"), folder / "recoveries_template.xlsx",
        language=language,
    )
    console.print(
        f"written: {folder / 'recovery.csv'}, {folder / 'recovery.xlsx'}, "
        f"{folder / 'recovery_accounts.csv'}; a recovery sheet to fill in and drop as "
        f"recoveries.xlsx: {folder / 'recoveries_template.xlsx'}",
        highlight=False,
    )


@app.command()
def notices(
    month: Annotated[str, typer.Option(help="Month whose accounts are notified, YYYY-MM: the notices go to OUT/YYYY-MM/notices/.")],
    out: Annotated[Path, typer.Option(help="Output folder holding the case store and the month.")],
    lang: Annotated[str, typer.Option("--lang", help="'zh' or 'en' (default: the report language).")] = "",
    issued_on: Annotated[str | None, typer.Option(help="Issue day of the notices (YYYY-MM-DD; default today).")] = None,
    actor: Annotated[str, typer.Option(help="Who issues the notices (kept in the audit trail).")] = "sentinel",
    config: Annotated[Path | None, typer.Option(help="Site configuration TOML.")] = None,
) -> None:
    """Printable recovery notices (追回通知书) for every open recovery account closed by the
    month's end that has no notice yet, each recorded in the ledger as a notice with a
    deadline recovery.notice_deadline_days after the issue day. The notices hold the
    person's name and ID (a document to serve, like the case workbook); nothing printed
    here does.

    Example: sentinel notices --month 2020-12 --out demo/out --lang zh
    """
    import re
    from datetime import date, timedelta

    import polars as pl

    from sentinel.casestore.recovery import record_recovery, recovery_ledger
    from sentinel.config import load_config, month_end
    from sentinel.io.notices import (
        NOTICE_FOLDER,
        accounts_to_notify,
        addressees,
        notice_number,
        render_notice,
        write_notice,
    )

    if not re.match(r"^\d{4}-(0[1-9]|1[0-2])$", month):
        _fail(ValueError(f"--month {month!r}: expected YYYY-MM"))
    cfg = load_config(config)
    language = lang or cfg.detection.report_language
    if language not in ("zh", "en"):
        _fail(ValueError(f"--lang {lang!r}: expected 'zh' or 'en'"))
    try:
        day = date.fromisoformat(issued_on) if issued_on else date.today()
    except ValueError:
        _fail(ValueError(f"--issued-on {issued_on!r}: not a date YYYY-MM-DD"))
    deadline = day + timedelta(days=cfg.recovery.notice_deadline_days)
    folder = out / month / NOTICE_FOLDER
    written = 0
    with _case_store(out, config) as store:
        due = accounts_to_notify(recovery_ledger(store, day).lazy(), month_end(month)).collect()
        deaths = store.cases().select("case_id", "death_date")
        to = addressees(out, due["case_id"].to_list())
        accounts = due.join(to, on=["case_id"], how="left", suffix="_listed").join(
            deaths, on="case_id", how="left"
        ).with_columns(pl.coalesce("township_listed", "township").alias("township"))
        for account in accounts.iter_rows(named=True):
            html = render_notice(account, issued_on=day, deadline=deadline, language=language)  # type: ignore[arg-type]
            write_notice(html, folder, account["case_id"])
            record_recovery(
                store, account["case_id"], "notice", on=day, actor=actor, deadline=deadline,
                record_id=notice_number(account["case_id"], day), source="app",
            )
            written += 1
    console.print(
        f"{written} notices written to {folder} (deadline {deadline}); "
        f"{len(due) - written} accounts skipped",
        highlight=False,
    )


recovery_app = typer.Typer(help="The recovery ledger: steps recorded by hand and write-offs signed off.", no_args_is_help=True)
app.add_typer(recovery_app, name="recovery")


@recovery_app.command("approve")
def recovery_approve(
    case_id: Annotated[str, typer.Argument(help="The case whose write-off is approved.")],
    record_id: Annotated[str, typer.Argument(help="The write-off's record id (the proposal's).")],
    out: Annotated[Path, typer.Option(help="Output folder holding the case store.")],
    actor: Annotated[str, typer.Option(help="Who approves: never the user who proposed it.")],
    config: Annotated[Path | None, typer.Option(help="Site configuration TOML.")] = None,
) -> None:
    """Approve a proposed write-off: from today it counts in the ledger. Exit code 2 when
    it cannot be approved (unknown, or proposed by the same user).

    Example: sentinel recovery approve DP-0a1b2c3d4e5f W-2020-017 --out demo/out --actor 审核-赵
    """
    from sentinel.casestore import CaseValidationError
    from sentinel.casestore.recovery import approve_write_off

    with _case_store(out, config) as store:
        try:
            changed = approve_write_off(store, case_id, record_id, actor=actor)
        except CaseValidationError as exc:
            _fail(exc)
    console.print("write-off approved" if changed else "write-off was already approved")


@report_app.command("prevented")
def report_prevented(
    out: Annotated[Path, typer.Option(help="Output folder holding the case store and OUT/screen/.")],
    config: Annotated[Path | None, typer.Option(help="Site configuration TOML.")] = None,
) -> None:
    """Yuan held by the pre-disbursement screen per pay period, and of it what audits later
    confirmed, next to yuan recovered after payment (the recovery ledger).

    Example: sentinel report prevented --out demo/out
    """
    from datetime import date

    from sentinel.casestore.recovery import recovery_ledger
    from sentinel.prevented import prevented

    with _case_store(out, config) as store:
        # Recovered after payment: the recovery ledger (at closing and every payment since).
        ledger = recovery_ledger(store, date.today())
        frame = prevented(out, store.cases(), ledger.select(recovered_amount="recovered"))
    _print_frame(frame, "prevented (held before payment) and recovered (after)")


@report_app.command("suspects")
def report_suspects(
    out: Annotated[Path, typer.Option(help="Output folder holding the case store and the curated suspects.")],
    overdue: Annotated[bool, typer.Option("--overdue", help="List each suspect still unanswered after its batch's due date.")] = False,
    as_of: Annotated[str | None, typer.Option(help="Count days against this date (YYYY-MM-DD; default today).")] = None,
    config: Annotated[Path | None, typer.Option(help="Site configuration TOML.")] = None,
) -> None:
    """Upstream suspect batches: answered, still verifying, days to the due date; with
    --overdue, what is late. Exit code 1 when anything is overdue.

    Example: sentinel report suspects --out demo/out --overdue
    """
    from datetime import date

    from sentinel.config import load_config
    from sentinel.suspects import suspect_status

    try:
        day = date.fromisoformat(as_of) if as_of else date.today()
    except ValueError:
        _fail(ValueError(f"--as-of {as_of!r}: not a date YYYY-MM-DD"))
    cfg = load_config(config)
    with _case_store(out, config) as store:
        frame = suspect_status(out, store.cases(), day, cfg.cases.clear_months, overdue=overdue)
    if overdue:
        _print_frame(frame, f"suspects overdue on {day}")
        if frame.height:
            raise typer.Exit(1)
    else:
        _print_frame(frame, f"upstream suspect batches on {day}")


@report_app.command("open")
def report_open(
    out: Annotated[Path, typer.Option(help="Output folder holding the case store.")],
    days: Annotated[int, typer.Option(help="List cases open longer than this many days.")] = 30,
    config: Annotated[Path | None, typer.Option(help="Site configuration TOML.")] = None,
) -> None:
    """Cases open longer than N days.

    Example: sentinel report open --out demo/out --days 45
    """
    from datetime import date

    from sentinel.masking import mask_id_expr

    with _case_store(out, config) as store:
        frame = store.open_longer_than(days, date.today())
    if "person_id" in frame.columns:
        frame = frame.with_columns(mask_id_expr("person_id"))
    _print_frame(frame, f"cases open longer than {days} days")


def _print_frame(frame, title: str) -> None:  # type: ignore[no-untyped-def]
    table = Table(title=title)
    for col in frame.columns:
        table.add_column(col)
    for row in frame.iter_rows():
        table.add_row(*("" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v) for v in row))
    console.print(table)


# ---------------------------------------------------------------------- field-visit plans

plan_app = typer.Typer(help="Plans for the audit unit's field work.", no_args_is_help=True)
app.add_typer(plan_app, name="plan")


@plan_app.command("visits")
def plan_visits(
    out: Annotated[Path, typer.Option(help="Output folder holding OUT/YYYY-MM/cases.parquet.")],
    month: Annotated[str, typer.Option(help="Month whose cases within capacity are planned, YYYY-MM.")],
    township: Annotated[list[str] | None, typer.Option("--township", help="Plan this township only; repeat for several (default: every township).")] = None,
    max_visits: Annotated[int | None, typer.Option(min=1, help="People to see in one day trip at most (default: visits.max_visits_per_trip of the configuration).")] = None,
    config: Annotated[Path | None, typer.Option(help="Site configuration TOML ([visits], detection.report_language).")] = None,
) -> None:
    """Day trips of the month's field visits: the cases within capacity grouped by township
    and village, at most --max-visits people a trip, trips by expected yuan.

    Writes OUT/YYYY-MM/visit_plans/visit_plan.csv (one row per person to see) and a
    printable sheet per township, <township>.html (one page per trip), replacing the
    folder's earlier plan. These files, like cases.xlsx, hold full identity numbers.

    Example: sentinel plan visits --out demo/out --month 2020-12 --township 梅城镇 --max-visits 5
    """
    from features.visits import visit_plan_summary
    from sentinel.config import load_config
    from sentinel.io.visit_plans import VISIT_PLAN_FOLDER, read_visit_plan, write_visit_plans
    from sentinel.review.i18n import translator

    cfg = load_config(config)
    try:
        plan = read_visit_plan(out, month, cfg.visits, townships=township, max_visits=max_visits)
    except (ValueError, FileNotFoundError) as exc:
        _fail(exc)
    _private(out, cfg)
    language = cfg.detection.report_language
    files = write_visit_plans(
        plan, out / month / VISIT_PLAN_FOLDER, month=month, language=language,
        label=translator(language)[1],
    )
    summary = visit_plan_summary(plan.lazy()).collect()
    limit = max_visits or cfg.visits.max_visits_per_trip
    table = Table(title=f"{month} visit plan: day trips of at most {limit} visits")
    for col in ("township", "trips", "stops", "cases", "expected yuan", "sheet"):
        table.add_column(col, justify="left" if col in ("township", "sheet") else "right")
    for r in summary.iter_rows(named=True):
        table.add_row(
            r["township"] or "(township unknown)", str(r["trips"]), str(r["stops"]), str(r["cases"]),
            f"{r['expected_yuan']:,.2f}", files.sheets[r["township"]].name,
        )
    table.add_row(
        "total", str(plan["trip"].n_unique()), str(plan.height), str(summary["cases"].sum()),
        f"{summary['expected_yuan'].sum():,.2f}", "",
    )
    console.print(table)
    for missing in sorted(set(township or ()) - set(summary["township"].drop_nulls())):
        err.print(f"{missing}: no case within capacity in {month}", highlight=False)
    console.print(f"visit plan: {files.csv} and {len(files.sheets)} township sheets in {files.csv.parent}", highlight=False)


# ---------------------------------------------------------------------- case review web app

REVIEW_PASSWORD_ENV = "SENTINEL_REVIEW_PASSWORD"
users_app = typer.Typer(help="Users of the case review web app (`sentinel review`).", no_args_is_help=True)
app.add_typer(users_app, name="users")


def _review_store(out: Path, config: Path | None):  # type: ignore[no-untyped-def]
    from sentinel.casestore import CaseStore, database_url
    from sentinel.config import load_config
    from sentinel.review import ReviewStore

    cfg = load_config(config)
    _private(out, cfg)
    cases = CaseStore(database_url(out / cfg.cases.database_file))
    return cases, ReviewStore(cases.engine)


@app.command()
def review(
    out: Annotated[Path, typer.Option(help="Output folder: its case store (or $SENTINEL_DATABASE_URL), OUT/YYYY-MM/cases.parquet and OUT/curated.")],
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only; put HTTPS in front for others).")] = "127.0.0.1",
    store: Annotated[Path | None, typer.Option(help="Curated history folder (default OUT/curated).")] = None,
    config: Annotated[Path | None, typer.Option(help="Site configuration TOML ([review]: language, sessions, throttling).")] = None,
    trusted_proxy: Annotated[str | None, typer.Option(help="Address of the HTTPS reverse proxy in front: its X-Forwarded-For then names the client (for login throttling per address).")] = None,
) -> None:
    """Serve the case review web app: queue, case pages, outcomes, month dashboard, audit log.

    Create users first with `sentinel users add`. Session cookies are Secure (HTTPS only)
    unless the configuration sets review.secure_cookies = false for plain-http localhost.

    Example: sentinel review --out demo/out --port 8000
    """
    import uvicorn

    from sentinel.config import load_config
    from sentinel.review import create_app

    cfg = load_config(config)
    _private(out, cfg)
    web = create_app(out, cfg, curated=store)
    scheme = "https" if cfg.review.secure_cookies else "http"
    console.print(f"case review on {scheme}://{host}:{port}/ (Ctrl-C stops)", highlight=False)
    # Access logs are off: paths hold case ids and filters, and the audit trail is the record.
    # Forwarded headers are believed only from the named proxy: anyone else could forge them
    # to escape the per-address login throttling.
    uvicorn.run(
        web, host=host, port=port, access_log=False, log_level="warning",
        proxy_headers=trusted_proxy is not None, forwarded_allow_ips=trusted_proxy,
    )


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name (no spaces).")],
    role: Annotated[str, typer.Option(help="auditor (works the townships given), reviewer (all townships; signs off results), supervisor (all townships; assigns, signs off) or admin (users).")],
    township: Annotated[list[str] | None, typer.Option("--township", help="A township the auditor works; repeat for several.")] = None,
    village: Annotated[str | None, typer.Option(help="The village the user lives in: not assigned its cases (recusal, review.recuse_own_village).")] = None,
    relative: Annotated[list[str] | None, typer.Option("--relative", help="Identity number of a relative whose cases the user may not work (recusal); repeat for several.")] = None,
    out: Annotated[Path, typer.Option(help="Output folder holding the case store.")] = Path("demo/out"),
    config: Annotated[Path | None, typer.Option(help="Site configuration TOML.")] = None,
) -> None:
    """Create a user of the case review web app.

    The password is asked twice at a hidden prompt, or read from $SENTINEL_REVIEW_PASSWORD
    for scripts; it is never an option (a command line is visible to other users and kept
    in shell history). Only its argon2 hash is stored.

    Example: sentinel users add wang --role auditor --township 梅城镇 --township 清塘铺镇 --out demo/out
    """
    from sentinel.review import ROLES, hash_password

    if role not in ROLES:
        _fail(ValueError(f"--role must be one of {', '.join(ROLES)}, got {role!r}"))
    password = os.environ.get(REVIEW_PASSWORD_ENV)
    if not password:
        password = typer.prompt(f"password for {name}", hide_input=True, confirmation_prompt=True)
    cases, users = _review_store(out, config)
    try:
        user = users.add_user(
            name, role, hash_password(password), tuple(township or ()),  # type: ignore[arg-type]
            village=village, relatives=tuple(relative or ()),
        )  # fmt: skip
        users.log(
            "cli", "user_added", None,
            {"user": user.username, "role": user.role, "relatives": len(user.relatives)},
        )  # fmt: skip
    except ValueError as exc:
        _fail(exc)
    finally:
        cases.dispose()
    places = f" ({', '.join(user.townships)})" if user.townships else ""
    console.print(f"user {user.username} added: {user.role}{places}", highlight=False)


@users_app.command("list")
def users_list(
    out: Annotated[Path, typer.Option(help="Output folder holding the case store.")] = Path("demo/out"),
    config: Annotated[Path | None, typer.Option(help="Site configuration TOML.")] = None,
) -> None:
    """List the users of the case review web app (never their passwords).

    Example: sentinel users list --out demo/out
    """
    cases, users = _review_store(out, config)
    try:
        table = Table(title="review users")
        for col in ("user", "role", "townships", "active"):
            table.add_column(col)
        for u in users.users():
            table.add_row(u.username, u.role, ", ".join(u.townships), "yes" if u.active else "no")
    finally:
        cases.dispose()
    console.print(table)


@users_app.command("recuse")
def users_recuse(
    name: Annotated[str, typer.Argument(help="User name.")],
    village: Annotated[str | None, typer.Option(help="The village the user lives in (empty: none).")] = None,
    relative: Annotated[list[str] | None, typer.Option("--relative", help="Identity number of a relative; repeat for several. Replaces the list.")] = None,
    out: Annotated[Path, typer.Option(help="Output folder holding the case store.")] = Path("demo/out"),
    config: Annotated[Path | None, typer.Option(help="Site configuration TOML.")] = None,
) -> None:
    """Set whose cases a user may not work (回避): their village and their relatives.

    Example: sentinel users recuse wang --village 一村 --relative <身份证号> --out demo/out
    """
    cases, users = _review_store(out, config)
    try:
        found = users.set_recusal(name, village=village, relatives=tuple(relative or ()))
        if found:
            users.log("cli", "user_recusal", None, {"user": name, "relatives": len(relative or ())})
    finally:
        cases.dispose()
    if not found:
        _fail(ValueError(f"no user {name}"))
    console.print(f"user {name}: recusal set", highlight=False)


@users_app.command("disable")
def users_disable(
    name: Annotated[str, typer.Argument(help="User name.")],
    out: Annotated[Path, typer.Option(help="Output folder holding the case store.")] = Path("demo/out"),
    config: Annotated[Path | None, typer.Option(help="Site configuration TOML.")] = None,
) -> None:
    """Disable a user: their sessions end and they can no longer sign in.

    Example: sentinel users disable wang --out demo/out
    """
    cases, users = _review_store(out, config)
    try:
        found = users.set_active(name, False)
        if found:
            users.log("cli", "user_disabled", None, {"user": name})
    finally:
        cases.dispose()
    if not found:
        _fail(ValueError(f"no user {name}"))
    console.print(f"user {name} disabled", highlight=False)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
