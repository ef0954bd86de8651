from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from typing import Final

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from features.linkage import (
    DEFAULT_MIN_CONFIDENCE,
    Comparison,
    Level,
    LinkColumns,
    LinkModel,
    default_comparisons,
    estimate_link_model,
    link_records,
)
from features.linkage.estimate import _pooled, _unreachable
from features.linkage.levels import _with_levels
from features.linkage.names import _sound_key, _sound_keys
from features.linkage.prepare import _nfkc
from sentinel.config import load_config

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


def make_id(region: str, birth: date, sequence: int) -> str:
    """A checksum-valid fake GB 11643 number (odd sequence = male)."""
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "?")  # stdnum drops the last character


def with_digit(pid: str, position: int, digit: str) -> str:
    return pid[:position] + digit + pid[position + 1 :]


def other_digit(char: str) -> str:
    return "7" if char != "7" else "3"


def swapped(pid: str, position: int) -> str:
    return pid[:position] + pid[position + 1] + pid[position] + pid[position + 2 :]


LIU = make_id("430521", date(1948, 3, 17), 135)
WANG = make_id("430521", date(1952, 11, 2), 246)
ZHAO = make_id("430522", date(1939, 7, 30), 17)


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


def test_exact_id_links_with_full_confidence() -> None:
    deaths = deaths_of(("D1", f" {LIU.lower()} ", "刘建华", date(1948, 3, 17), "男"))
    result = link(deaths)
    assert links_of(result) == {"D1": LIU}
    assert result["method"].to_list() == ["exact_id"]
    assert result["agreed"].to_list() == [["person_id", "name", "birth_date", "sex"]]
    assert result["disagreed"].to_list() == [[]]
    assert result["id_distance"].to_list() == [0]
    assert result["confidence"][0] > 0.999


def test_exact_id_with_homophone_name_stays_high() -> None:
    result = link(deaths_of(("D1", LIU, "刘健华", date(1948, 3, 17), "M")))
    assert result["method"].to_list() == ["exact_id"]
    assert result["confidence"][0] > 0.99
    assert "name_pinyin" in result["agreed"].to_list()[0]


@pytest.mark.parametrize(
    "position",
    [
        pytest.param(2, id="region"),
        pytest.param(9, id="birth-year"),
        pytest.param(13, id="birth-day"),
        pytest.param(15, id="sequence"),
        pytest.param(17, id="check-char"),
    ],
)
def test_one_wrong_digit_links_by_id_typo(position: int) -> None:
    typed = with_digit(LIU, position, other_digit(LIU[position]))
    result = link(deaths_of(("D1", typed, "刘建华", date(1948, 3, 17), "M")))
    assert links_of(result) == {"D1": LIU}
    assert result["method"].to_list() == ["id_typo"]
    assert result["id_distance"].to_list() == [1]


@pytest.mark.parametrize("position", [0, 5, 8, 11, 13, 16])
def test_adjacent_swap_links_by_id_typo(position: int) -> None:
    pid = make_id("431223", date(1950, 6, 28), 357)
    register = register_of((pid, "陈伟", date(1950, 6, 28), "M", "431223"))
    typed = swapped(pid, position)
    assert typed != pid
    result = link(deaths_of(("D1", typed, "陈伟", None, None)), register)
    assert links_of(result) == {"D1": pid}
    assert result["id_distance"].to_list() == [1]


def test_missing_id_with_homophone_name_links_demographically() -> None:
    result = link(deaths_of(("D1", None, "王莉", date(1952, 11, 2), "女")))
    assert links_of(result) == {"D1": WANG}
    assert result["method"].to_list() == ["demographic"]
    assert result["agreed"].to_list()[0] == ["name_pinyin", "birth_date", "sex"]
    assert result["id_distance"].to_list() == [None]
    assert result["confidence"][0] > 0.5


def test_missing_character_in_name_is_a_fuzzy_agreement() -> None:
    result = link(deaths_of(("D1", None, "赵平", date(1939, 7, 30), "M")))
    assert links_of(result) == {"D1": ZHAO}
    assert "name_fuzzy" in result["agreed"].to_list()[0]


def test_mistyped_id_with_southern_hu_w_surname_links_by_id_typo() -> None:
    # Regression (demo seed 11): 黄桃 typed 王桃 by ear (huang/wang are one sound in Wu,
    # Xiang and Cantonese speech) with one wrong region digit; birth date and sex agree.
    huang = make_id("430923", date(1936, 1, 22), 544)
    register = register_of((huang, "黄桃", date(1936, 1, 22), "F", "430923"))
    typed = with_digit(huang, 0, "5")
    result = link(deaths_of(("D1", typed, "王桃", date(1936, 1, 22), "F")), register)
    assert links_of(result) == {"D1": huang}
    assert result["method"].to_list() == ["id_typo"]
    assert "name_fuzzy" in result["agreed"].to_list()[0]


