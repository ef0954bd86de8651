"""Writers for a month's outputs: case list (parquet, CSV, workbook), quarantine, manifest.

All writers target the month's staging folder; :func:`sentinel.io.store.staged_month`
renames it into place once everything is written.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import polars as pl
import xlsxwriter

from sentinel.config import REPLY_COLUMNS
from sentinel.contract import CASE_COLUMNS, RECOVERIES

CSV_BOM = "\ufeff"

CASE_HEADERS_ZH: dict[str, str] = {
    "case_id": "案件编号",
    "person_id": "身份证号",
    "name": "姓名",
    "scheme": "险种",
    "township": "乡镇",
    "village": "村(社区)",
    "typology": "疑点类型",
    "priority_rank": "优先级",
    "risk_score": "风险评分",
    "est_overpayment": "估计多发金额(元)",
    "evidence": "疑点依据",
    "reasons": "疑点代码",
    "first_flagged": "首次发现",
    "status": "状态",
    "strength": "证据强度",
    "amount_at_stake": "涉及金额(元)",
    "last_paid_period": "最后发放所属期",
    "audit_selection": "本月核查",
    "selection_probability": "抽取概率",
    "suspect_batch": "上级疑点批次",
    "suspect_due": "疑点反馈截止日期",
}
#: Columns auditors fill in on each township sheet; read back by ``sentinel outcomes import``.
OUTCOME_HEADERS: dict[str, str] = {
    "outcome": "核查结果",
    "closed_on": "结案日期",
    "death_date": "死亡日期",
    "overpaid_amount": "核定多发金额",
    "recovered_amount": "追回金额",
    "audited_by": "经办人",
    "reviewed_by": "复核人",
    "note": "备注",
}
_WIDTHS = {
    "case_id": 16, "person_id": 21, "name": 10, "scheme": 12, "township": 12, "village": 14,
    "typology": 26, "priority_rank": 8, "risk_score": 9, "est_overpayment": 12,
    "evidence": 80, "reasons": 30, "first_flagged": 10, "status": 14, "strength": 8,
    "amount_at_stake": 12, "last_paid_period": 10, "audit_selection": 10, "selection_probability": 8,
}


#: A text cell starting with one of these is read by Excel (and LibreOffice) as a formula
#: (OWASP "CSV injection"); tab and CR start one after Excel strips them.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# A plain number ("-103", "+1.5e3") is no formula: it stays a number for the spreadsheet.
_PLAIN_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells that a spreadsheet would run as a formula, made inert with a leading ``'``.

    Only text columns change, and only cells starting with ``= + - @``, tab or CR that are
    not a plain number; numeric columns stay numbers. The apostrophe is Excel's own mark
    for "this is text", so the auditor still reads the value as it was.
    """
    triggers = "".join(re.escape(t) for t in FORMULA_TRIGGERS)
    text = [c for c, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.when(
            pl.col(c).str.contains(f"^[{triggers}]") & ~pl.col(c).str.contains(_PLAIN_NUMBER)
        )
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text
    )


def write_csv_bom(frame: pl.DataFrame, path: Path) -> None:
    """The product's one CSV writer: UTF-8 with a BOM (opens correctly in Excel on a
    Chinese Windows desktop), formula cells neutralised (:func:`neutralise_formulas`)."""
    with Path(path).open("wb") as fh:
        fh.write(CSV_BOM.encode("utf-8"))
        neutralise_formulas(frame).write_csv(fh)


def write_table_xlsx(
    frame: pl.DataFrame, path: Path, sheet_name: str, *, numbers: tuple[str, ...] = ()
) -> None:
    """One sheet, header frozen: the ``numbers`` columns as numbers, every other value as
    text (IDs and accounts stay text, and no cell is ever a formula)."""
    with xlsxwriter.Workbook(str(path)) as book:
        bold = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        sheet = book.add_worksheet(sheet_name)
        _write_table(sheet, frame, bold, numbers=numbers, wide="evidence")
        sheet.autofilter(0, 0, frame.height, max(len(frame.columns) - 1, 0))


def _write_table(
    sheet: Any, frame: pl.DataFrame, bold: Any, *, numbers: tuple[str, ...], wide: str
) -> None:
    """``frame`` on ``sheet`` under a frozen bold header: the ``numbers`` columns as
    numbers, every other value as text (no cell is ever a formula); ``wide``: the column
    given room for sentences."""
    for j, col in enumerate(frame.columns):
        sheet.write_string(0, j, col, bold)
        sheet.set_column(j, j, 60 if col == wide else 16)
    for i, row in enumerate(frame.iter_rows(), start=1):
        for j, (col, value) in enumerate(zip(frame.columns, row, strict=True)):
            if value is None:
                continue
            if col in numbers:
                sheet.write_number(i, j, float(value))
            else:
                sheet.write_string(i, j, str(value))
    sheet.freeze_panes(1, 0)


