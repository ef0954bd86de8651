"""A month's field-visit plan read from its case list and written for the audit unit.

:func:`read_visit_plan` plans ``OUT/YYYY-MM/cases.parquet`` with
:func:`features.visits.visit_plan`; :func:`write_visit_plans` writes
``OUT/YYYY-MM/visit_plans/``: ``visit_plan.csv`` (UTF-8 with BOM, formula cells
neutralised; one row per stop) and one printable HTML sheet per township (one page per day
trip). Like ``cases.xlsx`` these files are for the audit unit and hold full identity
numbers; nothing here logs or prints them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl
from jinja2 import Environment, select_autoescape

from features.visits import LIST_SEPARATOR, visit_plan
from sentinel.config import VisitsConfig
from sentinel.io.reports import write_csv_bom

__all__ = [
    "VISIT_PLAN_FOLDER",
    "VisitPlanFiles",
    "read_visit_plan",
    "render_visit_sheet",
    "write_visit_plans",
]

#: The folder of a month's visit plan files, under ``OUT/YYYY-MM/``.
VISIT_PLAN_FOLDER = "visit_plans"
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
# Characters a file name may not hold on Windows or POSIX (a township name is free text).
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')

# key: (zh, en)
_TEXTS: dict[str, tuple[str, str]] = {
    "title": ("{month} 走访计划 · {township}", "{month} visit plan · {township}"),
    "trip": ("第 {trip} 趟", "Trip {trip}"),
    "of": ("（共 {n} 趟，本乡镇 {k} 趟）", "(of {n}; {k} in this township)"),
    "villages": ("村(社区)", "Villages"),
    "no_village": (
        "村(社区)未登记：请向乡镇核实住址",
        "no village on the register: ask the township office",
    ),
    "stops": ("走访 {n} 户", "{n} people to see"),
    "expected": ("预期金额 {yuan} 元", "expected {yuan} yuan"),
    "address_note": (
        "地址为参保登记的乡镇和村(社区)，登记中没有门牌地址。预期金额 = 风险概率 × 涉及金额。",
        "Addresses are the township and village the register holds: it has no street "
        "address. Expected yuan = risk × amount at stake.",
    ),
    "stop": ("序号", "Stop"),
    "address": ("地址", "Address"),
    "name": ("姓名", "Name"),
    "person_id": ("身份证号", "ID number"),
    "cases": ("案件编号", "Cases"),
    "typology": ("疑点类型", "Typology"),
    "evidence": ("核查要点（疑点依据）", "Evidence to check"),
    "expected_yuan": ("预期金额(元)", "Expected (yuan)"),
    "record": ("核查记录", "Findings"),
    "signature": ("核查人：__________　日期：__________", "Auditor: __________  Date: __________"),
    "unknown_township": ("未登记乡镇", "township unknown"),
}

_SHEET = """<!doctype html>
<html lang="{{ 'zh-CN' if zh else 'en' }}">
<head>
<meta charset="utf-8">
<title>{{ title }}</title>
<style>
  @page { size: A4 landscape; margin: 12mm; }
  body { font: 12px/1.4 system-ui, "Noto Sans CJK SC", "Microsoft YaHei", sans-serif;
         color: #111; margin: 0 auto; max-width: 1200px; }
  section.trip { padding: 8px 0 16px; border-bottom: 2px solid #999; }
  h1 { font-size: 17px; margin: 0 0 4px; }
  p { margin: 2px 0 6px; }
  .note { color: #555; font-size: 11px; }
  table { border-collapse: collapse; width: 100%; margin-top: 6px; }
  th, td { border: 1px solid #777; padding: 4px 5px; text-align: left; vertical-align: top; }
  th { background: #eee; white-space: nowrap; }
  td.num { text-align: right; white-space: nowrap; }
  td.id { font-family: ui-monospace, "DejaVu Sans Mono", monospace; white-space: nowrap; }
  td.nowrap { white-space: nowrap; }
  td.record { width: 14%; }
  ul { margin: 0; padding-left: 14px; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  @media print {
    section.trip { border: 0; break-after: page; page-break-after: always; }
    section.trip:last-of-type { break-after: auto; page-break-after: auto; }
  }
</style>
</head>
<body>
{% for trip in trips %}
<section class="trip" id="trip-{{ trip.trip }}">
  <h1>{{ title }} · {{ t('trip', trip=trip.trip) }} <small>{{ t('of', n=total_trips, k=trips|length) }}</small></h1>
  <p><b>{{ t('villages') }}:</b> {{ trip.villages or t('no_village') }} ·
     {{ t('stops', n=trip.stops) }} · {{ t('expected', yuan=money(trip.yuan)) }}</p>
  <p class="note">{{ t('address_note') }}</p>
  <table>
    <thead><tr>
      <th>{{ t('stop') }}</th><th>{{ t('address') }}</th><th>{{ t('name') }}</th>
      <th>{{ t('person_id') }}</th><th>{{ t('cases') }}</th><th>{{ t('typology') }}</th>
      <th>{{ t('evidence') }}</th><th>{{ t('expected_yuan') }}</th><th>{{ t('record') }}</th>
    </tr></thead>
    <tbody>
    {% for s in trip.rows %}
    <tr>
      <td class="num">{{ s.stop }}</td>
      <td class="nowrap">{{ s.address or '' }}{% if not s.village %}<br>{{ t('no_village') }}{% endif %}</td>
      <td class="nowrap">{{ s.name or '' }}</td>
      <td class="id">{{ s.person_id or '' }}</td>
      <td class="id">{% for c in s.cases %}{{ c }}<br>{% endfor %}</td>
      <td class="nowrap">{% for x in s.typologies %}{{ label(x) }}<br>{% endfor %}</td>
      <td><ul>{% for e in s.sentences %}<li>{{ e }}</li>{% endfor %}</ul></td>
      <td class="num">{{ money(s.expected_yuan) }}</td>
      <td class="record"></td>
    </tr>
    {% endfor %}
    </tbody>
  </table>
  <p>{{ t('signature') }}</p>
</section>
{% endfor %}
</body>
</html>
"""
_TEMPLATE = Environment(
    autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True
).from_string(_SHEET)


def read_visit_plan(
    out: Path,
    month: str,
    settings: VisitsConfig,
    *,
    townships: Iterable[str] | None = None,
    max_visits: int | None = None,
    leave_out: Iterable[str] = (),
) -> pl.DataFrame:
    """The visit plan of ``month`` from ``OUT/month/cases.parquet``
    (:func:`features.visits.visit_plan`), for ``townships`` only when given (trips are
    then numbered among theirs), with ``max_visits`` stops a trip (default
    ``visits.max_visits_per_trip``), less the cases ``leave_out`` names (those the case
    store has closed since the month was listed: nobody need visit them). Raises
    ``ValueError`` for a malformed month and ``FileNotFoundError`` when the month has no
    case list."""
    if not _MONTH.match(month):
        raise ValueError(f"month must be YYYY-MM, got {month!r}")
    path = Path(out) / month / "cases.parquet"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no case list for {month} (run the month first)")
    cases = pl.scan_parquet(path)
    if townships is not None:
        cases = cases.filter(pl.col("township").is_in(sorted(set(townships))))
    closed = sorted(set(leave_out))
    if closed:
        cases = cases.filter(~pl.col("case_id").is_in(closed))
    limit = settings.max_visits_per_trip if max_visits is None else max_visits
    return visit_plan(cases, limit, combine_villages=settings.combine_villages).collect()


def render_visit_sheet(
    plan: pl.DataFrame,
    *,
    month: str,
    township: str,
    total_trips: int,
    language: Literal["zh", "en"],
    label: Callable[[object], str] = str,
) -> str:
    """A printable HTML sheet of one township's trips of a visit plan: one page per trip
    (A4 landscape) with the people to see, their address, full ID, cases, evidence and
    an empty column for the auditor's findings. ``label`` names typologies."""
    index = 0 if language == "zh" else 1

    def text(key: str, **values: object) -> str:
        return _TEXTS[key][index].format(**values)

    trips = [
        {
            "trip": rows["trip"][0],
            "villages": rows["trip_villages"][0],
            "stops": rows["trip_stops"][0],
            "yuan": rows["trip_expected_yuan"][0],
            "rows": [_sheet_row(r) for r in rows.to_dicts()],
        }
        for rows in plan.sort("trip", "stop").partition_by("trip", maintain_order=True)
    ]
    return _TEMPLATE.render(
        zh=language == "zh",
        title=text("title", month=month, township=township),
        trips=trips,
        total_trips=total_trips,
        t=text,
        label=label,
        money=_money,
    )


@dataclass(frozen=True)
class VisitPlanFiles:
    """What :func:`write_visit_plans` wrote: the CSV and each township's sheet (``None``:
    the people with no township on the register)."""

    csv: Path
    sheets: dict[str | None, Path]


def write_visit_plans(
    plan: pl.DataFrame,
    folder: Path,
    *,
    month: str,
    language: Literal["zh", "en"],
    label: Callable[[object], str] = str,
) -> VisitPlanFiles:
    """``visit_plan.csv`` and one ``<township>.html`` per township of ``plan`` into
    ``folder`` (created). The folder's earlier plan files are removed first: a plan made
    for other townships or another limit numbers its trips differently."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in [*folder.glob("*.html"), folder / "visit_plan.csv"]:
        old.unlink(missing_ok=True)
    files = VisitPlanFiles(folder / "visit_plan.csv", {})
    write_csv_bom(plan, files.csv)
    unknown = _TEXTS["unknown_township"][0 if language == "zh" else 1]
    total = plan["trip"].n_unique()
    used: set[str] = set()
    for rows in plan.partition_by("township", maintain_order=True):
        township = rows["township"][0]
        name = township if township is not None else unknown
        path = folder / f"{_file_stem(name, used)}.html"
        sheet = render_visit_sheet(
            rows, month=month, township=name, total_trips=total, language=language, label=label
        )
        path.write_text(sheet, encoding="utf-8")
        files.sheets[township] = path
    return files


def _sheet_row(stop: dict[str, object]) -> dict[str, object]:
    """A stop with its cases, typologies and evidence sentences (the case list joins a
    case's sentences with "; ", and a stop its cases' alike) as lists."""
    evidence = str(stop["evidence"] or "")
    return stop | {
        "cases": str(stop["case_ids"]).split(LIST_SEPARATOR),
        "typologies": str(stop["typology"]).split(LIST_SEPARATOR),
        "sentences": [s.strip() for s in evidence.split(";") if s.strip()],
    }


def _money(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _file_stem(name: str, used: set[str]) -> str:
    """A township's name as a file name: unsafe characters replaced, unique in the folder."""
    stem = _UNSAFE.sub("_", name).strip(" .") or "township"
    candidate, n = stem, 2
    while candidate.lower() in used:
        candidate, n = f"{stem}~{n}", n + 1
    used.add(candidate.lower())
    return candidate