def test_hu_w_merge_alone_does_not_link_without_birth_date_agreement() -> None:
    hu = make_id("430521", date(1941, 5, 9), 311)
    register = register_of((hu, "胡建国", date(1941, 5, 9), "M", "430521"))
    deaths = deaths_of(("D1", None, "吴建国", date(1941, 5, 10), "M"))
    assert link(deaths, register).is_empty()


def test_shortened_name_counts_less_than_the_name_and_the_place_adds_to_it() -> None:
    # Regression (demo seed 13): a non-pensioner 薛海 linked to 薛海荣 born the same day.
    deaths = deaths_of(("D1", None, "赵平", date(1939, 7, 30), "M"))
    alone = link(deaths, min_confidence=0.0)
    whole = link(deaths_of(("D1", None, "赵国平", date(1939, 7, 30), "M")), min_confidence=0.0)
    in_place = link(deaths.with_columns(region_code=pl.lit("430522")), min_confidence=0.0)
    assert alone["match_weight"][0] < whole["match_weight"][0]
    assert alone["match_weight"][0] < in_place["match_weight"][0]
    assert in_place["agreed"].to_list()[0] == ["name_fuzzy", "birth_date", "sex", "place"]


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


def test_name_alone_ignores_a_shorter_register_name() -> None:
    # Clerks drop characters, they do not invent them: 赵平 does not compete with 赵国平.
    other = make_id("430524", date(1961, 2, 3), 77)
    register = pl.concat([REGISTER, register_of((other, "赵平", date(1961, 2, 3), "M", "430524"))])
    result = link(deaths_of(("D1", None, "赵国平", None, None)), register, min_confidence=0.0)
    assert links_of(result) == {"D1": ZHAO}


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


@pytest.mark.parametrize("fix_checksum", [False, True], ids=["checksum-broken", "checksum-valid"])
def test_close_id_of_a_different_person_is_not_linked(fix_checksum: bool) -> None:
    # A neighbour: ID one digit from a pensioner's, different name and birth date.
    neighbour = with_digit(LIU, 15, other_digit(LIU[15]))
    if fix_checksum:
        neighbour = neighbour[:17] + ric.calc_check_digit(neighbour)
    result = link(deaths_of(("D1", neighbour, "孙秀英", date(1948, 3, 19), "F")))
    assert result.is_empty()


def test_valid_checksum_id_not_in_register_is_not_linked_by_name() -> None:
    # Same name and birth date as a pensioner, but a valid ID of somebody else.
    other = make_id("430681", date(1952, 11, 2), 882)
    result = link(deaths_of(("D1", other, "王丽", date(1952, 11, 2), "F")))
    assert result.is_empty()


def with_check_digit(pid: str) -> str:
    """``pid`` with its check character recomputed: two errors the checksum lets pass."""
    return pid[:17] + ric.calc_check_digit(pid)


def test_valid_id_whose_birth_digits_are_no_date_is_a_typo() -> None:
    # Regression (linkage_worlds, dates mistyped): 1948-30-17 passes its check character
    # after two errors, but no one is born in month 30; the ID is compared as a typo.
    mistyped = with_check_digit(swapped(LIU, 10))
    assert mistyped[6:14] == "19483017" and not ric.is_valid(mistyped)
    result = link(deaths_of(("D1", mistyped, "刘建华", date(1948, 3, 17), "M")))
    assert links_of(result) == {"D1": LIU}
    assert result["method"].to_list() == ["id_typo"]
    assert result["confidence"][0] >= load_config().detection.min_death_link_confidence


def test_valid_id_contradicting_the_stated_birth_date_is_searched_by_name() -> None:
    # Regression (linkage_worlds, dates mistyped): two errors that pass the checksum (the
    # birth year's digits swapped, the check character redone), the ID nobody's in the
    # register; the record's name and birth date are the pensioner's.
    mistyped = with_check_digit(swapped(LIU, 8))
    assert mistyped[6:14] == "19840317"
    result = link(deaths_of(("D1", mistyped, "刘建华", date(1948, 3, 17), "M")))
    assert links_of(result) == {"D1": LIU}
    assert result["method"].to_list() == ["demographic"]


def test_id_of_another_pensioner_contradicted_by_name_and_birth_date() -> None:
    # Regression (linkage_worlds, dates mistyped): the ID is another register person's;
    # that link stays refused, and the person the name and birth date describe is found.
    result = link(deaths_of(("D1", WANG, "刘建华", date(1948, 3, 17), "M")))
    assert links_of(result) == {"D1": LIU}
    assert result["disagreed"].to_list() == [["person_id"]]


