import datetime

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from stdnum.cn import ric

from features.identity import (
    id_birth_date,
    id_check_char,
    id_checksum_ok,
    id_edits,
    id_is_well_formed,
    id_region,
    id_sex,
)

# Made-up numbers with correct check characters; not real people.
VALID_MALE = "430923195001011235"  # 17th digit 3: odd
VALID_FEMALE_X = "11010519491231002X"


def _one(expr: pl.Expr, value: str | None):
    return pl.DataFrame({"id": [value]}, schema={"id": pl.String}).select(expr).item()


# 17-digit prefixes: any digits, so birth dates are sometimes real and often not.
any_prefix = st.text(alphabet="0123456789", min_size=17, max_size=17)
real_date_prefix = st.builds(
    lambda region, born, seq: f"{region:06d}{born:%Y%m%d}{seq:03d}",
    st.integers(110000, 659999),
    st.dates(datetime.date(1900, 1, 1), datetime.date(2020, 12, 31)),
    st.integers(0, 999),
)
prefixes = st.one_of(any_prefix, real_date_prefix)


@settings(max_examples=300, deadline=None)
@given(prefix=prefixes)
def test_check_char_matches_stdnum(prefix):
    expected = ric.calc_check_digit(prefix + "0")
    assert _one(id_check_char("id"), prefix) == expected
    assert _one(id_checksum_ok("id"), prefix + expected) is True


def _stdnum_is_valid(number: str) -> bool:
    try:
        return ric.is_valid(number)
    except KeyError:  # stdnum's birth-place lookup fails on some region codes
        return False


@settings(max_examples=300, deadline=None)
@given(prefix=prefixes, check=st.sampled_from("0123456789X"))
def test_checksum_agrees_with_stdnum(prefix, check):
    number = prefix + check
    ours = _one(id_checksum_ok("id"), number)
    assert ours == (ric.calc_check_digit(number) == check)
    if _stdnum_is_valid(number):  # stdnum also checks birth date and birth place
        assert ours
        assert _one(id_birth_date("id"), number) is not None


@settings(max_examples=300, deadline=None)
@given(prefix=prefixes)
def test_birth_date_matches_stdnum(prefix):
    number = prefix + ric.calc_check_digit(prefix + "0")
    try:
        expected = ric.get_birth_date(number)
    except ric.InvalidComponent:
        expected = None
    except ValueError:  # year 0000 is not a date
        expected = None
    assert _one(id_birth_date("id"), number) == expected


@settings(max_examples=100, deadline=None)
@given(prefix=prefixes)
def test_sex_and_region_follow_the_digits(prefix):
    number = prefix + ric.calc_check_digit(prefix + "0")
    assert _one(id_sex("id"), number) == ("M" if int(prefix[16]) % 2 else "F")
    assert _one(id_region("id"), number) == prefix[:6]


def test_identity_checks_on_hand_made_numbers():
    frame = pl.DataFrame(
        {
            "id": [
                VALID_MALE,
                VALID_FEMALE_X,
                "11010519491231002x",  # lowercase check character
                "110105194912310021",  # wrong check character
                "11010519490230002X",  # 30 February
                "1101051949123",  # too short
                "11010519491231002Y",
                None,
            ]
        }
    )
    result = frame.select(
        well_formed=id_is_well_formed("id"),
        checksum_ok=id_checksum_ok("id"),
        birth_date=id_birth_date("id"),
        sex=id_sex("id"),
        region=id_region("id"),
    )
    expected = pl.DataFrame(
        {
            "well_formed": [True, True, True, True, True, False, False, None],
            "checksum_ok": [True, True, True, False, False, False, False, None],
            "birth_date": [
                datetime.date(1950, 1, 1),
                datetime.date(1949, 12, 31),
                datetime.date(1949, 12, 31),
                datetime.date(1949, 12, 31),
                None,
                None,
                datetime.date(1949, 12, 31),  # only digits 7-14 matter
                None,
            ],
            "sex": ["M", "F", "F", "F", "F", None, None, None],
            "region": ["430923", "110105", "110105", "110105", "110105", None, None, None],
        }
    )
    assert_frame_equal(result, expected)


def test_birth_date_year_zero_is_null():
    assert _one(id_birth_date("id"), "110105000001010011") is None


@pytest.mark.parametrize(
    "check",
    [id_is_well_formed, id_check_char, id_checksum_ok, id_birth_date, id_sex, id_region],
)
def test_checks_keep_the_column_name(check):
    frame = pl.DataFrame({"person_id": [VALID_MALE]})
    assert frame.select(check("person_id")).columns == ["person_id"]


def test_id_edits_counts_a_lost_changed_or_swapped_character_as_one():
    frame = pl.DataFrame(
        {
            "a": ["43092319400222265x", "430923194002222654", "430923194002222654", None, "430923194002222654"],
            "b": ["43092319400222265X", "43092319400222265", "430923194020222654", "1", "430923199909091111"],
        }
    )
    assert frame.select(id_edits("a", "b"))["a"].to_list() == [0, 1, 1, None, 9]
