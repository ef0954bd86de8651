"""A small hand-made month that passes every reviewed suite, and how to break it the way
each expectation guards (for the validation tests). All identity numbers are generated fakes."""

from __future__ import annotations

import re
from datetime import date

import polars as pl
import pytest

from sentinel.contract import DATASETS
from sentinel.io.store import GUARDED_ROWS
from sentinel.validation import load_suite

MONTH = "2024-03"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
FULL_ID = re.compile(r"\d{17}[\dX]")


def fake_id(serial: int, birth: str = "19500101", region: str = "430102") -> str:
    """A fake 18-character ID with a valid GB 11643 check character."""
    body = f"{region}{birth}{serial:03d}"
    return body + _CHECK[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]


def with_evidence(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    return frame.with_columns(
        *(pl.lit(True).alias(c) for c in columns), pl.lit(None, pl.String).alias("_reason")
    )


def good_frames() -> dict[str, pl.DataFrame]:
    """One small month that passes every suite."""
    ids = [fake_id(i) for i in range(1, 4)]
    schemes = ["enterprise", "institution", "resident"]
    return {
        "beneficiaries": _good_beneficiaries(ids, schemes),
        "payouts": _good_payouts(ids, schemes),
        "deaths": _good_deaths(ids),
        "certifications": _good_certifications(ids),
        "custody": _good_custody(ids),
        "suspects": _good_suspects(ids),
        "outcomes": _good_outcomes(ids),
        "recoveries": _good_recoveries(ids),
    }


def _good_beneficiaries(ids: list[str], schemes: list[str]) -> pl.DataFrame:
    return with_evidence(
        pl.DataFrame(
            {
                "person_id": ids,
                "name": ["甲", "乙", "丙"],
                "sex": ["M", "F", "M"],
                "birth_date": [date(1950, 1, 1)] * 3,
                "scheme": schemes,
                "region_code": ["430102"] * 3,
                "township": ["t1", "t1", "t2"],
                "village": ["v1", None, "v2"],
                "benefit_start": [date(2010, 2, 1)] * 3,
                "status": ["active", "active", "suspended"],
                "bank_account": ["6200000000000000001", None, "6200000000000000003"],
                "collector_id": pl.Series([None] * 3, dtype=pl.String),
            }
        ),
        [
            "person_id_well_formed",
            "person_id_checksum_ok",
            "birth_date_matches_id",
            "region_known",
            "age_plausible",
        ],
    )


def _good_payouts(ids: list[str], schemes: list[str]) -> pl.DataFrame:
    return with_evidence(
        pl.DataFrame(
            {
                "person_id": [*ids, ids[0]],
                "scheme": [*schemes, "enterprise"],
                "period": [MONTH, MONTH, MONTH, "2024-01"],
                "pay_date": [date(2024, 3, 15)] * 4,
                "amount": [2100.0, 4800.0, 150.0, 99999.0],
                "bank_account": ["6200000000000000001", None, "6200000000000000003", None],
                "kind": ["regular", "regular", "regular", "arrears"],
            }
        ),
        [
            "person_id_well_formed",
            "person_id_checksum_ok",
            "in_register",
            "amount_within_bounds",
            "period_matches_drop",
            "pay_date_plausible",
        ],
    ).with_columns(
        # Not applicable to arrears.
        pl.when(pl.col("kind") == "regular").then(pl.col("period_matches_drop")),
        pl.when(pl.col("kind") == "regular").then(pl.col("amount_within_bounds")),
    )


def _good_deaths(ids: list[str]) -> pl.DataFrame:
    return with_evidence(
        pl.DataFrame(
            {
                "record_id": ["D1", "D2"],
                "person_id": [ids[0], None],
                "name": ["甲", None],
                "sex": ["M", None],
                "birth_date": [date(1950, 1, 1), None],
                "death_date": [date(2024, 2, 10), date(2024, 3, 2)],
                "source": ["police", "civil_affairs"],
                "recorded_on": [date(2024, 3, 1), date(2024, 3, 5)],
            }
        ),
        ["person_id_well_formed", "person_id_checksum_ok", "death_after_birth"],
    ).with_columns(
        pl.when(pl.col("person_id").is_not_null()).then(pl.col(c))
        for c in ("person_id_well_formed", "person_id_checksum_ok", "death_after_birth")
    )


def _good_certifications(ids: list[str]) -> pl.DataFrame:
    return with_evidence(
        pl.DataFrame(
            {
                "person_id": ids[:2],
                "cert_date": [date(2024, 3, 3), date(2024, 3, 20)],
                "method": ["face_app", "on_site"],
                "result": ["pass", "fail"],
                "operator": ["op1", None],
            }
        ),
        ["person_id_well_formed", "person_id_checksum_ok", "in_register", "cert_date_in_month"],
    )


def _good_custody(ids: list[str]) -> pl.DataFrame:
    return with_evidence(
        pl.DataFrame(
            {
                "record_id": ["J1", "J2"],
                "person_id": [ids[1], None],
                "name": ["乙", "丙"],
                "birth_date": [None, date(1952, 5, 5)],
                "kind": ["imprisonment", "probation"],
                "start_date": [date(2024, 2, 10), date(2024, 3, 2)],
                "end_date": [None, date(2025, 3, 1)],
                "source": ["prison", "court"],
                "received_on": [date(2024, 3, 1), date(2024, 3, 5)],
            },
            schema_overrides={"birth_date": pl.Date, "end_date": pl.Date},
        ),
        ["person_id_well_formed", "person_id_checksum_ok"],
    ).with_columns(
        pl.when(pl.col("person_id").is_not_null()).then(pl.col(c))
        for c in ("person_id_well_formed", "person_id_checksum_ok")
    )


def _good_suspects(ids: list[str]) -> pl.DataFrame:
    return with_evidence(
        pl.DataFrame(
            {
                "batch_id": ["B1", "B1"],
                "pushed_on": [date(2024, 3, 4), date(2024, 3, 4)],
                "due_on": [date(2024, 4, 30), date(2024, 4, 30)],
                "person_id": ids[:2],
                "name": ["甲", None],
                "suspect_type": ["death", "duplicate"],
                "source": ["ministry", "province"],
                "detail": [None, "两地重复领取"],
            },
            schema_overrides={"name": pl.String, "detail": pl.String},
        ),
        ["person_id_well_formed", "person_id_checksum_ok"],
    )


def _good_outcomes(ids: list[str]) -> pl.DataFrame:
    return with_evidence(
        pl.DataFrame(
            {
                "case_id": ["C1", "C2"],
                "person_id": ids[:2],
                "closed_on": [date(2024, 3, 10), date(2024, 3, 12)],
                "outcome": ["confirmed_deceased", "cleared"],
                "death_date": [date(2023, 11, 2), None],
                "overpaid_amount": [2100.0, None],
                "recovered_amount": [None, None],
            },
            schema_overrides={"recovered_amount": pl.Float64},
        ),
        ["person_id_well_formed"],
    )


def _good_recoveries(ids: list[str]) -> pl.DataFrame:
    return with_evidence(
        pl.DataFrame(
            {
                "record_id": ["SJ1", "SJ2"],
                "case_id": ["C1", "C1"],
                "person_id": [ids[0], None],
                "step": ["notice", "payment"],
                "step_date": [date(2024, 3, 12), date(2024, 3, 25)],
                "amount": [None, 2100.0],
                "method": [None, "bank_return"],
                "deadline": [date(2024, 4, 11), None],
                "reason": [None, None],
                "operator": ["li", "li"],
                "approved_by": [None, None],
                "approved_on": [None, None],
            },
            schema_overrides={
                "amount": pl.Float64,
                "reason": pl.String,
                "approved_by": pl.String,
                "approved_on": pl.Date,
            },
        ),
        ["person_id_well_formed", "person_id_checksum_ok"],
    ).with_columns(
        pl.when(pl.col("person_id").is_not_null()).then(pl.col(c))
        for c in ("person_id_well_formed", "person_id_checksum_ok")
    )


def _first_row(frame: pl.DataFrame, column: str, value, where: pl.Expr | None = None):
    """Replace ``column`` in the first row (matching ``where``) with ``value``."""
    hit = pl.int_range(pl.len()) == 0
    if where is not None:
        hit = pl.int_range(pl.len()) == pl.arg_where(where).first()
    dtype = frame.schema[column]
    return frame.with_columns(
        pl.when(hit).then(pl.lit(value, dtype=dtype)).otherwise(pl.col(column)).alias(column)
    )


def guarded_rows(name: str, frame: pl.DataFrame) -> int:
    """The rows of ``frame`` the row-count guard compares month with month."""
    return frame.filter(GUARDED_ROWS[name]).height if name in GUARDED_ROWS else frame.height


def break_frame(frame: pl.DataFrame, expectation: dict) -> tuple[pl.DataFrame, int | None]:
    """The frame broken the way ``expectation`` guards; also the previous month's rows."""
    kind, kw = expectation["type"], expectation["kwargs"]
    column = kw.get("column")
    if kind == "expect_table_row_count_to_be_between":
        return frame, frame.height * 10
    if kind == "expect_column_to_exist":
        return frame.drop(column), None
    if kind == "expect_column_values_to_be_of_type":
        if kw["type_"] == "str":
            return frame.with_columns(pl.lit(1, pl.Int64).alias(column)), None
        return frame.with_columns(pl.col(column).cast(pl.String)), None
    if kind == "expect_column_values_to_not_be_null":
        return frame.with_columns(pl.lit(None, frame.schema[column]).alias(column)), None
    if kind == "expect_column_values_to_be_in_set":
        if kw["value_set"] == [True]:
            return _first_row(frame, column, False, pl.col(column).is_not_null()), None
        return _first_row(frame, column, "bogus"), None
    if kind == "expect_column_values_to_match_regex":
        bad = "2024-13" if column == "period" else "43010219500101001"  # 17 chars
        return _first_row(frame, column, bad, pl.col(column).is_not_null()), None
    if kind == "expect_column_values_to_be_between":
        scheme = kw["row_condition"]["conditions"][0]["parameter"]
        where = (pl.col("scheme") == scheme) & (pl.col("kind") == "regular")
        return _first_row(frame, column, 1.0, where), None
    if kind in ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"):
        return pl.concat([frame, frame.head(1)]), None
    raise AssertionError(f"no breaker for {kind}")


GOOD = good_frames()
#: One case per expectation of every suite: (dataset, index of the expectation).
CASES = [
    pytest.param(name, i, id=f"{name}-{i:02d}-{e['type']}-{_col}")
    for name in DATASETS
    for i, e in enumerate(load_suite(name)["expectations"])
    for _col in [e["kwargs"].get("column") or "+".join(e["kwargs"].get("column_list", []))]
]


def _first_of_each_kind(cases: list) -> list:
    """The first case of each dataset and each way an expectation is read: its kind, its
    column's type (for a type check, also the type it asks for), and whether it has a
    ``mostly`` or a row condition."""
    seen: set[tuple[object, ...]] = set()
    chosen = []
    for case in cases:
        name, index = case.values
        expectation = load_suite(name)["expectations"][index]
        kwargs = expectation["kwargs"]
        column = kwargs.get("column")
        key = (
            name,
            expectation["type"],
            str(GOOD[name].schema.get(column)) if column else "",
            str(kwargs.get("type_", "")),
            "mostly" in kwargs,
            "row_condition" in kwargs,
        )
        if key not in seen:
            seen.add(key)
            chosen.append(case)
    return chosen


#: One case per dataset and way an expectation is read (kind, column type, ``mostly``, row
#: condition): validating in chunks, in memory or from chunk files, can change a verdict only
#: through how a kind's counts are summed and judged and how a column of a type is cut and
#: read back; the first such expectation of a suite stands for the others.
CASES_BY_KIND = _first_of_each_kind(CASES)