def test_id_confirmed_by_its_holders_name_outweighs_a_mistyped_birth_date() -> None:
    result = link(deaths_of(("D1", LIU, "刘建华", date(1948, 3, 11), "M")))
    assert links_of(result) == {"D1": LIU}
    assert result["method"].to_list() == ["exact_id"]


@pytest.mark.parametrize(
    ("name", "birth"),
    [
        ("王莉", date(1952, 2, 11)),  # homophone, day and month swapped
        ("王莉", date(1957, 11, 2)),  # homophone, one digit of the year
        ("汪丽", date(1952, 12, 20)),  # homophone surname, a lunar birthday 48 days on
    ],
)
def test_homophone_name_with_a_mistyped_birth_date_is_found(name: str, birth: date) -> None:
    # Regression (linkage_worlds, dates mistyped): no ID, a name nobody in the register
    # bears and a birth date a typo away: only the name's sound brings the person in (a
    # candidate; how likely the link is, is the model's to say).
    result = link(deaths_of(("D1", None, name, birth, "F")), min_confidence=0.0)
    assert links_of(result) == {"D1": WANG}


def test_a_birth_date_moved_across_new_year_is_searched_in_both_years() -> None:
    born = date(1942, 11, 17)
    pid = make_id("430521", born, 661)
    register = pl.concat([REGISTER, register_of((pid, "王忠国", born, "M", "430521"))])
    record = deaths_of(("D1", None, "王中国", born + timedelta(days=49), "M"))
    assert links_of(link(record, register, min_confidence=0.0)) == {"D1": pid}


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


def test_column_names_are_generic() -> None:
    custody = pl.LazyFrame(
        {
            "case_no": ["C9"],
            "证件号码": [with_digit(WANG, 3, other_digit(WANG[3]))],
            "犯人姓名": ["王丽"],
            "dob": ["19521102"],
        }
    )
    payees = pl.LazyFrame(
        {
            "payee": ["P-1", "P-2"],
            "sfzh": [LIU, WANG],
            "xm": ["刘建华", "王丽"],
            "gender": ["男", "女"],
        }
    )
    result = link_records(
        custody,
        payees,
        records_cols=LinkColumns(
            key="case_no",
            person_id="证件号码",
            name="犯人姓名",
            birth_date="dob",
            sex=None,
            place=None,
        ),
        register_cols=LinkColumns(
            key="payee", person_id="sfzh", name="xm", birth_date=None, sex="gender", place=None
        ),
    ).collect()
    assert links_of(result) == {"C9": "P-2"}
    assert {"name", "birth_date"} <= set(result["agreed"].to_list()[0])


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


def test_min_confidence_outside_unit_interval_is_rejected() -> None:
    with pytest.raises(ValueError, match="min_confidence"):
        link(deaths_of(("D1", LIU, "刘建华", None, None)), min_confidence=1.5)


def test_missing_column_is_named() -> None:
    with pytest.raises(ValueError, match="nonexistent"):
        link_records(
            deaths_of(("D1", LIU, "刘建华", None, None)),
            REGISTER,
            records_cols=LinkColumns(key="record_id", person_id="nonexistent"),
            register_cols=REGISTER_COLS,
        ).collect()


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "建国华明丽芳秀英军伟平红兰玉梅志强文海云"


@st.composite
def registers(draw: st.DrawFn) -> list[tuple[str, str, date, str, str]]:
    size = draw(st.integers(min_value=1, max_value=12))
    people = []
    names = draw(
        st.lists(
            st.tuples(st.sampled_from(SURNAMES), st.text(GIVEN, min_size=1, max_size=2)),
            min_size=size,
            max_size=size,
            unique_by=lambda n: n[0] + n[1],
        )
    )
    for surname, given_name in names:
        birth = draw(st.dates(min_value=date(1925, 1, 1), max_value=date(1975, 12, 31)))
        region = draw(st.sampled_from(["430521", "430522", "431223"]))
        sequence = draw(st.integers(min_value=0, max_value=999))
        sex = "M" if sequence % 2 else "F"
        people.append((make_id(region, birth, sequence), surname + given_name, birth, sex, region))
    return people


@settings(max_examples=40, deadline=None)
@given(
    people=registers(),
    which=st.integers(min_value=0),
    position=st.integers(min_value=0, max_value=17),
    digit=st.sampled_from("0123456789"),
)
def test_single_digit_mutation_links_back_to_the_true_person(
    people: list[tuple[str, str, date, str, str]], which: int, position: int, digit: str
) -> None:
    unique_people = list({p[0]: p for p in people}.values())
    pid, name, birth, sex, _ = unique_people[which % len(unique_people)]
    typed = with_digit(pid, position, digit)
    result = link(deaths_of(("D1", typed, name, birth, sex)), register_of(*unique_people))
    assert links_of(result) == {"D1": pid}
    assert (ric.calc_check_digit(typed) == typed[-1]) == (typed == pid)


