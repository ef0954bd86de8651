"""Reports from the case store and the recovery ledger's commands (notices, approvals)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sentinel.cli.common import (
    CaseStoreOutOption,
    StoreConfigOption,
    app,
    case_store,
    command_group,
    console,
    counted,
    day_or_today,
    fail,
    print_frame,
    site_config,
)

if TYPE_CHECKING:
    from sentinel.casestore import CaseStore

report_app = command_group("report", "Reports from the case store.")


@report_app.command("precision")
def report_precision(
    out: CaseStoreOutOption,
    by: Annotated[str, typer.Option(help="'typology' or 'reason'.")] = "typology",
    config: StoreConfigOption = None,
) -> None:
    """Precision of closed cases (confirmed vs cleared) per typology or reason code.

    Example: sentinel report precision --out demo/out --by reason
    """
    if by not in ("typology", "reason"):
        fail(ValueError(f"--by {by!r}: expected 'typology' or 'reason'"))
    with case_store(out, config) as store:
        frame = store.precision_by_reason() if by == "reason" else store.precision_by_typology()
    print_frame(frame, f"precision by {by}")


@report_app.command("recovery")
def report_recovery(
    out: CaseStoreOutOption,
    as_of: Annotated[
        str | None, typer.Option(help="The ledger on this day (YYYY-MM-DD; default today).")
    ] = None,
    by: Annotated[str, typer.Option(help="'township' or 'typology'.")] = "township",
    config: StoreConfigOption = None,
) -> None:
    """The recovery ledger: yuan due, recovered and outstanding, the recovery rate, open
    accounts by age (days since the case was closed: 0-30, 31-90, 91-180, >180) and how far
    the ladder went (notice, administrative order, court, police), per township or
    typology; then the overpayment the audits found vs the list's estimate. Writes OUT/reports/recovery.csv
    and .xlsx (the summary) recovery_accounts.csv (one row per account, full IDs) and recoveries_template.xlsx
    (an empty recovery sheet to fill in and drop as recoveries.xlsx, open accounts beside).

    Example: sentinel report recovery --out demo/out --as-of 2020-12-31 --by typology
    """

    import polars as pl

    from sentinel.casestore.recovery import recovery_ledger, recovery_summary
    from sentinel.io.reports import write_csv_bom, write_recovery_template, write_table_xlsx

    if by not in ("township", "typology"):
        fail(ValueError(f"--by {by!r}: expected 'township' or 'typology'"))
    day = day_or_today(as_of, "--as-of")
    with case_store(out, config) as store:
        ledger = recovery_ledger(store, day)
        summary = recovery_summary(ledger, by)  # type: ignore[arg-type]
        estimated = store.recovered_vs_estimated()
    money = [by, "accounts", "due", "recovered", "written_off", "outstanding", "recovery_rate"]
    print_frame(
        summary.select(money),
        f"recovery ledger on {day} by {by} (yuan)",
        yuan=("due", "recovered", "written_off", "outstanding"),
    )
    print_frame(
        summary.select(by, *(c for c in summary.columns if c.startswith(("aged_", "status_")))),
        "open accounts by days since closing, and accounts by status",
    )
    print_frame(
        summary.select(by, *(c for c in summary.columns if c.startswith("step_"))),
        "how far the recovery ladder went (accounts)",
    )
    # What the audits found against what the list estimated; recovered is the ledger's above.
    print_frame(
        estimated.select(
            "typology", "confirmed", "est_overpayment", "overpaid_amount", "overpaid_per_estimated"
        ),
        "overpaid (found by the audits) vs estimated (on the case list)",
        yuan=("est_overpayment", "overpaid_amount"),
    )
    folder = out / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    write_csv_bom(summary, folder / "recovery.csv")
    numbers = tuple(c for c in summary.columns if c != by)
    write_table_xlsx(summary, folder / "recovery.xlsx", "recovery", numbers=numbers)
    write_csv_bom(ledger, folder / "recovery_accounts.csv")
    language = site_config(config).detection.report_language
    write_recovery_template(
        ledger.filter(pl.col("status") == "open"),
        folder / "recoveries_template.xlsx",
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
    month: Annotated[
        str,
        typer.Option(
            help="Month whose accounts are notified, YYYY-MM: the notices go to OUT/YYYY-MM/notices/."
        ),
    ],
    out: Annotated[Path, typer.Option(help="Output folder holding the case store and the month.")],
    lang: Annotated[
        str, typer.Option("--lang", help="'zh' or 'en' (default: the report language).")
    ] = "",
    issued_on: Annotated[
        str | None, typer.Option(help="Issue day of the notices (YYYY-MM-DD; default today).")
    ] = None,
    actor: Annotated[
        str, typer.Option(help="Who issues the notices (kept in the audit trail).")
    ] = "sentinel",
    config: StoreConfigOption = None,
) -> None:
    """Printable recovery notices (追回通知书) for every open recovery account closed by the
    month's end that has no notice yet, each recorded in the ledger as a notice with a
    deadline recovery.notice_deadline_days after the issue day. The notices hold the
    person's name and ID (a document to serve, like the case workbook); nothing printed
    here does.

    Example: sentinel notices --month 2020-12 --out demo/out --lang zh
    """
    from sentinel.io.notices import NOTICE_FOLDER
    from sentinel.io.store import processed_months

    if not re.match(r"^\d{4}-(0[1-9]|1[0-2])$", month):
        fail(ValueError(f"--month {month!r}: expected YYYY-MM"))
    cfg = site_config(config)
    language = lang or cfg.detection.report_language
    if language not in ("zh", "en"):
        fail(ValueError(f"--lang {lang!r}: expected 'zh' or 'en'"))
    day = day_or_today(issued_on, "--issued-on")
    deadline = day + timedelta(days=cfg.recovery.notice_deadline_days)
    folder = out / month / NOTICE_FOLDER
    with case_store(out, config) as store:
        if month not in processed_months(out):
            fail(ValueError(f"--month {month}: no case list in {out} (run the month first)"))
        written, due = _issue_notices(store, out, month, day, deadline, language, actor, folder)
    if not written:
        console.print(f"0 notices written: no account of {month} needs one", highlight=False)
        return
    console.print(
        f"{counted(written, 'notice')} written to {folder} (deadline {deadline}); "
        f"{counted(due - written, 'account')} skipped",
        highlight=False,
    )


def _issue_notices(
    store: CaseStore,
    out: Path,
    month: str,
    day: date,
    deadline: date,
    language: str,
    actor: str,
    folder: Path,
) -> tuple[int, int]:
    """A notice written for every account to notify, each recorded in the ledger; returns
    the notices written and the accounts due one."""
    import polars as pl

    from sentinel.casestore.recovery import RecoveryEntry, record_recovery, recovery_ledger
    from sentinel.io.notices import (
        accounts_to_notify,
        addressees,
        notice_number,
        render_notice,
        write_notice,
    )
    from sentinel.periods import month_end

    due = accounts_to_notify(recovery_ledger(store, day).lazy(), month_end(month)).collect()
    deaths = store.cases().select("case_id", "death_date")
    to = addressees(out, due["case_id"].to_list())
    accounts = (
        due.join(to, on=["case_id"], how="left", suffix="_listed")
        .join(deaths, on="case_id", how="left")
        .with_columns(pl.coalesce("township_listed", "township").alias("township"))
    )
    written = 0
    for account in accounts.iter_rows(named=True):
        html = render_notice(account, issued_on=day, deadline=deadline, language=language)  # type: ignore[arg-type]
        write_notice(html, folder, account["case_id"])
        notice = RecoveryEntry(
            "notice", day, deadline=deadline, record_id=notice_number(account["case_id"], day)
        )
        record_recovery(store, account["case_id"], notice, actor=actor, source="app")
        written += 1
    return written, len(due)


recovery_app = command_group(
    "recovery", "The recovery ledger: steps recorded by hand and write-offs signed off."
)


@recovery_app.command("approve")
def recovery_approve(
    case_id: Annotated[str, typer.Argument(help="The case whose write-off is approved.")],
    record_id: Annotated[str, typer.Argument(help="The write-off's record id (the proposal's).")],
    out: CaseStoreOutOption,
    actor: Annotated[str, typer.Option(help="Who approves: never the user who proposed it.")],
    config: StoreConfigOption = None,
) -> None:
    """Approve a proposed write-off: from today it counts in the ledger. Exit code 2 when
    it cannot be approved (unknown, or proposed by the same user).

    Example: sentinel recovery approve DP-0a1b2c3d4e5f W-2020-017 --out demo/out --actor 审核-赵
    """
    from sentinel.casestore import CaseValidationError
    from sentinel.casestore.recovery import approve_write_off

    with case_store(out, config) as store:
        try:
            changed = approve_write_off(store, case_id, record_id, actor=actor)
        except CaseValidationError as exc:
            fail(exc)
    console.print("write-off approved" if changed else "write-off was already approved")


@report_app.command("prevented")
def report_prevented(
    out: Annotated[
        Path, typer.Option(help="Output folder holding the case store and OUT/screen/.")
    ],
    config: StoreConfigOption = None,
) -> None:
    """Yuan held by the pre-disbursement screen per pay period, and of it what audits later
    confirmed, next to yuan recovered after payment (the recovery ledger).

    Example: sentinel report prevented --out demo/out
    """
    from sentinel.casestore.recovery import recovery_ledger
    from sentinel.prevented import prevented

    with case_store(out, config) as store:
        # Recovered after payment: the recovery ledger (at closing and every payment since).
        ledger = recovery_ledger(store, date.today())
        frame = prevented(out, store.cases(), ledger.select(recovered_amount="recovered"))
    print_frame(
        frame,
        "prevented (held before payment) and recovered (after)",
        yuan=("held_yuan", "held_yuan_confirmed", "recovered_yuan"),
    )


@report_app.command("suspects")
def report_suspects(
    out: Annotated[
        Path, typer.Option(help="Output folder holding the case store and the curated suspects.")
    ],
    overdue: Annotated[
        bool,
        typer.Option(
            "--overdue", help="List each suspect still unanswered after its batch's due date."
        ),
    ] = False,
    as_of: Annotated[
        str | None, typer.Option(help="Count days against this date (YYYY-MM-DD; default today).")
    ] = None,
    config: StoreConfigOption = None,
) -> None:
    """Upstream suspect batches: answered, still verifying, days to the due date; with
    --overdue, what is late. Exit code 1 when anything is overdue.

    Example: sentinel report suspects --out demo/out --overdue
    """

    from sentinel.suspects import suspect_status

    day = day_or_today(as_of, "--as-of")
    cfg = site_config(config)
    with case_store(out, config) as store:
        frame = suspect_status(out, store.cases(), day, cfg.cases.clear_months, overdue=overdue)
    if overdue:
        print_frame(frame, f"suspects overdue on {day}")
        if frame.height:
            raise typer.Exit(1)
    else:
        print_frame(frame, f"upstream suspect batches on {day}")


@report_app.command("open")
def report_open(
    out: CaseStoreOutOption,
    days: Annotated[
        int,
        typer.Option(
            help="List cases open longer than this many days (0 or more), counted from the day the run that listed (or reopened) the case recorded it."
        ),
    ] = 30,
    config: StoreConfigOption = None,
) -> None:
    """Cases open (new or assigned) longer than N days: days from the day the case store
    recorded the case opening (the wall-clock day of the run that first listed or reopened
    it, not the month it was listed for) to today. Months run today, as in a demo or a
    catch-up of past months, are 0 days open.

    Example: sentinel report open --out demo/out --days 45
    """
    from sentinel.masking import mask_id_expr

    if days < 0:
        fail(ValueError(f"--days {days}: expected 0 or more"))
    with case_store(out, config) as store:
        frame = store.open_longer_than(days, date.today())
    if "person_id" in frame.columns:
        frame = frame.with_columns(mask_id_expr("person_id"))
    print_frame(frame, f"cases open longer than {days} days")
