"""The register facts the monthly run keeps for the screen (``features.screening``): written
with the register runs, read by the screen, and the same holds as deriving them."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

sys.path.insert(0, str(Path(__file__).parent))  # the screen's hand-made frames
from test_screen import (  # noqa: E402
    ALIVE,
    CONFIG,
    DEAD,
    ENDED,
    TWICE,
    _all_stores,
    _newer_death,
    _pay_file,
    _reasons,
    _row,
    _rows,
    _stores,
)

from features.history import runs_up_to  # noqa: E402
from features.records import parse_records  # noqa: E402
from features.screening import register_persons, terminated_since  # noqa: E402
from sentinel.contract import PAYOUTS  # noqa: E402
from sentinel.holds import hold_payments  # noqa: E402
from sentinel.io.readers import read_dataset  # noqa: E402
from sentinel.io.store import REGISTER_PERSONS, REGISTER_TERMINATIONS, CuratedStore  # noqa: E402
from sentinel.screen import known_facts, known_history  # noqa: E402


def test_the_register_summary_keeps_the_screens_persons_and_terminations(
    tmp_path: Path,
) -> None:
    whole, _ = _stores(tmp_path)
    store = CuratedStore(whole / "curated")
    runs = runs_up_to(store.register_runs("2020-11"), "2020-11")  # type: ignore[arg-type]
    kept = store.screen_facts("2020-11")
    assert kept is not None
    persons, ended = (kept[name].collect() for name in (REGISTER_PERSONS, REGISTER_TERMINATIONS))
    assert_frame_equal(persons, register_persons(runs).collect(), check_row_order=False)
    assert_frame_equal(ended, terminated_since(runs, "2020-11").collect(), check_row_order=False)
    assert ended.select("person_id", "since").rows() == [(ENDED["person_id"], "2020-11")]
    assert persons.height == 5 and persons.columns == ["person_id", "name", "sex", "birth_date"]


def test_a_new_register_month_makes_the_kept_facts_stale(tmp_path: Path) -> None:
    whole, _ = _stores(tmp_path)
    store = CuratedStore(whole / "curated")
    november = store.scan("beneficiaries", months=["2020-11"]).collect()
    store.write_month("beneficiaries", "2020-11", november.drop("month"))
    assert store.months(REGISTER_PERSONS) == [] and store.months(REGISTER_TERMINATIONS) == []
    assert store.screen_facts("2020-11") is None


def test_the_kept_facts_hold_what_the_register_runs_hold(tmp_path: Path) -> None:
    """Whole store and partitions, kept facts and derived ones: the same holds."""
    whole, split = _stores(tmp_path)
    rows = _rows(tmp_path)
    expected = {2: "SH_DECEASED", 3: "SH_TERMINATED", 5: "SH_DUPLICATE", 6: "SH_ALREADY_PAID"}
    derived = hold_payments(rows, known_history(whole, "2020-11"), CONFIG)
    assert _reasons(derived) == expected
    for out in (whole, split):
        facts = known_facts(out, "2020-11")
        assert facts is not None
        held = hold_payments(rows, known_history(out, "2020-11"), CONFIG, facts=facts)
        assert_frame_equal(held, derived)


def test_a_store_without_the_kept_facts_falls_back_to_the_register_runs(
    tmp_path: Path,
) -> None:
    whole, split = _stores(tmp_path)
    rows = _rows(tmp_path)
    expected = hold_payments(rows, known_history(whole, "2020-11"), CONFIG)
    for store in _all_stores(whole, split)[1:2]:  # one partition of the two lacks them
        for name in (REGISTER_PERSONS, REGISTER_TERMINATIONS):
            for month in store.months(name):
                for file in store.partition(name, month).iterdir():
                    file.unlink()
    assert known_facts(split, "2020-11") is None
    held = hold_payments(rows, known_history(split, "2020-11"), CONFIG, facts=None)
    assert_frame_equal(held, expected)


def test_a_newer_death_record_is_linked_on_top_of_the_kept_facts(tmp_path: Path) -> None:
    """A death the monthly run never saw (received after it) holds the next period."""
    whole, _ = _stores(tmp_path)
    path = _pay_file(tmp_path, [_row(ALIVE), _row(TWICE)])
    rows = parse_records(
        read_dataset(path, PAYOUTS).frame.lazy(), PAYOUTS, month="2020-12"
    ).collect()
    mistyped = TWICE["person_id"][:5] + "9" + TWICE["person_id"][6:]
    newer = _newer_death("MZ9", TWICE, mistyped, "1945-05-05")
    facts = known_facts(whole, "2020-11")
    history = known_history(whole, "2020-11")
    held = hold_payments(rows, history, CONFIG, newer_deaths=newer, facts=facts)
    assert _reasons(held) == {2: "SH_DECEASED"}
    assert_frame_equal(held, hold_payments(rows, history, CONFIG, newer_deaths=newer))


def test_the_pay_period_is_the_one_most_regular_rows_name_as_typed(tmp_path: Path) -> None:
    """The period is found from the distinct period and kind texts, as typed rows name it."""
    from sentinel.screen import _pay_period

    path = _pay_file(
        tmp_path,
        [
            _row(ALIVE, period="2020/12"),
            _row(DEAD, period="202012"),
            _row(TWICE, period="2020-11"),
            _row(ENDED, period="2020-11", kind="补发"),
            _row(ENDED, period="2020-11", kind="补发"),
            _row(ENDED, period="2020-11", kind="补发"),
            _row(ALIVE, period="2020-13"),
            _row(DEAD, period="2020-13"),
            _row(TWICE, period="2020-13"),
        ],
    )
    frame = read_dataset(path, PAYOUTS).frame
    typed = (
        parse_records(frame.lazy(), PAYOUTS, month="0000-00")
        .filter((pl.col("kind") == "regular") & pl.col("period").is_not_null())
        .group_by("period")
        .len()
        .sort(["len", "period"], descending=True)
        .collect()
    )
    assert _pay_period(frame, str(path)) == typed["period"][0] == "2020-12"


def test_the_kept_linkage_register_is_the_persons_normalised_for_death_records(
    tmp_path: Path,
) -> None:
    from features.custody import _REGISTER_COLUMNS as CUSTODY_REGISTER
    from features.deaths import DEATH_REGISTER_COLUMNS
    from features.linkage import prepare_register
    from sentinel.io.store import LINKAGE_REGISTER

    whole, _ = _stores(tmp_path)
    kept = CuratedStore(whole / "curated").screen_facts("2020-11")
    assert kept is not None
    persons = kept[REGISTER_PERSONS].collect()
    linkage = kept[LINKAGE_REGISTER].collect()
    expected = prepare_register(persons.lazy(), DEATH_REGISTER_COLUMNS)
    assert_frame_equal(linkage, expected.frame)
    # For custody records (no sex stated) the register's sex is its IDs'.
    without = expected.without_sex()
    assert without.cols == CUSTODY_REGISTER
    assert_frame_equal(without.frame, prepare_register(persons.lazy(), CUSTODY_REGISTER).frame)
    facts = known_facts(whole, "2020-11")
    assert facts is not None and facts.linkage is not None
    assert_frame_equal(facts.linkage.frame, linkage)


def test_a_store_without_the_linkage_register_normalises_the_persons_itself(
    tmp_path: Path,
) -> None:
    from sentinel.io.store import LINKAGE_REGISTER

    whole, _ = _stores(tmp_path)
    rows = _rows(tmp_path)
    store = CuratedStore(whole / "curated")
    with_it = hold_payments(
        rows, known_history(whole, "2020-11"), CONFIG, facts=known_facts(whole, "2020-11")
    )
    for file in store.partition(LINKAGE_REGISTER, "2020-11").iterdir():
        file.unlink()
    facts = known_facts(whole, "2020-11")
    assert facts is not None and facts.linkage is None
    held = hold_payments(rows, known_history(whole, "2020-11"), CONFIG, facts=facts)
    assert_frame_equal(held, with_it)
