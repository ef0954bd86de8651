from datetime import date

import polars as pl

from features.suspension import SUSPENSION_COLUMNS, custody_actions, suspension_list


def register(rows: list[dict[str, object]]) -> pl.LazyFrame:
    base = {
        "name": "测试", "scheme": "resident", "township": "东坪镇", "village": "一村",
        "status": "active", "benefit_start": date(2010, 1, 1),
    }
    return pl.LazyFrame([{**base, **r} for r in rows])


def people(reg: pl.LazyFrame, first_listed: str = "2019-01", **register_dates: object) -> pl.LazyFrame:
    """The persons of ``reg``, first listed in ``first_listed``, with optional register
    certification dates (``last_cert_date`` / ``cert_due_date``)."""
    frame = reg.select("person_id", "benefit_start").unique().with_columns(
        pl.lit(first_listed).alias("first_listed")
    )
    for column, value in register_dates.items():
        frame = frame.with_columns(pl.lit(value, dtype=pl.Date).alias(column))
    return frame


def certs(rows: list[tuple[str, date, str]]) -> pl.LazyFrame:
    return pl.LazyFrame(
        {
            "person_id": [r[0] for r in rows],
            "cert_date": [r[1] for r in rows],
            "method": ["on_site"] * len(rows),
            "result": [r[2] for r in rows],
        },
        schema={"person_id": pl.String, "cert_date": pl.Date, "method": pl.String, "result": pl.String},
    )


def run(reg: pl.LazyFrame, cer: pl.LazyFrame, month: str, who: pl.LazyFrame | None = None) -> pl.DataFrame:
    who = who if who is not None else people(reg)
    return suspension_list(reg, cer, who, month=month, suspend_after_months=12).collect()


def test_no_pass_for_twelve_months_is_suspended_from_the_thirteenth() -> None:
    reg = register([{"person_id": "A"}])
    cer = certs([("A", date(2019, 3, 10), "pass")])
    assert run(reg, cer, "2020-03").height == 0  # 12th month after the pass: still fine
    got = run(reg, cer, "2020-04")  # 13th month
    assert got["action"].to_list() == ["suspend"]
    assert got["lapsed_on"].to_list() == [date(2020, 3, 10)]
    assert got["months_since_pass"].to_list() == [13]
    assert got["bounded"].to_list() == [False]


def test_failed_certification_does_not_renew_the_cycle() -> None:
    reg = register([{"person_id": "A"}])
    cer = certs([("A", date(2019, 1, 5), "pass"), ("A", date(2019, 12, 5), "fail")])
    assert run(reg, cer, "2020-02")["action"].to_list() == ["suspend"]


def test_suspended_person_with_a_new_pass_is_restored() -> None:
    reg = register([{"person_id": "A", "status": "suspended"}, {"person_id": "B", "status": "suspended"}])
    cer = certs([("A", date(2020, 5, 2), "pass"), ("B", date(2018, 5, 2), "pass")])
    got = run(reg, cer, "2020-05")
    assert got.select("person_id", "action").rows() == [("A", "restore")]


def test_new_pensioner_is_not_listed_before_a_full_cycle_and_terminated_never() -> None:
    reg = register(
        [
            {"person_id": "NEW", "benefit_start": date(2020, 1, 1)},
            {"person_id": "GONE", "status": "terminated"},
        ]
    )
    assert run(reg, certs([]), "2020-06").height == 0


def test_no_pass_since_the_history_began_lapses_once_the_recorded_months_exceed_the_cycle() -> None:
    """History from 2020-01, no pass recorded: in December 12 months are recorded (the last
    pass may have been in 2019-12), in January 2021 thirteen: suspended, bounded."""
    reg = register([{"person_id": "A"}])
    who = people(reg, first_listed="2020-01")
    assert run(reg, certs([]), "2020-12", who).height == 0
    got = run(reg, certs([]), "2021-01", who)
    assert got.select("action", "months_since_pass", "bounded", "recorded_since").rows() == [
        ("suspend", 13, True, "2020-01")
    ]
    assert got["lapsed_on"].to_list() == [None]  # the day is not in the data


def test_the_registers_certification_date_decides_when_the_history_holds_none() -> None:
    reg = register([{"person_id": "A"}])
    for dates in ({"last_cert_date": date(2019, 6, 15)}, {"cert_due_date": date(2020, 6, 15)}):
        who = people(reg, first_listed="2020-01", **dates)
        assert run(reg, certs([]), "2020-06", who).height == 0
        got = run(reg, certs([]), "2020-07", who)
        assert got.select("action", "months_since_pass", "bounded").rows() == [("suspend", 13, False)]
        assert got["lapsed_on"].to_list() == [date(2020, 6, 15)]


def test_custody_suspends_an_active_prisoner_and_restores_a_released_one() -> None:
    register = pl.LazyFrame(
        {"person_id": ["in", "out", "acq", "probation"], "scheme": ["resident"] * 4,
         "name": ["甲", "乙", "丙", "丁"], "township": ["t"] * 4, "village": ["v"] * 4,
         "status": ["active", "suspended", "suspended", "active"]}
    )
    spans = pl.LazyFrame(
        {"person_id": ["in", "out", "acq", "probation"],
         "kind": ["imprisonment", "imprisonment", "pretrial_detention", "probation"],
         "first_index": [24246, 24243, 24247, 24244], "last_index": [10**6, 24250, 24250, 24262],
         "acquitted": [False, False, True, False], "start_date": [date(2020, 6, 1)] * 4}
    )
    got = custody_actions(register, spans, month="2020-12", suspends=("imprisonment", "pretrial_detention")).collect()
    assert got.columns == list(SUSPENSION_COLUMNS)
    assert dict(zip(got["person_id"], got["action"], strict=True)) == {
        "in": "suspend_custody",
        "out": "restore_custody",
        "acq": "restore_custody",
    }