# --- comparison levels ------------------------------------------------------------------


def level_of(
    comparison: Comparison,
    record: object,
    register: object,
    *,
    valid: bool = False,
    birth: str | None = "19480317",
) -> int | None:
    """The level index a pair of values reaches (``len(levels)`` = else, None = null);
    ``birth``: the record's own birth date (ID levels leave the birth digits to it)."""
    column = {"person_id": "pid", "name": "name", "birth_date": "birth"}.get(
        comparison.field, f"x_{comparison.field}"
    )
    values = {f"{column}_r": [record], f"{column}_g": [register], "pid_valid_r": [valid]}
    schema = {f"{column}_r": pl.String, f"{column}_g": pl.String, "pid_valid_r": pl.Boolean}
    if column != "birth":
        values["birth_r"], schema["birth_r"] = [birth], pl.String
    pairs = pl.DataFrame(values, schema=schema)
    return _with_levels(pairs, (comparison,))["lv_0"][0]


NAME = next(c for c in default_comparisons() if c.field == "name")
BIRTH = next(c for c in default_comparisons() if c.field == "birth_date")
GB_ID = next(c for c in default_comparisons() if c.field == "person_id")
TEXT_ID = next(c for c in default_comparisons(id_format="text") if c.field == "person_id")


def kind_of(comparison: Comparison, level: int | None) -> str | None:
    if level is None:
        return None
    return comparison.levels[level].kind if level < len(comparison.levels) else "else"


@pytest.mark.parametrize(
    ("comparison", "record", "register", "kind"),
    [
        pytest.param(NAME, "刘建华", "刘建华", "exact", id="name-exact"),
        pytest.param(NAME, "刘健华", "刘建华", "same_sound", id="name-homophone"),
        pytest.param(NAME, "劉建華", "刘建华", "same_sound", id="name-traditional-simplified"),
        pytest.param(NAME, "曾华", "曾华", "exact", id="name-surname-reading"),
        pytest.param(NAME, "李南", "李兰", "dialect_sound", id="name-dialect-n-l"),
        pytest.param(NAME, "王桃", "黄桃", "dialect_sound", id="name-dialect-hu-w"),
        pytest.param(NAME, "smith john", "john smith", "reordered", id="name-reordered"),
        pytest.param(NAME, "刘华", "刘建华", "dropped_character", id="name-dropped-character"),
        pytest.param(NAME, "jonathan smith", "jonathon smith", "similar", id="name-jaro-winkler"),
        pytest.param(NAME, "赵国平", "孙秀英", "else", id="name-else"),
        pytest.param(NAME, None, "孙秀英", None, id="name-null"),
        pytest.param(BIRTH, "19480317", "19480317", "exact", id="birth-exact"),
        pytest.param(
            BIRTH, "19480311", "19481103", "day_month_swapped", id="birth-day-month-swapped"
        ),
        pytest.param(BIRTH, "19480317", "19480347", "edits", id="birth-one-digit"),
        pytest.param(BIRTH, "19480317", "19480413", "within_days", id="birth-lunar-calendar"),
        pytest.param(BIRTH, "19480317", "19521102", "else", id="birth-else"),
    ],
)
def test_name_and_birth_date_levels(
    comparison: Comparison, record: str | None, register: str, kind: str | None
) -> None:
    assert kind_of(comparison, level_of(comparison, record, register)) == kind


def test_name_similarity_thresholds_are_ordered() -> None:
    close = level_of(NAME, "jonathan smith", "jonathon smith")
    far = level_of(NAME, "jon smit", "jonathon smithers")
    assert close is not None and far is not None
    assert NAME.levels[close].at_least == 0.92
    assert far > close


def test_id_levels_count_edits_outside_the_birth_digits() -> None:
    assert kind_of(GB_ID, level_of(GB_ID, LIU, LIU)) == "exact"
    typo = with_digit(LIU, 2, other_digit(LIU[2]))
    one = level_of(GB_ID, typo, LIU)
    assert GB_ID.levels[one].edits == 1 and GB_ID.levels[one].checksum == "fails"
    assert GB_ID.levels[one].birth_digits == "left_out"
    two = level_of(GB_ID, with_digit(typo, 15, other_digit(typo[15])), LIU)
    assert GB_ID.levels[two].edits == 2
    assert level_of(GB_ID, swapped(LIU, 15), LIU) == one
    # the birth digits are the birth date comparison's: a typo there is no ID edit
    assert level_of(GB_ID, with_digit(LIU, 9, other_digit(LIU[9])), LIU) == one


