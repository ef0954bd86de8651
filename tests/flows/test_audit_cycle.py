"""One audit cycle end to end: a month's cases go out, field-audit outcomes come back in
the workbook, and the next month carries the open cases, keeps the audited ones closed,
does not list cleared persons again, and scores with a supervised model trained on the
outcomes; re-running that month changes nothing."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from sentinel.casestore import EXCULPATORY_REASONS, CaseStore
from sentinel.cli import app
from sentinel.io.reports import CASE_HEADERS_ZH, OUTCOME_HEADERS
from sentinel.risk import RULES_VERSION

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]
runner = CliRunner()

# Seed 2 at scale 0.03 lists 27 cases in 2020-01: enough to audit 20 persons of both
# outcomes (the learned model needs one) and still leave cases open.
SEED = 2
SCALE = 0.03
AUDITED_IMPROPER = 12
AUDITED_PERSONS = 20
CLOSED_ON = date(2020, 2, 20)


@dataclass(frozen=True)
class AuditCycle:
    out: Path
    january: pl.DataFrame
    audited: pl.DataFrame  # case_id, person_id, typology, reasons, outcome
    import_output: str


def run_month(inbox: Path, out: Path, month: str) -> str:
    result = runner.invoke(app, ["run", "--inbox", str(inbox), "--month", month, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return result.output


def manifest(out: Path, month: str) -> dict:  # type: ignore[type-arg]
    return json.loads((out / month / "manifest.json").read_text(encoding="utf-8"))


def person_truth(truth: Path) -> pl.DataFrame:
    """One row per person (a person paid in two schemes has two rows in the truth)."""
    return (
        pl.read_parquet(truth / "people.parquet")
        .group_by("person_id")
        .agg(pl.col("is_improper").any(), pl.col("true_death_date").min())
    )


def choose_audits(cases: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """The cases the field auditors report on, with the outcome the truth dictates."""
    known = cases.join(truth, on="person_id", how="left").sort("priority_rank")
    improper = known.filter(pl.col("is_improper")).head(AUDITED_IMPROPER)
    proper = known.filter(~pl.col("is_improper")).head(AUDITED_PERSONS - improper.height)
    deceased = pl.col("is_improper") & pl.col("true_death_date").is_not_null()
    return pl.concat([improper, proper]).with_columns(
        pl.when(~pl.col("is_improper"))
        .then(pl.lit("cleared"))
        .when(deceased)
        .then(pl.lit("confirmed_deceased"))
        .otherwise(pl.lit("confirmed_improper"))
        .alias("outcome"),
        # A proper pensioner may have died too (pension stopped in time): no death finding.
        pl.when(deceased & (pl.col("true_death_date") <= CLOSED_ON))
        .then(pl.col("true_death_date"))
        .alias("death_date"),
    )


def fill_workbook(path: Path, audits: pl.DataFrame) -> int:
    """Type the outcomes into the township sheets as an auditor would; rows filled."""
    by_case = {row["case_id"]: row for row in audits.iter_rows(named=True)}
    book = load_workbook(path)
    filled = 0
    for sheet in book.worksheets:
        header = [cell.value for cell in sheet[1]]
        if CASE_HEADERS_ZH["case_id"] not in header:
            continue  # the summary sheet
        column = {title: j + 1 for j, title in enumerate(header)}
        for r in range(2, sheet.max_row + 1):
            audit = by_case.get(sheet.cell(r, column[CASE_HEADERS_ZH["case_id"]]).value)
            if audit is None:
                continue
            sheet.cell(r, column[OUTCOME_HEADERS["outcome"]], audit["outcome"])
            sheet.cell(
                r,
                column[OUTCOME_HEADERS["closed_on"]],
                datetime.combine(CLOSED_ON, datetime.min.time()),
            )
            if audit["death_date"] is not None:
                sheet.cell(
                    r, column[OUTCOME_HEADERS["death_date"]], audit["death_date"].isoformat()
                )
            filled += 1
    book.save(path)
    return filled


@pytest.fixture(scope="module")
def cycle(tmp_path_factory: pytest.TempPathFactory) -> AuditCycle:
    from sentinel.demo import generate_county

    county = tmp_path_factory.mktemp("audit-cycle")
    generate_county(county, seed=SEED, scale=SCALE, months=3, formats="parquet")
    inbox, out = county / "inbox", county / "out"

    run_month(inbox, out, "2020-01")
    january = pl.read_parquet(out / "2020-01" / "cases.parquet")
    audits = choose_audits(january, person_truth(county / "truth"))
    workbook = out / "2020-01" / "cases.xlsx"
    assert fill_workbook(workbook, audits) == audits.height
    imported = runner.invoke(app, ["outcomes", "import", str(workbook), "--out", str(out)])
    assert imported.exit_code == 0, imported.output

    run_month(inbox, out, "2020-02")
    return AuditCycle(
        out=out,
        january=january,
        audited=audits.select("case_id", "person_id", "typology", "reasons", "outcome"),
        import_output=imported.output,
    )


def test_first_month_raises_new_cases_with_the_rules_alone(cycle: AuditCycle) -> None:
    assert cycle.january.height >= 25
    assert set(cycle.january["status"]) == {"new"}
    assert manifest(cycle.out, "2020-01")["model_version"] == RULES_VERSION


def test_returned_outcomes_hold_both_kinds(cycle: AuditCycle) -> None:
    outcomes = cycle.audited["outcome"]
    assert cycle.audited["person_id"].n_unique() >= AUDITED_PERSONS
    assert (outcomes == "cleared").sum() >= 5
    assert outcomes.is_in(["confirmed_improper", "confirmed_deceased"]).sum() >= 5
    assert (
        f"{cycle.audited.height} cases closed, 0 waiting for sign-off, 0 already recorded, 0 rejected"
        in cycle.import_output
    )


def test_open_cases_listed_again_are_carried_under_the_same_case_id(cycle: AuditCycle) -> None:
    february = pl.read_parquet(cycle.out / "2020-02" / "cases.parquet")
    still_open = cycle.january.join(cycle.audited, on="case_id", how="anti")
    relisted = still_open.select("person_id", "typology", "case_id").join(
        february.select(
            "person_id", "typology", pl.col("case_id").alias("february_case_id"), "status"
        ),
        on=["person_id", "typology"],
        how="inner",
    )
    assert relisted.height > 0
    assert relisted["february_case_id"].to_list() == relisted["case_id"].to_list()
    assert set(relisted["status"]) <= {"carried", "payments_stopped"}


def test_audited_cases_stay_closed(cycle: AuditCycle) -> None:
    store = CaseStore(cycle.out / "cases.sqlite")
    for audit in cycle.audited.iter_rows(named=True):
        case = store.case(audit["case_id"])
        assert case is not None
        assert (case["state"], case["outcome"]) == ("closed", audit["outcome"])
    store.dispose()


def test_cleared_persons_are_not_listed_again_without_new_evidence(cycle: AuditCycle) -> None:
    february = pl.read_parquet(cycle.out / "2020-02" / "cases.parquet")
    cleared = cycle.audited.filter(pl.col("outcome") == "cleared")
    listed = cleared.join(
        february.select("person_id", pl.col("reasons").alias("now")), on="person_id"
    )
    for row in listed.iter_rows(named=True):
        # Listed again only with a reason against them that the audit did not see.
        fresh = set(row["now"].split(",")) - set(row["reasons"].split(",")) - EXCULPATORY_REASONS
        assert fresh, row["case_id"]
    # The cleared cases themselves are closed: neither carried nor listed again.
    assert cleared.height > 0
    assert set(cleared["case_id"]).isdisjoint(february["case_id"])


def test_second_month_scores_with_the_rules_corrected_by_the_outcomes(
    cycle: AuditCycle,
) -> None:
    version = manifest(cycle.out, "2020-02")["model_version"]
    assert version.startswith("learned-")
    assert (cycle.out / "models" / version / "model_card.json").exists()


def test_rerunning_the_second_month_changes_nothing(cycle: AuditCycle) -> None:
    folder = cycle.out / "2020-02"
    cases_before = (folder / "cases.parquet").read_bytes()
    manifest_before = manifest(cycle.out, "2020-02")
    store = CaseStore(cycle.out / "cases.sqlite")
    events_before = store.events()

    run_month(cycle.out.parent / "inbox", cycle.out, "2020-02")

    assert_frame_equal(
        pl.read_parquet(folder / "cases.parquet"), pl.read_parquet(io.BytesIO(cases_before))
    )
    assert (folder / "cases.parquet").read_bytes() == cases_before
    assert manifest(cycle.out, "2020-02") == manifest_before
    assert_frame_equal(store.events(), events_before)
    store.dispose()
