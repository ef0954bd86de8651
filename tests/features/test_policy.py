"""Policy events recognised from the ledger and named for the manifest (features/policy.py)."""

from __future__ import annotations

import polars as pl
import pytest

from features.policy import event_counts, policy_events
from sentinel.config import load_config
from sentinel.periods import month_number

CONFIG = load_config()
JUL = month_number("2020-07")


def ledger_runs(rows: list[tuple[str, str, str, int, int, float, int]]) -> pl.LazyFrame:
    """Runs from (person_id, scheme, kind, period_index, months, amount, drop_index)."""
    return pl.LazyFrame(
        {
            "person_id": [r[0] for r in rows],
            "scheme": [r[1] for r in rows],
            "kind": [r[2] for r in rows],
            "period_index": [r[3] for r in rows],
            "period_end": [r[3] + r[4] - 1 for r in rows],
            "amount": [r[5] for r in rows],
            "drop_index": [r[6] for r in rows],
        },
        schema_overrides={"period_index": pl.Int32, "period_end": pl.Int32, "drop_index": pl.Int32},
    )


def back_pay_month(retirees: int, back_paid: int) -> pl.LazyFrame:
    """Enterprise retirees paid 2,000 from January and 2,124 from July; the first
    ``back_paid`` of them receive January..June's increment as arrears in July's drop."""
    rows = []
    for i in range(retirees):
        p = f"e{i:03d}"
        rows.append((p, "enterprise", "regular", JUL - 6, 6, 2000.0, JUL - 6))
        rows.append((p, "enterprise", "regular", JUL, 1, 2124.0, JUL))
        if i < back_paid:
            rows += [(p, "enterprise", "arrears", JUL - 6 + k, 1, 124.0, JUL) for k in range(6)]
    return ledger_runs(rows)


#: The base rates of a month in which no reason fired.
NO_BASE_RATES = pl.DataFrame(
    schema=dict.fromkeys(["reason", "scheme"], pl.String)
    | dict.fromkeys(["persons", "recipients"], pl.UInt32)
    | dict.fromkeys(["share", "share_low"], pl.Float64)
)


def _events(
    ledger: pl.LazyFrame,
    base_rates: pl.DataFrame | None = None,
    *,
    scheme: str = "enterprise",
    recipients: int = 100,
) -> list[dict]:
    counts = event_counts(ledger, "2020-07").collect()
    per_scheme = pl.DataFrame({"scheme": [scheme], "recipients": [recipients]})
    return policy_events(
        counts,
        per_scheme,
        base_rates if base_rates is not None else NO_BASE_RATES,
        "2020-07",
        CONFIG.policy,
        common_reason_share=CONFIG.detection.common_reason_share,
    )


def test_an_adjustment_paid_back_to_a_scheme_is_a_back_pay_event():
    events = _events(back_pay_month(100, 95))
    back = [e for e in events if e["event"] == "back_pay"]
    assert back == [
        {
            "event": "back_pay",
            "scheme": "enterprise",
            "persons": 95,
            "share_of_recipients": 0.95,
            "yuan": pytest.approx(95 * 6 * 124.0),
            "periods": "2020-01..2020-06",
        }
    ]
    steps = [e for e in events if e["event"] == "standard_change"]
    assert [(e["scheme"], e["step_yuan"], e["persons"], e["configured"]) for e in steps] == [
        ("enterprise", 124.0, 100, False)
    ]


def test_arrears_of_one_reinstated_pensioner_are_no_event():
    events = _events(back_pay_month(100, 1))
    assert [e["event"] for e in events] == ["standard_change"]


def test_the_resident_standard_configured_for_july_is_named_configured():
    rows = []
    for i in range(50):
        rows.append((f"r{i}", "resident", "regular", JUL - 1, 1, 103.0 + i, JUL - 1))
        rows.append((f"r{i}", "resident", "regular", JUL, 1, 113.0 + i, JUL))
    (event,) = _events(ledger_runs(rows), scheme="resident", recipients=50)
    assert (event["event"], event["step_yuan"], event["configured"]) == (
        "standard_change",
        10.0,
        True,
    )


def test_a_reason_firing_for_much_of_a_scheme_is_named_with_its_weight_unless_observed():
    rates = pl.DataFrame(
        {
            "reason": ["AA_OFF_STANDARD", "SD_CERT_LAPSED", "AA_JUMP"],
            "scheme": ["enterprise"] * 3,
            "persons": [40, 40, 1],
            "recipients": [100] * 3,
            "share": [0.4, 0.4, 0.01],
            "share_low": [0.31, 0.31, 0.002],
        }
    )
    common = [e for e in _events(back_pay_month(100, 0), rates) if e["event"] == "common_reason"]
    assert [(e["reason"], e["weight"]) for e in common] == [("AA_OFF_STANDARD", 0.025)]


def test_an_adjustment_proportional_to_the_pension_is_one_event_though_no_step_is_common():
    # Each retiree's pension rises by 1 % plus a fixed 50 yuan: 100 persons, 100 steps, none
    # of them reaching 1 % of the scheme by itself.
    rows = []
    for i in range(100):
        before = 1500.0 + 10 * i
        rows.append((f"e{i:03d}", "enterprise", "regular", JUL - 1, 1, before, JUL - 1))
        rows.append((f"e{i:03d}", "enterprise", "regular", JUL, 1, before * 1.01 + 50, JUL))
    (event,) = _events(ledger_runs(rows))
    assert event == {
        "event": "adjustment",
        "scheme": "enterprise",
        "persons": 100,
        "share_of_recipients": 1.0,
        "yuan": pytest.approx(sum(15 + 0.1 * i + 50 for i in range(100)), abs=0.01),
        "steps_yuan": [65.0, 75.0],
        "median_step_yuan": 70.0,
        "period": "2020-07",
    }


def test_a_standard_beside_a_supplement_for_some_is_a_standard_change_and_an_adjustment():
    # The resident standard rises 10 yuan; 5 of the 100 also receive a 20-yuan supplement.
    rows = []
    for i in range(100):
        step = 30.0 if i < 5 else 10.0
        rows.append((f"r{i:03d}", "resident", "regular", JUL - 1, 1, 103.0, JUL - 1))
        rows.append((f"r{i:03d}", "resident", "regular", JUL, 1, 103.0 + step, JUL))
    events = _events(ledger_runs(rows), scheme="resident", recipients=100)
    assert [(e["event"], e["persons"], e.get("step_yuan"), e.get("steps_yuan")) for e in events] == [
        ("standard_change", 95, 10.0, None),
        ("adjustment", 5, None, [30.0, 30.0]),
    ]
    assert events[1]["median_step_yuan"] == 30.0
