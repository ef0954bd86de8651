"""Survival signals and suspected unreported deaths (features/survival.py) on small
hand-made frames."""

from __future__ import annotations

import math
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the shared hand-made frames (importlib mode)
from detection_frames import (  # noqa: E402
    CERT_SCHEMA,
    CONFIG,
    SPAN,
    _reasons,
    certification,
    history,
    make_id,
    person,
    register_over,
    regular_payouts,
)

from features.survival_signals import gompertz_death_probability  # noqa: E402
from sentinel.contract import SUSPECTS  # noqa: E402


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


def test_a_person_an_upstream_list_suspects_dead_is_scored_below_the_floor():
    # 40 neighbours certified on site in 2020; the suspect certified on site in November:
    # the life table alone says little, far below the rule's floor. Named by a death list,
    # the rule scores the person all the same, for the list's lift to weigh.
    suspect = person(make_id("19400303", 44), "钱五", "F", date(1940, 3, 3))
    neighbours, neighbour_certs = _certified_neighbours(40)
    everyone = [suspect, *neighbours]
    certs = pl.DataFrame([certification(suspect, date(2020, 11, 20))], schema=CERT_SCHEMA).vstack(
        neighbour_certs
    )
    h = history(
        "2020-12",
        register_over(everyone, SPAN),
        regular_payouts(everyone, SPAN),
        certifications=certs,
    )
    batch = ("B1", date(2020, 12, 1), date(2021, 1, 31))
    named_dead = (suspect["person_id"], suspect["name"], "death", "ministry", "-", "2020-12")
    listed = pl.LazyFrame(
        [(*batch, *named_dead)],
        schema=[*SUSPECTS.column_names, "month"],
        orient="row",
    )
    floor = CONFIG.detection.min_suspected_death_probability
    without = _reasons(h).filter(pl.col("person_id") == suspect["person_id"])
    assert without.height == 0
    named = _reasons(replace(h, suspects=listed)).filter(
        pl.col("person_id") == suspect["person_id"]
    )
    death = named.filter(pl.col("typology") == "suspected_unreported_death")
    assert death.height > 0
    assert 0.0 < death["probability"].max() < floor
    assert "US_SUSPECT_DEATH" in named["reason"].to_list()


def test_a_death_suspect_nothing_was_paid_to_after_the_likely_death_is_scored_all_the_same():
    # Paid January to March only (suspended since), no pass recorded: the likely death, half
    # way from the history's start to December, falls after the last payment, so the rule
    # finds nothing overpaid. Named by a death list, the person is scored, overpayment 0.
    stopped = person(make_id("19300404", 55), "孙六", "M", date(1930, 4, 4))
    neighbours, neighbour_certs = _certified_neighbours(40)
    payouts = regular_payouts([stopped], SPAN[:3]).vstack(regular_payouts(neighbours, SPAN))
    h = history(
        "2020-12",
        register_over([stopped, *neighbours], SPAN),
        payouts,
        certifications=neighbour_certs,
    )
    listed = pl.LazyFrame(
        [
            (
                "B2",
                date(2020, 12, 1),
                date(2021, 1, 31),
                stopped["person_id"],
                stopped["name"],
                "death",
                "ministry",
                "-",
                "2020-12",
            )
        ],
        schema=[*SUSPECTS.column_names, "month"],
        orient="row",
    )
    mine = pl.col("person_id") == stopped["person_id"]
    death = pl.col("typology") == "suspected_unreported_death"
    assert _reasons(h).filter(mine & death).height == 0
    named = _reasons(replace(h, suspects=listed)).filter(mine & death)
    assert named.height > 0
    assert named["est_overpayment"].max() == 0.0
