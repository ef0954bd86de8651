"""Cases after the list: audit outcomes in, the history check, field-visit plans."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sentinel.cli.common import (
    EXIT_UNTRUSTED_DROP,
    ConfigOption,
    StoreConfigOption,
    case_store,
    check_output_file,
    command_group,
    console,
    counted,
    err,
    fail,
    known_names_hint,
    made_store_url,
    private,
    site_config,
)

outcomes_app = command_group(
    "outcomes", "Audit outcomes back in: the filled-in workbook or an outcomes file."
)


@outcomes_app.command("import")
def outcomes_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="The filled-in cases.xlsx, or an outcomes .csv/.parquet/.xlsx in the contract's columns."
        ),
    ],
    out: Annotated[
        Path, typer.Option(help="Output folder whose case store receives the outcomes.")
    ],
    actor: Annotated[
        str, typer.Option(help="Who reports these outcomes (kept in the audit trail).")
    ] = "auditor",
    errors: Annotated[
        Path | None, typer.Option(help="Write the rejected rows and why to this CSV.")
    ] = None,
    config: ConfigOption = None,
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
    from sentinel.outcomes import (
        import_outcomes,
        is_case_workbook,
        read_outcomes_workbook,
        with_reasons_as_problems,
    )

    if not file.exists():
        fail(FileNotFoundError(f"{file}: no such file"))
    if errors is not None:
        check_output_file("--errors", errors, "CSV file")
    try:
        # The workbook by its sheets' headers, not its name: auditors rename their copies.
        if file.suffix.lower() == ".xlsx" and is_case_workbook(file):
            rows = read_outcomes_workbook(file)
        else:
            from features.records import parse_records

            raw = read_dataset(file, DATASETS["outcomes"]).frame
            typed = parse_records(raw.lazy(), DATASETS["outcomes"], month="0000-00").collect()
            rows = with_reasons_as_problems(typed)
    except ContractError as exc:
        fail(exc)
    with case_store(out, config) as store:
        report = import_outcomes(store, rows, actor=actor)
    console.print(
        f"{counted(report.rows, 'row')}: {counted(report.applied - report.pending, 'case')} closed, "
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


audit_app = command_group("audit", "The tamper-evident history of cases and reviews.")


@audit_app.command("verify")
def audit_verify(
    out: Annotated[
        Path,
        typer.Option(help="Output folder holding the case store and the months' history.json."),
    ],
    config: StoreConfigOption = None,
) -> None:
    """Check that the case events and the review audit log still form their hash chains,
    and hold the chain heads every monthly run recorded. Exit code 1 names the first
    broken link (table, row id, chain position).

    Example: sentinel audit verify --out demo/out
    """
    from sentinel.casestore.chain import check_history
    from sentinel.io.store import history_anchors

    with case_store(out, config) as store:
        result = check_history(store.engine, history_anchors(out))
    heads = ", ".join(f"{name} at {h['position']}" for name, h in result.heads.items())
    if result.holds:
        console.print(f"history holds: {result.rows_checked} rows checked ({heads})")
        return
    err.print(f"[bold red]history broken:[/] {result.broken}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


plan_app = command_group("plan", "Plans for the audit unit's field work.")


@plan_app.command("visits")
def plan_visits(
    out: Annotated[Path, typer.Option(help="Output folder holding OUT/YYYY-MM/cases.parquet.")],
    month: Annotated[
        str, typer.Option(help="Month whose cases within capacity are planned, YYYY-MM.")
    ],
    township: Annotated[
        list[str] | None,
        typer.Option(
            "--township",
            help="Plan this township only; repeat for several (default: every township).",
        ),
    ] = None,
    max_visits: Annotated[
        int | None,
        typer.Option(
            help="People to see in one day trip at most, at least 1 (default: visits.max_visits_per_trip of the configuration).",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="Site configuration TOML (\\[visits], detection.report_language)."),
    ] = None,
) -> None:
    """Day trips of the month's field visits: the cases within capacity (less those closed
    since) grouped by township and village, at most --max-visits people a trip, trips by
    expected yuan.

    Writes OUT/YYYY-MM/visit_plans/visit_plan.csv (one row per person to see) and a
    printable sheet per township, <township>.html (one page per trip), replacing the
    folder's earlier plan. These files, like cases.xlsx, hold full identity numbers.

    Example: sentinel plan visits --out demo/out --month 2020-12 --township 梅城镇 --max-visits 5
    """
    from features.visits import visit_plan_summary
    from sentinel.io.visit_plans import VISIT_PLAN_FOLDER, read_visit_plan, write_visit_plans
    from sentinel.review.i18n import translator

    if max_visits is not None and max_visits < 1:
        fail(ValueError(f"--max-visits {max_visits}: a day trip sees at least 1 person"))
    cfg = site_config(config)
    try:
        plan = read_visit_plan(
            out,
            month,
            cfg.visits,
            townships=township,
            max_visits=max_visits,
            leave_out=_closed_cases(out, cfg),
        )
    except (ValueError, FileNotFoundError) as exc:
        fail(exc)
    _refuse_unlisted_townships(out, month, township or ())
    private(out, cfg)
    language = cfg.detection.report_language
    files = write_visit_plans(
        plan,
        out / month / VISIT_PLAN_FOLDER,
        month=month,
        language=language,
        label=translator(language)[1],
    )
    summary = visit_plan_summary(plan.lazy()).collect()
    _print_visit_plan(plan, summary, files, month, max_visits or cfg.visits.max_visits_per_trip)
    for missing in sorted(set(township or ()) - set(summary["township"].drop_nulls())):
        err.print(f"{missing}: no case within capacity in {month}", highlight=False)
    console.print(
        f"visit plan: {files.csv} and {len(files.sheets)} township sheets in {files.csv.parent}",
        highlight=False,
    )


def _closed_cases(out: Path, cfg) -> list[str]:  # type: ignore[no-untyped-def]
    """The case IDs the case store of ``out`` has closed: an outcome recorded after the month
    was listed leaves nothing to visit; none without a store (a case list on its own)."""
    import polars as pl

    from sentinel.casestore import CaseStore

    url = made_store_url(out, cfg)
    if url is None:
        return []
    with CaseStore(url) as store:
        return store.cases().filter(pl.col("state") == "closed")["case_id"].to_list()


def _refuse_unlisted_townships(
    out: Path, month: str, townships: list[str] | tuple[str, ...]
) -> None:
    """A refused input, before the month's plan files are replaced, for a --township the
    month's case list does not name (a typo would otherwise leave an empty plan in place of
    the month's), naming the closest listed ones."""
    import polars as pl

    cases = pl.scan_parquet(out / month / "cases.parquet").select("township").unique()
    listed = sorted(cases.collect()["township"].drop_nulls())
    for name in dict.fromkeys(townships):
        if name not in listed:
            hint = known_names_hint(name, listed)
            fail(ValueError(f"--township {name}: not in the {month} case list{hint}"))


def _print_visit_plan(plan, summary, files, month: str, limit: int) -> None:  # type: ignore[no-untyped-def]
    """The plan's day trips per township (``summary``), with the expected yuan and each
    township's sheet."""
    table = Table(title=f"{month} visit plan: day trips of at most {limit} visits")
    for col in ("township", "trips", "stops", "cases", "expected yuan", "sheet"):
        table.add_column(col, justify="left" if col in ("township", "sheet") else "right")
    for r in summary.iter_rows(named=True):
        table.add_row(
            r["township"] or "(township unknown)",
            str(r["trips"]),
            str(r["stops"]),
            str(r["cases"]),
            f"{r['expected_yuan']:,.2f}",
            files.sheets[r["township"]].name,
        )
    table.add_row(
        "total",
        str(plan["trip"].n_unique()),
        str(plan.height),
        str(summary["cases"].sum()),
        f"{summary['expected_yuan'].sum():,.2f}",
        "",
    )
    console.print(table)


# ---------------------------------------------------------------------- case review web app
