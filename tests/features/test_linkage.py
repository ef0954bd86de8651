"""The linker's public face (features/linkage/__init__.py): :func:`link_records` and
:func:`estimate_link_model` end to end. Each internal step has its own tests in
``tests/features/linkage/``."""

from __future__ import annotations

import random
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

sys.path.insert(0, str(Path(__file__).parent))  # the shared hand-made registers
from linkage_frames import (  # noqa: E402
    DEATH_COLS,
    REGISTER,
    REGISTER_COLS,
    deaths_of,
    link,
    links_of,
    register_of,
)
from linkage_ids import LIU, WANG, ZHAO, make_id, other_digit, swapped, with_digit  # noqa: E402

from features.linkage import (  # noqa: E402
    Comparison,
    Level,
    LinkColumns,
    LinkModel,
    default_comparisons,
    link_records,
)
from sentinel.config import load_config  # noqa: E402


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


@pytest.mark.parametrize("fix_checksum", [False, True], ids=["checksum-broken", "checksum-valid"])
def test_close_id_of_a_different_person_is_not_linked(fix_checksum: bool) -> None:
    # A neighbour: ID one digit from a pensioner's, different name and birth date.
    neighbour = with_digit(LIU, 15, other_digit(LIU[15]))
    if fix_checksum:
        neighbour = neighbour[:17] + ric.calc_check_digit(neighbour)
    result = link(deaths_of(("D1", neighbour, "孙秀英", date(1948, 3, 19), "F")))
    assert result.is_empty()


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


def test_min_confidence_outside_unit_interval_is_rejected() -> None:
    with pytest.raises(ValueError, match="min_confidence"):
        link(deaths_of(("D1", LIU, "刘建华", None, None)), min_confidence=1.5)


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
