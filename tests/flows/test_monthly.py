"""The monthly job end to end on a tiny generated county: catch-up order, reconciliation,
idempotence, and the outputs the audit unit opens."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from sentinel.casestore import CaseStore
from sentinel.cli import app
from sentinel.contract import CASE_COLUMNS
from sentinel.detection import case_id
from sentinel.io.case_key import CASE_ID_KEY_FILE, case_id_key

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]
runner = CliRunner()
LAST = "2020-04"


def run(county: Path, month: str):  # type: ignore[no-untyped-def]
    return runner.invoke(
        app, ["run", "--inbox", str(county / "inbox"), "--month", month, "--out", str(county / "out")]
    )


def digest(folder: Path) -> dict[str, str]:
    """Content hash of every file under ``folder`` (Data Docs excluded: GE stamps run times)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and "data-docs" not in p.parts
        and ".work" not in p.parts
        and p.suffix not in (".xlsx", ".sqlite")
    }


@pytest.fixture(scope="module")
def processed(tiny_county: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, str]]:
    county = tmp_path_factory.mktemp("monthly") / "county"
    shutil.copytree(tiny_county, county)
    result = run(county, LAST)
    assert result.exit_code == 0, result.output
    return county, result.output, digest(county / "out")


def test_catch_up_processes_every_month_in_order(processed: tuple[Path, str, dict[str, str]]) -> None:
    county, output, _ = processed
    months = sorted(p.name for p in (county / "out").iterdir() if (p / "manifest.json").exists())
    assert months == ["2020-01", "2020-02", "2020-03", "2020-04"]
    positions = [output.index(m) for m in months]
    assert positions == sorted(positions)


def test_every_manifest_reconciles(processed: tuple[Path, str, dict[str, str]]) -> None:
    county, _, _ = processed
    for manifest_file in sorted((county / "out").glob("*/manifest.json")):
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        assert set(manifest) == {
            "month", "inputs", "validation", "cases", "code_version", "model_version", "policy_events",
            "upstream_corroboration", "case_ids",
        }
        assert manifest["case_ids"] == "keyed"
        for dataset, entry in manifest["inputs"].items():
            assert entry["rows_in"] == entry["rows_loaded"] + entry["rows_quarantined"], dataset
            quarantine = manifest_file.parent / "quarantine" / f"{dataset}.csv"
            if entry["rows_quarantined"]:
                rows = pl.read_csv(quarantine, infer_schema=False)
                assert rows.height == entry["rows_quarantined"]
                assert rows["_reason"].null_count() == 0
        cases = pl.read_parquet(manifest_file.parent / "cases.parquet")
        assert cases.height == manifest["cases"]


def test_curated_history_holds_each_month_once(processed: tuple[Path, str, dict[str, str]]) -> None:
    county, _, _ = processed
    payouts = pl.scan_parquet(county / "out" / "curated" / "payouts" / "**" / "*.parquet", hive_partitioning=True)
    per_month = payouts.group_by("month").len().sort("month").collect()
    assert per_month["month"].to_list() == ["2020-01", "2020-02", "2020-03", "2020-04"]
    manifests = {
        m: json.loads((county / "out" / m / "manifest.json").read_text())["inputs"]["payouts"]["rows_loaded"]
        for m in per_month["month"]
    }
    assert dict(zip(per_month["month"], per_month["len"], strict=True)) == manifests


def test_second_run_changes_nothing(processed: tuple[Path, str, dict[str, str]]) -> None:
    county, _, before = processed
    store = CaseStore(county / "out" / "cases.sqlite")
    events_before = store.events().height
    checked = {p: p.stat().st_mtime_ns for p in (county / "out" / ".work").rglob("*.parquet")}
    assert checked
    again = run(county, LAST)
    assert again.exit_code == 0, again.output
    assert digest(county / "out") == before
    assert store.events().height == events_before
    # The earlier months were not run again, so their checked files are untouched. (The
    # month run again was checked again: its raw copy was deleted once it was committed,
    # run.keep_raw_months = 0, and its quarantine is written from the raw text.)
    after = {p: p.stat().st_mtime_ns for p in (county / "out" / ".work").rglob("*.parquet")}
    earlier = {p: t for p, t in checked.items() if LAST not in p.parts}
    assert earlier and {p: after.get(p) for p in earlier} == earlier
    assert not list((county / "out" / ".work").rglob("*.raw.parquet"))


def test_case_list_follows_the_contract(processed: tuple[Path, str, dict[str, str]]) -> None:
    county, output, _ = processed
    folder = county / "out" / LAST
    cases = pl.read_parquet(folder / "cases.parquet")
    assert cases.columns == list(CASE_COLUMNS)
    assert cases["priority_rank"].to_list() == list(range(1, cases.height + 1))
    assert set(cases["status"]) <= {"new", "carried", "payments_stopped", "reopened"}
    csv_bytes = (folder / "cases.csv").read_bytes()
    assert csv_bytes.startswith(b"\xef\xbb\xbf")
    for label in ("case list", "quarantine", "manifest", "data docs"):
        assert label in output
    assert (folder / "data-docs" / "index.html").exists()


