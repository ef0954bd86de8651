"""Custody policy rules: paid in prison, paid in detention, increases under probation."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the shared hand-made frames (importlib mode)
from detection_frames import (  # noqa: E402
    history,
    make_id,
    months,
    paid_throughout,
    person,
    register_over,
    regular_payouts,
)

from sentinel.config import load_config  # noqa: E402
from sentinel.contract import CUSTODY, typed_schema  # noqa: E402
from sentinel.detection import rule_reasons  # noqa: E402

SPAN = months("2020-01", "2020-12")
CONFIG = load_config()


def _record(
    p: dict | None,
    kind: str,
    start: date,
    end: date | None = None,
    *,
    record: str,
    mistyped: bool = False,
    name: str | None = None,
) -> dict:
    pid = None if p is None else p["person_id"]
    if mistyped and pid:
        pid = pid[:8] + ("1" if pid[8] != "1" else "2") + pid[9:]
    return {
        "record_id": record,
        "person_id": pid,
        "name": name or (p or {}).get("name"),
        "birth_date": None if p is None else p["birth_date"],
        "kind": kind,
        "start_date": start,
        "end_date": end,
        "source": "prison" if kind == "imprisonment" else "court",
        "received_on": start,
        "month": f"{start:%Y-%m}",
    }


def _reasons(
    people: list[dict], records: list[dict], payouts: pl.DataFrame | None = None
) -> pl.DataFrame:
    if payouts is None:
        h = paid_throughout(people, SPAN)
    else:
        h = history(SPAN[-1], register_over(people, SPAN), payouts)
    custody = pl.DataFrame(records, schema={**typed_schema(CUSTODY), "month": pl.String})
    return (
        rule_reasons(replace(h, custody=custody.lazy()), CONFIG)
        .collect()
        .filter(pl.col("typology") == "custody_paid")
    )


PRISONER = person(make_id("19550101", 11), "王建国", "M", date(1955, 1, 1))
RELEASED = person(make_id("19560202", 21), "李秀英", "F", date(1956, 2, 2))
ON_PROBATION = person(make_id("19570303", 31), "陈明", "M", date(1957, 3, 3), scheme="enterprise")
DETAINED = person(make_id("19580404", 41), "赵四", "M", date(1958, 4, 4))
ACQUITTED = person(make_id("19590505", 51), "周华", "M", date(1959, 5, 5))
BYSTANDER = person(make_id("19600606", 61), "吴芳", "F", date(1960, 6, 6))


def test_paid_in_prison_from_the_month_after_it_began_to_the_month_of_release() -> None:
    records = [
        _record(PRISONER, "imprisonment", date(2020, 3, 15), record="P1", mistyped=True),
        _record(RELEASED, "imprisonment", date(2020, 2, 10), record="P2"),
        _record(RELEASED, "release", date(2020, 6, 20), record="P3"),
        _record(None, "imprisonment", date(2020, 1, 5), record="P4", name="钱多多"),  # nobody here
    ]
    reasons = _reasons([PRISONER, RELEASED, BYSTANDER], records)
    rows = {r["person_id"]: r for r in reasons.iter_rows(named=True)}
    assert set(rows) == {PRISONER["person_id"], RELEASED["person_id"]}
    assert rows[PRISONER["person_id"]]["reason"] == "CP_PAID_IN_PRISON"
    assert rows[PRISONER["person_id"]]["est_overpayment"] == pytest.approx(
        9 * 120.0
    )  # April..December
    assert rows[RELEASED["person_id"]]["est_overpayment"] == pytest.approx(4 * 120.0)  # March..June
    assert rows[PRISONER["person_id"]]["facts"][2] == "9"


def test_detention_is_a_signal_unless_acquitted_and_proof_once_sentenced() -> None:
    records = [
        _record(DETAINED, "pretrial_detention", date(2020, 9, 1), record="D1"),
        _record(ACQUITTED, "pretrial_detention", date(2020, 4, 1), record="D2"),
        _record(ACQUITTED, "acquittal", date(2020, 7, 1), record="D3"),
        _record(PRISONER, "pretrial_detention", date(2020, 5, 1), record="D4"),
        _record(PRISONER, "imprisonment", date(2020, 8, 1), record="D5"),
    ]
    reasons = _reasons([DETAINED, ACQUITTED, PRISONER], records)
    by_person = reasons.group_by("person_id").agg(pl.col("reason").unique().sort())
    got = dict(zip(by_person["person_id"], by_person["reason"].to_list(), strict=True))
    assert got == {
        DETAINED["person_id"]: ["CP_PAID_IN_DETENTION"],
        PRISONER["person_id"]: ["CP_PAID_IN_PRISON"],
    }
    detained = reasons.filter(pl.col("person_id") == DETAINED["person_id"])
    assert detained["probability"].item() == CONFIG.detection.custody_detention_probability
    assert detained["est_overpayment"].item() == pytest.approx(3 * 120.0)  # October..December


def test_probation_keeps_the_pension_but_not_the_increase() -> None:
    flat = regular_payouts([ON_PROBATION], SPAN, amount=2000.0)
    raised = flat.with_columns(
        pl.when(pl.col("period") >= "2020-07")
        .then(2060.0)
        .otherwise(pl.col("amount"))
        .alias("amount")
    )
    records = [_record(ON_PROBATION, "probation", date(2020, 3, 1), date(2021, 2, 28), record="H1")]
    assert _reasons([ON_PROBATION], records, flat).is_empty()  # paid, unchanged: nothing to say
    reasons = _reasons([ON_PROBATION], records, raised)
    row = reasons.row(0, named=True)
    assert row["reason"] == "CP_RAISED_ON_PROBATION"
    assert row["est_overpayment"] == pytest.approx(6 * 60.0)  # July..December, 60 yuan each
