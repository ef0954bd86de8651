"""Rule families on small hand-made frames: each with a case to flag and one not to flag."""

from __future__ import annotations

import math
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the shared hand-made frames (importlib mode)
from detection_frames import (  # noqa: E402
    CERT_SCHEMA,
    DEATH_SCHEMA,
    QUARANTINE_SCHEMA,
    certification,
    death_record,
    history,
    make_id,
    months,
    paid_throughout,
    person,
    quarantined_line,
    register_over,
    regular_payouts,
)

from features.cases import merge_reasons  # noqa: E402
from features.survival import gompertz_death_probability  # noqa: E402
from sentinel.config import load_config  # noqa: E402
from sentinel.detection import prepare_month, prepared_rule_reasons, rule_reasons  # noqa: E402

SPAN = months("2020-01", "2020-12")
CONFIG = load_config()
#: What a payout line cut short still holds: its ID, scheme and period, nothing paid.
CUT_SHORT = {"pay_date": None, "amount": None, "bank_account": None, "kind": None}


def _reasons(h) -> pl.DataFrame:
    return rule_reasons(h, CONFIG).collect()


def _flagged(reasons: pl.DataFrame, typology: str) -> set[str]:
    return set(reasons.filter(pl.col("typology") == typology)["person_id"].to_list())


def test_deceased_paid_flags_payment_after_linked_death_not_before():
    dead = person(make_id("19400101", 11), "王建国", "M", date(1940, 1, 1))
    alive = person(make_id("19420202", 22), "李秀英", "F", date(1942, 2, 2))
    deaths = pl.DataFrame(
        [death_record(dead, date(2020, 3, 5), date(2020, 4, 1))], schema=DEATH_SCHEMA
    )
    h = paid_throughout([dead, alive], SPAN, deaths=deaths)
    reasons = _reasons(h)
    assert _flagged(reasons, "deceased_paid") == {dead["person_id"]}
    row = reasons.filter(pl.col("reason") == "DP_PAID_AFTER_DEATH").row(0, named=True)
    assert row["est_overpayment"] == pytest.approx(9 * 120.0)  # periods 2020-04..2020-12
    assert row["probability"] > 0.9


def test_deceased_paid_ignores_routine_reporting_lag():
    # Died in March, record received after the April payroll cut-off, April paid, then stopped.
    dead = person(make_id("19400101", 11), "王建国", "M", date(1940, 1, 1))
    deaths = pl.DataFrame(
        [death_record(dead, date(2020, 3, 5), date(2020, 4, 20))], schema=DEATH_SCHEMA
    )
    register = register_over([dead], SPAN).with_columns(
        pl.when(pl.col("month") >= "2020-05")
        .then(pl.lit("terminated"))
        .otherwise(pl.col("status"))
        .alias("status")
    )
    h = history("2020-12", register, regular_payouts([dead], SPAN[:4]), deaths=deaths)
    # The register terminated the pension: recovered by procedure, not a field visit.
    assert _flagged(_reasons(h), "deceased_paid") == set()


def test_deceased_paid_mistyped_record_unacted_although_suspended_is_flagged():
    """Regression: the record's ID was mistyped, nobody terminated the pension, and payment
    stopped only because certification lapsed (suspension recovers nothing)."""
    dead = person(make_id("19400101", 11), "王建国", "M", date(1940, 1, 1))
    pid = dead["person_id"]
    mistyped = {**dead, "person_id": pid[:8] + pid[9] + pid[8] + pid[10:]}
    record = death_record(
        mistyped, date(2020, 3, 5), date(2020, 5, 17), record_id="MZ1", source="civil_affairs"
    )
    deaths = pl.DataFrame([record], schema=DEATH_SCHEMA)
    register = register_over([dead], SPAN).with_columns(
        pl.when(pl.col("month") >= "2020-06")
        .then(pl.lit("suspended"))
        .otherwise(pl.col("status"))
        .alias("status")
    )
    reasons = _reasons(
        history("2020-12", register, regular_payouts([dead], SPAN[:5]), deaths=deaths)
    )
    row = reasons.filter(pl.col("reason") == "DP_PAID_AFTER_DEATH").row(0, named=True)
    assert row["person_id"] == dead["person_id"] and row["probability"] > 0.9
    assert row["est_overpayment"] == pytest.approx(2 * 120.0)  # April and May


