"""Both sides normalised (features/linkage/prepare.py): IDs checked, columns found, text
normalised."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

sys.path.insert(0, str(Path(__file__).parents[1]))  # the shared hand-made registers
from linkage_frames import REGISTER, REGISTER_COLS, deaths_of, link, links_of  # noqa: E402
from linkage_ids import LIU, swapped, with_check_digit  # noqa: E402

from features.linkage import LinkColumns, link_records  # noqa: E402
from features.linkage.prepare import _nfkc  # noqa: E402
from sentinel.config import load_config  # noqa: E402


def test_valid_id_whose_birth_digits_are_no_date_is_a_typo() -> None:
    # Regression (linkage_worlds, dates mistyped): 1948-30-17 passes its check character
    # after two errors, but no one is born in month 30; the ID is compared as a typo.
    mistyped = with_check_digit(swapped(LIU, 10))
    assert mistyped[6:14] == "19483017" and not ric.is_valid(mistyped)
    result = link(deaths_of(("D1", mistyped, "刘建华", date(1948, 3, 17), "M")))
    assert links_of(result) == {"D1": LIU}
    assert result["method"].to_list() == ["id_typo"]
    assert result["confidence"][0] >= load_config().detection.min_death_link_confidence


def test_missing_column_is_named() -> None:
    with pytest.raises(ValueError, match="nonexistent"):
        link_records(
            deaths_of(("D1", LIU, "刘建华", None, None)),
            REGISTER,
            records_cols=LinkColumns(key="record_id", person_id="nonexistent"),
            register_cols=REGISTER_COLS,
        ).collect()


def test_a_non_chinese_identifier_as_gb11643_is_an_error_naming_the_column() -> None:
    register = pl.LazyFrame({"id": ["P1"], "ssn": ["5304218"]})
    with pytest.raises(ValueError, match="'ssn'.*id_format='text'"):
        link_records(
            register,
            register,
            records_cols=LinkColumns(key="id", person_id="ssn"),
            register_cols=LinkColumns(key="id", person_id="ssn"),
        ).collect()


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
