"""Comparison levels (features/linkage/levels.py): the level each pair of values reaches."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest
from stdnum.cn import ric

sys.path.insert(0, str(Path(__file__).parents[1]))  # the shared hand-made registers
from linkage_frames import BIRTH, GB_ID, NAME, TEXT_ID  # noqa: E402
from linkage_ids import LIU, other_digit, swapped, with_digit  # noqa: E402

from features.linkage import Comparison, Level  # noqa: E402
from features.linkage.levels import _with_levels  # noqa: E402


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
