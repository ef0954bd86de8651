"""A province run in partitions on Dask equals the single-process run, cross-region facts
included; the partition logic on small hand-made frames."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from sentinel.cli import app
from sentinel.io.case_key import keep_case_id_key
from sentinel.partition import cross_partition_halo, update_owners

sys.path.insert(0, str(Path(__file__).parent))  # the flow tests' shared helpers (importlib mode)
from month_runs import month_digest  # noqa: E402

runner = CliRunner()
MONTHS = ("2020-01", "2020-02", "2020-03")


def test_owner_is_the_first_region_and_is_kept_when_a_person_moves() -> None:
    january = pl.LazyFrame(
        {
            "person_id": ["A", "B", "B"],
            "region_code": ["430923", "430101", "430923"],
            "month": ["2020-01"] * 3,
        }
    )
    owners = update_owners(None, january, pl.LazyFrame({"person_id": ["G"]}), digits=4).collect()
    assert dict(owners.iter_rows()) == {
        "A": "4309",
        "B": "4301",
        "G": "4301",
    }  # G: never registered
    february = pl.LazyFrame(
        {"person_id": ["A", "C"], "region_code": ["430101", "431121"], "month": ["2020-02"] * 2}
    )
    later = update_owners(
        owners.lazy(), february, pl.LazyFrame({"person_id": ["A"]}), digits=4
    ).collect()
    assert dict(later.iter_rows()) == {"A": "4309", "B": "4301", "G": "4301", "C": "4311"}


def test_halo_follows_a_chain_of_shared_receivers_across_partitions() -> None:
    edges = pl.LazyFrame(
        {
            "partition": ["P1", "P2", "P2", "P3", "P3", "P1"],
            "person_id": ["a", "b", "b", "c", "d", "e"],
            "receiver": ["acct1", "acct1", "coll9", "coll9", "acct7", "acct8"],
            "kind": ["account", "account", "collector", "collector", "account", "account"],
        }
    )
    halo = cross_partition_halo(edges)
    expected = pl.DataFrame(
        {
            "partition": ["P1", "P1", "P2", "P2", "P3", "P3"],
            "person_id": ["b", "c", "a", "c", "a", "b"],
        }
    )
    assert_frame_equal(halo, expected)  # d and e share nothing; a-b-c is one ring


def test_no_halo_when_no_receiver_crosses_partitions() -> None:
    edges = pl.LazyFrame(
        {
            "partition": ["P1", "P1"],
            "person_id": ["a", "b"],
            "receiver": ["r", "r"],
            "kind": ["account"] * 2,
        }
    )
    assert cross_partition_halo(edges).height == 0


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 clones of a small county (one prefecture each), cross-region facts in every month."""
    from sentinel.demo import generate_county
    from sentinel.demo.clones import plan_clones, register_prefixes, register_region
    from sentinel.demo.province import build_province_drop

    base = tmp_path_factory.mktemp("base")
    generate_county(base, seed=11, scale=0.01, months=len(MONTHS), formats="parquet")
    register = pl.read_parquet(base / "inbox" / MONTHS[0] / "beneficiaries.parquet")
    clones = plan_clones(
        register_region(register), register_prefixes(register), 4, per_prefecture=1
    )
    dest = tmp_path_factory.mktemp("province")
    for month in MONTHS:
        build_province_drop(base / "inbox" / month, dest / "inbox" / month, clones)
    _write_audit_outcomes(dest / "inbox" / MONTHS[-1])
    return dest


