"""Validation in chunks (province-size datasets): the verdicts, counts and sentences of
validating the whole frame, in this process or in worker processes, with one Data Docs page
of the totals."""

from __future__ import annotations

import sys
from contextlib import closing
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the hand-made month
from validation_frames import (  # noqa: E402
    CASES_BY_KIND,
    FULL_ID,
    GOOD,
    MONTH,
    break_frame,
    fake_id,
)

from sentinel.config import load_config  # noqa: E402
from sentinel.contract import DATASETS  # noqa: E402
from sentinel.validation import load_suite, suite_parameters  # noqa: E402
from sentinel.validation.session import ValidationSession  # noqa: E402

CONFIG = load_config()


@pytest.fixture(scope="module")
def session():
    return ValidationSession(None)


def test_chunked_dataset_gets_one_data_docs_page_of_its_totals(tmp_path):
    """Regression guard: a dataset validated in chunks has one Data Docs page with the
    counts summed over its chunks (not a page per chunk), and no identity number on it."""
    bad = "43010219500101001"  # malformed: one unexpected row per copy
    payouts = GOOD["payouts"].with_columns(
        pl.Series("person_id", [bad, fake_id(2), fake_id(3), fake_id(4)]),
        pl.Series("person_id_well_formed", [False, True, True, True]),
    )
    frame = pl.concat([payouts] * 5)  # 20 rows, 5 of them malformed, keys repeated
    docs = tmp_path / "docs"
    parameters = suite_parameters("payouts", CONFIG, MONTH, None)
    with closing(ValidationSession(docs)) as session:
        chunked = session.validate("payouts", frame, parameters, chunk_rows=6)
    whole = ValidationSession(None).validate("payouts", frame, parameters)
    assert sorted(chunked.failed_expectations, key=repr) == sorted(
        whole.failed_expectations, key=repr
    )
    pages = sorted(p.relative_to(docs).as_posix() for p in (docs / "validations").rglob("*.html"))
    assert len(pages) == 1 and pages[0].endswith("payouts-4-chunks.html")
    html = (docs / pages[0]).read_text(encoding="utf-8")
    assert bad not in html and not FULL_ID.search(html)
    regex = next(
        f
        for f in whole.failed_expectations
        if f.expectation == "expect_column_values_to_match_regex"
    )
    assert regex.unexpected_count == 5
    assert "5 unexpected values found" in html and "of 20 total rows" in html
    index = (docs / "index.html").read_text(encoding="utf-8")
    assert "payouts" in index and "chunk-" not in index  # the index lists the one page


@pytest.mark.parametrize("lazy", [False, True], ids=["in-memory", "from-file"])
@pytest.mark.parametrize(("name", "index"), CASES_BY_KIND)
def test_chunked_validation_gives_the_unchunked_verdicts(session, name, index, lazy):
    """Regression guard for chunked validation (province-size datasets): the same failures,
    counts and sentences whether the frame is validated whole or two rows per chunk, from
    a frame in memory or from a scan cut into chunk files, for one expectation of each kind,
    column type, ``mostly`` and row condition of every suite (each expectation is broken
    and caught whole in ``test_validation.py``)."""
    suite = load_suite(name)
    broken, previous = break_frame(GOOD[name], suite["expectations"][index])
    parameters = suite_parameters(name, CONFIG, MONTH, previous)
    whole = session.validate(name, broken, parameters, name=f"{name}-{index}-whole")
    chunked = session.validate(
        name,
        broken.lazy() if lazy else broken,
        parameters,
        name=f"{name}-{index}-chunked",
        chunk_rows=2,
    )
    assert chunked.success == whole.success
    assert chunked.failed_expectations == whole.failed_expectations
    assert chunked.evaluated == whole.evaluated


@pytest.mark.parametrize("lazy", [False, True], ids=["in-memory", "from-file"])
def test_chunks_keep_duplicate_keys_together(session, lazy):
    frame = pl.concat([GOOD["payouts"]] * 40)  # every key repeated 40 times
    parameters = suite_parameters("payouts", CONFIG, MONTH, None)
    whole = session.validate("payouts", frame, parameters, name="dup-whole")
    source = frame.lazy() if lazy else frame
    chunked = session.validate("payouts", source, parameters, name="dup-chunked", chunk_rows=7)
    assert chunked.failed_expectations == whole.failed_expectations
    assert any(
        f.expectation == "expect_compound_columns_to_be_unique" for f in chunked.failed_expectations
    )


def test_no_frame_is_hashed_for_ges_batch_fingerprint(monkeypatch, tmp_path):
    """GE hashes every value of a pandas batch under 1 GB for a fingerprint nobody reads
    (the manifest names the inputs by SHA-256): no frame with rows is hashed, whole or in
    chunks, with a Data Docs page or without, and GE's threshold is set back after."""
    from great_expectations.execution_engine import pandas_execution_engine as engine

    hashed = []
    fingerprint = engine.hash_pandas_dataframe
    monkeypatch.setattr(
        engine, "hash_pandas_dataframe", lambda df: hashed.append(df.shape) or fingerprint(df)
    )
    frame = pl.concat([GOOD["payouts"]] * 10)
    parameters = suite_parameters("payouts", CONFIG, MONTH, None)
    with closing(ValidationSession(tmp_path / "docs")) as with_page:
        whole = with_page.validate("payouts", frame, parameters, name="fp-whole")
        chunked = with_page.validate("payouts", frame, parameters, name="fp-chunked", chunk_rows=7)
    bare = ValidationSession(None).validate("payouts", frame, parameters, name="fp-bare")
    assert chunked.failed_expectations == whole.failed_expectations == bare.failed_expectations
    assert (tmp_path / "docs" / "index.html").exists()
    assert not [(rows, columns) for rows, columns in hashed if rows and columns]
    assert engine.HASH_THRESHOLD == 1e9


@pytest.fixture(scope="module")
def two_process_session():
    session = ValidationSession(None, workers=2)
    yield session
    session.close()


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_chunks_validated_in_worker_processes_give_the_same_verdicts(
    session, two_process_session, name
):
    """Chunks validated side by side in two worker processes (a province's register and
    payouts) give the verdicts, counts and sentences of validating them in this process,
    for one broken expectation of each kind in the dataset's suite."""
    suite = load_suite(name)
    first_of_kind = {e["type"]: i for i, e in reversed(list(enumerate(suite["expectations"])))}
    for index in sorted(first_of_kind.values()):
        expectation = suite["expectations"][index]
        broken, previous = break_frame(GOOD[name], expectation)
        parameters = suite_parameters(name, CONFIG, MONTH, previous)
        here = session.validate(name, broken, parameters, name=f"{name}-{index}-here", chunk_rows=3)
        there = two_process_session.validate(
            name, broken.lazy(), parameters, name=f"{name}-{index}-there", chunk_rows=3
        )
        assert there.success == here.success, expectation["type"]
        assert there.failed_expectations == here.failed_expectations, expectation["type"]
        assert there.evaluated == here.evaluated
