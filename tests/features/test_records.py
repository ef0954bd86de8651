from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from features.records import (
    add_payout_evidence,
    add_register_evidence,
    exact_duplicates,
    parse_records,
)
from sentinel.config import load_config
from sentinel.contract import CUSTODY, CUSTODY_KINDS, CUSTODY_SOURCES, DEATHS, PAYOUTS

CONFIG = load_config()
#: The column types of a raw custody file whose optional columns hold no value.
CUSTODY_TYPES = {
    "_row": pl.Int64,
    "_malformed": pl.String,
    "birth_date": pl.String,
    "end_date": pl.String,
}


def fake_id(region: str = "430923", birth: str = "19400101", seq: str = "001") -> str:
    """A generated, checksum-valid resident ID (nobody real)."""
    body = region + birth + seq
    return body + ric.calc_check_digit(body + "0")  # stdnum expects a placeholder check char


def payout_row(**overrides: str | None) -> dict[str, str | None]:
    row: dict[str, str | None] = {
        "person_id": fake_id(),
        "scheme": "enterprise",
        "period": "2020-05",
        "pay_date": "2020-05-12",
        "amount": "2093.50",
        "bank_account": "6217000011112222333",
        "kind": "regular",
    }
    row.update(overrides)
    return row


def parse_payouts(
    rows: list[dict[str, str | None]], malformed: list[str | None] | None = None
) -> pl.DataFrame:
    raw = pl.DataFrame(rows, schema={c: pl.String for c in rows[0]}).with_columns(
        pl.int_range(1, len(rows) + 1, dtype=pl.Int64).alias("_row"),
        pl.Series("_malformed", malformed or [None] * len(rows), dtype=pl.String),
    )
    return parse_records(raw.lazy(), PAYOUTS, month="2020-05").collect()


def test_clean_row_loads_typed() -> None:
    got = parse_payouts(
        [payout_row(scheme="企业职工", kind="正常", pay_date="2020/5/12", amount="2,093.50")]
    )
    assert got.row(0, named=True) == {
        "_row": 1,
        "person_id": fake_id(),
        "scheme": "enterprise",
        "period": "2020-05",
        "pay_date": date(2020, 5, 12),
        "amount": 2093.5,
        "bank_account": "6217000011112222333",
        "kind": "regular",
        "_reason": None,
    }


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"person_id": None}, "person_id empty"),
        ({"person_id": "43092319400101001"}, "person_id malformed"),
        ({"person_id": "43092319400101A01X"}, "person_id malformed"),
        ({"pay_date": "2020-13-45"}, "pay_date unparseable"),
        ({"amount": "1,2O3.5"}, "amount unparseable"),
        ({"amount": "-113"}, "amount negative"),
        ({"scheme": "pension"}, "scheme not in value set"),
        ({"period": "2020-04"}, "period not the drop's month"),
        ({"kind": None}, "kind empty"),
    ],
)
def test_untrustworthy_row_is_quarantined_with_its_reason(
    override: dict[str, str | None], reason: str
) -> None:
    got = parse_payouts([payout_row(**override)])
    assert got["_reason"].to_list() == [reason]


def test_arrears_may_name_an_earlier_period_and_adjustments_may_be_negative() -> None:
    got = parse_payouts(
        [
            payout_row(kind="arrears", period="2020-02"),
            payout_row(kind="调整", amount="-50", period="2020-03"),
        ]
    )
    assert got["_reason"].to_list() == [None, None]


def test_checksum_failure_is_evidence_not_quarantine() -> None:
    bad = fake_id()[:-1] + ("0" if fake_id()[-1] != "0" else "1")
    got = parse_payouts([payout_row(person_id=bad)])
    assert got["_reason"].to_list() == [None]


def test_exact_duplicate_quarantines_the_second_copy_only() -> None:
    got = parse_payouts([payout_row(), payout_row(), payout_row(amount="10")])
    assert got["_reason"].to_list() == [None, "duplicate row", None]


def test_malformed_line_keeps_reason_from_reader() -> None:
    got = parse_payouts([payout_row()], malformed=["malformed row: 5 fields, expected 7"])
    assert got["_reason"].to_list() == ["malformed row: 5 fields, expected 7"]


def test_several_problems_are_all_named() -> None:
    got = parse_payouts([payout_row(person_id=None, amount="abc")])
    assert got["_reason"].to_list() == ["person_id empty; amount unparseable"]


def test_death_record_with_mistyped_or_missing_id_loads() -> None:
    raw = pl.DataFrame(
        {
            "record_id": ["D1", "D2"],
            "person_id": ["4309231940010100", None],
            "name": ["张三", "李四"],
            "sex": ["男", None],
            "birth_date": [None, "1940-01-01"],
            "death_date": ["2020-05-01", "2020-05-02"],
            "source": ["公安", "civil_affairs"],
            "recorded_on": ["2020-05-10", "2020-05-20"],
            "_row": [1, 2],
            "_malformed": [None, None],
        },
        schema_overrides={"_row": pl.Int64, "_malformed": pl.String},
    )
    got = parse_records(raw.lazy(), DEATHS, month="2020-05").collect()
    assert got["_reason"].to_list() == [None, None]
    assert got["source"].to_list() == ["police", "civil_affairs"]


