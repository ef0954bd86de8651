"""What every command shares (``sentinel.cli.common``): a site configuration that cannot be
used ends any command in one line and exit code 2, never a traceback; Prefect's temporary API
is waited for long enough on a machine's first run, and one that never answers is one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sentinel.cli import app
from sentinel.cli.common import counted

runner = CliRunner()


@pytest.mark.parametrize(
    "command",
    [
        ["report", "open", "--out", "OUT"],
        ["users", "list", "--out", "OUT"],
        ["audit", "verify", "--out", "OUT"],
        ["validate", "--inbox", "INBOX", "--month", "2020-01"],
        ["run", "--inbox", "INBOX", "--month", "2020-01", "--out", "OUT"],
    ],
)
def test_a_bad_site_configuration_is_one_line_and_exit_2(
    tmp_path: Path, command: list[str]
) -> None:
    site = tmp_path / "site.toml"
    site.write_text("[detection]\naudit_capacty = 20\n", encoding="utf-8")
    places = {"INBOX": str(tmp_path / "inbox"), "OUT": str(tmp_path / "out")}
    args = [places.get(a, a) for a in command]
    result = runner.invoke(app, [*args, "--config", str(site)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"error: {site}: detection.audit_capacty: unknown key"]
    assert result.exception is None or isinstance(result.exception, SystemExit)


#: The commands that work on the case store of an existing output folder.
STORE_COMMANDS = [
    ["audit", "verify"],
    ["report", "precision"],
    ["report", "open"],
    ["report", "prevented"],
    ["report", "suspects"],
    ["report", "recovery"],
    ["users", "list"],
    ["users", "add", "wang", "--role", "supervisor"],
    ["users", "recuse", "wang"],
    ["users", "disable", "wang"],
    ["notices", "--month", "2020-03"],
    ["recovery", "approve", "DP-000000000000", "W-1", "--actor", "zhao"],
    ["review"],
]


@pytest.fixture
def no_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SENTINEL_DATABASE_URL", raising=False)


@pytest.mark.usefixtures("no_database_url")
@pytest.mark.parametrize("command", STORE_COMMANDS, ids=" ".join)
def test_an_output_folder_without_a_case_store_is_refused_and_left_alone(
    tmp_path: Path, command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: a mistyped --out (a month's folder, say) created an empty case store and
    reported on it (history holds: 0 rows checked), exit 0."""
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)  # `review` must not serve
    out = tmp_path / "out" / "2020-03"
    out.mkdir(parents=True)
    result = runner.invoke(
        app, [*command, "--out", str(out)], env={"SENTINEL_REVIEW_PASSWORD": "a long password"}
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f"error: no case store in {out}: give the output folder of `sentinel run`"
    ]
    assert list(out.iterdir()) == []


@pytest.mark.usefixtures("no_database_url")
def test_users_add_refuses_the_default_out_without_a_case_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(
        app,
        ["users", "add", "wang", "--role", "supervisor"],
        env={"SENTINEL_REVIEW_PASSWORD": "a long password"},
    )
    assert result.exit_code == 2
    assert "no case store in demo/out" in result.stderr
    assert not (tmp_path / "demo").exists()


@pytest.mark.usefixtures("no_database_url")
@pytest.mark.parametrize("command", STORE_COMMANDS[:3], ids=" ".join)
def test_an_out_that_is_a_file_is_one_line(tmp_path: Path, command: list[str]) -> None:
    file = tmp_path / "cases.csv"
    file.write_text("case_id\n", encoding="utf-8")
    result = runner.invoke(app, [*command, "--out", str(file)])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [f"error: --out {file}: a file, not an output folder"]


