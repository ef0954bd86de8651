"""Upstream suspects: answers from audit outcomes, open suspects, reason rows, the reply."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from stdnum.cn import ric

from features.suspects import (
    open_suspects,
    suspect_answers,
    suspect_marks,
    suspect_reasons,
    suspect_replies,
)
from sentinel.config import REPLY_COLUMNS
from sentinel.contract import OUTCOMES_DATASET, SUSPECTS, typed_schema
from sentinel.reasons import ANSWER_DUE, REASONS


def gen_id(serial: int) -> str:
    body = f"43092319500101{serial:03d}"
    return body + ric.calc_check_digit(body)


A, B, C, D, OUTSIDER = (gen_id(k) for k in range(1, 6))


def suspects(*rows: tuple[str, str, str, date, date], month: str = "2024-03") -> pl.LazyFrame:
    """Rows of (batch_id, person_id, suspect_type, pushed_on, due_on)."""
    return pl.LazyFrame(
        [
            (batch, pushed, due, pid, None, kind, "ministry", "疑似死亡", month)
            for batch, pid, kind, pushed, due in rows
        ],
        schema={**typed_schema(SUSPECTS), "month": pl.String},
        orient="row",
    )


#: A closed audit: the outcome columns that answer a suspect, typed as ingest types them.
CLOSED_CASE = {
    column: typed_schema(OUTCOMES_DATASET)[column]
    for column in (
        "case_id",
        "person_id",
        "closed_on",
        "outcome",
        "overpaid_amount",
        "recovered_amount",
    )
}


def outcomes(*rows: tuple[str, str, date, str]) -> pl.LazyFrame:
    """Rows of (case_id, person_id, closed_on, outcome)."""
    return pl.LazyFrame(
        [(*r, 1200.0 if r[3].startswith("confirmed") else None, None) for r in rows],
        schema=CLOSED_CASE,
        orient="row",
    )


PUSHED, DUE = date(2024, 3, 5), date(2024, 4, 30)


def test_a_suspect_is_answered_by_an_audit_after_the_push_by_an_earlier_confirmation_or_a_recent_clearing():
    batch = suspects(
        ("B1", A, "death", PUSHED, DUE),
        ("B1", B, "death", PUSHED, DUE),
        ("B1", C, "duplicate", PUSHED, DUE),
        ("B1", D, "account", PUSHED, DUE),
    )
    audits = outcomes(
        ("SD-a", A, date(2024, 3, 20), "confirmed_deceased"),  # after the push
        ("DR-c", C, date(2023, 6, 1), "confirmed_improper"),  # confirmed long before
        ("SA-d", D, date(2022, 1, 10), "cleared"),  # cleared, but over 12 months before
        ("SD-b", B, date(2023, 9, 1), "cleared"),  # cleared within 12 months
    )
    answers = suspect_answers(batch, audits, clear_months=12).collect().sort("person_id")
    got = dict(zip(answers["person_id"], answers["result"], strict=True))
    assert got == {A: "confirmed_deceased", B: "cleared", C: "confirmed_improper", D: None}
    assert answers.filter(pl.col("person_id") == A)["checked_on"].item() == date(2024, 3, 20)


def test_the_latest_audit_after_the_push_answers_and_a_repeat_in_a_batch_is_answered_once():
    batch = suspects(("B1", A, "death", PUSHED, DUE), ("B1", A, "death", PUSHED, DUE))
    audits = outcomes(
        ("SD-a", A, date(2024, 3, 10), "unreachable"),
        ("SD-a2", A, date(2024, 4, 2), "cleared"),
    )
    answers = suspect_answers(batch, audits, clear_months=12).collect()
    assert answers.height == 1
    assert answers.row(0, named=True)["result"] == "cleared"
    assert answers.row(0, named=True)["case_id"] == "SD-a2"


def test_open_suspects_are_the_unanswered_on_the_register_and_become_reason_rows():
    batch = suspects(
        ("B1", A, "death", PUSHED, DUE),
        ("B1", B, "custody", PUSHED, DUE),
        ("B1", OUTSIDER, "duplicate", PUSHED, DUE),
    )
    answers = suspect_answers(batch, outcomes(("SD-a", A, date(2024, 3, 9), "cleared")), 12)
    people = pl.LazyFrame({"person_id": [A, B, C]})
    open_ = open_suspects(answers, people).collect()
    assert open_["person_id"].to_list() == [B]
    rows = suspect_reasons(open_.lazy(), 0.006).collect()
    assert rows["reason"].to_list() == ["US_SUSPECT_CUSTODY"]
    assert rows["typology"].to_list() == ["upstream_suspect"]
    assert rows["probability"].to_list() == [0.006]
    assert rows["est_overpayment"].to_list() == [0.0]
    assert rows["facts"].to_list() == [["ministry", "B1", "2024-04-30", "疑似死亡"]]
    assert "US_SUSPECT_CUSTODY" in ANSWER_DUE
    assert REASONS["US_SUSPECT_CUSTODY"].answer_due


def test_a_person_named_by_two_batches_is_marked_with_the_one_due_first():
    batch = suspects(
        ("B2", A, "death", date(2024, 3, 20), date(2024, 6, 30)),
        ("B1", A, "death", PUSHED, DUE),
    )
    open_ = open_suspects(suspect_answers(batch, outcomes(), 12), pl.LazyFrame({"person_id": [A]}))
    marks = suspect_marks(open_).collect()
    assert marks.rows() == [(A, "B1", DUE)]


def test_the_reply_holds_one_row_per_suspect_of_each_live_batch():
    new = suspects(
        ("B2", A, "death", date(2024, 4, 3), date(2024, 5, 31)),
        ("B2", OUTSIDER, "death", date(2024, 4, 3), date(2024, 5, 31)),
        month="2024-04",
    )
    old = suspects(("B1", B, "death", PUSHED, DUE), ("B1", C, "death", PUSHED, DUE))
    done = suspects(("B0", D, "death", date(2024, 1, 5), date(2024, 2, 28)), month="2024-01")
    audits = outcomes(
        ("SD-b", B, date(2024, 4, 12), "confirmed_deceased"),
        ("SD-d", D, date(2024, 2, 1), "cleared"),
    )
    answers = suspect_answers(pl.concat([new, old, done]), audits, 12)
    people = pl.LazyFrame({"person_id": [A, B, C, D]})
    cases = pl.LazyFrame({"person_id": [A, C], "evidence": ["上级疑点 A", "上级疑点 C"]})
    reply = suspect_replies(
        answers, people, cases, "2024-04", date(2024, 4, 30), still_open=["B1"]
    ).collect()
    assert reply.columns == [*REPLY_COLUMNS, "due_on"]
    # B0 was fully answered before this month: not repeated.
    assert reply.select("batch_id", "person_id").rows() == sorted(
        [("B1", B), ("B1", C), ("B2", A), ("B2", OUTSIDER)]
    )
    by_person = {r["person_id"]: r for r in reply.iter_rows(named=True)}
    assert by_person[B]["result"] == "confirmed_deceased"
    assert by_person[B]["checked_on"] == date(2024, 4, 12)
    assert by_person[B]["overpaid_amount"] == 1200.0
    assert by_person[C]["result"] == "verifying"
    assert by_person[C]["evidence"] == "上级疑点 C"
    assert by_person[OUTSIDER]["result"] == "cleared"
    assert by_person[OUTSIDER]["checked_on"] == date(2024, 4, 30)
    assert "不是本中心参保人" in by_person[OUTSIDER]["evidence"]


@pytest.mark.parametrize("kind", ["death", "custody", "duplicate", "account", "other"])
def test_every_suspect_type_has_its_reason(kind: str) -> None:
    open_ = suspects(("B1", A, kind, PUSHED, DUE)).with_columns(pl.lit(None).alias("result"))
    rows = suspect_reasons(open_, 0.006).collect()
    assert rows["reason"].to_list() == [f"US_SUSPECT_{kind.upper()}"]
