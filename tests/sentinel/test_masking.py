"""The product's one way of masking identity numbers, accounts and names."""

from __future__ import annotations

import polars as pl
import pytest

from sentinel.masking import (
    mask_account,
    mask_account_expr,
    mask_id,
    mask_id_expr,
    mask_text,
    short_name,
)

# Made-up numbers with correct check characters; not real people.
ID = "430923195001011235"
ACCOUNT = "6228459493408804"


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("430923195001011235", "430923********1235"),
        ("43092319500101123X", "430923********123X"),
        ("4309231950010112", "430923******0112"),  # mistyped, still masked in the middle
        ("12345678901", "123456*8901"),
        ("1234567890", "**********"),  # short values fully masked
        ("", ""),
        (None, None),
    ],
)
def test_mask_id(value: str | None, masked: str | None) -> None:
    assert mask_id(value) == masked
    frame = pl.DataFrame({"person_id": [value]}, schema={"person_id": pl.String})
    assert frame.select(mask_id_expr("person_id")).item() == masked


def test_mask_id_expr_keeps_the_column_name() -> None:
    frame = pl.DataFrame({"person_id": [ID]})
    assert frame.select(mask_id_expr("person_id")).columns == ["person_id"]


def test_mask_text_masks_ids_and_accounts_and_keeps_amounts_and_dates() -> None:
    sentence = (
        f"ID {ID} fails the GB 11643 check digit; 12345.50 yuan paid from 2020-01 "
        f"to account {ACCOUNT}; old ID 430923500101123"
    )
    assert mask_text(sentence) == (
        "ID 430923********1235 fails the GB 11643 check digit; 12345.50 yuan paid from "
        "2020-01 to account *8804; old ID 430923*****1123"
    )
    assert mask_text(None) == ""


@pytest.mark.parametrize(
    ("account", "shown"),
    [("6228459493408804", "*8804"), ("12345", "*2345"), ("1234", "****"), ("", ""), (None, None)],
)
def test_mask_account(account: str | None, shown: str | None) -> None:
    assert mask_account(account) == shown
    frame = pl.DataFrame({"account": [account]}, schema={"account": pl.String})
    assert frame.select(mask_account_expr("account")).item() == shown


def test_short_name() -> None:
    assert short_name("王丽华") == "王**" and short_name(None) is None
