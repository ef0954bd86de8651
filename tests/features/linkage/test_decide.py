"""The decision (features/linkage/decide.py): which candidate a record links to, how sure,
and when two register people are too alike to choose."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))  # the shared hand-made registers
from linkage_frames import REGISTER, deaths_of, link, links_of, register_of  # noqa: E402
from linkage_ids import WANG, ZHAO, make_id  # noqa: E402

from features.linkage import DEFAULT_MIN_CONFIDENCE  # noqa: E402


def test_name_alone_links_when_nobody_else_could_be_meant() -> None:
    # Regression (demo seeds 7, 11): no ID, no birth date, no sex - only the name.
    # A name alone is never probable in a county: the link is returned below the default
    # confidence, for survival's leads, which need only that nobody else could be meant.
    deaths = deaths_of(("D1", None, "赵国平", None, None), ("D2", None, "王莉", None, None))
    result = link(deaths, min_confidence=0.0).sort("record_key")
    assert links_of(result) == {"D1": ZHAO, "D2": WANG}
    assert result["method"].to_list() == ["name_only", "name_only"]
    assert result["agreed"].to_list() == [["name"], ["name_pinyin"]]
    assert result["confidence"].max() < DEFAULT_MIN_CONFIDENCE
    assert link(deaths).is_empty()


@pytest.mark.parametrize(
    "other_name",
    [
        pytest.param("赵国平", id="namesake"),
        pytest.param("赵国萍", id="homophone"),
        pytest.param("肇国平", id="surname-homophone"),
    ],
)
def test_name_alone_is_not_linked_when_another_person_could_be_meant(other_name: str) -> None:
    other = make_id("430524", date(1961, 2, 3), 77)
    register = pl.concat(
        [REGISTER, register_of((other, other_name, date(1961, 2, 3), "M", "430524"))]
    )
    result = link(deaths_of(("D1", None, "赵国平", None, None)), register)
    assert result.is_empty()


@pytest.mark.parametrize(
    ("sex", "place"),
    [pytest.param("F", None, id="sex"), pytest.param(None, "430521", id="place")],
)
def test_name_alone_with_a_contradicting_field_is_not_linked(
    sex: str | None, place: str | None
) -> None:
    # Regression (linkage_bench): most wrong name-only links came from another township.
    deaths = deaths_of(("D1", None, "赵国平", None, sex)).with_columns(region_code=pl.lit(place))
    assert link(deaths).is_empty()


def test_same_name_and_birth_date_without_id_is_ambiguous() -> None:
    twin = make_id("430524", date(1952, 11, 2), 428)
    register = pl.concat([REGISTER, register_of((twin, "王丽", date(1952, 11, 2), "F", "430524"))])
    result = link(deaths_of(("D1", None, "王丽", date(1952, 11, 2), "F")), register)
    assert result.is_empty()


def test_place_breaks_a_tie_between_namesakes() -> None:
    twin = make_id("430524", date(1952, 11, 2), 428)
    register = pl.concat([REGISTER, register_of((twin, "王丽", date(1952, 11, 2), "F", "430524"))])
    deaths = deaths_of(("D1", None, "王丽", date(1952, 11, 2), "F")).with_columns(
        region_code=pl.lit("430524")
    )
    assert links_of(link(deaths, register)) == {"D1": twin}


def test_register_rows_of_one_person_in_two_schemes_count_once() -> None:
    register = pl.concat([REGISTER, REGISTER.filter(pl.col("person_id") == WANG)])
    result = link(deaths_of(("D1", None, "王丽", date(1952, 11, 2), "F")), register)
    assert links_of(result) == {"D1": WANG}


def test_unlinked_records_are_absent_and_output_schema_is_fixed() -> None:
    result = link(deaths_of(("D1", None, "周杰", date(1960, 1, 1), "M")))
    assert result.schema == pl.Schema(
        {
            "record_key": pl.String,
            "register_key": pl.String,
            "confidence": pl.Float64,
            "match_probability": pl.Float64,
            "match_weight": pl.Float64,
            "method": pl.String,
            "agreed": pl.List(pl.String),
            "disagreed": pl.List(pl.String),
            "id_distance": pl.Int32,
        }
    )
    assert result.is_empty()
