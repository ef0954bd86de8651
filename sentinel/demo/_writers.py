"""File formats of the demo drops: clean parquet, or the mess a real centre sends.

``mixed`` rotates by month: parquet; UTF-8 CSV with English headers; UTF-8 CSV with BOM,
Chinese headers and values; GB18030 CSV, Chinese; xlsx (first sheet). Dates vary too.
CSV months of payouts and beneficiaries carry a few malformed rows, returned for the truth.
"""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
import xlsxwriter

from sentinel.contract import DATASETS, FILE_SUFFIXES, Dataset

FileFormat = Literal["parquet", "csv_en", "csv_bom_zh", "csv_gb18030_zh", "xlsx"]
ROTATION: tuple[FileFormat, ...] = ("parquet", "csv_en", "csv_bom_zh", "csv_gb18030_zh", "xlsx")
DATE_STYLES = ("%Y-%m-%d", "%Y/%-m/%-d", "%Y%m%d")
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


_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<dimension ref="A1:{last}"/><sheetViews><sheetView tabSelected="1" workbookViewId="0"/>'
    '</sheetViews><sheetFormatPr defaultRowHeight="15"/><sheetData>'
)
_SHEET_TAIL = (
    '</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
    'footer="0.3"/></worksheet>'
)
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


def _xlsx_template() -> tuple[dict[str, bytes], str]:
    """Package parts of a one-sheet workbook made by xlsxwriter, and its date style index."""
    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, {"in_memory": True})
    wb.set_properties({"created": datetime(2020, 1, 1)})
    ws = wb.add_worksheet("Sheet1")
    ws.write_number(0, 0, 43831, wb.add_format({"num_format": "yyyy-mm-dd"}))
    wb.close()
    with zipfile.ZipFile(buffer) as z:
        parts = {name: z.read(name) for name in z.namelist()}
    style = re.search(r'<c r="A1" s="(\d+)"', parts["xl/worksheets/sheet1.xml"].decode()).group(1)  # type: ignore[union-attr]
    return parts, style


def _xml_text(e: pl.Expr) -> pl.Expr:
    return e.str.replace_all("&", "&amp;", literal=True).str.replace_all("<", "&lt;", literal=True).str.replace_all(">", "&gt;", literal=True)


def _write_xlsx(frame: pl.DataFrame, dataset: Dataset, path: Path, serial_dates: bool) -> None:
    """First sheet, Chinese headers; IDs and codes as text cells, dates as date cells
    (or bare Excel serial numbers when ``serial_dates``), amounts as numbers.

    The sheet XML is built column-wise with polars, because cell-by-cell writers are too
    slow for a full-scale county's millions of cells; the package around it comes from an
    xlsxwriter template.
    """
    parts, date_style = _xlsx_template()
    letters = [chr(ord("A") + j) for j in range(len(dataset.columns))]
    row_no = (pl.int_range(pl.len()) + 2).cast(pl.String)
    cells = []
    for letter, col in zip(letters, dataset.columns, strict=True):
        c = pl.col(col.name)
        ref = pl.lit(f'<c r="{letter}') + row_no
        if col.kind == "date":
            serial = (c.cast(pl.Int32) + (_UNIX_EPOCH - _EXCEL_EPOCH)).cast(pl.String)
            style = "" if serial_dates else f' s="{date_style}"'
            cell = ref + pl.lit(f'"{style}><v>') + serial + pl.lit("</v></c>")
        elif col.kind == "amount":
            cell = ref + pl.lit('"><v>') + c.round(2).cast(pl.String) + pl.lit("</v></c>")
        else:
            text = c.replace(_chinese_values(dict(col.values or {}))) if col.kind == "category" else c.cast(pl.String)
            cell = ref + pl.lit('" t="inlineStr"><is><t>') + _xml_text(text) + pl.lit("</t></is></c>")
        cells.append(cell.fill_null(""))
    body = frame.select(
        (pl.lit('<row r="') + row_no + pl.lit('">') + pl.concat_str(cells) + pl.lit("</row>")).alias("xml")
    )["xml"].str.join("")
    header = "".join(
        f'<c r="{letter}1" t="inlineStr"><is><t>{col.aliases[0]}</t></is></c>'
        for letter, col in zip(letters, dataset.columns, strict=True)
    )
    sheet = (
        _SHEET_HEAD.format(last=f"{letters[-1]}{frame.height + 1}")
        + f'<row r="1">{header}</row>'
        + (body[0] if frame.height else "")
        + _SHEET_TAIL
    )
    parts["xl/worksheets/sheet1.xml"] = sheet.encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, data in parts.items():
            z.writestr(zipfile.ZipInfo(name, date_time=_ZIP_TIME), data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)


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
        # The contract's optional columns the county does not deliver are left out.
        dataset = dataclasses.replace(
            DATASETS[name], columns=tuple(c for c in DATASETS[name].columns if c.name in frame.columns)
        )
        for suffix in FILE_SUFFIXES:  # a previous run in another format must not leave a twin
            (month_dir / f"{name}{suffix}").unlink(missing_ok=True)
        this_fmt = fmt
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
