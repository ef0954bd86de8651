import re

import polars as pl

from sentinel.artifacts import month_summary_markdown, top_cases_table
from sentinel.validation import ValidationReport

FULL_ID = re.compile(r"\d{17}[\dX]")


def cases() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "case_id": ["DP-1", "DR-2"],
            "person_id": ["430923194001010016", "43092319410202002X"],
            "name": ["王芳", "李四"],
            "township": ["东坪镇", None],
            "typology": ["deceased_paid", "duplicate_receipt"],
            "priority_rank": [1, 2],
            "risk_score": [0.98, 0.9],
            "est_overpayment": [4186.0, 113.0],
            "reasons": ["DP_PAID_AFTER_DEATH", "DR_TWO_SCHEMES"],
            "status": ["new", "carried"],
        }
    )


def test_top_cases_table_masks_ids_and_names() -> None:
    table = top_cases_table(cases(), 60)
    assert [row["person_id"] for row in table] == ["430923********0016", "430923********002X"]
    assert [row["name"] for row in table] == ["王**", "李**"]
    assert not FULL_ID.search(str(table))


def test_markdown_summary_has_inputs_validation_typologies_and_links() -> None:
    report = ValidationReport("payouts", True, [], [], 10, 0.1)
    text = month_summary_markdown(
        "2020-12",
        {"payouts": (10, 9, 1)},
        {"payouts": report},
        cases(),
        {"data_docs": "out/2020-12/data-docs/index.html", "workbook": "out/2020-12/cases.xlsx"},
        "unsupervised-rule-blend-v1",
    )
    assert "| payouts | 10 | 9 | 1 |" in text
    assert "| deceased_paid | 1 | 4,186.00 |" in text
    assert "(not on register)" in text
    assert "data-docs/index.html" in text and "cases.xlsx" in text
    assert not FULL_ID.search(text)
