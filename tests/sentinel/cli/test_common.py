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
