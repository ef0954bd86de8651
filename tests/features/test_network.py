"""Rings of persons and receivers (features/network.py), and the shared_account rule family
on small hand-made frames."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the shared hand-made frames (importlib mode)
import detection_frames as frames  # noqa: E402
from detection_frames import (  # noqa: E402
    CERT_SCHEMA,
    SPAN,
    _flagged,
    _reasons,
    certification,
    make_id,
    paid_throughout,
    person,
)

from features.network import connected_components  # noqa: E402


def components(edges: list[tuple[str, str, str]]) -> dict[str, str]:
    frame = pl.LazyFrame(edges, schema=["person_id", "receiver", "kind"], orient="row")
    return dict(connected_components(frame).collect().iter_rows())


def test_a_long_chain_is_one_ring_labelled_by_its_smallest_person():
    """Regression: labels spread a fixed eight rounds, so a longer chain was split."""
    # P00 - A0 - P01 - A1 - P02 ... : each account shared by two neighbours.
    edges = [(f"P{i:02d}", f"A{i}", "account") for i in range(20)]
    edges += [(f"P{i + 1:02d}", f"A{i}", "account") for i in range(20)]
    got = components(edges)
    assert set(got.values()) == {"P00"} and len(got) == 21


def test_an_account_and_a_collector_with_the_same_text_are_different_receivers():
    got = components([("P1", "X", "account"), ("P2", "X", "collector"), ("P3", "X", "collector")])
    assert got == {"P1": "P1", "P2": "P2", "P3": "P2"}


def test_separate_rings_keep_separate_labels_and_row_order_does_not_matter():
    edges = [
        ("P9", "A", "account"),
        ("P4", "A", "account"),
        ("P7", "B", "collector"),
        ("P5", "B", "collector"),
    ]
    assert (
        components(edges)
        == components(edges[::-1])
        == {"P9": "P4", "P4": "P4", "P7": "P5", "P5": "P5"}
    )


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


def _agent_clients(paid_after_death: bool) -> pl.DataFrame:
    """Three unrelated elderly whose pensions one village agent collects; the third died on
    2020-05-03, recorded by the police on 05-20, and was paid until May or, when
    ``paid_after_death``, all year."""
    collector = make_id("19700101", 91)
    a = person(make_id("19400101", 11), "王建国", "M", date(1940, 1, 1))
    b = person(make_id("19380303", 22), "刘秀英", "F", date(1938, 3, 3), village="青山村")
    c = person(make_id("19300505", 33), "陈明", "M", date(1930, 5, 5), village="白沙村")
    rows = [{**r, "collector_id": collector} for r in (a, b, c)]
    paid = frames.regular_payouts(rows, SPAN)
    if not paid_after_death:
        paid = paid.filter((pl.col("person_id") != c["person_id"]) | (pl.col("period") <= "2020-05"))
    deaths = pl.DataFrame(
        [frames.death_record(c, date(2020, 5, 3), date(2020, 5, 20))], schema=frames.DEATH_SCHEMA
    )
    return _reasons(frames.history(SPAN[-1], frames.register_over(rows, SPAN), paid, deaths=deaths))


def test_a_member_whose_recorded_death_stopped_the_pension_is_no_evidence_against_the_others():
    # The elderly an agent collects for die like everyone: only a member paid after a death
    # the centre has not acted on makes the others' payments suspect.
    stopped = _agent_clients(paid_after_death=False)
    assert stopped.filter(pl.col("reason") == "SA_RING_WITH_DEAD").is_empty()
    assert not stopped.filter(pl.col("reason") == "SA_SHARED_COLLECTOR").is_empty()
    still_paid = _agent_clients(paid_after_death=True)
    ring = still_paid.filter(pl.col("reason") == "SA_RING_WITH_DEAD")
    assert ring["person_id"].n_unique() == 2
    assert ring["probability"].min() > 0.8