def test_a_case_store_named_by_the_environment_needs_no_store_under_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$SENTINEL_DATABASE_URL names the store (a database server in production): OUT then
    holds none, and the commands work on the one named."""
    from sentinel.casestore import CaseStore

    elsewhere = tmp_path / "server.sqlite"
    with CaseStore(elsewhere):
        pass
    monkeypatch.setenv("SENTINEL_DATABASE_URL", f"sqlite:///{elsewhere}")
    result = runner.invoke(app, ["audit", "verify", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "history holds" in result.output
    monkeypatch.setenv("SENTINEL_DATABASE_URL", f"sqlite:///{tmp_path / 'missing.sqlite'}")
    missing = runner.invoke(app, ["report", "open", "--out", str(tmp_path / "out")])
    assert missing.exit_code == 2
    assert "no case store at" in missing.stderr and "$SENTINEL_DATABASE_URL" in missing.stderr


def test_prefect_waits_for_its_temporary_api_as_long_as_the_cli_says_unless_told_otherwise() -> (
    None
):
    """Regression: on a machine's first run the temporary API migrates its database, longer
    than Prefect's 20 s default on a 2-core machine, and `sentinel run` died with a
    traceback. Checked in fresh interpreters: the default is set when the CLI is imported."""
    from sentinel.cli.common import PREFECT_START_WAIT

    environment = {k: v for k, v in os.environ.items() if k != PREFECT_START_WAIT}
    read = (
        "import os, sentinel.cli.common as c; from prefect.settings import Settings; "
        "print(os.environ[c.PREFECT_START_WAIT], Settings().server.ephemeral.startup_timeout_seconds)"
    )
    default = subprocess.run(
        [sys.executable, "-c", read], env=environment, capture_output=True, text=True, check=True
    )
    wait, prefect_wait = default.stdout.split()
    assert wait == prefect_wait and int(wait) >= 120
    told = {**environment, PREFECT_START_WAIT: "45"}
    kept = subprocess.run(
        [sys.executable, "-c", "import os, sentinel.cli.common as c; print(os.environ[c.PREFECT_START_WAIT])"],
        env=told, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert kept.stdout.strip() == "45"


def test_a_temporary_prefect_api_that_never_answers_is_one_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sentinel.cli.monthly as monthly

    def runner_raising(message: str):  # type: ignore[no-untyped-def]
        def run_month(month: str) -> None:
            raise RuntimeError(message)

        return lambda *args: run_month

    (tmp_path / "inbox" / "2020-01").mkdir(parents=True)
    command = [
        "run",
        "--inbox",
        str(tmp_path / "inbox"),
        "--month",
        "2020-01",
        "--out",
        str(tmp_path / "out"),
    ]
    prefects = (
        "Timed out while attempting to connect to ephemeral Prefect API server. "
        "Ephemeral server process exited with code 1."
    )
    monkeypatch.setattr(monthly, "_monthly_runner", runner_raising(prefects))
    monkeypatch.setenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    result = runner.invoke(app, command)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        "error: Prefect's temporary API server did not answer within 180 s: set "
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS higher, or PREFECT_API_URL to a "
        "running Prefect server (docs/operations.md)"
    ]
    # Any other failure is not mistaken for it.
    monkeypatch.setattr(monthly, "_monthly_runner", runner_raising("something else"))
    other = runner.invoke(app, command)
    assert isinstance(other.exception, RuntimeError) and str(other.exception) == "something else"


def test_output_that_is_not_a_terminal_is_not_cut_at_80_columns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Regression: a report redirected to a file (cron, a log) cut its case IDs and headers
    at Rich's 80 columns. A terminal keeps Rich's own width; COLUMNS, which some launchers
    export to their children, does not narrow a file."""
    import io

    from sentinel.cli.common import PIPE_WIDTH, _pipe_width

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("COLUMNS", raising=False)
    assert _pipe_width(io.StringIO()) == PIPE_WIDTH > 200
    assert _pipe_width(Terminal()) is None
    monkeypatch.setenv("COLUMNS", "80")
    assert _pipe_width(io.StringIO()) == PIPE_WIDTH
    assert _pipe_width(Terminal()) is None


def test_report_tables_show_yuan_as_money_and_shares_with_three_decimals(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Regression: `report prevented` printed 120520.650 yuan where `screen` printed
    56,137.39."""
    import polars as pl

    from sentinel.cli.common import print_frame

    frame = pl.DataFrame({"period": ["2020-12"], "held_yuan": [120520.65], "rate": [0.125]})
    print_frame(frame, "prevented", yuan=("held_yuan",))
    shown = capsys.readouterr().out
    assert "120,520.65" in shown and "120520.650" not in shown
    assert "0.125" in shown


@pytest.mark.parametrize(
    ("n", "said"), [(0, "0 rows"), (1, "1 row"), (2, "2 rows"), (12345, "12,345 rows")]
)
def test_a_count_takes_the_plural_unless_it_is_one(n: int, said: str) -> None:
    assert counted(n, "row") == said
