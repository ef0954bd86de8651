"""What people looking at Prefect's UI see of a month: a markdown summary and a table of
the top cases. Identity numbers are masked and names shortened: artifacts are not the
place for personal data."""

from __future__ import annotations

from typing import Any

import polars as pl

from sentinel.masking import mask_id_expr, short_name


def month_summary_markdown(
    month: str,
    rows: dict[str, tuple[int, int, int]],
    validation: dict[str, Any],
    cases: pl.DataFrame,
    outputs: dict[str, str],
    model_version: str,
) -> str:
    """Markdown: rows in/loaded/quarantined, validation, cases by typology and township,
    amount at stake, and where the Data Docs and the workbook are."""
    lines = [f"# Monthly audit {month}", "", "## Inputs", "",
             "| dataset | rows in | loaded | quarantined |", "|---|---:|---:|---:|"]
    for dataset, (rows_in, loaded, quarantined) in rows.items():
        lines.append(f"| {dataset} | {rows_in:,} | {loaded:,} | {quarantined:,} |")
    lines += ["", "## Validation", "", "| suite | success | failed expectations |", "|---|---|---:|"]
    for suite, report in validation.items():
        lines.append(
            f"| {suite} | {'yes' if report.success else 'no'} | {len(report.failed_expectations)} |"
        )
    at_stake = float(cases["est_overpayment"].sum() or 0.0) if cases.height else 0.0
    lines += ["", f"## Cases: {cases.height:,} (est. overpayment {at_stake:,.2f} yuan; model `{model_version}`)", ""]
    if cases.height:
        by_typology = (
            cases.group_by("typology")
            .agg(pl.len().alias("cases"), pl.col("est_overpayment").sum().alias("yuan"))
            .sort("cases", descending=True)
        )
        lines += ["| typology | cases | est. overpayment |", "|---|---:|---:|"]
        lines += [f"| {t} | {n:,} | {y:,.2f} |" for t, n, y in by_typology.iter_rows()]
        by_township = (
            cases.with_columns(pl.col("township").fill_null("(not on register)"))
            .group_by("township")
            .agg(pl.len().alias("cases"), pl.col("priority_rank").min().alias("best"))
            .sort("best")
        )
        lines += ["", "| township | cases | best rank |", "|---|---:|---:|"]
        lines += [f"| {t} | {n:,} | {b} |" for t, n, b in by_township.iter_rows()]
    lines += ["", "## Outputs", "",
              f"- Data Docs: `{outputs.get('data_docs', '')}`",
              f"- Workbook for field audits: `{outputs.get('workbook', '')}`",
              f"- Case list: `{outputs.get('cases', '')}`",
              f"- Quarantine: `{outputs.get('quarantine', '')}`",
              f"- Manifest: `{outputs.get('manifest', '')}`"]
    return "\n".join(lines) + "\n"


def top_cases_table(cases: pl.DataFrame, limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` cases with masked IDs and surname-only names."""
    top = cases.sort("priority_rank").head(limit)
    return top.select(
        "priority_rank",
        "case_id",
        mask_id_expr("person_id"),
        pl.col("name").map_elements(short_name, return_dtype=pl.String, skip_nulls=True),
        "township",
        "typology",
        pl.col("risk_score").round(3),
        pl.col("est_overpayment").round(2),
        "reasons",
        "status",
    ).to_dicts()
