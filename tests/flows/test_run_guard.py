"""What guards a run's output folder, end to end: two runs on one OUT, and an input file
of a processed month that changed since (issue 18)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from sentinel.casestore import CaseStore
from sentinel.cli import app
from sentinel.io.case_key import case_id_key, keep_case_id_key
from sentinel.io.runlock import LOCK_FILE

sys.path.insert(0, str(Path(__file__).parent))  # the flow tests' shared helpers (importlib mode)
from month_runs import month_digest  # noqa: E402

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
MONTH = "2020-02"
RACED = "2020-01"  # two runs racing on one month: one month is enough to race on


def start_run(
    inbox: Path, out: Path, prefect_home: Path, month: str = MONTH, api: str | None = None
) -> subprocess.Popen[str]:
    """``sentinel run`` in a process of its own: reporting to ``api``, or without one
    (then it starts a temporary Prefect API of its own in ``prefect_home``)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    environment |= {
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PYTHONPATH": str(ROOT),
    }
    if api is not None:
        environment["PREFECT_API_URL"] = api
    command = [sys.executable, "-m", "sentinel.cli", "run", "--inbox", str(inbox),
               "--month", month, "--out", str(out)]  # fmt: skip
    return subprocess.Popen(
        command, env=environment, cwd=out.parent, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def finish(run: subprocess.Popen[str]) -> tuple[int, str]:
    stdout, stderr = run.communicate(timeout=900)
    return run.returncode, stdout + stderr


def holds_the_lock(run: subprocess.Popen[str], out: Path) -> None:
    """Return once ``run`` holds OUT's run lock (its lock file names a holder)."""
    lock = out / LOCK_FILE
    while not (lock.exists() and lock.read_text(encoding="utf-8").strip()):
        assert run.poll() is None, "the run ended before it took the lock"
        time.sleep(0.05)


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize("second_starts", ["0.5 s later", "while the first holds OUT"])
def test_two_runs_on_one_out_wait_for_each_other_and_equal_a_lone_run(
    tiny_county: Path, tmp_path: Path, second_starts: str
) -> None:
    """Regression: the second of two runs 1.5 s apart exited 1 with FileNotFoundError (the
    first cleared its staging folder). Now the second waits for the first, then runs:
    whether the two race for the lock or the second comes while the first is at work.
    The two are separate processes, as two scheduled or manual runs are: racing, each
    with the temporary Prefect API it starts itself (two cron jobs); one coming while the
    other works, both reporting to one Prefect API (a served deployment and a manual run)."""
    from prefect.settings import PREFECT_API_URL

    inbox = tiny_county / "inbox"
    # The same county's runs: one key names its cases in each.
    for folder in ("lone", "out"):
        keep_case_id_key(tmp_path / folder, bytes(range(32)))
    lone = CliRunner().invoke(
        app, ["run", "--inbox", str(inbox), "--month", RACED, "--out", str(tmp_path / "lone")]
    )
    assert lone.exit_code == 0, lone.output
    expected = month_digest(tmp_path / "lone" / RACED)
    assert "cases.csv" in expected
    out = tmp_path / "out"
    racing = second_starts == "0.5 s later"
    api = None if racing else PREFECT_API_URL.value()
    first = start_run(inbox, out, tmp_path / "prefect", RACED, api)
    if racing:
        time.sleep(0.5)
    else:
        holds_the_lock(first, out)
    second = start_run(inbox, out, tmp_path / "prefect", RACED, api)
    (first_code, first_output), (second_code, second_output) = finish(first), finish(second)
    assert first_code == 0, first_output
    assert second_code == 0, second_output
    assert "Traceback" not in first_output + second_output
    assert month_digest(out / RACED) == expected
    assert not [p.name for p in out.iterdir() if p.name.startswith((".staging-", ".old-"))]


def test_a_run_locked_out_too_long_exits_2_naming_the_holder(
    tiny_county: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site.toml"
    site.write_text("[run]\nlock_wait_seconds = 0\n")
    out = tmp_path / "out"
    script = (
        "import sys\n"
        "from sentinel.io.runlock import run_lock\n"
        "with run_lock(sys.argv[1], wait_seconds=0):\n"
        "    print('held', flush=True)\n"
        "    sys.stdin.readline()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(out)], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        result = CliRunner().invoke(
            app,
            ["run", "--inbox", str(tiny_county / "inbox"), "--month", MONTH, "--out", str(out),
             "--config", str(site)],
        )  # fmt: skip
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=60)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    assert f"another run is using this output folder (process {holder.pid} on " in lines[0]
    assert not (out / MONTH).exists()


def change_one_amount(payouts: Path) -> None:
    """One regular resident payment of 103 yuan becomes 1030 (bytes of any encoding)."""
    data = payouts.read_bytes()
    changed, n = re.subn(rb"(?<=,)103(\.0+)?(?=[,\r\n])", b"1030", data, count=1)
    assert n == 1
    payouts.write_bytes(changed)


@pytest.mark.usefixtures("prefect_harness")
def test_a_changed_processed_input_is_refused_then_reprocessed_like_a_clean_run(
    county_copy: Path, tmp_path: Path
) -> None:
    """Regression: a changed amount in a processed month's payouts was ignored (exit 0,
    outputs unchanged, later months built on the old data)."""
    runner = CliRunner()
    inbox, out = county_copy / "inbox", county_copy / "out"

    def run(*extra: str):  # type: ignore[no-untyped-def]
        return runner.invoke(
            app, ["run", "--inbox", str(inbox), "--month", "2020-03", "--out", str(out), *extra]
        )

    assert run().exit_code == 0
    before = month_digest(out / "2020-03")
    payouts = next((inbox / MONTH).glob("payouts.*"))
    change_one_amount(payouts)
    refused = run()
    assert refused.exit_code == 2
    assert f"{payouts}: changed since {MONTH} was processed" in refused.output.replace("\n", "")
    assert f"--reprocess-from {MONTH}" in refused.output.replace("\n", "")
    assert month_digest(out / "2020-03") == before  # nothing was written
    reprocessed = run("--reprocess-from", MONTH)
    assert reprocessed.exit_code == 0, reprocessed.output

    clean_inbox = tmp_path / "clean" / "inbox"
    shutil.copytree(inbox, clean_inbox)
    clean = tmp_path / "clean" / "out"
    key = case_id_key(out)
    assert key is not None
    keep_case_id_key(clean, key)
    result = runner.invoke(
        app, ["run", "--inbox", str(clean_inbox), "--month", "2020-03", "--out", str(clean)]
    )
    assert result.exit_code == 0, result.output
    for month in ("2020-01", MONTH, "2020-03"):
        # The re-derived history is the clean one and more: the first run's events and the
        # re-derivation stay in it (history.json: longer chains, still holding).
        reprocessed_files = month_digest(out / month)
        clean_files = month_digest(clean / month)
        if month >= MONTH:
            check = json.loads((out / month / "history.json").read_text(encoding="utf-8"))
            assert check["holds"], check["first_broken_link"]
            del reprocessed_files["history.json"], clean_files["history.json"]
        assert reprocessed_files == clean_files, month
        assert_frame_equal(
            pl.read_parquet(out / month / "cases.parquet"),
            pl.read_parquet(clean / month / "cases.parquet"),
        )
    assert month_digest(out / "2020-03") != before  # the change reached the later month
    with CaseStore(out / "cases.sqlite") as store, CaseStore(clean / "cases.sqlite") as fresh:
        columns = ["case_id", "first_flagged", "last_listed", "state", "reasons", "est_overpayment"]
        assert_frame_equal(store.cases().select(columns), fresh.cases().select(columns))
        rederived = store.events().filter(pl.col("kind") == "rederived")
        assert rederived.height > 0
        assert all(str(payouts) in d for d in rederived["detail"])
    # Run again: nothing changed since, nothing refused.
    assert run().exit_code == 0


@pytest.mark.usefixtures("prefect_harness")
def test_a_later_month_without_the_store_its_history_is_in_is_refused(
    county_copy: Path, tmp_path: Path
) -> None:
    """Regression: forgetting --store on a later month ran it on an empty history (exit 0,
    another case list)."""
    runner = CliRunner()
    inbox, out, store = county_copy / "inbox", county_copy / "out", tmp_path / "history"

    def run(month: str, *extra: str):  # type: ignore[no-untyped-def]
        command = ["run", "--inbox", str(inbox), "--month", month, "--out", str(out), *extra]
        return runner.invoke(app, command)

    first = run(RACED, "--store", str(store))
    assert first.exit_code == 0, first.output
    refused = run(MONTH)
    assert refused.exit_code == 2, refused.output
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, refused.stderr
    assert f"lacks 1 month(s) {out} has processed ({RACED})" in lines[0]
    assert f"run with --store {store.resolve()}" in lines[0]
    assert not (out / MONTH).exists() and not (out / ".work" / MONTH).exists()
    assert run(MONTH, "--store", str(store)).exit_code == 0
