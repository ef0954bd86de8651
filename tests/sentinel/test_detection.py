"""End to end: detection on a small generated county finds improper payments first."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest

from sentinel.config import load_config
from sentinel.detection import DETECTED_COLUMNS, case_id, detect_cases, detect_month
from sentinel.evaluation import demo_history


@pytest.fixture(scope="module")
def small_county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sentinel.demo import generate_county

    dest = tmp_path_factory.mktemp("detect-county")
    generate_county(dest, seed=3, scale=0.02, formats="parquet")
    return dest


@pytest.fixture(scope="module")
def cases(small_county: Path) -> pl.DataFrame:
    return detect_cases(demo_history(small_county, "2020-12"), load_config()).collect()


def test_case_columns_and_unique_ranks(cases: pl.DataFrame):
    assert set(DETECTED_COLUMNS) <= set(cases.columns)
    assert cases["person_id"].is_unique().all()
    assert cases["priority_rank"].to_list() == list(range(1, cases.height + 1))
    assert cases["risk_score"].is_between(0.0, 1.0).all()
    assert cases["evidence"].null_count() == 0


def test_case_id_is_deterministic():
    assert case_id("430923194001010115", "deceased_paid") == case_id(
        "430923194001010115", "deceased_paid"
    )
    assert case_id("430923194001010115", "deceased_paid").startswith("DP-")


def test_a_keyed_case_id_is_stable_under_its_key_and_not_the_plain_hash():
    person, key = "430923194001010115", bytes(range(32))
    keyed = case_id(person, "deceased_paid", key)
    assert keyed == case_id(person, "deceased_paid", key)
    assert keyed.startswith("DP-") and len(keyed) == len("DP-") + 12
    # Another county's key, or none, names the case otherwise: the ID alone says nothing.
    assert keyed != case_id(person, "deceased_paid", bytes(32))
    assert keyed != case_id(person, "deceased_paid")
    # The unkeyed ID of an output folder begun before keys is what it always was.
    plain = hashlib.sha256(f"{person}|deceased_paid".encode()).hexdigest()[:12]
    assert case_id(person, "deceased_paid") == f"DP-{plain}"


def test_detection_names_its_cases_with_the_key_it_is_given(
    small_county: Path, cases: pl.DataFrame
):
    key = bytes(range(32))
    keyed = detect_month(demo_history(small_county, "2020-12"), load_config(), case_key=key).cases
    pairs = zip(keyed["person_id"], keyed["typology"], strict=True)
    expected = [case_id(p, t, key) for p, t in pairs]
    assert keyed["case_id"].to_list() == expected
    assert keyed.drop("case_id").equals(cases.drop("case_id"))


def test_top_of_the_list_is_mostly_improper(small_county: Path, cases: pl.DataFrame):
    truth = pl.read_parquet(small_county / "truth" / "improper.parquet").filter(
        pl.col("first_period") <= "2020-12"
    )
    top = cases.head(20)
    precision = top["person_id"].is_in(truth["person_id"].implode()).mean()
    assert precision >= 0.7


def test_english_evidence(small_county: Path):
    config = load_config().model_copy(
        update={"detection": load_config().detection.model_copy(update={"report_language": "en"})}
    )
    cases = detect_cases(demo_history(small_county, "2020-12"), config).collect()
    assert cases["evidence"].str.contains("[a-z]").all()


def test_detection_is_repeatable(small_county: Path, cases: pl.DataFrame):
    """Regression: two runs on the same history give identical case frames (ranks, ids, text)."""
    from polars.testing import assert_frame_equal

    again = detect_cases(demo_history(small_county, "2020-12"), load_config()).collect()
    assert_frame_equal(cases, again)


def test_last_paid_reuses_the_custody_links_detection_made(small_county: Path):
    """Regression guard: the carried cases' acquittals read the custody records detection
    linked to the register (linked once a month) and find what linking them again finds."""
    from polars.testing import assert_frame_equal

    from sentinel.detection import detect_month, last_paid

    history = demo_history(small_county, "2020-12")
    config = load_config()
    links = detect_month(history, config).custody_links
    assert links is not None and links.height > 0
    persons = links.lazy().select("person_id")
    reused = last_paid(history, persons, config, links.lazy()).collect().sort("person_id")
    linked_again = last_paid(history, persons, config).collect().sort("person_id")
    assert_frame_equal(reused, linked_again)