def test_deceased_paid_record_after_this_months_payroll_waits_for_next_month():
    dead = person(make_id("19400101", 11), "王建国", "M", date(1940, 1, 1))
    deaths = pl.DataFrame(
        [death_record(dead, date(2020, 11, 2), date(2020, 12, 20))], schema=DEATH_SCHEMA
    )
    reasons = _reasons(paid_throughout([dead], SPAN, deaths=deaths))
    assert set(reasons.filter(pl.col("reason") == "DP_RECORD_JUST_ARRIVED")["person_id"]) == {
        dead["person_id"]
    }
    assert reasons.filter(pl.col("typology") == "deceased_paid")["probability"].max() < 0.3


def test_duplicate_receipt_two_schemes_flagged_single_scheme_not():
    twice = person(make_id("19500101", 11), "张三", "M", date(1950, 1, 1))
    twice_ent = {**twice, "scheme": "enterprise"}
    once = person(make_id("19500202", 22), "赵四", "M", date(1950, 2, 2))
    reg = register_over([twice, twice_ent, once], SPAN)
    pay = pl.concat(
        [
            regular_payouts([twice, once], SPAN),
            regular_payouts([twice_ent], SPAN[-3:], amount=2000.0),
        ]
    )
    reasons = _reasons(history("2020-12", reg, pay))
    assert _flagged(reasons, "duplicate_receipt") == {twice["person_id"]}
    row = reasons.filter(pl.col("typology") == "duplicate_receipt").row(0, named=True)
    assert row["est_overpayment"] == pytest.approx(3 * 120.0)  # the smaller payment is the extra


def test_shared_account_unrelated_flagged_couple_not():
    account = "6217000011112222"
    a = person(make_id("19400101", 11), "王建国", "M", date(1940, 1, 1), account=account)
    b = person(
        make_id("19380303", 22), "刘秀英", "F", date(1938, 3, 3), account=account, village="青山村"
    )
    c = person(
        make_id("19450505", 33), "陈明", "M", date(1945, 5, 5), account=account, village="白沙村"
    )
    husband = person(
        make_id("19410101", 51), "周国华", "M", date(1941, 1, 1), account="6217000099990000"
    )
    wife = person(
        make_id("19430202", 62), "吴桂英", "F", date(1943, 2, 2), account="6217000099990000"
    )
    rows = [a, b, c, husband, wife]
    reasons = _reasons(paid_throughout(rows, SPAN))
    flagged = _flagged(reasons, "shared_account")
    assert {a["person_id"], b["person_id"], c["person_id"]} <= flagged
    assert husband["person_id"] not in flagged and wife["person_id"] not in flagged


def test_amount_anomaly_repeat_arrears_flagged_single_arrears_after_reinstatement_not():
    repeat = person(make_id("19500101", 11), "张三", "M", date(1950, 1, 1))
    reinstated = person(make_id("19500202", 22), "赵四", "M", date(1950, 2, 2))
    pay = regular_payouts([repeat], SPAN)
    paid_months = [m for m in SPAN if m not in ("2020-03", "2020-04")]
    pay_reinstated = regular_payouts([reinstated], paid_months)
    arrears = pl.DataFrame(
        [
            {
                "person_id": reinstated["person_id"],
                "scheme": "resident",
                "period": p,
                "pay_date": date(2020, 5, 10),
                "amount": 120.0,
                "bank_account": reinstated["bank_account"],
                "kind": "arrears",
                "month": "2020-05",
            }
            for p in ("2020-03", "2020-04")
        ]
        + [
            {
                "person_id": repeat["person_id"],
                "scheme": "resident",
                "period": "2020-02",
                "pay_date": date(2020, m, 10),
                "amount": 120.0,
                "bank_account": repeat["bank_account"],
                "kind": "arrears",
                "month": f"2020-{m:02d}",
            }
            for m in (6, 7, 8)
        ],
        schema=pay.schema,
    )
    reasons = _reasons(
        history(
            "2020-12",
            register_over([repeat, reinstated], SPAN),
            pl.concat([pay, pay_reinstated, arrears]),
        )
    )
    assert _flagged(reasons, "amount_anomaly") == {repeat["person_id"]}


