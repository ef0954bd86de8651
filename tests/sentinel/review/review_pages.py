"""What the review app's route tests share: the pattern of a full identity number on a
page, the top case of a township, a filled-in outcome form and the CSRF token of a page."""

from __future__ import annotations

import re
from datetime import date

import polars as pl

FULL_ID = re.compile(r"\b\d{17}[\dX]\b")
# Also next to Chinese text, where \b sees no word boundary.
ANY_FULL_ID = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")


def case_of(review_data, township: str, typology: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    frame = review_data.cases.filter(pl.col("township") == township)
    if typology is not None:
        frame = frame.filter(pl.col("typology") == typology)
    return frame.sort("priority_rank").row(0, named=True)


def outcome_form(token: str, **fields: str) -> dict[str, str]:
    form = {
        "outcome": "confirmed_improper",
        "closed_on": date.today().isoformat(),
        "death_date": "",
        "overpaid_amount": "1200.50",
        "recovered_amount": "300",
        "note": "",
        "csrf_token": token,
    }
    return form | fields


def token_of_page(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)