def write_suspect_replies(
    replies: pl.DataFrame, folder: Path, columns: dict[str, str], results: dict[str, str]
) -> dict[str, Path]:
    """``suspect_replies.csv`` (UTF-8 BOM) and ``suspect_replies.xlsx`` (one sheet per
    batch) of :func:`features.suspects.suspect_replies`, in the upstream's template:
    ``columns`` renames columns and ``results`` result values (``suspects`` config)."""
    frame = replies.select(REPLY_COLUMNS).with_columns(
        pl.col("result").replace(results) if results else pl.col("result")
    )
    frame = frame.rename({c: columns.get(c, c) for c in REPLY_COLUMNS})
    paths = {"csv": folder / "suspect_replies.csv", "xlsx": folder / "suspect_replies.xlsx"}
    write_csv_bom(frame, paths["csv"])
    batch = columns.get("batch_id", "batch_id")
    numbers = tuple(columns.get(c, c) for c in ("overpaid_amount", "recovered_amount"))
    with xlsxwriter.Workbook(str(paths["xlsx"])) as book:
        bold = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        batches = frame.get_column(batch).unique(maintain_order=True).to_list() or [None]
        used: set[str] = set()
        for k, name in enumerate(batches, start=1):
            rows = frame.filter(pl.col(batch) == name) if name is not None else frame
            title = _sheet_title(str(name or "replies"), k, used)
            sheet = book.add_worksheet(title)
            _write_table(sheet, rows, bold, numbers=numbers, wide=columns.get("evidence", "evidence"))
    return paths


def _sheet_title(name: str, k: int, used: set[str]) -> str:
    """A valid, unique worksheet name for a batch id (31 characters, none of []:*?/\\)."""
    title = re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or f"batch{k}"
    if title in used:
        title = f"{title[:26]}_{k}"
    used.add(title)
    return title


def write_recovery_template(
    accounts: pl.DataFrame, path: Path, *, language: Literal["zh", "en"]
) -> None:
    """An empty recovery sheet for the finance office or the auditors to fill in and drop
    as ``recoveries.xlsx`` (the first sheet, headers in the contract's first Chinese alias
    or its English name), then a sheet of the open ``accounts`` (case id, township,
    outstanding yuan, next deadline) to copy case ids from. IDs and dates are text."""
    zh = language == "zh"
    headers = [c.aliases[0] if zh and c.aliases else c.name for c in RECOVERIES.columns]
    reference = accounts.select(
        "case_id", "township", "typology", "outstanding", "ladder_step", "next_deadline"
    )
    with xlsxwriter.Workbook(str(path)) as book:
        bold = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        text = book.add_format({"num_format": "@"})
        sheet = book.add_worksheet("追回登记" if zh else "recoveries")
        for j, title in enumerate(headers):
            sheet.write_string(0, j, title, bold)
            sheet.set_column(j, j, 16, text)
        sheet.freeze_panes(1, 0)
        open_sheet = book.add_worksheet("待追回账户" if zh else "open accounts")
        _write_table(open_sheet, reference, bold, numbers=("outstanding",), wide="case_id")


def write_quarantine(quarantined: dict[str, pl.DataFrame], folder: Path) -> dict[str, Path]:
    """One ``<dataset>.csv`` per dataset that had quarantined rows (original text + _reason)."""
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for dataset, frame in quarantined.items():
        if frame.height:
            path = folder / f"{dataset}.csv"
            write_csv_bom(frame.cast(pl.String), path)
            written[dataset] = path
    return written


def write_case_list(
    cases: pl.DataFrame, folder: Path, *, language: Literal["zh", "en"], month: str
) -> dict[str, Path]:
    """Write ``cases.parquet``, ``cases.csv`` (UTF-8 BOM) and the field-audit ``cases.xlsx``.

    A list made before any upstream suspect list arrived has no suspect marks: their
    columns are written empty."""
    cases = cases.with_columns(
        pl.lit(None, dtype=dtype).alias(column)
        for column, dtype in (("suspect_batch", pl.String), ("suspect_due", pl.Date))
        if column not in cases.columns
    )
    cases = cases.select(CASE_COLUMNS).sort("priority_rank")
    paths = {
        "parquet": folder / "cases.parquet",
        "csv": folder / "cases.csv",
        "xlsx": folder / "cases.xlsx",
    }
    cases.write_parquet(paths["parquet"])
    write_csv_bom(cases, paths["csv"])
    write_workbook(cases, paths["xlsx"], language=language, month=month)
    return paths