def test_amount_anomaly_paid_while_terminated():
    gone = person(make_id("19300101", 11), "张三", "M", date(1930, 1, 1))
    reg = register_over([gone], SPAN[:6]).vstack(
        register_over([{**gone, "status": "terminated"}], SPAN[6:])
    )
    reasons = _reasons(history("2020-12", reg, regular_payouts([gone], SPAN)))
    row = reasons.filter(pl.col("reason") == "AA_PAID_WHILE_TERMINATED").row(0, named=True)
    assert row["person_id"] == gone["person_id"]
    assert row["est_overpayment"] == pytest.approx(5 * 120.0)  # Aug..Dec (July is the change month)


def test_identity_anomaly_bad_checksum_and_quarantined_malformed_payee():
    good = person(make_id("19500101", 11), "张三", "M", date(1950, 1, 1))
    valid = make_id("19500202", 22)
    wrong_check = valid[:-1] + ("0" if valid[-1] != "0" else "1")
    ghost = person(wrong_check, "赵四", "M", date(1950, 2, 2))
    quarantined = pl.DataFrame(
        [
            quarantined_line(
                "43092319501",
                "2020-12",
                "person_id malformed",
                scheme="城乡居民",
                amount="¥1,200.00",
                kind="正常",
            ),
            quarantined_line(good["person_id"], "2020-12", "duplicate row"),
        ],
        schema=QUARANTINE_SCHEMA,
    )
    rows = [good, ghost]
    reasons = _reasons(paid_throughout(rows, SPAN, quarantined=quarantined))
    assert _flagged(reasons, "identity_anomaly") == {wrong_check, "43092319501"}
    malformed = reasons.filter(pl.col("reason") == "IA_MALFORMED_PAYEE").row(0, named=True)
    assert malformed["est_overpayment"] == pytest.approx(1200.0)
    assert (
        _flagged(reasons, "duplicate_receipt") == set()
    )  # a duplicate delivery is not a second payment


def _certified_neighbours(n: int) -> tuple[list[dict], pl.DataFrame]:
    """``n`` living pensioners of the same scheme, each with an on-site pass in 2020: the
    county a lapse or a new collector is rare in."""
    rows = [person(make_id("19400101", 100 + i), f"邻{i}", "F", date(1940, 1, 1)) for i in range(n)]
    certs = pl.DataFrame(
        [certification(r, date(2020, 1 + i % 12, 15)) for i, r in enumerate(rows)],
        schema=CERT_SCHEMA,
    )
    return rows, certs


