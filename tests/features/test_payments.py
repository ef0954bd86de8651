"""The rule families read off the paid ledger (features/payments.py names them as living
beside it): duplicate_receipt, amount_anomaly and identity_anomaly, on small hand-made
frames, with the quarantined ledger lines each must read as money paid or not. One file
for the three: their tests build the same frames."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the shared hand-made frames (importlib mode)
from detection_frames import (  # noqa: E402
    CUT_SHORT,
    QUARANTINE_SCHEMA,
    SPAN,
    _flagged,
    _reasons,
    history,
    make_id,
    paid_throughout,
    person,
    quarantined_line,
    register_over,
    regular_payouts,
)


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


def test_an_adjustment_paid_back_twice_is_repeat_arrears_paid_back_once_is_not():
    """The annual adjustment paid back from January (docs/domain.md: +124 yuan a month for
    enterprise retirees, paid as arrears once approved) tops each period up to the raised
    pension; the same batch paid again in a later drop takes each period 124 yuan beyond
    it, a few percent of the pension, and is a double payment all the same. A pension
    suspended since June shows no raised regular amount, yet its back pay, paid once, is
    no repeat."""
    once = person(make_id("19520101", 11), "张三", "M", date(1952, 1, 1), scheme="enterprise")
    twice = person(make_id("19520202", 22), "赵四", "M", date(1952, 2, 2), scheme="enterprise")
    held = person(make_id("19520303", 33), "王五", "M", date(1952, 3, 3), scheme="enterprise")
    rows = [once, twice]
    pay = pl.concat(
        [
            regular_payouts([*rows, held], SPAN[:5], amount=2000.0),
            regular_payouts(rows, SPAN[5:6], amount=2000.0),
            regular_payouts(rows, SPAN[6:], amount=2124.0),
        ]
    )

    def back_pay(r: dict, month: str, periods: list[str]) -> list[dict]:
        return [
            {
                "person_id": r["person_id"],
                "scheme": "enterprise",
                "period": p,
                "pay_date": date(2020, int(month[5:]), 10),
                "amount": 124.0,
                "bank_account": r["bank_account"],
                "kind": "arrears",
                "month": month,
            }
            for p in periods
        ]

    arrears = pl.DataFrame(
        back_pay(once, "2020-07", SPAN[:6])
        + back_pay(twice, "2020-07", SPAN[:6])
        + back_pay(twice, "2020-09", SPAN[:6])
        + back_pay(held, "2020-07", SPAN[:5]),
        schema=pay.schema,
    )
    reg = register_over(rows, SPAN).vstack(
        register_over([held], SPAN[:5]).vstack(
            register_over([{**held, "status": "suspended"}], SPAN[5:])
        )
    )
    reasons = _reasons(history("2020-12", reg, pl.concat([pay, arrears])))
    assert _flagged(reasons, "amount_anomaly") == {twice["person_id"]}
    row = reasons.filter(pl.col("reason") == "AA_REPEAT_ARREARS").row(0, named=True)
    assert row["est_overpayment"] == pytest.approx(6 * 124.0)


def test_amount_anomaly_paid_while_terminated():
    gone = person(make_id("19300101", 11), "张三", "M", date(1930, 1, 1))
    reg = register_over([gone], SPAN[:6]).vstack(
        register_over([{**gone, "status": "terminated"}], SPAN[6:])
    )
    reasons = _reasons(history("2020-12", reg, regular_payouts([gone], SPAN)))
    row = reasons.filter(pl.col("reason") == "AA_PAID_WHILE_TERMINATED").row(0, named=True)
    assert row["person_id"] == gone["person_id"]
    assert row["est_overpayment"] == pytest.approx(5 * 120.0)  # Aug..Dec (July is the change month)


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
