"""Evaluating detection across worlds: the grid and the simulated audit year."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from sentinel.cli.common import (
    ConfigOption,
    app,
    check_output_file,
    console,
    fail,
    print_frame,
    site_config,
)

if TYPE_CHECKING:
    import polars as pl

    from sentinel.config import SentinelConfig

# The options of ``sentinel evaluate``.
TruthOption = Annotated[
    Path | None,
    typer.Option(help="Ground-truth folder of a demo county (DEMO/truth); with --out and --month."),
]
RunsOutOption = Annotated[
    Path | None,
    typer.Option(help="Output folder of the runs (holds OUT/YYYY-MM/cases.parquet)."),
]
MonthOption = Annotated[
    str | None, typer.Option(help="Month whose case list is evaluated, YYYY-MM.")
]
HistoryOption = Annotated[Path | None, typer.Option(help="Curated history (default OUT/curated).")]
SaveOption = Annotated[Path | None, typer.Option(help="Also write the table as CSV here.")]
GridFlag = Annotated[
    bool,
    typer.Option(
        "--grid",
        help="Run the monthly job on every named world (or --world, repeatable) at each seed and tabulate the worst world first.",
    ),
]
SimulateAuditsFlag = Annotated[
    bool,
    typer.Option(
        "--simulate-audits",
        help="Play the audit unit month by month on --world (repeatable): visits, true outcomes back through outcomes.csv, found vs an all-knowing auditor.",
    ),
]
WorldsOption = Annotated[
    list[str] | None,
    typer.Option("--world", help="A named world (sentinel demo --world); repeat for several."),
]
SeedsOption = Annotated[
    list[int] | None,
    typer.Option(
        "--seed",
        help="Seed of the generated worlds; repeat for several (default 7 and 11 for --grid, 7 otherwise).",
    ),
]
ScaleOption = Annotated[
    float,
    typer.Option(
        help="World size: 0.1 = about 18,800 pensioners (the size of the independent test county)."
    ),
]
WorkOption = Annotated[
    Path, typer.Option(help="Folder for the generated worlds and their runs (replaced).")
]
MonthsOption = Annotated[
    int,
    typer.Option(
        help="With --grid / --simulate-audits: months per world from 2020-01. The targets "
        "are set for a year (12); fewer give a quicker, partial look."
    ),
]
PlotOption = Annotated[
    Path | None,
    typer.Option(help="With --simulate-audits: write the found-per-month curves as PNG here."),
]


@app.command()
def evaluate(
    truth: TruthOption = None,
    out: RunsOutOption = None,
    month: MonthOption = None,
    store: HistoryOption = None,
    config: ConfigOption = None,
    save: SaveOption = None,
    grid: GridFlag = False,
    simulate_audits: SimulateAuditsFlag = False,
    world: WorldsOption = None,
    seed: SeedsOption = None,
    scale: ScaleOption = 0.1,
    work: WorkOption = Path("evaluation-work"),
    months: MonthsOption = 12,
    plot: PlotOption = None,
) -> None:
    """Judge detection against demo ground truth: one month's list, the grid of worlds, or
    the simulated audit loop.

    One month (three baselines beside: random, oldest first, longest uncertified):
      sentinel evaluate --truth demo/truth --out demo/out --month 2020-12
    Every world, two seeds, worst first:
      sentinel evaluate --grid --save docs/evaluation-grid.csv
    The learning loop on three worlds (with --save, the year per world goes to
    <save>-year.csv, the suspects to <save>-suspects.csv and the recovery ledger per typology
    to <save>-recovery.csv; `sentinel report recovery --out WORK/<world>-<seed>/audited/out`
    shows it in full):
      sentinel evaluate --simulate-audits --world reference --world common_fraud --world late_certifiers --plot docs/audit-curve.png
    """

    cfg = site_config(config)
    capacity = cfg.detection.audit_capacity
    if grid and simulate_audits:
        fail(ValueError("--grid and --simulate-audits are two evaluations: give one"))
    # Written at the end of a run of many minutes: a path that cannot take them is refused now.
    check_output_file("--save", save, "CSV file")
    check_output_file("--plot", plot, "PNG file")
    one_month = {"--truth": truth, "--out": out, "--month": month, "--store": store}
    given = [name for name, value in one_month.items() if value is not None]
    if (grid or simulate_audits) and given:
        fail(
            ValueError(
                f"{', '.join(given)} judge one month's list; --grid and --simulate-audits "
                "generate and run their own worlds in --work"
            )
        )
    if grid or simulate_audits:
        from sentinel.demo import MIN_MONTHS

        if months < MIN_MONTHS:
            fail(ValueError(f"--months {months}: a world needs at least {MIN_MONTHS}"))
        seeds = seed or ([7, 11] if grid else [7])
        names = _world_names(world, grid)
        if grid:
            from sentinel.grid import grid_targets

            table = _evaluate_grid(names, seeds, scale, months, work, capacity, config)
            print_frame(table, "grid of worlds (worst first)")
            print_frame(grid_targets(table), "targets: world-seeds meeting each, and the worst")
            _save(save, table)
        else:
            _report_simulated_audits(
                names, seeds[0], scale, months, work, capacity, config, plot, save
            )
        return
    if truth is None or out is None or month is None:
        fail(ValueError("give --truth, --out and --month (or --grid / --simulate-audits)"))
    _evaluate_month(truth, out, month, store, capacity, cfg, save)


def _world_names(world: list[str] | None, grid: bool) -> list[str]:
    """The worlds asked for (every named world for the grid, else the reference world)."""
    from sentinel.demo import WORLDS

    names = world or (list(WORLDS) if grid else ["reference"])
    for name in names:
        if name not in WORLDS:
            fail(ValueError(f"unknown world {name!r}; known: {', '.join(WORLDS)}"))
    return names


def _save(save: Path | None, table: pl.DataFrame, **beside: pl.DataFrame) -> None:
    """``table`` as CSV at ``save`` (when given), and each frame ``beside`` next to it as
    ``<save>-<name>.csv``."""
    if save is None:
        return
    from sentinel.io.reports import write_csv_bom

    write_csv_bom(table, save)
    for name, frame in beside.items():
        write_csv_bom(frame, save.with_name(f"{save.stem}-{name}.csv"))


def _report_simulated_audits(
    names: list[str],
    seed: int,
    scale: float,
    months: int,
    work: Path,
    capacity: int,
    config: Path | None,
    plot: Path | None,
    save: Path | None,
) -> None:
    """The simulated audit year on each world: its table month by month, the year per world
    against issue 17's targets, the upstream suspects answered and ranked, and the year's
    recovery ledger; saved beside ``save`` when given."""
    from features.recovery import LEDGER_TOTALS
    from sentinel.simulation import year_summary
    from sentinel.simulation.year import MIN_YEAR_SHARE, SPAN

    table, suspects, recoveries = _simulate(
        names, seed, scale, months, work, capacity, config, plot
    )
    year = year_summary(table)
    print_frame(table, "simulated audits")
    print_frame(
        year,
        f"the year per world, worst first (meets: found >= {MIN_YEAR_SHARE} of the oracle's, "
        f"the last {SPAN} months not below the first {SPAN})",
    )
    print_frame(suspects, "upstream suspects: answered and ranked")
    print_frame(
        recoveries.select("world", "typology", *LEDGER_TOTALS),
        "the year's recovery ledger (sentinel report recovery --out WORK/<world>-<seed>/audited/out)",
    )
    _save(save, table, year=year, suspects=suspects, recovery=recoveries)


def _evaluate_month(
    truth: Path,
    out: Path,
    month: str,
    store: Path | None,
    capacity: int,
    cfg: SentinelConfig,
    save: Path | None,
) -> None:
    """One month's case list against the ground truth, beside three baselines."""
    import polars as pl

    from sentinel.evaluation import evaluate as evaluate_cases
    from sentinel.io.store import load_history

    cases_file = out / month / "cases.parquet"
    if not cases_file.exists():
        fail(FileNotFoundError(f"{cases_file}: no case list for {month} (run the month first)"))
    people_file = truth / "people.parquet"
    if not people_file.is_file():
        fail(FileNotFoundError(f"{people_file}: no ground truth here (give DEMO/truth)"))
    history = load_history(store or out / "curated", month)
    _same_county(people_file, history, out)
    with console.status("evaluating against the ground truth…"):
        table = evaluate_cases(pl.read_parquet(cases_file), truth, month, history, capacity, cfg)
    grid_table = Table(title=f"evaluation {month} (capacity {capacity})")
    for col in table.columns:
        grid_table.add_column(
            col, justify="left" if col == "metric" else "right", no_wrap=col == "metric"
        )
    for row in table.iter_rows():
        grid_table.add_row(
            escape(row[0]),
            *(
                ""
                if v is None
                else f"{v:.3f}".rstrip("0").rstrip(".")
                if v != int(v)
                else f"{int(v)}"
                for v in row[1:]
            ),
        )
    console.print(grid_table)
    _save(save, table)