def test_suspected_death_old_lapsed_with_new_collector_flagged_recent_on_site_not():
    old = person(make_id("19260101", 11), "张三", "M", date(1926, 1, 1))
    certified = person(make_id("19250202", 22), "赵四", "M", date(1925, 2, 2))
    neighbours, neighbour_certs = _certified_neighbours(40)
    reg = register_over([old, certified, *neighbours], SPAN[:8]).vstack(
        register_over(
            [{**old, "collector_id": make_id("19700101", 33)}, certified, *neighbours], SPAN[8:]
        )
    )
    certs = pl.DataFrame([certification(certified, date(2020, 11, 20))], schema=CERT_SCHEMA).vstack(
        neighbour_certs
    )
    payouts = regular_payouts([old, certified, *neighbours], SPAN)
    reasons = _reasons(history("2020-12", reg, payouts, certifications=certs))
    # Evidence, not the life table alone (which lists the most probable as leads).
    flagged = reasons.filter(
        (pl.col("typology") == "suspected_unreported_death")
        & ~pl.col("reason").is_in(["SD_MORTALITY", "SD_MORTALITY_UNRECORDED"])
    )
    assert set(flagged["person_id"].to_list()) == {old["person_id"]}
    assert "SD_COLLECTOR_ADDED" in flagged["reason"].to_list()


def test_a_survival_signal_most_paid_persons_show_weighs_less_than_a_rare_one():
    """Base rate: a new collector is evidence when few pensioners got one, none when the
    whole county did (an administrative wave)."""
    old = person(make_id("19260101", 11), "张三", "M", date(1926, 1, 1))
    neighbours, certs = _certified_neighbours(40)

    def probability(wave: bool) -> float:
        later = [{**old, "collector_id": make_id("19700101", 33)}] + [
            {**r, "collector_id": make_id("19700101", 40 + i)} if wave else r
            for i, r in enumerate(neighbours)
        ]
        reg = register_over([old, *neighbours], SPAN[:8]).vstack(register_over(later, SPAN[8:]))
        payouts = regular_payouts([old, *neighbours], SPAN)
        reasons = _reasons(history("2020-12", reg, payouts, certifications=certs))
        mine = reasons.filter(
            (pl.col("person_id") == old["person_id"])
            & (pl.col("typology") == "suspected_unreported_death")
        )
        return float(mine["probability"].max() or 0.0)

    rare, common = probability(wave=False), probability(wave=True)
    assert rare > 2 * common


def life_table(age: float, years: float, a: float = 2.2e-5, b: float = 0.098) -> float:
    """Gompertz: the probability of dying within ``years`` of ``age``, written out."""
    return 1.0 - math.exp(-(a / b) * math.exp(b * age) * (math.exp(b * years) - 1.0))


def test_gompertz_probability_matches_python_twin_and_rises_with_age():
    frame = pl.DataFrame({"age": [70.0, 95.0], "years": [1.0, 1.0]})
    p = frame.select(
        gompertz_death_probability(pl.col("age"), pl.col("years"), 2.2e-5, 0.098).alias("p")
    )["p"].to_list()
    assert p[0] == pytest.approx(life_table(70.0, 1.0))
    assert p[0] < 0.05 < p[1] < 0.5


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


def test_deceased_paid_already_terminated_is_not_a_field_case_still_active_is():
    """Regression: a death the register already terminated is recovered administratively;
    the same payments to a pension still active need a field visit."""
    terminated = person(make_id("19400101", 11), "王建国", "M", date(1940, 1, 1))
    active = person(make_id("19400101", 31), "王建军", "M", date(1940, 1, 1))
    register = register_over([terminated, active], SPAN).with_columns(
        pl.when((pl.col("person_id") == terminated["person_id"]) & (pl.col("month") >= "2020-07"))
        .then(pl.lit("terminated"))
        .otherwise(pl.col("status"))
        .alias("status")
    )
    pay = regular_payouts([terminated], SPAN[:7]).vstack(regular_payouts([active], SPAN))
    deaths = pl.DataFrame(
        [
            death_record(
                p, date(2020, 3, 5), date(2020, 4, 1), record_id=f"GA-{p['person_id'][-4:]}"
            )
            for p in (terminated, active)
        ],
        schema=DEATH_SCHEMA,
    )
    reasons = _reasons(history("2020-12", register, pay, deaths=deaths))
    p = dict(
        reasons.filter(pl.col("reason") == "DP_PAID_AFTER_DEATH")
        .select("person_id", "probability")
        .iter_rows()
    )
    assert p[active["person_id"]] > 0.9
    assert terminated["person_id"] not in p


