"""File formats of the demo drops: clean parquet, or the mess a real centre sends.

``mixed`` rotates by month: parquet; UTF-8 CSV with English headers; UTF-8 CSV with BOM,
Chinese headers and values; GB18030 CSV, Chinese; xlsx (first sheet). Dates vary too.
CSV months of payouts and beneficiaries carry a few malformed rows, returned for the truth.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
import xlsxwriter

from sentinel.contract import DATASETS, Dataset

FileFormat = Literal["parquet", "csv_en", "csv_bom_zh", "csv_gb18030_zh", "xlsx"]
ROTATION: tuple[FileFormat, ...] = ("parquet", "csv_en", "csv_bom_zh", "csv_gb18030_zh", "xlsx")
DATE_STYLES = ("%Y-%m-%d", "%Y/%-m/%-d", "%Y%m%d")
# xlsxwriter writes ~200k cells/s: the big datasets go to CSV in xlsx months beyond this.
XLSX_MAX_CELLS = 400_000
_EXCEL_EPOCH = date(1899, 12, 30).toordinal()
_UNIX_EPOCH = date(1970, 1, 1).toordinal()


def _chinese_values(values: dict[str, str] | None) -> dict[str, str]:
    """Canonical value -> its first Chinese spelling in the contract."""
    out: dict[str, str] = {}
    for spelling, canonical in (values or {}).items():
        if not spelling.isascii() and canonical not in out:
            out[canonical] = spelling
    return out


def month_format(i: int, formats: Literal["mixed", "parquet"]) -> FileFormat:
    """File format of the ``i``-th month (0-based)."""
    return "parquet" if formats == "parquet" else ROTATION[i % len(ROTATION)]


def _as_text(frame: pl.DataFrame, dataset: Dataset, date_style: str, chinese: bool) -> pl.DataFrame:
    """All columns as text the way the export would print them; nulls stay null."""
    exprs = []
    for col in dataset.columns:
        c = pl.col(col.name)
        if col.kind == "date":
            e = c.dt.strftime(date_style)
        elif col.kind == "amount":
            e = c.round(2).cast(pl.String)
        elif col.kind == "category" and chinese:
            e = c.replace(_chinese_values(dict(col.values or {})))
        else:
            e = c.cast(pl.String)
        exprs.append(e.alias(col.name))
    return frame.select(exprs)


def _malform(
    text: pl.DataFrame, dataset: Dataset, rng: np.random.Generator, protected: set[str], month: str
) -> tuple[pl.DataFrame, list[dict[str, object]], int | None]:
    """Corrupt a few rows as real exports do; returns frame, log and a row to truncate."""
    kinds = ["bad_date", "empty_id", "short_id", "duplicate_row", "truncated_line"]
    if dataset.name == "payouts":
        kinds.insert(3, "bad_amount")
    ids = text["person_id"]
    draws = rng.choice(text.height, 4 * len(kinds), replace=False)
    chosen = [int(r) for r in draws if ids[int(r)] not in protected][: len(kinds)]
    log: list[dict[str, object]] = []
    edits: dict[str, tuple[list[int], list[str]]] = {}

    def edit(col: str, row: int, value: str) -> None:
        edits.setdefault(col, ([], []))
        edits[col][0].append(row)
        edits[col][1].append(value)

    date_col = "pay_date" if dataset.name == "payouts" else "birth_date"
    truncate: int | None = None
    dup_row: int | None = None
    for kind, r in zip(kinds, chosen, strict=True):
        r = int(r)
        log.append({"month": month, "dataset": dataset.name, "kind": kind, "person_id": str(ids[r])})
        if kind == "bad_date":
            edit(date_col, r, str(rng.choice(["0000-00-00", "2020-02-30", "无", "#VALUE!"])))
        elif kind == "empty_id":
            edit("person_id", r, "")
        elif kind == "short_id":
            edit("person_id", r, str(ids[r])[:17])
        elif kind == "bad_amount":
            s = list(f"{float(text['amount'][r]):,.1f}")
            digits = [i for i, ch in enumerate(s) if ch.isdigit()]
            s[int(rng.choice(digits))] = "O"
            edit("amount", r, "".join(s))
        elif kind == "duplicate_row":
            dup_row = r
        else:
            truncate = r
    out = text.with_columns(
        text[c].scatter(rows, pl.Series(values, dtype=pl.String)) for c, (rows, values) in edits.items()
    )
    if dup_row is not None:
        out = pl.concat([out.slice(0, dup_row + 1), out.slice(dup_row, None)])
        if truncate is not None and truncate > dup_row:
            truncate += 1
    return out, log, truncate


def _write_csv(
    frame: pl.DataFrame,
    dataset: Dataset,
    path: Path,
    fmt: FileFormat,
    date_style: str,
    rng: np.random.Generator,
    protected: set[str],
    month: str,
    malformed: bool,
) -> list[dict[str, object]]:
    chinese = fmt != "csv_en"
    text = _as_text(frame, dataset, date_style, chinese)
    log: list[dict[str, object]] = []
    truncate = None
    if malformed and text.height > 50:
        text, log, truncate = _malform(text, dataset, rng, protected, month)
    if chinese:
        text = text.rename({c.name: c.aliases[0] for c in dataset.columns})
    body = text.write_csv()
    if truncate is not None:
        lines = body.split("\n")
        fields = lines[truncate + 1].split(",")
        lines[truncate + 1] = ",".join(fields[: max(2, len(fields) // 2)])
        body = "\n".join(lines)
    if fmt == "csv_gb18030_zh":
        path.write_bytes(body.encode("gb18030"))
    elif fmt == "csv_bom_zh":
        path.write_bytes(body.encode("utf-8-sig"))
    else:
        path.write_bytes(body.encode("utf-8"))
    return log


def _write_xlsx(frame: pl.DataFrame, dataset: Dataset, path: Path, serial_dates: bool) -> None:
    """First sheet, Chinese headers; IDs and codes as text cells, dates as date cells
    (or bare Excel serial numbers when ``serial_dates``), amounts as numbers."""
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    wb.set_properties({"created": datetime(2020, 1, 1)})  # same seed, same bytes
    ws = wb.add_worksheet("Sheet1")
    date_fmt = None if serial_dates else wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_row(0, 0, [c.aliases[0] for c in dataset.columns])
    columns = []
    for j, col in enumerate(dataset.columns):
        s = frame[col.name]
        if col.kind == "date":
            values = (s.cast(pl.Int32) + (_UNIX_EPOCH - _EXCEL_EPOCH)).to_list()
            columns.append((j, values, "number_date"))
        elif col.kind == "amount":
            columns.append((j, s.to_list(), "number"))
        elif col.kind == "category":
            columns.append((j, s.replace(_chinese_values(dict(col.values or {}))).to_list(), "string"))
        else:
            columns.append((j, s.to_list(), "string"))
    write_string, write_number = ws.write_string, ws.write_number
    rows = list(zip(*[c[1] for c in columns], strict=True))
    plan = [(j, kind) for j, _v, kind in columns]
    for i, row in enumerate(rows, start=1):
        for (j, kind), v in zip(plan, row, strict=True):
            if v is None:
                continue
            if kind == "string":
                write_string(i, j, v)
            elif kind == "number":
                write_number(i, j, v)
            else:
                write_number(i, j, v, date_fmt)
    wb.close()


def write_drop(
    month_dir: Path,
    month_index: int,
    month: str,
    frames: dict[str, pl.DataFrame],
    formats: Literal["mixed", "parquet"],
    rng: np.random.Generator,
    protected: set[str],
) -> tuple[dict[str, Path], list[dict[str, object]]]:
    """Write one month's drop; returns the files written and the malformed-row log."""
    month_dir.mkdir(parents=True, exist_ok=True)
    fmt = month_format(month_index, formats)
    cycle = month_index // len(ROTATION)
    written: dict[str, Path] = {}
    log: list[dict[str, object]] = []
    for name, frame in frames.items():
        dataset = DATASETS[name]
        this_fmt = fmt
        if fmt == "xlsx" and frame.height * frame.width > XLSX_MAX_CELLS:
            this_fmt = "csv_en"
        if this_fmt == "parquet":
            path = month_dir / f"{name}.parquet"
            frame.write_parquet(path)
        elif this_fmt == "xlsx":
            path = month_dir / f"{name}.xlsx"
            _write_xlsx(frame, dataset, path, serial_dates=cycle % 2 == 1 and name in ("deaths", "certifications"))
        else:
            path = month_dir / f"{name}.csv"
            style = DATE_STYLES[(ROTATION.index(fmt if fmt != "xlsx" else "csv_en") - 1 + cycle) % len(DATE_STYLES)]
            log += _write_csv(frame, dataset, path, this_fmt, style, rng, protected, month,
                              malformed=name in ("payouts", "beneficiaries"))
        written[name] = path
    return written, log