def test_workbook_opens_with_summary_then_township_sheets(processed: tuple[Path, str, dict[str, str]]) -> None:
    county, _, _ = processed
    folder = county / "out" / LAST
    cases = pl.read_parquet(folder / "cases.parquet")
    book = load_workbook(folder / "cases.xlsx", read_only=True)
    assert book.sheetnames[0] == "汇总"
    township_sheets = book.sheetnames[1:]
    assert len(township_sheets) == cases["township"].fill_null("未登记乡镇").n_unique()
    first = book[township_sheets[0]]
    header = [c.value for c in next(first.iter_rows(max_row=1))]
    assert header[:3] == ["案件编号", "身份证号", "姓名"]
    top = cases.sort("priority_rank").row(0, named=True)
    second_row = [c.value for c in next(first.iter_rows(min_row=2, max_row=2))]
    assert second_row[0] == top["case_id"] and second_row[1] == top["person_id"]


def test_removed_checked_files_are_rebuilt_not_trusted_from_the_cache(
    processed: tuple[Path, str, dict[str, str]],
) -> None:
    county, _, before = processed
    shutil.rmtree(county / "out" / ".work")
    again = run(county, LAST)
    assert again.exit_code == 0, again.output
    assert any((county / "out" / ".work" / LAST).rglob("payouts.checked.parquet"))
    assert digest(county / "out") == before


def test_a_month_is_judged_against_its_own_county_s_ground_truth_only(
    processed: tuple[Path, str, dict[str, str]], tmp_path: Path
) -> None:
    """Another county's truth would score every list zero: refused, naming the folder."""
    from sentinel.demo import generate_county

    county, _, _ = processed
    judged = runner.invoke(
        app, ["evaluate", "--truth", str(county / "truth"), "--out", str(county / "out"), "--month", LAST]
    )
    assert judged.exit_code == 0, judged.output
    other = tmp_path / "other"
    generate_county(other, seed=3, scale=0.005, months=3, formats="parquet")
    refused = runner.invoke(
        app, ["evaluate", "--truth", str(other / "truth"), "--out", str(county / "out"), "--month", LAST]
    )
    assert refused.exit_code == 2, refused.output
    assert "ground truth is of another county" in refused.stderr


def test_cases_are_named_with_the_output_folder_s_own_key(
    processed: tuple[Path, str, dict[str, str]],
) -> None:
    county, _, _ = processed
    key = case_id_key(county / "out")
    assert key is not None
    cases = pl.read_parquet(county / "out" / LAST / "cases.parquet")
    pairs = zip(cases["person_id"], cases["typology"], strict=True)
    assert cases["case_id"].to_list() == [case_id(p, t, key) for p, t in pairs]


def test_a_folder_begun_before_keyed_ids_keeps_its_case_ids(
    county_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its open cases must not come back under new IDs: its first month is run as a release
    without keys ran it, and the next month names the cases as that one did."""
    (county_copy / "out" / CASE_ID_KEY_FILE).unlink()
    with monkeypatch.context() as patched:
        patched.setattr("flows.scoring.case_id_key", lambda out: None)
        assert run(county_copy, "2020-01").exit_code == 0
    assert run(county_copy, "2020-02").exit_code == 0
    assert not (county_copy / "out" / CASE_ID_KEY_FILE).exists()
    months = [pl.read_parquet(county_copy / "out" / m / "cases.parquet") for m in ("2020-01", "2020-02")]
    for cases in months:
        pairs = zip(cases["person_id"], cases["typology"], strict=True)
        assert cases["case_id"].to_list() == [case_id(p, t) for p, t in pairs]
    assert set(months[0]["case_id"]) & set(months[1]["case_id"])
    manifest = json.loads((county_copy / "out" / "2020-02" / "manifest.json").read_text())
    assert manifest["case_ids"] == "unkeyed"


def test_a_damaged_or_lost_key_stops_the_run_naming_the_file(county_copy: Path) -> None:
    """Naming every case anew would duplicate the open ones: the run stops with exit 2."""
    key_file = county_copy / "out" / CASE_ID_KEY_FILE
    key = key_file.read_text(encoding="ascii")
    key_file.write_text("not a key\n", encoding="ascii")
    result = run(county_copy, "2020-01")
    assert result.exit_code == 2, result.output
    assert f"{key_file}: not a case ID key" in result.stderr.replace("\n", "")
    assert not (county_copy / "out" / "2020-01").exists()
    assert key_file.read_text(encoding="ascii") == "not a key\n"
    # Restored, the month runs; lost after it, the next month stops.
    key_file.write_text(key, encoding="ascii")
    assert run(county_copy, "2020-01").exit_code == 0
    key_file.unlink()
    lost = run(county_copy, "2020-02")
    assert lost.exit_code == 2, lost.output
    assert f"{key_file}: missing, but the cases of 2020-01" in lost.stderr.replace("\n", "")
    assert not key_file.exists() and not (county_copy / "out" / "2020-02").exists()