def test_id_of_a_record_without_birth_date_is_compared_whole() -> None:
    typo = with_digit(LIU, 9, other_digit(LIU[9]))
    one = level_of(GB_ID, typo, LIU, birth=None)
    assert GB_ID.levels[one].birth_digits == "counted" and GB_ID.levels[one].edits == 1
    two = level_of(GB_ID, with_digit(typo, 2, other_digit(typo[2])), LIU, birth=None)
    assert GB_ID.levels[two].birth_digits == "counted" and GB_ID.levels[two].edits == 2


def test_checksum_valid_near_id_is_somebody_else() -> None:
    neighbour = with_digit(LIU, 15, other_digit(LIU[15]))
    neighbour = neighbour[:17] + ric.calc_check_digit(neighbour)
    assert kind_of(GB_ID, level_of(GB_ID, neighbour, LIU, valid=True)) == "else"


def test_text_id_levels_ignore_checksums() -> None:
    assert kind_of(TEXT_ID, level_of(TEXT_ID, "5304218", "5304218")) == "exact"
    one = level_of(TEXT_ID, "5304281", "5304218", valid=False)
    assert TEXT_ID.levels[one].edits == 1
    two = level_of(TEXT_ID, "5314281", "5304218", valid=False)
    assert TEXT_ID.levels[two].edits == 2
    assert kind_of(TEXT_ID, level_of(TEXT_ID, "9999999", "5304218")) == "else"


def test_level_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match="similarity 'cosine' unknown"):
        Level.similar("cosine", 0.9)
    with pytest.raises(ValueError, match="at_least"):
        Level.similar("jaro_winkler", 1.5)
    with pytest.raises(ValueError, match="edits"):
        Level.within_edits(0)
    with pytest.raises(ValueError, match="no levels"):
        Comparison("village", ())


# --- generic columns --------------------------------------------------------------------


def test_a_non_chinese_identifier_links_as_text() -> None:
    rng = random.Random(5)
    first, last = (
        ["ann", "bob", "cy", "dee", "eve", "fay", "gus"],
        ["lee", "ray", "ng", "ito", "roe"],
    )
    ssns = rng.sample(range(1_000_000, 9_999_999), 2500)
    register = pl.DataFrame(
        {
            "id": [f"P{i}" for i in range(2500)],
            "ssn": [str(n) for n in ssns],
            "nm": [f"{rng.choice(first)} {rng.choice(last)}" for _ in range(2500)],
        }
    )
    sample = register.sample(300, seed=5)
    # half the records with two adjacent digits swapped (no checksum tells them apart)
    typed = [
        ssn[:3] + ssn[4] + ssn[3] + ssn[5:] if i % 2 else ssn for i, ssn in enumerate(sample["ssn"])
    ]
    records = sample.select(pl.col("id").alias("truth"), "nm").with_columns(
        pl.Series("ssn", typed), rid=pl.format("R{}", pl.int_range(300))
    )
    result = link_records(
        records.lazy(),
        register.lazy(),
        records_cols=LinkColumns(key="rid", person_id="ssn", name="nm", id_format="text"),
        register_cols=LinkColumns(key="id", person_id="ssn", name="nm", id_format="text"),
    ).collect()
    truth = dict(zip(records["rid"], records["truth"], strict=True))
    swapped_ids = {
        r for r, t, s in zip(records["rid"], typed, sample["ssn"], strict=True) if t != s
    }
    found = links_of(result)
    assert all(truth[r] == p for r, p in found.items())
    assert len(swapped_ids & set(found)) >= 0.95 * len(swapped_ids)
    methods = dict(zip(result["record_key"], result["method"], strict=True))
    assert {methods[r] for r in swapped_ids & set(found)} == {"id_typo"}


def test_a_non_chinese_identifier_as_gb11643_is_an_error_naming_the_column() -> None:
    register = pl.LazyFrame({"id": ["P1"], "ssn": ["5304218"]})
    with pytest.raises(ValueError, match="'ssn'.*id_format='text'"):
        link_records(
            register,
            register,
            records_cols=LinkColumns(key="id", person_id="ssn"),
            register_cols=LinkColumns(key="id", person_id="ssn"),
        ).collect()


