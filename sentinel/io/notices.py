"""Recovery notices (追回通知书): printable documents for the accounts not yet notified.

A notice is addressed to the person (or, for a deceased person, their heirs) and holds the
name, the identity number, the sums and the deadline: it is a document the audit unit
prints and serves, like ``cases.xlsx``, not a log. Nothing here logs or prints an identity
number or a name. Templates (Jinja2, zh and en) are files of the package:
``sentinel/io/templates/notice_<lang>.html``.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, Literal

import polars as pl
from jinja2 import Environment, FileSystemLoader, select_autoescape

from sentinel.io.store import processed_months

__all__ = [
    "NOTICE_FOLDER",
    "accounts_to_notify",
    "addressees",
    "notice_number",
    "render_notice",
    "write_notice",
]

#: The folder of a month's notices, under ``OUT/YYYY-MM/``.
NOTICE_FOLDER = "notices"
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
# Characters a file name may not hold on Windows or POSIX (a case id is ours, but be safe).
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
_ADDRESS_COLUMNS = ("case_id", "name", "township", "village")


def accounts_to_notify(ledger: pl.LazyFrame, month_end: date) -> pl.LazyFrame:
    """The open accounts of a recovery ledger closed by ``month_end`` that no notice was
    sent for yet (``notice_on`` null), by ``case_id``."""
    return ledger.filter(
        (pl.col("status") == "open")
        & pl.col("notice_on").is_null()
        & (pl.col("closed_on") <= month_end)
    ).sort("case_id")


def addressees(out: Path, case_ids: list[str]) -> pl.DataFrame:
    """``case_id, name, township, village`` of each case as its latest case list under
    ``OUT/YYYY-MM/cases.parquet`` holds it (the case store keeps no names). A case on no
    list has no row."""
    frames = [
        pl.scan_parquet(Path(out) / m / "cases.parquet")
        .select(*_ADDRESS_COLUMNS)
        .with_columns(pl.lit(m).alias("_month"))
        for m in processed_months(out)
        if (Path(out) / m / "cases.parquet").exists()
    ]
    schema = {c: pl.String for c in _ADDRESS_COLUMNS}
    if not frames or not case_ids:
        return pl.DataFrame(schema=schema)
    return (
        pl.concat(frames, how="diagonal_relaxed")
        .filter(pl.col("case_id").is_in(case_ids))
        .sort("_month")
        .group_by("case_id")
        .agg(pl.col(c).last() for c in _ADDRESS_COLUMNS[1:])
        .sort("case_id")
        .collect()
        .cast(schema)  # type: ignore[arg-type]
    )


def notice_number(case_id: str, issued_on: date) -> str:
    """The notice's number, also its ``record_id`` in the ledger: ``TZ-<date>-<case>``."""
    return f"TZ-{issued_on:%Y%m%d}-{case_id}"


def render_notice(
    account: dict[str, Any],
    *,
    issued_on: date,
    deadline: date,
    language: Literal["zh", "en"],
) -> str:
    """One notice as HTML (A4 portrait) for an account of the ledger joined with its
    addressee (``case_id, person_id, name, township, village, outcome, closed_on, due,
    recovered, outstanding`` and optionally ``death_date``). A deceased person's notice is
    addressed to the heirs or family."""
    template = _TEMPLATES.get_template(f"notice_{language}.html")
    zh = language == "zh"
    address = "".join if zh else ", ".join
    place = [p for p in (account.get("township"), account.get("village")) if p]
    return template.render(
        notice_no=notice_number(account["case_id"], issued_on),
        case_id=account["case_id"],
        person_id=account["person_id"],
        name=account.get("name") or ("（姓名未登记）" if zh else "(name not on the register)"),
        deceased=account.get("outcome") == "confirmed_deceased",
        death_date=_day(account.get("death_date"), zh),
        closed_on=_day(account["closed_on"], zh),
        due=_money(account["due"]),
        recovered=_money(account["recovered"]),
        outstanding=_money(account["outstanding"]),
        deadline=_day(deadline, zh),
        issued_on=_day(issued_on, zh),
        address=address(place) or ("未登记" if zh else "not on the register"),
    )


def write_notice(html: str, folder: Path, case_id: str) -> Path:
    """Write one notice to ``folder/<case_id>.html`` (replacing an earlier draft)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_UNSAFE.sub('_', case_id)}.html"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path


def _money(value: float | None) -> str:
    return f"{float(value or 0.0):,.2f}"


def _day(value: date | None, zh: bool) -> str | None:
    if value is None:
        return None
    return f"{value.year}年{value.month}月{value.day}日" if zh else value.isoformat()