def write_workbook(
    cases: pl.DataFrame, path: Path, *, language: Literal["zh", "en"], month: str
) -> None:
    """Summary sheet, then one sheet per township in priority order, headers frozen.

    Each township sheet ends with empty outcome columns for auditors to fill in.
    """
    zh = language == "zh"
    # A payment to someone absent from the register has no township: it gets its own sheet.
    unknown = "未登记乡镇" if zh else "township unknown"
    cases = cases.with_columns(pl.col("township").fill_null(unknown))
    headers = {c: (CASE_HEADERS_ZH[c] if zh else c) for c in CASE_COLUMNS}
    outcome_headers = {c: (h if zh else c) for c, h in OUTCOME_HEADERS.items()}
    with xlsxwriter.Workbook(str(path)) as book:
        bold = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        wrap = book.add_format({"text_wrap": True, "valign": "top"})
        money = book.add_format({"num_format": "#,##0.00"})
        summary = book.add_worksheet("汇总" if zh else "summary")
        _write_summary(summary, cases, bold, money, zh=zh, month=month)
        townships = (
            cases.group_by("township")
            .agg(pl.col("priority_rank").min().alias("best"))
            .sort("best")
            .get_column("township")
            .to_list()
        )
        used: set[str] = set()
        for township in townships:
            rows = cases.filter(pl.col("township") == township)
            sheet = book.add_worksheet(_sheet_name(str(township), used))
            columns = list(CASE_COLUMNS) + list(OUTCOME_HEADERS)
            for j, col in enumerate(columns):
                title = headers.get(col) or outcome_headers[col]
                sheet.write_string(0, j, title, bold)
                sheet.set_column(j, j, _WIDTHS.get(col, 14), wrap if col == "evidence" else None)
            for i, row in enumerate(rows.iter_rows(named=True), start=1):
                for j, col in enumerate(CASE_COLUMNS):
                    value = row[col]
                    if value is None:
                        continue
                    if col in ("risk_score", "est_overpayment", "amount_at_stake"):
                        sheet.write_number(i, j, float(value), money)
                    elif col == "selection_probability":
                        sheet.write_number(i, j, float(value))
                    elif col == "priority_rank":
                        sheet.write_number(i, j, int(value))
                    else:
                        # IDs and accounts are text: never let Excel turn them into numbers.
                        sheet.write_string(i, j, str(value))
            sheet.freeze_panes(1, 0)
            sheet.autofilter(0, 0, rows.height, len(columns) - 1)


def _write_summary(sheet, cases: pl.DataFrame, bold, money, *, zh: bool, month: str) -> None:  # type: ignore[no-untyped-def]
    title = f"{month} 疑点核查清单" if zh else f"{month} case list for field audits"
    sheet.write_string(0, 0, title, bold)
    labels = (
        ("乡镇", "案件数", "估计多发金额(元)", "最高优先级")
        if zh
        else ("township", "cases", "est_overpayment", "best_rank")
    )
    for j, label in enumerate(labels):
        sheet.write_string(2, j, label, bold)
    table = (
        cases.group_by("township")
        .agg(
            pl.len().alias("cases"),
            pl.col("est_overpayment").sum().alias("amount"),
            pl.col("priority_rank").min().alias("best"),
        )
        .sort("best")
    )
    for i, row in enumerate(table.iter_rows(named=True), start=3):
        sheet.write_string(i, 0, str(row["township"]))
        sheet.write_number(i, 1, row["cases"])
        sheet.write_number(i, 2, float(row["amount"] or 0.0), money)
        sheet.write_number(i, 3, row["best"])
    total_row = 3 + table.height
    sheet.write_string(total_row, 0, "合计" if zh else "total", bold)
    sheet.write_number(total_row, 1, cases.height)
    sheet.write_number(total_row, 2, float(cases["est_overpayment"].sum() or 0.0), money)
    sheet.set_column(0, 0, 16)
    sheet.set_column(1, 3, 16)
    sheet.freeze_panes(3, 0)


def _sheet_name(township: str, used: set[str]) -> str:
    """Excel sheet names: at most 31 characters, no []:*?/\\ and unique."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in township)[:31] or "unknown"
    name, n = clean, 2
    while name.lower() in used:
        suffix = f"~{n}"
        name = clean[: 31 - len(suffix)] + suffix
        n += 1
    used.add(name.lower())
    return name