def _write_audit_outcomes(drop: Path) -> None:
    """Field-audit outcomes for 40 persons of several regions (20 confirmed, 20 cleared):
    enough for the last month to be scored by a supervised model trained on them."""
    register = pl.read_parquet(drop / "beneficiaries.parquet").sort("person_id")
    audited = register.gather_every(max(register.height // 40, 1)).head(40)
    confirmed = pl.int_range(pl.len()) % 2 == 0
    audited.select(
        pl.format("AUDIT-{}", pl.int_range(pl.len())).alias("case_id"),
        "person_id",
        pl.lit("2020-03-10").alias("closed_on"),
        pl.when(confirmed)
        .then(pl.lit("confirmed_deceased"))
        .otherwise(pl.lit("cleared"))
        .alias("outcome"),
        pl.when(confirmed).then(pl.lit("2019-12-01")).alias("death_date"),
        pl.when(confirmed).then(pl.lit("339.00")).alias("overpaid_amount"),
        pl.when(confirmed).then(pl.lit("0.00")).alias("recovered_amount"),
    ).write_parquet(drop / "outcomes.parquet")


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_partitioned_run_on_dask_equals_the_single_process_run(province: Path) -> None:
    inbox = str(province / "inbox")
    # One county's two runs: one key names its cases in both.
    for out in ("single", "parted"):
        keep_case_id_key(province / out, bytes(range(32)))
    single = runner.invoke(
        app, ["run", "--inbox", inbox, "--month", MONTHS[-1], "--out", str(province / "single")]
    )
    assert single.exit_code == 0, single.output
    parted = runner.invoke(
        app,
        [
            "run", "--inbox", inbox, "--month", MONTHS[-1], "--out", str(province / "parted"),
            "--partition-by", "region", "--region-digits", "4", "--workers", "2",
        ],
    )  # fmt: skip
    assert parted.exit_code == 0, parted.output
    partitions = [
        p for p in (province / "parted" / "partitions").iterdir() if p.is_dir() and p.name[0] != "."
    ]
    assert len(partitions) >= 4
    # The last month is scored by the model learned from the audit outcomes (their cases'
    # model inputs as listed before): the same model in both runs.
    manifest = (province / "parted" / MONTHS[-1] / "manifest.json").read_text()
    assert '"learned-' in manifest
    for month in MONTHS:
        expected = pl.read_parquet(province / "single" / month / "cases.parquet")
        assert_frame_equal(pl.read_parquet(province / "parted" / month / "cases.parquet"), expected)
        # Every other output too: CSV, quarantine, suspensions, manifest.
        assert month_digest(province / "parted" / month) == month_digest(
            province / "single" / month
        )

    # The cross-region facts are found: one person paid in two regions, one account in two.
    cases = pl.read_parquet(province / "parted" / MONTHS[-1] / "cases.parquet")
    register = pl.read_parquet(province / "inbox" / MONTHS[-1] / "beneficiaries.parquet")
    twice = (
        register.group_by("person_id")
        .agg(pl.col("region_code").n_unique())
        .filter(pl.col("region_code") > 1)
    )
    assert twice.height == 1
    assert cases.filter(pl.col("person_id") == twice["person_id"][0])["typology"].to_list() == [
        "duplicate_receipt"
    ]
    shared = (
        register.group_by("bank_account")
        .agg(pl.col("person_id"), pl.col("region_code").str.slice(0, 4).n_unique().alias("regions"))
        .filter(pl.col("regions") > 1)
    )
    across = shared.explode("person_id").join(cases, on="person_id")
    assert "shared_account" in across["typology"].to_list()

    # The halo persons travel as runs: their register snapshots and payout rows stay home.
    sent = {
        file.name
        for file in (province / "parted" / "partitions" / ".work" / MONTHS[-1]).glob(
            "halo-rows/*/*.parquet"
        )
    }
    assert {"register_runs.parquet", "ledger_runs.parquet", "certifications.parquet"} <= sent
    assert not sent & {"beneficiaries.parquet", "payouts.parquet", "quarantined_payouts.parquet"}


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize("polars_threads", [1, 2])
def test_local_cluster_workers_get_the_polars_pool_they_were_given(polars_threads: int) -> None:
    """Two workers on two cores each start a one-thread polars pool by default (without
    it each starts one thread per core and the two contend); the size is set before the
    worker process imports polars."""
    import os

    from prefect import flow, task

    from flows.partitioned import dask_runner

    @task
    def pool_size() -> int:
        import polars

        return polars.thread_pool_size()

    @flow
    def sizes() -> list[int]:
        return [pool_size.submit().result() for _ in range(2)]

    before = os.environ.get("POLARS_MAX_THREADS")
    try:
        os.environ.pop("POLARS_MAX_THREADS", None)  # an operator's setting would win
        runner = dask_runner(2, polars_threads=polars_threads)
        assert sizes.with_options(task_runner=runner)() == [polars_threads] * 2
    finally:
        if before is None:
            os.environ.pop("POLARS_MAX_THREADS", None)
        else:
            os.environ["POLARS_MAX_THREADS"] = before


_WORKER_API = """
from prefect import flow, task
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL
from flows.partitioned import dask_runner

@task
def worker_api() -> str:
    return PREFECT_API_URL.value() or ""

@flow(task_runner=dask_runner(2))
def apis() -> list[str]:
    return [str(get_client(sync_client=True).api_url).rstrip("/")] + [
        worker_api.submit().result() for _ in range(2)
    ]

if __name__ == "__main__":
    print(*apis())
"""


@pytest.mark.slow
def test_local_workers_report_to_the_flows_temporary_api(tmp_path: Path) -> None:
    """With no Prefect API configured, the workers use the temporary API the flow started
    (each would otherwise start a server of its own, all writing to one database)."""
    import os
    import subprocess
    import sys

    script = tmp_path / "apis.py"
    script.write_text(_WORKER_API)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    environment |= {
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    done = subprocess.run(
        [sys.executable, str(script)], env=environment, capture_output=True, text=True,
        timeout=600, check=True, cwd=tmp_path,
    )  # fmt: skip
    flow_api, *worker_apis = done.stdout.split()
    assert flow_api.startswith("http://127.0.0.1:"), done.stdout
    assert worker_apis == [flow_api, flow_api], done.stdout


def test_a_halo_without_its_rows_or_a_summary_is_an_error_naming_the_file(tmp_path: Path) -> None:
    """A partition whose halo owner sent neither the rows nor runs for them must not be
    scored on part of its persons' history: the error names the missing file."""
    from sentinel.partition import partition_history, partition_store

    store = partition_store(tmp_path, "430101")
    store.write_month(
        "beneficiaries", "2020-01", pl.DataFrame({"person_id": ["P1"], "scheme": ["resident"]})
    )
    halo = pl.DataFrame({"person_id": ["P9"], "partition": ["430101"], "owner": ["430102"]})
    with pytest.raises(FileNotFoundError, match=r"430101: the beneficiaries rows .*430102"):
        partition_history(tmp_path, "430101", "2020-01", halo)
