"""The Fellegi-Sunter parameters (features/linkage/estimate.py): u from random pairs, m by
EM per blocking session, checked on generated registers whose truth is known."""

from __future__ import annotations

import random
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Final

import numpy as np
import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))  # the shared hand-made registers
from linkage_frames import DEATH_COLS, GB_ID, REGISTER_COLS, TEXT_ID, links_of, register_of  # noqa: E402
from linkage_ids import make_id, other_digit, with_digit  # noqa: E402

from features.linkage import estimate_link_model, link_records  # noqa: E402
from features.linkage.estimate import _pooled, _unreachable  # noqa: E402
from sentinel.config import load_config  # noqa: E402


def generated_register(
    rng: random.Random, size: int, surnames: str, given: str
) -> list[tuple[str, str, date, str, str]]:
    """``size`` people of three regions with distinct checksum-valid IDs, born 1930 to 1969,
    a surname and one or two given characters drawn from ``surnames`` and ``given``: rows
    of (person_id, name, birth_date, sex, region_code)."""
    people, taken = [], set()
    while len(people) < size:
        birth = date(1930, 1, 1) + timedelta(days=rng.randrange(40 * 365))
        pid = make_id(rng.choice(["430521", "430522", "430523"]), birth, rng.randrange(1000))
        if pid not in taken:
            taken.add(pid)
            name = rng.choice(surnames) + "".join(rng.choices(given, k=rng.choice((1, 2, 2))))
            people.append((pid, name, birth, "M" if int(pid[16]) % 2 else "F", pid[:6]))
    return people


def labelled_set(
    seed: int = 3,
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, str], dict[str, float]]:
    """A generated register of 3,000 people and 1,000 death records, 600 of them written
    for a register person (with typos) and 400 for people who are not in it; the truth;
    and the true m of some levels (their share among the 600 true pairs)."""
    rng = random.Random(seed)
    surnames, given = (
        "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐",
        "建国华明丽芳秀英军伟平红兰玉梅志强文海云桂珍春凤德",
    )
    people = generated_register(rng, 3000, surnames, given)
    records, truth = [], {}
    kinds = {"name_exact": 0, "birth_exact": 0, "id_exact": 0}
    for i in range(1000):
        if i < 600:
            pid, name, birth, sex, region = people[rng.randrange(3000)]
            truth[f"D{i}"] = pid
            roll = rng.random()
            typed = (
                pid
                if roll < 0.7
                else (with_digit(pid, 14, other_digit(pid[14])) if roll < 0.85 else None)
            )
            if rng.random() < 0.2:
                name = name[0] + "".join(rng.choices(given, k=len(name) - 1))
            if rng.random() < 0.1:
                birth = birth + timedelta(days=rng.randint(21, 51))
            kinds["name_exact"] += name == people_by_id(people)[pid][1]
            kinds["birth_exact"] += birth == people_by_id(people)[pid][2]
            kinds["id_exact"] += typed == pid
        else:
            birth = date(1930, 1, 1) + timedelta(days=rng.randrange(60 * 365))
            pid = make_id("430599", birth, rng.randrange(1000))
            typed = pid if rng.random() < 0.9 else None
            name = rng.choice(surnames) + "".join(rng.choices(given, k=2))
            sex, region = ("M" if int(pid[16]) % 2 else "F"), "430599"
        records.append((f"D{i}", typed, name, birth, sex, region))
    register = register_of(*people).collect()
    deaths = pl.DataFrame(
        records,
        schema=["record_id", "person_id", "name", "birth_date", "sex", "region_code"],
        orient="row",
    )
    true_m = {k: v / 600 for k, v in kinds.items()}
    true_m["id_exact"] = kinds["id_exact"] / sum(1 for r in records[:600] if r[1] is not None)
    return register, deaths, truth, true_m


def people_by_id(
    people: list[tuple[str, str, date, str, str]],
) -> dict[str, tuple[str, str, date, str, str]]:
    return {p[0]: p for p in people}


@pytest.fixture(scope="module")
def labelled() -> tuple[pl.DataFrame, pl.DataFrame, dict[str, str], dict[str, float]]:
    return labelled_set()


def test_em_estimates_m_and_the_match_share_on_a_labelled_set(labelled) -> None:  # type: ignore[no-untyped-def]
    register, deaths, _truth, true_m = labelled
    model = estimate_link_model(
        deaths.lazy(), register.lazy(), records_cols=DEATH_COLS, register_cols=REGISTER_COLS
    )
    m = {c.field: row for c, row in zip(model.comparisons, model.m, strict=True)}
    assert m["name"][0] == pytest.approx(true_m["name_exact"], abs=0.05)
    assert m["birth_date"][0] == pytest.approx(true_m["birth_exact"], abs=0.05)
    assert m["person_id"][0] == pytest.approx(true_m["id_exact"], abs=0.05)
    assert model.match_share == pytest.approx(0.6, abs=0.05)
    assert {s[0] for s in model.sessions} == {"person_id", "birth_date", "name"}
    weights = {c.field: w for c, w in zip(model.comparisons, model.weights(), strict=True)}
    assert weights["name"][0] > 0 > weights["name"][-1]
    assert weights["birth_date"][0] > 0 > weights["birth_date"][-1]