def test_shared_collector_member_seen_in_person_is_weak_evidence():
    collector = make_id("19700101", 91)
    a = person(make_id("19400101", 11), "王建国", "M", date(1940, 1, 1))
    b = person(make_id("19380303", 22), "刘秀英", "F", date(1938, 3, 3), village="青山村")
    c = person(make_id("19450505", 33), "陈明", "M", date(1945, 5, 5), village="白沙村")
    rows = [{**r, "collector_id": collector} for r in (a, b, c)]
    certs = pl.DataFrame([certification(a, date(2020, 9, 10))], schema=CERT_SCHEMA)
    reasons = _reasons(paid_throughout(rows, SPAN, certifications=certs))
    shared = reasons.filter(pl.col("reason") == "SA_SHARED_COLLECTOR")
    p = dict(shared.select("person_id", "probability").iter_rows())
    assert p[a["person_id"]] < p[b["person_id"]]
    paid = dict(shared.select("person_id", "est_overpayment").iter_rows())
    assert paid[a["person_id"]] == pytest.approx(
        3 * 120.0
    )  # only what was paid since the on-site pass


def _name_only_death(p: dict) -> pl.DataFrame:
    """A death record with only the name of ``p``: no ID, sex or birth date."""
    return pl.DataFrame(
        [
            death_record(
                p,
                date(2020, 6, 8),
                date(2020, 6, 25),
                record_id="GA9",
                person_id=None,
                sex=None,
                birth_date=None,
            )
        ],
        schema=DEATH_SCHEMA,
    )


def test_name_only_death_record_is_a_lead_not_proof():
    """A record with only a name is never a death link, but raises a suspected death."""
    rare = person(make_id("19360312", 22), "何霞翠", "F", date(1936, 3, 12))
    reasons = _reasons(paid_throughout([rare], SPAN, deaths=_name_only_death(rare)))
    assert _flagged(reasons, "deceased_paid") == set()
    lead = reasons.filter(pl.col("reason") == "SD_SAME_NAME_DEATH_RECORD")
    assert lead["person_id"].to_list() == [rare["person_id"]]
    assert lead["est_overpayment"].item() == pytest.approx(6 * 120.0)  # 2020-07..2020-12


def test_name_only_death_record_matching_two_pensioners_raises_nobody():
    one = person(make_id("19360312", 22), "何霞翠", "F", date(1936, 3, 12))
    two = person(make_id("19400101", 42), "何霞翠", "F", date(1940, 1, 1), village="白沙村")
    reasons = _reasons(paid_throughout([one, two], SPAN, deaths=_name_only_death(one)))
    assert reasons.filter(pl.col("reason") == "SD_SAME_NAME_DEATH_RECORD").height == 0


