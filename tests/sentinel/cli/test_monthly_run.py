"""The monthly job's options checked before anything is written (``sentinel.cli.monthly_run``):
a folder option naming a file, the partitioned run's options without ``--partition-by`` or
against each other, an unreachable Dask scheduler, the demo's impossible counties. Each is
one line and exit code 2, never a traceback, and leaves nothing behind. A Prefect server
named but not answering is the machine's fault, not the options': one line and exit code 1."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sentinel.cli import app
from sentinel.cli.monthly_run import PartitionOptions, check_scheduler, partition_options

runner = CliRunner()


def refused(command: list[str], *needles: str) -> None:
    result = runner.invoke(app, command)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    (tmp_path / "inbox" / "2020-01").mkdir(parents=True)
    return tmp_path / "inbox"


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        (["--region-digits", "5"], "--region-digits only applies with --partition-by region"),
        (["--workers", "2"], "--workers only applies with --partition-by region"),
        (["--dask-address", "tcp://127.0.0.1:1"], "--dask-address only applies with"),
        (
            ["--partition-by", "region", "--workers", "2", "--dask-address", "tcp://127.0.0.1:1"],
            "--workers and --dask-address exclude each other",
        ),
        (["--partition-by", "region", "--region-digits", "0"], "--region-digits 0: must be 1 to 6"),
        (["--partition-by", "region", "--region-digits", "7"], "--region-digits 7: must be 1 to 6"),
        (["--partition-by", "region", "--workers", "0"], "--workers 0: must be at least 1"),
        (["--partition-by", "county"], "--partition-by must be 'region'"),
    ],
)
def test_partition_options_that_would_be_ignored_or_cannot_work_are_refused(
    inbox: Path, tmp_path: Path, options: list[str], problem: str
) -> None:
    """Regression: ignored silently without --partition-by; --region-digits 0 failed with a
    FileNotFoundError after partitions were half-written."""
    out = tmp_path / "out"
    refused(["run", "--inbox", str(inbox), "--month", "2020-01", "--out", str(out), *options], problem)
    assert not out.exists()


def test_an_unreachable_dask_scheduler_is_one_line_naming_the_address(inbox: Path, tmp_path: Path) -> None:
    """Regression: prefect-dask retried for 30 s, then a traceback, partitions half-written."""
    out = tmp_path / "out"
    address = f"tcp://127.0.0.1:{closed_port()}"
    command = ["run", "--inbox", str(inbox), "--month", "2020-01", "--out", str(out)]
    refused([*command, "--partition-by", "region", "--dask-address", address], address, "no Dask scheduler")
    assert not out.exists()


@pytest.mark.parametrize("address", ["nonsense", "tcp://host", "http://127.0.0.1:8786", "tcp://:8786"])
def test_a_scheduler_address_that_is_not_host_and_port_is_refused(address: str) -> None:
    with pytest.raises(ValueError, match="not tcp://host:port"):
        check_scheduler(address)


def test_a_listening_scheduler_passes_and_defaults_fill_in() -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        address = f"tcp://127.0.0.1:{listening.getsockname()[1]}"
        assert partition_options("region", None, None, address) == PartitionOptions(4, 2, address)
    assert partition_options(None, None, None, None) is None
    assert partition_options("region", 6, 1, None) == PartitionOptions(6, 1, None)


def test_run_into_an_out_that_is_a_file_is_refused(inbox: Path, tmp_path: Path) -> None:
    """Regression: a FileExistsError traceback."""
    out = tmp_path / "out"
    out.write_text("not a folder", encoding="utf-8")
    refused(["run", "--inbox", str(inbox), "--month", "2020-01", "--out", str(out)], f"--out {out}: not a folder")
    below = out / "deeper"
    refused(
        ["run", "--inbox", str(inbox), "--month", "2020-01", "--out", str(below)],
        f"--out {below}: not a folder ({out} is a file)",
    )


def test_a_prefect_server_named_but_not_answering_is_one_line_and_exit_1(
    inbox: Path, tmp_path: Path
) -> None:
    """Regression: with PREFECT_API_URL set (docs/operations.md sets it once per user) and
    the server down, `sentinel run` and `sentinel serve` ended in a traceback. The URL is
    shown without its password."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    port = closed_port()
    out = tmp_path / "out"
    places = ["--inbox", str(inbox), "--out", str(out)]
    with temporary_settings(updates={PREFECT_API_URL: f"http://ops:s3cret@127.0.0.1:{port}/api"}):
        ran = runner.invoke(app, ["run", *places, "--month", "2020-01"])
        served = runner.invoke(app, ["serve", *places])
    down = f"error: no Prefect server answers at http://127.0.0.1:{port}/api (PREFECT_API_URL)"
    for result, advice in (
        (ran, "start it (docs/operations.md), or unset PREFECT_API_URL to run on a temporary one"),
        (served, "start it with `prefect server start` (docs/operations.md)"),
    ):
        assert result.exit_code == 1, result.output
        assert [line for line in result.stderr.splitlines() if line.strip()] == [
            f"{down}: {advice}"
        ]
        assert "s3cret" not in result.output
    assert not out.exists()


