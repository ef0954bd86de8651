"""Blocking (features/linkage/candidates.py): which register people a record is compared
with at all."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))  # the shared hand-made registers
from linkage_frames import REGISTER, deaths_of, link, links_of, register_of  # noqa: E402
from linkage_ids import LIU, WANG, ZHAO, make_id, swapped, with_check_digit  # noqa: E402


def test_valid_checksum_id_not_in_register_is_not_linked_by_name() -> None:
    # Same name and birth date as a pensioner, but a valid ID of somebody else.
    other = make_id("430681", date(1952, 11, 2), 882)
    result = link(deaths_of(("D1", other, "王丽", date(1952, 11, 2), "F")))
    assert result.is_empty()


def test_valid_id_contradicting_the_stated_birth_date_is_searched_by_name() -> None:
    # Regression (linkage_worlds, dates mistyped): two errors that pass the checksum (the
    # birth year's digits swapped, the check character redone), the ID nobody's in the
    # register; the record's name and birth date are the pensioner's.
    mistyped = with_check_digit(swapped(LIU, 8))
    assert mistyped[6:14] == "19840317"
    result = link(deaths_of(("D1", mistyped, "刘建华", date(1948, 3, 17), "M")))
    assert links_of(result) == {"D1": LIU}
    assert result["method"].to_list() == ["demographic"]


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


def test_name_alone_ignores_a_shorter_register_name() -> None:
    # Clerks drop characters, they do not invent them: 赵平 does not compete with 赵国平.
    other = make_id("430524", date(1961, 2, 3), 77)
    register = pl.concat([REGISTER, register_of((other, "赵平", date(1961, 2, 3), "M", "430524"))])
    result = link(deaths_of(("D1", None, "赵国平", None, None)), register, min_confidence=0.0)
    assert links_of(result) == {"D1": ZHAO}