def test_rules_read_a_run_of_months_as_those_months_rows():
    """The rule families read the paid ledger summarised as runs (``features.ledger``): a
    run of twelve unchanged payments must count exactly as the twelve rows, whether a rule
    reads the run or expands it. Every rule on a ledger cut into one-row runs gives the
    same reasons as on its runs."""
    from dataclasses import replace

    from polars.testing import assert_frame_equal

    from features.ledger import ledger_runs
    from features.payments import paid_ledger

    old_standard = person(make_id("19500101", 11), "张三", "M", date(1950, 1, 1))
    jumped = person(make_id("19500202", 22), "赵四", "M", date(1950, 2, 2))
    twice = person(make_id("19500303", 33), "钱五", "M", date(1950, 3, 3))
    twice_ent = {**twice, "scheme": "enterprise"}
    gone = person(make_id("19300404", 44), "孙六", "M", date(1930, 4, 4))
    moved = person(make_id("19450505", 55), "李七", "F", date(1945, 5, 5))
    register = (
        register_over([old_standard, jumped, twice, twice_ent, moved], SPAN)
        .vstack(register_over([gone], SPAN[:6]))
        .vstack(register_over([{**gone, "status": "terminated"}], SPAN[6:]))
    )
    payouts = pl.concat(
        [
            # The old resident standard paid all year: below the floor from 2020-07 only.
            regular_payouts([old_standard], SPAN, amount=103.0),
            regular_payouts([jumped], SPAN[:8], amount=120.0),
            regular_payouts([jumped], SPAN[8:], amount=600.0),
            regular_payouts([twice], SPAN),
            regular_payouts([twice_ent], SPAN[4:9], amount=2000.0),
            regular_payouts([gone], SPAN),
            regular_payouts([moved], SPAN[:5]),
            regular_payouts([{**moved, "bank_account": "6217000055556666"}], SPAN[5:]),
        ]
    )
    h = history("2020-12", register, payouts)
    as_runs = _reasons(h)
    rows_ledger = paid_ledger(h.payouts, h.quarantined_payouts)
    one_row_runs = rows_ledger.with_columns(
        pl.col("kind").cast(pl.String), pl.lit(1, dtype=pl.Int32).alias("months")
    )
    as_rows = _reasons(replace(h, ledger_runs=one_row_runs))
    # The runs really are runs: far fewer than the rows.
    assert ledger_runs(rows_ledger).collect().height < rows_ledger.collect().height / 4
    order = ["person_id", "typology", "reason"]
    assert_frame_equal(as_runs.sort(order), as_rows.sort(order))
    assert {"AA_OFF_STANDARD", "AA_JUMP", "AA_PAID_WHILE_TERMINATED", "DR_TWO_SCHEMES"} <= set(
        as_runs["reason"].to_list()
    )
    off = as_runs.filter(pl.col("reason") == "AA_OFF_STANDARD").row(0, named=True)
    assert off["person_id"] == old_standard["person_id"] and off["facts"][1] == "6"  # Jul..Dec


def test_a_truncated_line_for_a_paid_period_is_no_second_payment():
    """A ledger line cut short (period kept, amount and date lost) lands in quarantine; it
    says nothing about how much, or whether, a second payment was made."""
    paid = person(make_id("19520317", 37), "张伟", "M", date(1952, 3, 17))
    twice = person(make_id("19520404", 44), "李明", "M", date(1952, 4, 4))
    quarantined = pl.DataFrame(
        [
            quarantined_line(
                paid["person_id"],
                "2020-02",
                "malformed row: 3 fields, expected 7; pay_date empty; amount empty",
                scheme="机关事业",
                **CUT_SHORT,
            ),
            quarantined_line(
                twice["person_id"],
                "2020-02",
                "bank_account malformed",
                pay_date="2020-02-20",
                bank_account=twice["bank_account"],
            ),
        ],
        schema=QUARANTINE_SCHEMA,
    )
    rows = [paid, twice]
    reasons = _reasons(paid_throughout(rows, SPAN, quarantined=quarantined))
    assert _flagged(reasons, "duplicate_receipt") == {twice["person_id"]}
    assert reasons.filter(pl.col("typology") == "duplicate_receipt")[
        "est_overpayment"
    ].to_list() == [120.0]


def test_a_short_id_paid_into_a_couples_account_is_the_spouse_it_resembles_not_a_ghost():
    """Spouses often share one account: a payee ID with a digit lost, paid into it, is the
    spouse whose ID it is within an edit or two of, not an identity nobody holds."""
    account = "6217997279352263709"
    husband = person(make_id("19400222", 65), "王建国", "M", date(1940, 2, 22), account=account)
    wife = person(make_id("19440904", 16), "刘秀英", "F", date(1944, 9, 4), account=account)
    stranger = person(
        make_id("19450505", 33), "陈明", "M", date(1945, 5, 5), account="6217000011112222"
    )
    shared = pl.DataFrame(
        [
            quarantined_line(
                payee, "2020-07", "person_id malformed", pay_date="2020/7/13", bank_account=account
            )
            for payee in (husband["person_id"][:-1], "4309231945050")
        ],
        schema=QUARANTINE_SCHEMA,
    )
    rows = [husband, wife, stranger]
    pay = regular_payouts(rows, SPAN).filter(
        ~((pl.col("person_id") == husband["person_id"]) & (pl.col("period") == "2020-07"))
    )
    reasons = _reasons(history("2020-12", register_over(rows, SPAN), pay, quarantined=shared))
    # The second short ID resembles neither owner of the account: still a payee nobody is.
    assert _flagged(reasons, "identity_anomaly") == {"4309231945050"}