def test_a_month_without_a_drop_is_refused_before_the_earlier_months_run(
    inbox: Path, tmp_path: Path
) -> None:
    """Regression: `--month 2021-01` with no such drop caught up every earlier month first
    (minutes), then stopped on the missing folder without saying what it had committed."""
    out = tmp_path / "out"
    refused(
        ["run", "--inbox", str(inbox), "--month", "2020-02", "--out", str(out)],
        f"{inbox / '2020-02'}: drop folder not found (the inbox's months: 2020-01..2020-01)",
    )
    assert not out.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    refused(
        ["run", "--inbox", str(empty), "--month", "2020-01", "--out", str(out)],
        "drop folder not found (the inbox's months: none)",
    )


def test_run_with_a_store_that_is_a_file_is_refused(inbox: Path, tmp_path: Path) -> None:
    store = tmp_path / "history"
    store.write_text("not a folder", encoding="utf-8")
    command = ["run", "--inbox", str(inbox), "--month", "2020-01", "--out", str(tmp_path / "out")]
    refused([*command, "--store", str(store)], f"--store {store}: not a folder")
    assert not (tmp_path / "out").exists()


def test_validate_with_docs_that_is_a_file_is_refused(inbox: Path, tmp_path: Path) -> None:
    """Regression: a traceback once the drop was read and validated."""
    docs = tmp_path / "docs.html"
    docs.write_text("", encoding="utf-8")
    refused(["validate", "--inbox", str(inbox), "--month", "2020-01", "--docs", str(docs)], f"--docs {docs}: not a folder")
    assert docs.read_text(encoding="utf-8") == ""


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        (["--months", "1"], "months 1: a demo county needs at least 3"),
        (["--scale", "-1"], "scale -1.0: must be a positive number"),
        (["--scale", "0"], "scale 0.0: must be a positive number"),
        (["--formats", "csv"], "formats 'csv': must be one of 'mixed', 'parquet'"),
    ],
)
def test_a_demo_county_that_cannot_be_made_is_refused_before_writing(
    tmp_path: Path, options: list[str], problem: str
) -> None:
    """Regression: --months 1 and --scale -1 were tracebacks; --formats csv wrote mixed formats."""
    dest = tmp_path / "demo"
    refused(["demo", "--dest", str(dest), *options], problem)
    assert not dest.exists()


def test_a_demo_dest_that_is_a_file_is_refused(tmp_path: Path) -> None:
    dest = tmp_path / "demo"
    dest.write_text("mine", encoding="utf-8")
    refused(["demo", "--dest", str(dest), "--scale", "0.01", "--months", "3"], f"dest {dest}: {dest} is a file")
    assert dest.read_text(encoding="utf-8") == "mine"
