"""Tests for sentinel.validation: the reviewed suites, their parameters and the reports.

Every expectation of every suite gets its own case: a hand-made frame that passes the whole
suite (``validation_frames``) is broken in exactly the way that expectation guards, and the
report must name that expectation with its severity. All identity numbers are generated fakes.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the hand-made month
from validation_frames import (  # noqa: E402
    CASES,
    FULL_ID,
    GOOD,
    MONTH,
    break_frame,
    fake_id,
    guarded_rows,
)

from sentinel.config import load_config  # noqa: E402
from sentinel.contract import DATASETS  # noqa: E402
from sentinel.validation import (  # noqa: E402
    ValidationReport,
    load_suite,
    suite_parameters,
    validate_month,
)
from sentinel.validation.session import ValidationSession  # noqa: E402
from sentinel.validation.suites import EXPECTATIONS_DIR  # noqa: E402


@pytest.fixture(scope="module")
def config():
    return load_config()


@pytest.fixture(scope="module")
def session():
    return ValidationSession(None)


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
    report = _validate(session, config, name, GOOD[name], guarded_rows(name, GOOD[name]), "good")
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
        # An expectation counting only some rows (a row condition on the broken column) may
        # fail with it: a payouts file whose every kind is empty has no regular payouts.
        conditioned = {
            _failure_key(e)
            for e in suite["expectations"]
            if f'"{column}"' in json.dumps(e["kwargs"].get("row_condition"))
        }
        assert [f for f in others if (f.expectation, f.column) not in conditioned] == []
    stops = expectation["severity"] == "critical" or any(f.severity == "critical" for f in others)
    assert report.success is not stops
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


@pytest.mark.parametrize("dataset", ["beneficiaries", "payouts"])
@pytest.mark.parametrize("previous", [None, 0])
def test_a_dataset_every_drop_delivers_needs_a_row_even_in_the_first_month(
    config, dataset, previous
):
    assert suite_parameters(dataset, config, MONTH, previous)["min_row_count"] == 1


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
        frames, config, MONTH, {"payouts": guarded_rows("payouts", GOOD["payouts"])}, docs
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


def test_critical_failure_marks_report_unsuccessful(config):
    payouts = GOOD["payouts"].with_columns(pl.lit(None, pl.Float64).alias("amount"))
    report = validate_month({"payouts": payouts}, config, MONTH, {}, None)["payouts"]
    assert not report.success
    (failure,) = report.critical_failures
    assert failure.column == "amount"
    assert failure.unexpected_count == 4
    assert "4 of 4 rows" in failure.problem


def test_the_months_context_never_renders_its_configuration(monkeypatch, config):
    """Every data source added and deleted would otherwise render the whole project
    configuration as YAML into a store nothing reads (four times per validated frame)."""
    from great_expectations.data_context.data_context_variables import DataContextVariables

    def refuse(_variables):
        raise AssertionError("the ephemeral context saved its project configuration")

    monkeypatch.setattr(DataContextVariables, "save", refuse)
    frames = {"payouts": GOOD["payouts"], "deaths": GOOD["deaths"]}
    reports = validate_month(frames, config, MONTH, {}, None)
    assert all(report.success for report in reports.values())
    assert reports["payouts"].evaluated == len(load_suite("payouts")["expectations"])


def test_the_months_data_docs_index_and_assets_are_written_once(tmp_path, monkeypatch, config):
    """GE rebuilds the index from every stored result, and copies every static asset, each
    time it renders a page: once per page, a month's index work grew with the square of its
    datasets. The site holds the same files as when GE copies the assets with every page."""
    from great_expectations.data_context.store.html_site_store import HtmlSiteStore
    from great_expectations.render.renderer.site_builder import DefaultSiteIndexBuilder

    from sentinel.validation import session

    frames = {name: GOOD[name] for name in ("payouts", "deaths", "certifications")}
    every_page = tmp_path / "assets-with-every-page"
    with monkeypatch.context() as ges_way:
        ges_way.setattr(session, "static_assets_in_place", contextlib.nullcontext)
        validate_month(frames, config, MONTH, {}, every_page)
    calls = []

    def counted(original, name):
        def call(*args, **kwargs):
            # Neither an index build GE skips nor the asset copy's own recursion into folders.
            if kwargs.get("build_index", True) and len(args) == 1:
                calls.append(name)
            return original(*args, **kwargs)

        return call

    index_build, copy = DefaultSiteIndexBuilder.build, HtmlSiteStore.copy_static_assets
    monkeypatch.setattr(DefaultSiteIndexBuilder, "build", counted(index_build, "index"))
    monkeypatch.setattr(HtmlSiteStore, "copy_static_assets", counted(copy, "assets"))
    docs = tmp_path / "data-docs"
    validate_month(frames, config, MONTH, {}, docs)
    assert sorted(calls) == ["assets", "index"]
    index = (docs / "index.html").read_text(encoding="utf-8")
    assert all(f"{name}.html" in index for name in frames)

    def skeleton(site):  # the site's files, without the run times in their paths
        paths = (p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
        return sorted(re.sub(r"/\d{8}T\d{6}\.\d+Z/", "/", path) for path in paths)

    assert len(skeleton(docs)) > 20
    assert skeleton(docs) == skeleton(every_page)


@pytest.mark.parametrize("dataset", DATASETS)
def test_expectations_reading_their_configuration_once_give_ges_own_answers(dataset):
    import great_expectations as gx

    from sentinel.validation.engine import RESULT_FORMAT, configuration_read_once

    suite = load_suite(dataset)
    expectations = gx.ExpectationSuite(**{**suite, "name": dataset}).expectations
    assert len(expectations) == len(suite["expectations"])
    runtimes = [None, {}, {"result_format": RESULT_FORMAT}, {"catch_exceptions": False}]

    def answers() -> list:
        return [
            (
                e._get_domain_kwargs(),
                e._get_success_kwargs(),
                [e._get_runtime_kwargs(runtime) for runtime in runtimes],
            )
            for e in expectations
        ]

    from great_expectations.expectations.expectation import Expectation

    own_methods = vars(Expectation).copy()
    own = answers()
    with configuration_read_once():
        once = answers()
    assert once == own
    assert vars(Expectation) == own_methods  # GE's own methods again on leaving
    assert all(key in type(e).__fields__ for e in expectations for key in e.runtime_keys)


def test_unknown_dataset_is_rejected(config):
    with pytest.raises(KeyError, match="unknown datasets"):
        validate_month({"salaries": GOOD["deaths"]}, config, MONTH, {}, None)