def test_an_added_comparison_weighs_in_and_is_reported() -> None:
    twin = make_id("430524", date(1952, 11, 2), 428)
    register = pl.concat(
        [REGISTER, register_of((twin, "王丽", date(1952, 11, 2), "F", "430524"))]
    ).with_columns(
        village=pl.when(pl.col("person_id") == twin)
        .then(pl.lit("白沙村"))
        .otherwise(pl.lit("青山村"))
    )
    deaths = deaths_of(("D1", None, "王丽", date(1952, 11, 2), "F")).with_columns(
        village=pl.lit("白沙村")
    )
    village = Comparison("village", (Level.exact(),))
    cols = {"fields": {"village": "village"}}
    without = link(deaths, register)
    assert without.is_empty()  # two namesakes born the same day: ambiguous
    result = link_records(
        deaths,
        register,
        records_cols=LinkColumns(**{**DEATH_COLS.__dict__, **cols}),
        register_cols=LinkColumns(**{**REGISTER_COLS.__dict__, **cols}),
        comparisons=[village],
        model=_village_model(village),
    ).collect()
    assert links_of(result) == {"D1": twin}
    assert "village" in result["agreed"].to_list()[0]


def _village_model(village: Comparison) -> LinkModel:
    """The committed reference model with a village comparison worth a place agreement."""
    settings = load_config().linkage
    comparisons = (*default_comparisons(settings), village)
    m = tuple(tuple(settings.reference_m[c.field]) for c in comparisons[:-1]) + ((0.99, 0.01),)
    u = tuple(tuple(settings.reference_u[c.field]) for c in comparisons[:-1]) + ((0.05, 0.95),)
    return LinkModel(comparisons, m, u, settings.reference_match_share, 100_000)


def test_a_comparison_on_an_unmapped_field_is_an_error() -> None:
    with pytest.raises(ValueError, match="'village'.*records side"):
        link(
            deaths_of(("D1", LIU, "刘建华", None, None)),
            comparisons=[Comparison("village", (Level.exact(),))],
        )


# --- estimation on a labelled set -------------------------------------------------------


def generated_register(
    rng: random.Random, size: int, surnames: str, given: str
) -> list[tuple[str, str, date, str, str]]:
    """``size`` people of three regions with distinct checksum-valid IDs, born 1930 to 1969,
    a surname and one or two given characters drawn from ``surnames`` and ``given``: rows
    of (person_id, name, birth_date, sex, region_code)."""
    people, taken = [], set()
    while len(people) < size:
        birth = date(1930, 1, 1) + timedelta(days=rng.randrange(40 * 365))
        pid = make_id(rng.choice(["430521", "430522", "430523"]), birth, rng.randrange(1000))
        if pid not in taken:
            taken.add(pid)
            name = rng.choice(surnames) + "".join(rng.choices(given, k=rng.choice((1, 2, 2))))
            people.append((pid, name, birth, "M" if int(pid[16]) % 2 else "F", pid[:6]))
    return people


def labelled_set(
    seed: int = 3,
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, str], dict[str, float]]:
    """A generated register of 3,000 people and 1,000 death records, 600 of them written
    for a register person (with typos) and 400 for people who are not in it; the truth;
    and the true m of some levels (their share among the 600 true pairs)."""
    rng = random.Random(seed)
    surnames, given = (
        "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐",
        "建国华明丽芳秀英军伟平红兰玉梅志强文海云桂珍春凤德",
    )
    people = generated_register(rng, 3000, surnames, given)
    records, truth = [], {}
    kinds = {"name_exact": 0, "birth_exact": 0, "id_exact": 0}
    for i in range(1000):
        if i < 600:
            pid, name, birth, sex, region = people[rng.randrange(3000)]
            truth[f"D{i}"] = pid
            roll = rng.random()
            typed = (
                pid
                if roll < 0.7
                else (with_digit(pid, 14, other_digit(pid[14])) if roll < 0.85 else None)
            )
            if rng.random() < 0.2:
                name = name[0] + "".join(rng.choices(given, k=len(name) - 1))
            if rng.random() < 0.1:
                birth = birth + timedelta(days=rng.randint(21, 51))
            kinds["name_exact"] += name == people_by_id(people)[pid][1]
            kinds["birth_exact"] += birth == people_by_id(people)[pid][2]
            kinds["id_exact"] += typed == pid
        else:
            birth = date(1930, 1, 1) + timedelta(days=rng.randrange(60 * 365))
            pid = make_id("430599", birth, rng.randrange(1000))
            typed = pid if rng.random() < 0.9 else None
            name = rng.choice(surnames) + "".join(rng.choices(given, k=2))
            sex, region = ("M" if int(pid[16]) % 2 else "F"), "430599"
        records.append((f"D{i}", typed, name, birth, sex, region))
    register = register_of(*people).collect()
    deaths = pl.DataFrame(
        records,
        schema=["record_id", "person_id", "name", "birth_date", "sex", "region_code"],
        orient="row",
    )
    true_m = {k: v / 600 for k, v in kinds.items()}
    true_m["id_exact"] = kinds["id_exact"] / sum(1 for r in records[:600] if r[1] is not None)
    return register, deaths, truth, true_m


