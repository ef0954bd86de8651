"""Small hand-made registers and death records for the linker's tests (features/linkage/):
the columns both sides name, rows of who a person is, the linker called on them, and the
default comparisons."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import polars as pl
from linkage_ids import LIU, WANG, ZHAO

from features.linkage import LinkColumns, default_comparisons, link_records

DEATH_COLS = LinkColumns(
    key="record_id",
    person_id="person_id",
    name="name",
    birth_date="birth_date",
    sex="sex",
    place="region_code",
)
#: The register names its columns as the death records do; its rows are keyed by person.
REGISTER_COLS = replace(DEATH_COLS, key="person_id")


#: Who a register row or a death record says the person is.
IDENTITY = {
    "person_id": pl.String,
    "name": pl.String,
    "birth_date": pl.Date,
    "sex": pl.String,
    "region_code": pl.String,
}


def register_of(*people: tuple[str, str, date, str, str]) -> pl.LazyFrame:
    """Register rows of (person_id, name, birth_date, sex, region_code)."""
    return pl.LazyFrame(list(people), schema=IDENTITY, orient="row")


REGISTER = register_of(
    (LIU, "刘建华", date(1948, 3, 17), "M", "430521"),
    (WANG, "王丽", date(1952, 11, 2), "F", "430521"),
    (ZHAO, "赵国平", date(1939, 7, 30), "M", "430522"),
)


def deaths_of(*rows: tuple[str, str | None, str | None, date | None, str | None]) -> pl.LazyFrame:
    """Death records of (record_id, person_id, name, birth_date, sex), no region."""
    return pl.LazyFrame(
        [(*r, None) for r in rows], schema={"record_id": pl.String, **IDENTITY}, orient="row"
    )


def link(deaths: pl.LazyFrame, register: pl.LazyFrame = REGISTER, **kwargs: object) -> pl.DataFrame:
    return link_records(
        deaths, register, records_cols=DEATH_COLS, register_cols=REGISTER_COLS, **kwargs
    ).collect()


def links_of(result: pl.DataFrame) -> dict[str, str]:
    return dict(zip(result["record_key"], result["register_key"], strict=True))


NAME = next(c for c in default_comparisons() if c.field == "name")
BIRTH = next(c for c in default_comparisons() if c.field == "birth_date")
GB_ID = next(c for c in default_comparisons() if c.field == "person_id")
TEXT_ID = next(c for c in default_comparisons(id_format="text") if c.field == "person_id")
