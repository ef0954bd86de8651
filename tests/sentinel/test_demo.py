"""The demo county generator: layout, determinism, identity validity, truth and calibration."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from stdnum import numdb
from stdnum.cn import ric

from sentinel.config import load_config
from sentinel.contract import DATASETS, RULE_TYPOLOGIES
from sentinel.demo import CountySummary, TypologyRates, generate_county
from sentinel.demo._county import SCHEME_COUNTS, SCHEME_NAMES

DROP_DATASETS = ("beneficiaries", "payouts", "deaths", "certifications")
SCALE = 0.01


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> CountySummary:
    return generate_county(tmp_path_factory.mktemp("county"), seed=11, scale=SCALE, formats="parquet")


@pytest.fixture(scope="module")
def mixed_county(tmp_path_factory: pytest.TempPathFactory) -> CountySummary:
    return generate_county(tmp_path_factory.mktemp("mixed"), seed=11, scale=SCALE, formats="mixed")


def read(summary: CountySummary, month: str, dataset: str) -> pl.DataFrame:
    return pl.read_parquet(summary.inbox / month / f"{dataset}.parquet")


def id_is_valid(number: str) -> bool:
    """GB 11643 validity by python-stdnum: checksum, birth date and a known region code.

    ``ric.is_valid`` also demands that the region code existed in the birth year; 430923
    (安化县) dates from 1994, so it rejects every pensioner of the county. We ask stdnum for
    the other three parts instead.
    """
    if len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        ric.get_birth_date(number)
    except Exception:
        return False
    parts = numdb.get("cn/loc").info(number[:6])
    known_region = any("county" in props for _part, props in parts)
    return known_region and ric.calc_check_digit(number) == number[17]  # stdnum takes the full number


def test_every_dataset_of_every_month_is_in_the_inbox(county: CountySummary) -> None:
    assert county.months == tuple(f"2020-{m:02d}" for m in range(1, 13))
    custody_months = 0
    suspect_months = []
    for month in county.months:
        names = sorted(p.stem for p in (county.inbox / month).iterdir())
        # Custody records come in the months some were received, suspect lists in the
        # months a batch was pushed (both optional datasets).
        custody_months += "custody" in names
        if "suspects" in names:
            suspect_months.append(month)
        assert sorted(set(names) - {"custody", "suspects"}) == sorted(DROP_DATASETS)
        # The draft pay file of the month's disbursement: the payouts it is about to pay.
        assert (county.dest / "drafts" / month / "payroll.parquet").exists()
    assert custody_months >= 6
    assert suspect_months == ["2020-04", "2020-07", "2020-10"]


def test_suspect_batches_mix_true_and_false_suspects_with_their_truth(county: CountySummary) -> None:
    truth = pl.read_parquet(county.truth / "suspects.parquet")
    for batch in truth.partition_by("batch_id"):
        month = f"{batch['batch_id'][0][2:6]}-{batch['batch_id'][0][6:8]}"
        delivered = read(county, month, "suspects")
        assert sorted(delivered["person_id"]) == sorted(batch["person_id"])
        assert batch["is_improper"].any() and not batch["is_improper"].all()
        assert not batch["on_register"].all()
    # A true suspect was overpaid by the month its batch came (an auditor would find it).
    improper = pl.read_parquet(county.truth / "improper.parquet")
    assert set(truth.filter("is_improper")["person_id"]) <= set(improper["person_id"])


#: Optional register columns a county without them (the default world) does not deliver.
NOT_DELIVERED = ("last_cert_date", "cert_due_date")


def delivered(dataset: str) -> list:  # type: ignore[type-arg]
    return [c for c in DATASETS[dataset].columns if c.name not in NOT_DELIVERED]


def test_columns_follow_the_contract(county: CountySummary) -> None:
    for dataset in DROP_DATASETS:
        frame = read(county, "2020-03", dataset)
        assert frame.columns == [c.name for c in delivered(dataset)]


def test_truth_sits_outside_the_inbox(county: CountySummary) -> None:
    assert not county.truth.is_relative_to(county.inbox)
    assert not any(p.name.startswith(("improper", "overpayments", "people")) for p in county.inbox.rglob("*"))
    for name in ("improper", "overpayments", "death_records", "people", "shared_accounts", "malformed"):
        assert (county.truth / f"{name}.parquet").exists()
    assert (county.truth / "truth.json").exists()


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    a = generate_county(tmp_path / "a", seed=3, scale=0.005, months=5, formats="mixed")
    b = generate_county(tmp_path / "b", seed=3, scale=0.005, months=5, formats="mixed")
    files_a = sorted(p.relative_to(a.dest) for p in a.dest.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b.dest) for p in b.dest.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        if rel.suffix == ".parquet":
            assert_frame_equal(pl.read_parquet(a.dest / rel), pl.read_parquet(b.dest / rel))
        else:
            assert (a.dest / rel).read_bytes() == (b.dest / rel).read_bytes()


def test_another_seed_gives_another_county(tmp_path: Path) -> None:
    a = generate_county(tmp_path / "a", seed=3, scale=0.005, months=3, formats="parquet")
    b = generate_county(tmp_path / "b", seed=4, scale=0.005, months=3, formats="parquet")
    ids_a = set(read(a, "2020-01", "beneficiaries")["person_id"])
    ids_b = set(read(b, "2020-01", "beneficiaries")["person_id"])
    assert len(ids_a & ids_b) < 0.05 * len(ids_a)


def test_register_ids_are_valid_except_injected_identity_anomalies(county: CountySummary) -> None:
    register = read(county, "2020-12", "beneficiaries")
    ghosts = set(
        pl.read_parquet(county.truth / "improper.parquet")
        .filter(pl.col("typology") == "identity_anomaly")["person_id"]
    )
    sample = register.filter(~pl.col("person_id").is_in(list(ghosts)))["person_id"].sample(1500, seed=0)
    assert all(id_is_valid(i) for i in sample)
    collectors = register["collector_id"].drop_nulls().unique()
    assert collectors.len() > 0
    assert all(id_is_valid(i) for i in collectors)
    # At least one ghost fails the checksum, as injected.
    assert any(not id_is_valid(i) for i in ghosts)


def test_sex_digit_and_birth_date_agree_with_the_id(county: CountySummary) -> None:
    register = read(county, "2020-01", "beneficiaries")
    ghosts = pl.read_parquet(county.truth / "improper.parquet").filter(pl.col("typology") == "identity_anomaly")
    clean = register.filter(~pl.col("person_id").is_in(ghosts["person_id"].implode()))
    odd = clean["person_id"].str.slice(16, 1).cast(pl.Int32) % 2 == 1
    assert ((clean["sex"] == "M") == odd).all()
    assert (clean["person_id"].str.slice(6, 8) == clean["birth_date"].dt.strftime("%Y%m%d")).all()


def test_every_typology_is_injected_at_least_twice(county: CountySummary) -> None:
    improper = pl.read_parquet(county.truth / "improper.parquet")
    counts = dict(improper.group_by("typology").len().iter_rows())
    for typology in RULE_TYPOLOGIES:
        assert counts.get(typology, 0) >= 2, typology
        assert county.injected[typology] == counts[typology]
    overpaid = pl.read_parquet(county.truth / "overpayments.parquet")
    assert set(RULE_TYPOLOGIES) <= set(overpaid["typology"])
    assert (overpaid["amount"] > 0).all()


def test_mistyped_death_records_are_all_present(county: CountySummary) -> None:
    records = pl.read_parquet(county.truth / "death_records.parquet")
    assert {"none", "digit", "swap", "missing"} <= set(records.filter(pl.col("is_pensioner"))["id_error"])
    assert records.filter(~pl.col("is_pensioner"))["true_person_id"].null_count() == records.filter(~pl.col("is_pensioner")).height
    inbox = pl.concat([read(county, m, "deaths") for m in county.months])
    assert inbox.height == records.height
    assert (inbox["recorded_on"] >= inbox["death_date"]).all()


def test_legitimate_shared_accounts_are_marked_not_improper(county: CountySummary) -> None:
    groups = pl.read_parquet(county.truth / "shared_accounts.parquet")
    kinds = dict(groups.group_by("kind").agg(pl.col("is_improper").all()).iter_rows())
    assert kinds == {"improper_ring": True, "village_agent": False, "couple": False}


def test_scheme_counts_follow_the_reference_county(county: CountySummary) -> None:
    total = sum(SCHEME_COUNTS.values())
    n = sum(county.pensioners.values())
    assert n == pytest.approx(total * SCALE, rel=0.02)
    for code, full in SCHEME_COUNTS.items():
        assert county.pensioners[str(SCHEME_NAMES[code])] == pytest.approx(full * SCALE, rel=0.05)


def test_resident_pension_rises_from_103_to_113_in_july_2020(county: CountySummary) -> None:
    policy = load_config().policy
    for month in ("2020-06", "2020-07"):
        paid = read(county, month, "payouts").filter(
            (pl.col("scheme") == "resident") & (pl.col("kind") == "regular") & (pl.col("amount") < 500)
        )
        assert paid["amount"].min() == pytest.approx(policy.resident_basic_pension(month))
        assert paid["amount"].quantile(0.1) >= policy.resident_basic_pension(month)
    assert policy.resident_basic_pension("2020-06") == 103
    assert policy.resident_basic_pension("2020-07") == 113


def test_one_regular_payout_per_person_and_scheme_except_duplicates(county: CountySummary) -> None:
    improper = pl.read_parquet(county.truth / "improper.parquet")
    duplicated = set(improper.filter(pl.col("typology") == "duplicate_receipt")["person_id"])
    payouts = read(county, "2020-08", "payouts").filter(pl.col("kind") == "regular")
    twice = payouts.group_by("person_id", "scheme").len().filter(pl.col("len") > 1)
    assert set(twice["person_id"]) <= duplicated
    assert (payouts["period"] == "2020-08").all()


def test_lapsed_living_pensioners_are_suspended_and_unpaid(county: CountySummary) -> None:
    register = read(county, "2020-06", "beneficiaries")
    suspended = register.filter(pl.col("status") == "suspended")
    assert 0.05 < suspended.height / register.height < 0.2
    paid = read(county, "2020-07", "payouts").filter(pl.col("kind") == "regular")
    forced = pl.read_parquet(county.truth / "overpayments.parquet").filter(pl.col("period") == "2020-07")
    unexplained = suspended.join(paid, on=["person_id", "scheme"]).join(forced, on=["person_id", "scheme"], how="anti")
    assert unexplained.height == 0


def test_alternative_rates_inject_a_different_mix(tmp_path: Path) -> None:
    base = TypologyRates()
    alt = TypologyRates.alternative()
    assert alt != base
    assert alt.suspected_unreported_death > base.suspected_unreported_death
    a = generate_county(tmp_path / "a", seed=5, scale=0.05, months=3, rates=alt, formats="parquet")
    b = generate_county(tmp_path / "b", seed=5, scale=0.05, months=3, rates=base, formats="parquet")
    n = sum(a.pensioners.values())
    assert a.injected["suspected_unreported_death"] == round(alt.suspected_unreported_death * n / 100_000)
    assert a.injected["suspected_unreported_death"] > b.injected["suspected_unreported_death"]
    assert a.injected["deceased_paid"] < b.injected["deceased_paid"]


def test_mixed_formats_rotate_and_malformed_rows_are_logged(mixed_county: CountySummary) -> None:
    suffixes = {p.suffix for p in mixed_county.inbox.rglob("*.*")}
    assert suffixes == {".parquet", ".csv", ".xlsx"}
    bom = (mixed_county.inbox / "2020-03" / "payouts.csv").read_bytes()
    assert bom.startswith(b"\xef\xbb\xbf") and "身份证号".encode() in bom
    gb = (mixed_county.inbox / "2020-04" / "payouts.csv").read_bytes().decode("gb18030")
    assert gb.startswith("身份证号") and "城乡居民" in gb
    malformed = pl.read_parquet(mixed_county.truth / "malformed.parquet")
    assert {"bad_date", "empty_id", "short_id", "bad_amount", "duplicate_row", "truncated_line"} <= set(malformed["kind"])
    english = pl.read_csv(mixed_county.inbox / "2020-02" / "deaths.csv", infer_schema=False)
    assert english.columns == DATASETS["deaths"].column_names


def test_xlsx_months_hold_every_dataset_with_text_ids_and_date_cells(mixed_county: CountySummary) -> None:
    import fastexcel

    for dataset in DROP_DATASETS:
        path = mixed_county.inbox / "2020-05" / f"{dataset}.xlsx"
        sheet = fastexcel.read_excel(path).load_sheet(0).to_polars()
        expected = pl.read_parquet(mixed_county.dest / "truth" / "people.parquet") if dataset == "beneficiaries" else None
        assert sheet.columns == [c.aliases[0] for c in delivered(dataset)]
        if dataset == "payouts":
            assert sheet["身份证号"].dtype == pl.String
            assert sheet["发放日期"].dtype == pl.Datetime("ms")
            assert sheet["身份证号"].str.len_chars().eq(18).all()
        if expected is not None:
            assert sheet.height <= expected.height


def test_pension_ages_are_plausible_except_impossible_age_ghosts(county: CountySummary) -> None:
    register = read(county, "2020-01", "beneficiaries")
    ghosts = pl.read_parquet(county.truth / "improper.parquet").filter(pl.col("typology") == "identity_anomaly")
    age = (pl.date(2020, 1, 31) - pl.col("birth_date")).dt.total_days() / 365.25
    ages = register.filter(~pl.col("person_id").is_in(ghosts["person_id"].implode())).with_columns(age=age)
    minimum = dict(ages.group_by("scheme").agg(pl.col("age").min()).iter_rows())
    assert minimum["resident"] >= 60
    assert minimum["enterprise"] >= 50 and minimum["institution"] >= 55
    assert ages["age"].max() < 110


def test_death_overpayments_are_for_periods_after_the_death_month(county: CountySummary) -> None:
    deaths = pl.read_parquet(county.truth / "people.parquet").filter(pl.col("true_death_date").is_not_null())
    overpaid = pl.read_parquet(county.truth / "overpayments.parquet").filter(
        pl.col("typology").is_in(["deceased_paid", "suspected_unreported_death", "reporting_lag"])
    )
    joined = overpaid.join(deaths, on=["person_id", "scheme"], how="left")
    assert joined["true_death_date"].null_count() == 0
    assert (joined["period"] > joined["true_death_date"].dt.strftime("%Y-%m")).all()
    assert (joined["pay_month"] >= joined["period"]).all()