def people_by_id(
    people: list[tuple[str, str, date, str, str]],
) -> dict[str, tuple[str, str, date, str, str]]:
    return {p[0]: p for p in people}


@pytest.fixture(scope="module")
def labelled() -> tuple[pl.DataFrame, pl.DataFrame, dict[str, str], dict[str, float]]:
    return labelled_set()


def test_em_estimates_m_and_the_match_share_on_a_labelled_set(labelled) -> None:  # type: ignore[no-untyped-def]
    register, deaths, _truth, true_m = labelled
    model = estimate_link_model(
        deaths.lazy(), register.lazy(), records_cols=DEATH_COLS, register_cols=REGISTER_COLS
    )
    m = {c.field: row for c, row in zip(model.comparisons, model.m, strict=True)}
    assert m["name"][0] == pytest.approx(true_m["name_exact"], abs=0.05)
    assert m["birth_date"][0] == pytest.approx(true_m["birth_exact"], abs=0.05)
    assert m["person_id"][0] == pytest.approx(true_m["id_exact"], abs=0.05)
    assert model.match_share == pytest.approx(0.6, abs=0.05)
    assert {s[0] for s in model.sessions} == {"person_id", "birth_date", "name"}
    weights = {c.field: w for c, w in zip(model.comparisons, model.weights(), strict=True)}
    assert weights["name"][0] > 0 > weights["name"][-1]
    assert weights["birth_date"][0] > 0 > weights["birth_date"][-1]


def test_links_on_a_labelled_set_are_right(labelled) -> None:  # type: ignore[no-untyped-def]
    register, deaths, truth, _ = labelled
    result = link_records(
        deaths.lazy(), register.lazy(), records_cols=DEATH_COLS, register_cols=REGISTER_COLS
    ).collect()
    found = links_of(result)
    correct = sum(1 for record, person in found.items() if truth.get(record) == person)
    assert correct == len(found)  # no record of somebody not enrolled is linked
    assert correct / len(truth) >= 0.95


def test_estimation_does_not_depend_on_row_order(labelled) -> None:  # type: ignore[no-untyped-def]
    register, deaths, _, _ = labelled
    one = estimate_link_model(
        deaths.lazy(), register.lazy(), records_cols=DEATH_COLS, register_cols=REGISTER_COLS
    )
    other = estimate_link_model(
        deaths.reverse().lazy(),
        register.sample(fraction=1.0, shuffle=True, seed=1).lazy(),
        records_cols=DEATH_COLS,
        register_cols=REGISTER_COLS,
    )
    assert np.allclose(np.concatenate(one.m), np.concatenate(other.m))
    assert np.allclose(np.concatenate(one.u), np.concatenate(other.u))


SAME_SOUND: Final = {"建": "健", "华": "化", "明": "铭", "丽": "莉", "芳": "方", "军": "君"}


