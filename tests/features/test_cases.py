"""Grouping helpers of ``features.cases`` give the same groups as grouping on the text columns."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.cases import merge_reasons, per_person, person_scheme_key, reason_rows
from features.history import register_people, register_runs


def test_per_person_matches_group_by_on_text():
    frame = pl.LazyFrame(
        {"person_id": ["B", "A", "B", None, "A"], "amount": [1.0, 2.0, 3.0, 4.0, 5.0]}
    )
    expected = frame.group_by("person_id").agg(pl.col("amount").sum()).collect().sort("person_id")
    got = per_person(frame, pl.col("amount").sum()).collect().sort("person_id")
    assert_frame_equal(got, expected)


def test_person_scheme_key_separates_pairs_and_nulls():
    frame = pl.DataFrame(
        {
            "person_id": ["A", "A", "B", "A", "A", None],
            "scheme": ["resident", "enterprise", "resident", "resident", None, "resident"],
        }
    )
    keys = frame.select(person_scheme_key())["person_id"].to_list()
    assert keys[0] == keys[3]
    assert len({keys[0], keys[1], keys[2], keys[4], keys[5]}) == 5


def test_register_people_takes_latest_snapshot_then_last_scheme():
    rows = [
        ("A", "甲", "2020-01", "resident", "suspended", "V1"),
        ("A", "甲", "2020-02", "enterprise", "active", "V2"),
        ("A", "甲", "2020-02", "resident", "terminated", "V3"),
        ("B", "乙", "2020-01", "resident", "active", "V4"),
    ]
    register = pl.LazyFrame(
        {
            "person_id": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "sex": ["F"] * 4,
            "birth_date": [date(1940, 1, 1)] * 4,
            "scheme": [r[3] for r in rows],
            "township": ["T"] * 4,
            "village": [r[5] for r in rows],
            "benefit_start": [date(2000, 1, 1)] * 4,
            "status": [r[4] for r in rows],
            "month": [r[2] for r in rows],
        }
    )
    people = register_people(register_runs(register)).collect().sort("person_id")
    a = people.row(0, named=True)
    assert (a["scheme"], a["status"], a["village"]) == ("resident", "terminated", "V3")
    assert (a["first_listed"], a["last_listed"], a["first_status"]) == (
        "2020-01",
        "2020-02",
        "suspended",
    )


def test_reason_rows_take_the_typology_from_the_registry_and_refuse_missing_facts():
    frame = pl.LazyFrame({"person_id": ["a"], "paid": [120.0]})
    rows = reason_rows(
        frame, "DR_REPEAT_PERIOD", 0.9, pl.col("paid"), pl.lit(1), pl.lit("2020-02"), pl.lit("120")
    )
    assert rows.collect().row(0) == (
        "a",
        "duplicate_receipt",
        "DR_REPEAT_PERIOD",
        0.9,
        120.0,
        ["1", "2020-02", "120"],
    )
    with pytest.raises(ValueError, match="DR_REPEAT_PERIOD names"):
        reason_rows(frame, "DR_REPEAT_PERIOD", 0.9, pl.col("paid"), pl.lit(1))
    with pytest.raises(ValueError, match="several typologies"):
        reason_rows(
            frame,
            (pl.lit("DR_REPEAT_PERIOD"), ("DR_REPEAT_PERIOD", "AA_JUMP")),
            0.9,
            pl.col("paid"),
        )


def test_merge_reasons_one_row_per_person_strongest_typology_first():
    reasons = pl.LazyFrame(
        {
            "person_id": ["p", "p"],
            "typology": ["shared_account", "deceased_paid"],
            "reason": ["SA_SHARED_ACCOUNT", "DP_PAID_AFTER_DEATH"],
            "probability": [0.3, 0.98],
            "est_overpayment": [100.0, 1000.0],
            "facts": [["a"], ["b"]],
        }
    )
    merged = merge_reasons(reasons).collect()
    assert merged.height == 1
    assert merged["typology"][0] == "deceased_paid"
    assert merged["reasons"][0].to_list() == ["DP_PAID_AFTER_DEATH", "SA_SHARED_ACCOUNT"]
    assert merged["rule_probability"][0] == pytest.approx(1 - 0.02 * 0.7)
