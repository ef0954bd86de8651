"""Tests for sentinel.validation: the reviewed suites, their parameters and the reports.

Every expectation of every suite gets its own case: a hand-made frame that passes the whole
suite is broken in exactly the way that expectation guards, and the report must name that
expectation with its severity. All identity numbers are generated fakes.
"""

from __future__ import annotations

import json
import re
from datetime import date

import polars as pl
import pytest

from sentinel.config import load_config
from sentinel.contract import DATASETS
from sentinel.io.store import GUARDED_ROWS
from sentinel.validation import (
    EXPECTATIONS_DIR,
    ValidationReport,
    _ValidationSession,
    load_suite,
    suite_parameters,
    validate_month,
)

MONTH = "2024-03"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
FULL_ID = re.compile(r"\d{17}[\dX]")


def fake_id(serial: int, birth: str = "19500101", region: str = "430102") -> str:
    """A fake 18-character ID with a valid GB 11643 check character."""
    body = f"{region}{birth}{serial:03d}"
    return body + _CHECK[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]


def _with_evidence(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    return frame.with_columns(
        *(pl.lit(True).alias(c) for c in columns), pl.lit(None, pl.String).alias("_reason")
    )


def good_frames() -> dict[str, pl.DataFrame]:
    """One small month that passes every suite."""
    ids = [fake_id(i) for i in range(1, 4)]
    schemes = ["enterprise", "institution", "resident"]
    beneficiaries = _with_evidence(
        pl.DataFrame(
            {
                "person_id": ids,
                "name": ["甲", "乙", "丙"],
                "sex": ["M", "F", "M"],
                "birth_date": [date(1950, 1, 1)] * 3,
                "scheme": schemes,
                "region_code": ["430102"] * 3,
                "township": ["t1", "t1", "t2"],
                "village": ["v1", None, "v2"],
                "benefit_start": [date(2010, 2, 1)] * 3,
                "status": ["active", "active", "suspended"],
                "bank_account": ["6200000000000000001", None, "6200000000000000003"],
                "collector_id": pl.Series([None] * 3, dtype=pl.String),
            }
        ),
        [
            "person_id_well_formed",
            "person_id_checksum_ok",
            "birth_date_matches_id",
            "region_known",
            "age_plausible",
        ],
    )
    payouts = _with_evidence(
        pl.DataFrame(
            {
                "person_id": [*ids, ids[0]],
                "scheme": [*schemes, "enterprise"],
                "period": [MONTH, MONTH, MONTH, "2024-01"],
                "pay_date": [date(2024, 3, 15)] * 4,
                "amount": [2100.0, 4800.0, 150.0, 99999.0],
                "bank_account": ["6200000000000000001", None, "6200000000000000003", None],
                "kind": ["regular", "regular", "regular", "arrears"],
            }
        ),
        [
            "person_id_well_formed",
            "person_id_checksum_ok",
            "in_register",
            "amount_within_bounds",
            "period_matches_drop",
            "pay_date_plausible",
        ],
    ).with_columns(
        # Not applicable to arrears.
        pl.when(pl.col("kind") == "regular").then(pl.col("period_matches_drop")),
        pl.when(pl.col("kind") == "regular").then(pl.col("amount_within_bounds")),
    )
    deaths = _with_evidence(
        pl.DataFrame(
            {
                "record_id": ["D1", "D2"],
                "person_id": [ids[0], None],
                "name": ["甲", None],
                "sex": ["M", None],
                "birth_date": [date(1950, 1, 1), None],
                "death_date": [date(2024, 2, 10), date(2024, 3, 2)],
                "source": ["police", "civil_affairs"],
                "recorded_on": [date(2024, 3, 1), date(2024, 3, 5)],
            }
        ),
        ["person_id_well_formed", "person_id_checksum_ok", "death_after_birth"],
    ).with_columns(
        pl.when(pl.col("person_id").is_not_null()).then(pl.col(c))
        for c in ("person_id_well_formed", "person_id_checksum_ok", "death_after_birth")
    )
    certifications = _with_evidence(
        pl.DataFrame(
            {
                "person_id": ids[:2],
                "cert_date": [date(2024, 3, 3), date(2024, 3, 20)],
                "method": ["face_app", "on_site"],
                "result": ["pass", "fail"],
                "operator": ["op1", None],
            }
        ),
        ["person_id_well_formed", "person_id_checksum_ok", "in_register", "cert_date_in_month"],
    )
    custody = _with_evidence(
        pl.DataFrame(
            {
                "record_id": ["J1", "J2"],
                "person_id": [ids[1], None],
                "name": ["乙", "丙"],
                "birth_date": [None, date(1952, 5, 5)],
                "kind": ["imprisonment", "probation"],
                "start_date": [date(2024, 2, 10), date(2024, 3, 2)],
                "end_date": [None, date(2025, 3, 1)],
                "source": ["prison", "court"],
                "received_on": [date(2024, 3, 1), date(2024, 3, 5)],
            },
            schema_overrides={"birth_date": pl.Date, "end_date": pl.Date},
        ),
        ["person_id_well_formed", "person_id_checksum_ok"],
    ).with_columns(
        pl.when(pl.col("person_id").is_not_null()).then(pl.col(c))
        for c in ("person_id_well_formed", "person_id_checksum_ok")
    )
    suspects = _with_evidence(
        pl.DataFrame(
            {
                "batch_id": ["B1", "B1"],
                "pushed_on": [date(2024, 3, 4), date(2024, 3, 4)],
                "due_on": [date(2024, 4, 30), date(2024, 4, 30)],
                "person_id": ids[:2],
                "name": ["甲", None],
                "suspect_type": ["death", "duplicate"],
                "source": ["ministry", "province"],
                "detail": [None, "两地重复领取"],
            },
            schema_overrides={"name": pl.String, "detail": pl.String},
        ),
        ["person_id_well_formed", "person_id_checksum_ok"],
    )
    outcomes = _with_evidence(
        pl.DataFrame(
            {
                "case_id": ["C1", "C2"],
                "person_id": ids[:2],
                "closed_on": [date(2024, 3, 10), date(2024, 3, 12)],
                "outcome": ["confirmed_deceased", "cleared"],
                "death_date": [date(2023, 11, 2), None],
                "overpaid_amount": [2100.0, None],
                "recovered_amount": [None, None],
            },
            schema_overrides={"recovered_amount": pl.Float64},
        ),
        ["person_id_well_formed"],
    )
    recoveries = _with_evidence(
        pl.DataFrame(
            {
                "record_id": ["SJ1", "SJ2"],
                "case_id": ["C1", "C1"],
                "person_id": [ids[0], None],
                "step": ["notice", "payment"],
                "step_date": [date(2024, 3, 12), date(2024, 3, 25)],
                "amount": [None, 2100.0],
                "method": [None, "bank_return"],
                "deadline": [date(2024, 4, 11), None],
                "reason": [None, None],
                "operator": ["li", "li"],
                "approved_by": [None, None],
                "approved_on": [None, None],
            },
            schema_overrides={
                "amount": pl.Float64,
                "reason": pl.String,
                "approved_by": pl.String,
                "approved_on": pl.Date,
            },
        ),
        ["person_id_well_formed", "person_id_checksum_ok"],
    ).with_columns(
        pl.when(pl.col("person_id").is_not_null()).then(pl.col(c))
        for c in ("person_id_well_formed", "person_id_checksum_ok")
    )
    return {
        "beneficiaries": beneficiaries,
        "payouts": payouts,
        "deaths": deaths,
        "certifications": certifications,
        "custody": custody,
        "suspects": suspects,
        "outcomes": outcomes,
        "recoveries": recoveries,
    }


GOOD = good_frames()
CASES = [
    pytest.param(name, i, id=f"{name}-{i:02d}-{e['type']}-{_col}")
    for name in DATASETS
    for i, e in enumerate(load_suite(name)["expectations"])
    for _col in [e["kwargs"].get("column") or "+".join(e["kwargs"].get("column_list", []))]
]


@pytest.fixture(scope="module")
def config():
    return load_config()


@pytest.fixture(scope="module")
def session():
    return _ValidationSession(None)


def _first_row(frame: pl.DataFrame, column: str, value, where: pl.Expr | None = None):
    """Replace ``column`` in the first row (matching ``where``) with ``value``."""
    hit = pl.int_range(pl.len()) == 0
    if where is not None:
        hit = pl.int_range(pl.len()) == pl.arg_where(where).first()
    dtype = frame.schema[column]
    return frame.with_columns(
        pl.when(hit).then(pl.lit(value, dtype=dtype)).otherwise(pl.col(column)).alias(column)
    )


def _guarded_rows(name: str, frame: pl.DataFrame) -> int:
    """The rows of ``frame`` the row-count guard compares month with month."""
    return frame.filter(GUARDED_ROWS[name]).height if name in GUARDED_ROWS else frame.height


def break_frame(frame: pl.DataFrame, expectation: dict) -> tuple[pl.DataFrame, int | None]:
    """The frame broken the way ``expectation`` guards; also the previous month's rows."""
    kind, kw = expectation["type"], expectation["kwargs"]
    column = kw.get("column")
    if kind == "expect_table_row_count_to_be_between":
        return frame, frame.height * 10
    if kind == "expect_column_to_exist":
        return frame.drop(column), None
    if kind == "expect_column_values_to_be_of_type":
        if kw["type_"] == "str":
            return frame.with_columns(pl.lit(1, pl.Int64).alias(column)), None
        return frame.with_columns(pl.col(column).cast(pl.String)), None
    if kind == "expect_column_values_to_not_be_null":
        return frame.with_columns(pl.lit(None, frame.schema[column]).alias(column)), None
    if kind == "expect_column_values_to_be_in_set":
        if kw["value_set"] == [True]:
            return _first_row(frame, column, False, pl.col(column).is_not_null()), None
        return _first_row(frame, column, "bogus"), None
    if kind == "expect_column_values_to_match_regex":
        bad = "2024-13" if column == "period" else "43010219500101001"  # 17 chars
        return _first_row(frame, column, bad, pl.col(column).is_not_null()), None
    if kind == "expect_column_values_to_be_between":
        scheme = kw["row_condition"]["conditions"][0]["parameter"]
        where = (pl.col("scheme") == scheme) & (pl.col("kind") == "regular")
        return _first_row(frame, column, 1.0, where), None
    if kind in ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"):
        return pl.concat([frame, frame.head(1)]), None
    raise AssertionError(f"no breaker for {kind}")


def _validate(session, config, name: str, frame, previous: int | None, tag: str, suite=None):
    return session.validate(
        name,
        frame,
        suite_parameters(name, config, MONTH, previous),
        name=f"{name}-{tag}",
        suite=suite,
    )


def _failure_key(expectation: dict) -> tuple[str, str | None]:
    kw = expectation["kwargs"]
    return expectation["type"], kw.get("column") or " x ".join(kw.get("column_list", [])) or None


@pytest.mark.parametrize("name", list(DATASETS))
def test_good_month_passes_every_suite(session, config, name):
    report = _validate(session, config, name, GOOD[name], _guarded_rows(name, GOOD[name]), "good")
    assert report.failed_expectations == []
    assert report.success
    assert report.evaluated == len(load_suite(name)["expectations"])


@pytest.mark.parametrize(("name", "index"), CASES)
def test_each_expectation_fails_on_its_broken_frame(session, config, name, index):
    suite = load_suite(name)
    expectation = suite["expectations"][index]
    frame, previous = break_frame(GOOD[name], expectation)
    target = _failure_key(expectation)
    column = target[1]
    # The good frame passes the whole suite (test above). A breaker that only changes one
    # column can only affect expectations mentioning that column, so those are all we need to
    # re-run to prove nothing else fails (keeps the module fast); row changes re-run all.
    if frame.height == GOOD[name].height and previous is None:
        suite = {
            **suite,
            "expectations": [
                e for e in suite["expectations"] if f'"{column}"' in json.dumps(e["kwargs"])
            ],
        }
    report = _validate(session, config, name, frame, previous, f"break-{index}", suite)
    hits = [f for f in report.failed_expectations if (f.expectation, f.column) == target]
    assert hits, report.failed_expectations
    assert {f.severity for f in hits} == {expectation["severity"]}
    others = [f for f in report.failed_expectations if f not in hits]
    if expectation["type"] in ("expect_column_to_exist", "expect_column_values_to_be_of_type"):
        # A missing or mistyped column also breaks the other checks on that same column.
        # (the suite was narrowed to the expectations that mention it).
        mentioning = {_failure_key(e) for e in suite["expectations"]}
        assert all((f.expectation, f.column) in mentioning for f in others), others
    else:
        assert others == []
    assert report.success is (expectation["severity"] != "critical")
    assert all(not FULL_ID.search(f.problem) for f in report.failed_expectations)


def test_suites_are_reviewed_json_with_notes_and_severity():
    for name in DATASETS:
        path = EXPECTATIONS_DIR / f"{name}.json"
        text = path.read_text(encoding="utf-8")
        assert "/work/" not in text and ":\\\\" not in text and "/home/" not in text
        suite = json.loads(text)
        assert suite == load_suite(name)
        assert suite["name"] == name
        for e in suite["expectations"]:
            assert e["meta"]["notes"].strip(), e
            assert e["meta"]["problem"].strip(), e
            assert e["severity"] in {"critical", "warning", "info"}


def test_region_code_is_never_critical():
    # Old IDs keep the issuing region: an unknown region is evidence, never a stop.
    (region,) = [
        e
        for e in load_suite("beneficiaries")["expectations"]
        if e["kwargs"].get("column") == "region_known"
    ]
    assert region["severity"] == "warning"


def test_load_suite_rejects_unknown_dataset():
    with pytest.raises(KeyError, match="unknown dataset"):
        load_suite("salaries")


def test_suite_parameters_come_from_config(config):
    site = config.model_copy(
        update={
            "ingest": config.ingest.model_copy(
                update={
                    "min_row_ratio_vs_previous": 0.8,
                    "max_off_period_share": 0.05,
                    "max_unparseable_share": 0.2,
                }
            )
        }
    )
    params = suite_parameters("payouts", site, MONTH, 1001)
    bounds = config.policy.amount_bounds
    assert params["min_row_count"] == 801  # ceil(1001 * 0.8)
    assert params["min_on_period_share"] == pytest.approx(0.95)
    assert params["min_parsed_share"] == pytest.approx(0.8)
    assert params["enterprise_low"] == bounds["enterprise"].low
    assert params["resident_high"] == bounds["resident"].high
    # Only what the suite references: no amount bounds for the register.
    assert "enterprise_low" not in suite_parameters("beneficiaries", config, MONTH, None)


@pytest.mark.parametrize("previous", [None, 0])
def test_no_previous_month_means_no_row_floor(config, previous):
    assert suite_parameters("deaths", config, MONTH, previous)["min_row_count"] == 0


def test_data_docs_written_without_full_ids(tmp_path, monkeypatch, config):
    monkeypatch.chdir(tmp_path)
    bad = "43010219500101001"  # 17 characters: malformed
    wrong_check = fake_id(7)[:-1] + ("0" if fake_id(7)[-1] != "0" else "1")
    frames = {
        "payouts": GOOD["payouts"].with_columns(
            pl.Series("person_id", [bad, wrong_check, fake_id(3), fake_id(3)]),
            pl.Series("person_id_well_formed", [False, True, True, True]),
            pl.Series("person_id_checksum_ok", [None, False, True, True]),
        ),
        "deaths": GOOD["deaths"],
    }
    docs = tmp_path / "OUT" / MONTH / "data-docs"
    reports = validate_month(
        frames, config, MONTH, {"payouts": _guarded_rows("payouts", GOOD["payouts"])}, docs
    )
    assert set(reports) == {"payouts", "deaths"}
    assert all(isinstance(r, ValidationReport) for r in reports.values())
    failed = {f.expectation for f in reports["payouts"].failed_expectations}
    assert "expect_column_values_to_match_regex" in failed
    assert reports["payouts"].success  # ID problems are evidence, not rejections
    index = docs / "index.html"
    assert index.is_file()
    assert "payouts" in index.read_text(encoding="utf-8")
    pages = [p for p in docs.rglob("*.html")]
    assert len(pages) >= 3
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert bad not in html and wrong_check not in html and fake_id(3) not in html
    assert repr(reports).count(bad) == 0 and not FULL_ID.search(repr(reports))
    # Nothing outside docs_dir (GE likes to create gx/ folders).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["OUT"]
    assert sorted(p.name for p in (tmp_path / "OUT" / MONTH).iterdir()) == ["data-docs"]


def test_chunked_dataset_gets_one_data_docs_page_of_its_totals(tmp_path, config):
    """Regression guard: a dataset validated in chunks has one Data Docs page with the
    counts summed over its chunks (not a page per chunk), and no identity number on it."""
    bad = "43010219500101001"  # malformed: one unexpected row per copy
    payouts = GOOD["payouts"].with_columns(
        pl.Series("person_id", [bad, fake_id(2), fake_id(3), fake_id(4)]),
        pl.Series("person_id_well_formed", [False, True, True, True]),
    )
    frame = pl.concat([payouts] * 5)  # 20 rows, 5 of them malformed, keys repeated
    docs = tmp_path / "docs"
    session = _ValidationSession(docs)
    parameters = suite_parameters("payouts", config, MONTH, None)
    chunked = session.validate("payouts", frame, parameters, chunk_rows=6)
    whole = _ValidationSession(None).validate("payouts", frame, parameters)
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


def test_critical_failure_marks_report_unsuccessful(config):
    payouts = GOOD["payouts"].with_columns(pl.lit(None, pl.Float64).alias("amount"))
    report = validate_month({"payouts": payouts}, config, MONTH, {}, None)["payouts"]
    assert not report.success
    (failure,) = report.critical_failures
    assert failure.column == "amount"
    assert failure.unexpected_count == 4
    assert "4 of 4 rows" in failure.problem


def test_unknown_dataset_is_rejected(config):
    with pytest.raises(KeyError, match="unknown datasets"):
        validate_month({"salaries": GOOD["deaths"]}, config, MONTH, {}, None)


@pytest.mark.parametrize("lazy", [False, True], ids=["in-memory", "from-file"])
@pytest.mark.parametrize(("name", "index"), CASES)
def test_chunked_validation_gives_the_unchunked_verdicts(session, config, name, index, lazy):
    """Regression guard for chunked validation (province-size datasets): the same failures,
    counts and sentences whether the frame is validated whole or two rows per chunk, from
    a frame in memory or from a scan cut into chunk files."""
    suite = load_suite(name)
    broken, previous = break_frame(GOOD[name], suite["expectations"][index])
    parameters = suite_parameters(name, config, MONTH, previous)
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
def test_chunks_keep_duplicate_keys_together(session, config, lazy):
    frame = pl.concat([GOOD["payouts"]] * 40)  # every key repeated 40 times
    parameters = suite_parameters("payouts", config, MONTH, None)
    whole = session.validate("payouts", frame, parameters, name="dup-whole")
    source = frame.lazy() if lazy else frame
    chunked = session.validate("payouts", source, parameters, name="dup-chunked", chunk_rows=7)
    assert chunked.failed_expectations == whole.failed_expectations
    assert any(
        f.expectation == "expect_compound_columns_to_be_unique" for f in chunked.failed_expectations
    )


def test_chunks_are_validated_without_ges_batch_fingerprint(session, config, monkeypatch):
    """GE hashes every value of a pandas batch under 1 GB for a fingerprint nobody reads:
    chunks skip it (half a register chunk's time), and GE's threshold is set back after."""
    from great_expectations.execution_engine import pandas_execution_engine as engine

    hashed = []
    fingerprint = engine.hash_pandas_dataframe
    monkeypatch.setattr(
        engine, "hash_pandas_dataframe", lambda df: hashed.append(df.shape) or fingerprint(df)
    )
    frame = pl.concat([GOOD["payouts"]] * 10)
    parameters = suite_parameters("payouts", config, MONTH, None)
    whole = session.validate("payouts", frame, parameters, name="fp-whole")
    assert any(rows and columns for rows, columns in hashed)  # whole frames keep theirs
    hashed.clear()
    chunked = session.validate("payouts", frame, parameters, name="fp-chunked", chunk_rows=7)
    assert chunked.failed_expectations == whole.failed_expectations
    # Only the row-less schema probe is hashed (chunks and the row count's frame are not).
    assert hashed and all(rows == 0 or columns == 0 for rows, columns in hashed)
    assert engine.HASH_THRESHOLD == 1e9


@pytest.fixture(scope="module")
def two_process_session():
    session = _ValidationSession(None, workers=2)
    yield session
    session.close()


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_chunks_validated_in_worker_processes_give_the_same_verdicts(
    session, two_process_session, config, name
):
    """Chunks validated side by side in two worker processes (a province's register and
    payouts) give the verdicts, counts and sentences of validating them in this process,
    for one broken expectation of each kind in the dataset's suite."""
    suite = load_suite(name)
    first_of_kind = {e["type"]: i for i, e in reversed(list(enumerate(suite["expectations"])))}
    for index in sorted(first_of_kind.values()):
        expectation = suite["expectations"][index]
        broken, previous = break_frame(GOOD[name], expectation)
        parameters = suite_parameters(name, config, MONTH, previous)
        here = session.validate(name, broken, parameters, name=f"{name}-{index}-here", chunk_rows=3)
        there = two_process_session.validate(
            name, broken.lazy(), parameters, name=f"{name}-{index}-there", chunk_rows=3
        )
        assert there.success == here.success, expectation["type"]
        assert there.failed_expectations == here.failed_expectations, expectation["type"]
        assert there.evaluated == here.evaluated