def test_a_truncated_line_after_termination_is_no_payment_while_terminated():
    gone = person(make_id("19420218", 33), "黄庆林", "M", date(1942, 2, 18))
    reg = register_over([gone], SPAN[:6]).vstack(
        register_over([{**gone, "status": "terminated"}], SPAN[6:])
    )
    cut_short = pl.DataFrame(
        [
            quarantined_line(
                gone["person_id"], "2020-09", "malformed row: 3 fields, expected 7", **CUT_SHORT
            )
        ],
        schema=QUARANTINE_SCHEMA,
    )
    reasons = _reasons(
        history("2020-12", reg, regular_payouts([gone], SPAN[:6]), quarantined=cut_short)
    )
    assert reasons.filter(pl.col("person_id") == gone["person_id"]).height == 0


def _record_linked_at(confidence: float) -> pl.LazyFrame:
    """The linker's verdict on record GA7 (:func:`features.deaths.link_deaths`): its best
    candidate is 王秀兰 with ``confidence``; her ID and name were typed wrong in it."""
    return pl.LazyFrame(
        [
            {
                "record_id": "GA7",
                "person_id": make_id("19380404", 24),
                "confidence": confidence,
                "method": "probabilistic",
                "disagreed": ["person_id"],
            }
        ],
        schema={
            "record_id": pl.String,
            "person_id": pl.String,
            "confidence": pl.Float64,
            "method": pl.String,
            "disagreed": pl.List(pl.String),
        },
    )


@pytest.mark.parametrize(
    ("confidence", "expected"), [(0.97, "proof"), (0.8, "lead"), (0.3, "nothing")]
)
def test_a_record_more_likely_a_pensioner_than_not_is_a_lead_below_proof(confidence, expected):
    """Proof at ``min_death_link_confidence``; from even odds (``min_death_lead_confidence``)
    a lead whose probability is the link's, topped up by what the person shows without it."""
    her = person(make_id("19380404", 24), "王秀兰", "F", date(1938, 4, 4))
    typed_wrong = {**her, "person_id": her["person_id"][:-3] + "999", "name": "王秀岚"}
    record = death_record(
        typed_wrong, date(2020, 6, 8), date(2020, 6, 25), record_id="GA7", source="health"
    )
    h = paid_throughout([her], SPAN, deaths=pl.DataFrame([record], schema=DEATH_SCHEMA))
    reasons = prepared_rule_reasons(
        prepare_month(h, CONFIG, links=_record_linked_at(confidence)), CONFIG
    ).collect()
    lead = reasons.filter(pl.col("reason") == "SD_PROBABLE_DEATH_RECORD")
    if expected == "proof":
        assert _flagged(reasons, "deceased_paid") == {her["person_id"]} and lead.height == 0
    elif expected == "lead":
        assert _flagged(reasons, "deceased_paid") == set()
        assert lead["person_id"].to_list() == [her["person_id"]]
        assert confidence <= lead["probability"].item() < 1.0
        assert lead["est_overpayment"].item() == pytest.approx(6 * 120.0)  # paid 2020-07..2020-12
        assert "80%" in lead["facts"].item()
    else:
        assert lead.height == 0 and _flagged(reasons, "deceased_paid") == set()