def test_links_on_a_labelled_set_are_right(labelled) -> None:  # type: ignore[no-untyped-def]
    register, deaths, truth, _ = labelled
    result = link_records(
        deaths.lazy(), register.lazy(), records_cols=DEATH_COLS, register_cols=REGISTER_COLS
    ).collect()
    found = links_of(result)
    correct = sum(1 for record, person in found.items() if truth.get(record) == person)
    assert correct == len(found)  # no record of somebody not enrolled is linked
    assert correct / len(truth) >= 0.95


def test_estimation_does_not_depend_on_row_order(labelled) -> None:  # type: ignore[no-untyped-def]
    register, deaths, _, _ = labelled
    one = estimate_link_model(
        deaths.lazy(), register.lazy(), records_cols=DEATH_COLS, register_cols=REGISTER_COLS
    )
    other = estimate_link_model(
        deaths.reverse().lazy(),
        register.sample(fraction=1.0, shuffle=True, seed=1).lazy(),
        records_cols=DEATH_COLS,
        register_cols=REGISTER_COLS,
    )
    assert np.allclose(np.concatenate(one.m), np.concatenate(other.m))
    assert np.allclose(np.concatenate(one.u), np.concatenate(other.u))


SAME_SOUND: Final = {"建": "健", "华": "化", "明": "铭", "丽": "莉", "芳": "方", "军": "君"}


def county_deaths(
    people: int = 20_000, records: int = 800, seed: int = 5
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A generated register the size of a small county and its death records as a county
    registrar writes them: every record states a birth date and writes names as the
    register does; three in four are of register people (an ID typo outside the birth
    digits in one of ten), the rest of people not in it."""
    rng = random.Random(seed)
    surnames, given = (
        "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗",
        "建国华明丽芳秀英军伟平红兰玉梅志强文海云健化铭莉方君",
    )
    register = generated_register(rng, people, surnames, given)
    rows = []
    for i in range(records):
        if i % 4 < 3:
            pid, name, birth, sex, region = register[rng.randrange(people)]
            if rng.random() < 0.1:
                position = rng.choice((1, 4, 15, 16))
                pid = with_digit(pid, position, other_digit(pid[position]))
        else:
            birth = date(1930, 1, 1) + timedelta(days=rng.randrange(40 * 365))
            pid = make_id("430599", birth, rng.randrange(1000))
            name = rng.choice(surnames) + "".join(rng.choices(given, k=2))
            sex, region = ("M" if int(pid[16]) % 2 else "F"), "430599"
        rows.append((f"D{i}", pid, name, birth, sex, region))
    deaths = pl.DataFrame(
        rows,
        schema=["record_id", "person_id", "name", "birth_date", "sex", "region_code"],
        orient="row",
    )
    return register_of(*register).collect(), deaths


def test_mistyped_id_without_birth_date_links_by_its_birth_digits() -> None:
    """Regression (issue 19, world ``in_migrants``): a death record with a same-sounding
    name, one region digit of its ID wrong and neither birth date nor sex. Compared whole,
    its ID sat at a level only records without a birth date reach, too rare for EM to
    estimate (its m stayed at the starting ladder): 0.83, below the death-link threshold.
    Its ID's birth digits, the register person's birth date, weigh as a stated one would."""
    register, deaths = county_deaths()
    pid, name = next(
        (p, n)
        for p, n in zip(register["person_id"], register["name"], strict=True)
        if any(c in SAME_SOUND for c in n[1:])
    )
    written = name[0] + "".join(SAME_SOUND.get(c, c) for c in name[1:])
    typed = with_digit(pid, 5, other_digit(pid[5]))
    record = pl.DataFrame(
        [("D-case", typed, written, None, None, None)], schema=deaths.schema, orient="row"
    )
    result = link_records(
        pl.concat([deaths, record]).lazy(),
        register.lazy(),
        records_cols=DEATH_COLS,
        register_cols=REGISTER_COLS,
    ).collect()
    case = result.filter(pl.col("record_key") == "D-case")
    assert links_of(case) == {"D-case": pid}
    assert case["method"].to_list() == ["id_typo"]
    assert case["agreed"].to_list() == [["person_id_typo", "name_pinyin", "birth_date"]]
    assert case["confidence"][0] >= load_config().detection.min_death_link_confidence


def test_whole_id_levels_are_estimated_by_sessions_that_can_reach_them() -> None:
    # a session blocked on the birth date holds only records that state one: their IDs
    # are compared outside the birth digits, never whole
    unreachable = _unreachable(GB_ID, "birth_date")
    assert unreachable and all(GB_ID.levels[i].birth_digits == "counted" for i in unreachable)
    assert _unreachable(GB_ID, "name") == [] and _unreachable(TEXT_ID, "birth_date") == []
    by_name = np.array([0.6, 0.2, 0.2])
    by_birth = np.array([0.8, np.nan, 0.2])  # level 1 unreachable there: not a zero
    pooled = _pooled([by_name, by_birth])
    assert pooled == pytest.approx(np.array([0.7, 0.2, 0.2]) / 1.1)