def county_deaths(
    people: int = 20_000, records: int = 800, seed: int = 5
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A generated register the size of a small county and its death records as a county
    registrar writes them: every record states a birth date and writes names as the
    register does; three in four are of register people (an ID typo outside the birth
    digits in one of ten), the rest of people not in it."""
    rng = random.Random(seed)
    surnames, given = (
        "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗",
        "建国华明丽芳秀英军伟平红兰玉梅志强文海云健化铭莉方君",
    )
    register = generated_register(rng, people, surnames, given)
    rows = []
    for i in range(records):
        if i % 4 < 3:
            pid, name, birth, sex, region = register[rng.randrange(people)]
            if rng.random() < 0.1:
                position = rng.choice((1, 4, 15, 16))
                pid = with_digit(pid, position, other_digit(pid[position]))
        else:
            birth = date(1930, 1, 1) + timedelta(days=rng.randrange(40 * 365))
            pid = make_id("430599", birth, rng.randrange(1000))
            name = rng.choice(surnames) + "".join(rng.choices(given, k=2))
            sex, region = ("M" if int(pid[16]) % 2 else "F"), "430599"
        rows.append((f"D{i}", pid, name, birth, sex, region))
    deaths = pl.DataFrame(
        rows,
        schema=["record_id", "person_id", "name", "birth_date", "sex", "region_code"],
        orient="row",
    )
    return register_of(*register).collect(), deaths


def test_mistyped_id_without_birth_date_links_by_its_birth_digits() -> None:
    """Regression (issue 19, world ``in_migrants``): a death record with a same-sounding
    name, one region digit of its ID wrong and neither birth date nor sex. Compared whole,
    its ID sat at a level only records without a birth date reach, too rare for EM to
    estimate (its m stayed at the starting ladder): 0.83, below the death-link threshold.
    Its ID's birth digits, the register person's birth date, weigh as a stated one would."""
    register, deaths = county_deaths()
    pid, name = next(
        (p, n)
        for p, n in zip(register["person_id"], register["name"], strict=True)
        if any(c in SAME_SOUND for c in n[1:])
    )
    written = name[0] + "".join(SAME_SOUND.get(c, c) for c in name[1:])
    typed = with_digit(pid, 5, other_digit(pid[5]))
    record = pl.DataFrame(
        [("D-case", typed, written, None, None, None)], schema=deaths.schema, orient="row"
    )
    result = link_records(
        pl.concat([deaths, record]).lazy(),
        register.lazy(),
        records_cols=DEATH_COLS,
        register_cols=REGISTER_COLS,
    ).collect()
    case = result.filter(pl.col("record_key") == "D-case")
    assert links_of(case) == {"D-case": pid}
    assert case["method"].to_list() == ["id_typo"]
    assert case["agreed"].to_list() == [["person_id_typo", "name_pinyin", "birth_date"]]
    assert case["confidence"][0] >= load_config().detection.min_death_link_confidence


def birth_levels_of(record_id: str, register_id: str) -> tuple[Level, str | None]:
    """The ID level and the birth date level kind of a record that states no birth date,
    against a register person born on ``LIU``'s birth date."""
    pairs = pl.DataFrame(
        {
            "pid_r": [record_id],
            "pid_g": [register_id],
            "pid_valid_r": [False],
            "id_birth_r": [record_id[6:14]],
            "birth_r": [None],
            "birth_g": ["19480317"],
        },
        schema_overrides={"birth_r": pl.String},
    )
    levels = _with_levels(pairs, (GB_ID, BIRTH))
    return GB_ID.levels[levels["lv_0"][0]], kind_of(BIRTH, levels["lv_1"][0])


def test_a_mistyped_id_speaks_for_the_birth_date_only_where_it_is_the_registers() -> None:
    outside = with_digit(LIU, 2, other_digit(LIU[2]))
    id_level, birth = birth_levels_of(outside, LIU)
    assert (id_level.edits, id_level.birth_digits, birth) == (1, "left_out", "exact")
    # a typo among the birth digits is the ID's, weighed by the whole-ID levels
    id_level, birth = birth_levels_of(with_digit(LIU, 9, other_digit(LIU[9])), LIU)
    assert (id_level.edits, id_level.birth_digits, birth) == (1, "counted", None)
    # equal IDs: the exact level has weighed the birth digits
    id_level, birth = birth_levels_of(outside, outside)
    assert (id_level.kind, birth) == ("exact", None)


def test_whole_id_levels_are_estimated_by_sessions_that_can_reach_them() -> None:
    # a session blocked on the birth date holds only records that state one: their IDs
    # are compared outside the birth digits, never whole
    unreachable = _unreachable(GB_ID, "birth_date")
    assert unreachable and all(GB_ID.levels[i].birth_digits == "counted" for i in unreachable)
    assert _unreachable(GB_ID, "name") == [] and _unreachable(TEXT_ID, "birth_date") == []
    by_name = np.array([0.6, 0.2, 0.2])
    by_birth = np.array([0.8, np.nan, 0.2])  # level 1 unreachable there: not a zero
    pooled = _pooled([by_name, by_birth])
    assert pooled == pytest.approx(np.array([0.7, 0.2, 0.2]) / 1.1)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(
            alphabet=st.one_of(
                st.characters(max_codepoint=0x7F),
                st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
                st.sampled_from("０１２３４５６７８９Ｘｘ　－﹣·劉李兀⼀é\u0301"),
                st.characters(blacklist_categories=("Cs",)),
            )
        ),
        min_size=1,
        max_size=20,
    )
)
def test_nfkc_of_only_what_it_changes_is_nfkc(values: list[str]) -> None:
    text = pl.Series("v", values, dtype=pl.String)
    expected = text.str.normalize("NFKC")
    assert pl.select(_nfkc(pl.lit(text))).to_series().to_list() == expected.to_list()


@pytest.mark.parametrize("dialect", [False, True])
def test_sound_key_is_the_sounds_joined(dialect: bool) -> None:
    names = pl.Series("name", ["曾国藩", "单田芳", "黄建华", "john smith", "刘x", "王", None])
    frame = names.to_frame().select(
        _sound_key(pl.col("name"), dialect=dialect).alias("key"),
        _sound_keys(pl.col("name"), dialect=dialect).list.join(" ").alias("joined"),
    )
    assert frame["key"].to_list() == frame["joined"].to_list()