@pytest.mark.parametrize("kind", sorted(CUSTODY_KINDS))
def test_every_custody_kind_and_source_spelling_loads_canonical(kind: str) -> None:
    sources = sorted(CUSTODY_SOURCES)
    raw = pl.DataFrame(
        {
            "record_id": [f"C{i}" for i in range(len(sources))],
            "person_id": ["4309231940010100"] * len(sources),
            "name": ["张三"] * len(sources),
            "birth_date": [None] * len(sources),
            "kind": [kind] * len(sources),
            "start_date": ["2020-03-04"] * len(sources),
            "end_date": [None] * len(sources),
            "source": sources,
            "received_on": ["2020-03-20"] * len(sources),
            "_row": list(range(1, len(sources) + 1)),
            "_malformed": [None] * len(sources),
        },
        schema_overrides=CUSTODY_TYPES,
    )
    got = parse_records(raw.lazy(), CUSTODY, month="2020-03").collect()
    assert got["_reason"].to_list() == [None] * len(sources)  # a mistyped ID is for linkage
    assert got["kind"].unique().to_list() == [CUSTODY_KINDS[kind]]
    assert got["source"].to_list() == [CUSTODY_SOURCES[s] for s in sources]


def test_a_custody_record_without_its_start_or_kind_is_quarantined() -> None:
    raw = pl.DataFrame(
        {
            "record_id": ["C1", "C2"],
            "person_id": [fake_id(), fake_id()],
            "name": ["张三", "李四"],
            "birth_date": [None, None],
            "kind": ["服刑", "坐牢"],
            "start_date": [None, "2020-03-04"],
            "end_date": [None, None],
            "source": ["监狱", "法院"],
            "received_on": ["2020-03-20", "2020-03-20"],
            "_row": [1, 2],
            "_malformed": [None, None],
        },
        schema_overrides=CUSTODY_TYPES,
    )
    reasons = parse_records(raw.lazy(), CUSTODY, month="2020-03").collect()["_reason"].to_list()
    assert "start_date" in reasons[0] and "kind" in reasons[1]


def register_frame(rows: list[dict[str, object]]) -> pl.LazyFrame:
    base = {
        "person_id": fake_id(),
        "name": "王芳",
        "sex": "F",
        "birth_date": date(1940, 1, 1),
        "scheme": "enterprise",
        "region_code": "430923",
        "township": "东坪镇",
        "village": "一村",
        "benefit_start": date(1995, 1, 1),
        "status": "active",
        "bank_account": "1",
        "collector_id": None,
    }
    return pl.LazyFrame([{**base, **r} for r in rows])


def test_register_evidence_flags_birth_mismatch_old_region_and_impossible_age() -> None:
    old_region = fake_id(region="432301")
    got = add_register_evidence(
        register_frame(
            [
                {},
                {"birth_date": date(1941, 1, 1)},
                {"person_id": old_region, "region_code": "432301"},
                {"person_id": fake_id(birth="18900101"), "birth_date": date(1890, 1, 1)},
            ]
        ),
        CONFIG.policy,
        region_prefixes=CONFIG.ingest.region_prefixes,
        month="2020-05",
    ).collect()
    assert got["birth_date_matches_id"].to_list() == [True, False, True, True]
    assert got["region_known"].to_list() == [True, True, False, True]
    assert got["age_plausible"].to_list() == [True, True, True, False]
    assert got["person_id_checksum_ok"].to_list() == [True, True, True, True]


def test_payout_evidence_absent_from_register_and_out_of_bounds() -> None:
    payouts = pl.LazyFrame(
        {
            "person_id": [fake_id(), fake_id(seq="003"), fake_id()],
            "scheme": ["enterprise", "enterprise", "enterprise"],
            "period": ["2020-05", "2020-05", "2020-01"],
            "pay_date": [date(2020, 5, 12), date(2020, 5, 12), date(2021, 5, 1)],
            "amount": [2093.5, 2093.5, 99999.0],
            "bank_account": ["1", "2", "1"],
            "kind": ["regular", "regular", "arrears"],
        }
    )
    got = add_payout_evidence(
        payouts,
        register_frame([{}]),
        CONFIG.policy,
        max_pay_date_lag_days=CONFIG.ingest.max_pay_date_lag_days,
        month="2020-05",
    ).collect()
    assert got["in_register"].to_list() == [True, False, True]
    assert got["amount_within_bounds"].to_list() == [True, True, None]
    assert got["pay_date_plausible"].to_list() == [True, True, False]


# A small alphabet with empty text and nulls: many rows repeat, some differ only by a null.
_CELL = st.sampled_from(["a", "b", "", None])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_CELL, _CELL, _CELL), min_size=0, max_size=40))
def test_exact_duplicates_are_the_rows_equal_to_an_earlier_row(rows: list[tuple]) -> None:
    """The hashed search gives the rows a value-by-value comparison in row order gives."""
    raw = pl.DataFrame(
        rows, schema={"x": pl.String, "y": pl.String, "z": pl.String}, orient="row"
    ).with_columns(
        # Row numbers not in frame order: "earlier" is by _row.
        (pl.int_range(pl.len(), dtype=pl.Int64) * 7 % 41).alias("_row"),
        pl.lit(None, dtype=pl.String).alias("_malformed"),
    )
    expected = (
        raw.sort("_row")
        .filter(pl.int_range(pl.len()).over("x", "y", "z") > 0)["_row"]
        .sort()
        .to_list()
    )
    got = exact_duplicates(raw.lazy()).collect()["_row"].sort().to_list()
    assert got == expected


def test_a_null_and_an_empty_value_are_different_rows() -> None:
    rows = [
        payout_row(bank_account=None),
        payout_row(bank_account=None),
        payout_row(bank_account=""),
    ]
    reasons = parse_payouts(rows)["_reason"].to_list()
    assert reasons[1] == "duplicate row"
    assert reasons[2] is None or "duplicate" not in reasons[2]