def _same_county(people_file: Path, history, out: Path) -> None:  # type: ignore[no-untyped-def]
    """Refuse a ground truth of another county: judged against it, every list scores zero."""
    import polars as pl

    people = pl.scan_parquet(people_file).select("person_id")
    registered = history.register.select("person_id").unique()
    shared = people.join(registered, on="person_id", how="semi").select(pl.len()).collect()
    if shared.item() == 0:
        fail(
            ValueError(
                f"{people_file.parent}: none of its people is on the register of {out}; "
                "the ground truth is of another county"
            )
        )


def _monthly_runner(config: Path | None):  # type: ignore[no-untyped-def]
    """``run(inbox, out, month)``: the monthly job for every month up to ``month``."""
    from flows.monthly import catch_up, monthly_audit

    def run_months(inbox: Path, out: Path, month: str):  # type: ignore[no-untyped-def]
        return catch_up(inbox=inbox, out=out, month=month, config_file=config)

    def run_month(inbox: Path, out: Path, month: str):  # type: ignore[no-untyped-def]
        return monthly_audit(inbox=inbox, out=out, month=month, config_file=config)

    return run_months, run_month


def _evaluate_grid(names, seeds, scale, months, work, capacity, config):  # type: ignore[no-untyped-def]
    from sentinel.grid import evaluate_grid

    run_months, _ = _monthly_runner(config)
    with console.status("grid of worlds…") as status:
        return evaluate_grid(
            names,
            seeds,
            scale,
            work,
            capacity,
            run_months,
            progress=lambda message: status.update(f"grid: {message}"),
            months=months,
        )


def _simulate(names, seed, scale, months, work, capacity, config, plot):  # type: ignore[no-untyped-def]
    import polars as pl

    from sentinel.demo import generate_world
    from sentinel.periods import month_end
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
            dest = work / f"{name}-{seed}"
            generate_world(dest, name, seed=seed, scale=scale, months=months)
            tables[name] = simulate_audits(
                dest,
                dest / "audited",
                capacity,
                run_month,
                progress=lambda message, name=name: status.update(f"{name}: {message}"),
            )
            suspects[name] = suspect_ranking(dest / "audited" / "out", dest / "truth")
            last = tables[name]["month"][-1]
            recoveries[name] = recovery_year(dest / "audited" / "out", month_end(last))
    if plot is not None:
        plot_audit_curve(tables, plot)

    def by_world(frames):  # type: ignore[no-untyped-def]
        return pl.concat(
            [
                t.with_columns(pl.lit(n).alias("world")).select("world", *t.columns)
                for n, t in frames.items()
            ]
        )

    return by_world(tables), by_world(suspects), by_world(recoveries)
