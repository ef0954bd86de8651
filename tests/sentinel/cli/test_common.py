"""What every command shares (``sentinel.cli.common``): a site configuration that cannot be
used ends any command in one line and exit code 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sentinel.cli import app

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
