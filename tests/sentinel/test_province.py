"""The demo province: clones of one county that never share an ID, an account or a code."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.identity import id_birth_date, id_checksum_ok
from sentinel.demo.clones import id_maps, plan_clones, relabel, relabel_id, resident_code
from sentinel.demo.province import build_province, build_province_history
from sentinel.io.store import CuratedStore
from sentinel.partition import OWNERS_FILE, partition_store

MONTHS = ("2020-01", "2020-02", "2020-03")


@pytest.fixture(scope="module")
def base_county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sentinel.demo import generate_county

    dest = tmp_path_factory.mktemp("base")
    generate_county(dest, seed=11, scale=0.01, months=3, formats="parquet")
    # A stand-in curated history: the drops as loaded rows (enough for the layout).
    store = CuratedStore(dest / "out" / "curated")
    for month in MONTHS:
        for name in ("beneficiaries", "payouts", "deaths", "certifications"):
            store.write_month(
                name, month, pl.read_parquet(dest / "inbox" / month / f"{name}.parquet")
            )
    return dest


def test_relabel_keeps_a_wrong_check_character_exactly_as_wrong() -> None:
    clone = plan_clones("430923", ["430923"], 2)[1]
    ids = pl.DataFrame(
        {"person_id": ["430923194310261022", "430923194310261023", "43092319431026102"]}
    )
    moved = ids.select(relabel_id("person_id", clone))["person_id"].to_list()
    assert moved[0][:6] == clone.region_code and moved[0] != ids["person_id"][0]
    checks = (
        pl.DataFrame({"person_id": moved})
        .select(id_checksum_ok("person_id"))["person_id"]
        .to_list()
    )
    assert checks[:2] == [True, False]
    assert moved[2] == clone.region_code + "19431026102"  # not an ID: only the region part moves
    born = pl.DataFrame({"person_id": moved[:1]}).select(id_birth_date("person_id")).item()
    assert str(born) == "1943-10-27"  # shifted by the clone's one day


def test_relabel_by_id_map_equals_relabel_by_expression() -> None:
    clones = plan_clones("430923", ["430923"], 3)
    frame = pl.DataFrame(
        {
            "person_id": ["430923194310261022", " 43092319431026102x", None, "430923194310261022"],
            "collector_id": [None, "430923195001011234", "not an id", None],
            "bank_account": ["6228480012345678", None, "62284800", "6228480012345678"],
        }
    ).lazy()
    maps = id_maps([frame], clones)
    for clone in clones:
        by_expression = relabel(frame, "payouts", clone).collect()
        by_map = relabel(frame, "payouts", clone, maps.get(clone.index)).collect()
        assert_frame_equal(by_map, by_expression)


def test_clones_never_share_an_id_or_an_account(base_county: Path, tmp_path: Path) -> None:
    build_province(
        base_county, tmp_path, counties=5, month="2020-03", history=False, cross_facts=False
    )
    base = pl.read_parquet(base_county / "inbox" / "2020-03" / "beneficiaries.parquet")
    province = pl.read_parquet(tmp_path / "inbox" / "2020-03" / "beneficiaries.parquet")
    assert province.height == 5 * base.height
    assert province["person_id"].n_unique() == 5 * base["person_id"].n_unique()
    assert (
        province["bank_account"].drop_nulls().n_unique()
        == 5 * base["bank_account"].drop_nulls().n_unique()
    )
    assert (
        province.select(id_checksum_ok("person_id").sum()).item()
        == 5 * base.select(id_checksum_ok("person_id").sum()).item()
    )
    assert (
        province.select(id_birth_date("person_id") == pl.col("birth_date")).to_series().sum()
        == 5 * base.select(id_birth_date("person_id") == pl.col("birth_date")).to_series().sum()
    )


def test_cross_region_facts_are_injected(base_county: Path, tmp_path: Path) -> None:
    build_province(base_county, tmp_path, counties=4, month="2020-03", history=False)
    register = pl.read_parquet(tmp_path / "inbox" / "2020-03" / "beneficiaries.parquet")
    regions = register.group_by("person_id").agg(pl.col("region_code").n_unique().alias("n"))
    assert regions.filter(pl.col("n") > 1).height == 1
    accounts = register.group_by("bank_account").agg(
        pl.col("region_code").str.slice(0, 6).n_unique().alias("n")
    )
    assert accounts.filter(pl.col("n") > 1).height >= 1


def test_history_is_written_per_partition_with_every_row_once(
    base_county: Path, tmp_path: Path
) -> None:
    base = pl.read_parquet(base_county / "inbox" / "2020-03" / "beneficiaries.parquet")
    clones = plan_clones("430923", base["person_id"].str.slice(0, 6).unique().to_list(), 4)
    partitions = build_province_history(base_county / "out", tmp_path, clones, up_to="2020-02")
    owners = pl.read_parquet(tmp_path / "partitions" / OWNERS_FILE)
    assert owners["person_id"].is_unique().all()
    for name in ("beneficiaries", "payouts", "certifications"):
        base_rows = pl.read_parquet(base_county / "inbox" / "2020-02" / f"{name}.parquet").height
        rows = sum(partition_store(tmp_path, p).rows(name, "2020-02") or 0 for p in partitions)
        assert rows == 4 * base_rows, name
    register = pl.concat(
        [
            partition_store(tmp_path, p).scan("beneficiaries").with_columns(pl.lit(p).alias("p"))
            for p in partitions
        ]
    ).collect()
    placed = register.join(owners, on="person_id")
    assert (placed["p"] == placed["partition"]).all()
    assert CuratedStore(tmp_path / "curated").rows("deaths", "2020-02") is not None


def test_province_has_one_region_per_county(base_county: Path, tmp_path: Path) -> None:
    """Neighbouring-county codes of the base register land on other clones' codes: the
    province's register has exactly one 6-digit region per clone."""
    clones = build_province(base_county, tmp_path, counties=5, month="2020-03", history=False)
    base = pl.read_parquet(base_county / "inbox" / "2020-03" / "beneficiaries.parquet")
    assert base["region_code"].str.slice(0, 6).n_unique() > 1  # the base has neighbours
    province = pl.read_parquet(tmp_path / "inbox" / "2020-03" / "beneficiaries.parquet")
    regions = set(province["region_code"].str.slice(0, 6).unique().to_list())
    assert regions == {c.region_code for c in clones}
    counties = [c.region_code for c in clones]
    codes = base["region_code"].unique().sort()
    for clone in clones:
        by_expression = (
            relabel(codes.to_frame().lazy(), "beneficiaries", clone, counties=counties)
            .collect()["region_code"]
            .to_list()
        )
        assert by_expression == [resident_code(c[:6], clone, counties) + c[6:] for c in codes]
