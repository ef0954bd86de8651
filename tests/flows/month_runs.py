"""Shared by the flow tests (imported with the test folder on ``sys.path``, importlib
mode): a month run through the command line, and what a month's outputs are compared by."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from typer.testing import CliRunner

from sentinel.cli import app

runner = CliRunner()


def run_month(county: Path, month: str) -> None:
    """``sentinel run`` of ``county/inbox`` for ``month`` into ``county/out``; it must succeed."""
    result = runner.invoke(
        app,
        ["run", "--inbox", str(county / "inbox"), "--month", month, "--out", str(county / "out")],
    )
    assert result.exit_code == 0, result.output


def month_digest(folder: Path) -> dict[str, str]:
    """Content hash of every output file of a month (Data Docs stamp run times, the
    workbook its creation time)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(_comparable(p)).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "data-docs" not in p.parts and p.suffix != ".xlsx"
    }


def _comparable(path: Path) -> bytes:
    """The file's bytes; of ``history.json`` what does not depend on when the events were
    written (their hashes cover their times): whether the chains hold, and their lengths."""
    if path.name != "history.json":
        return path.read_bytes()
    check = json.loads(path.read_text(encoding="utf-8"))
    lengths = {name: head["position"] for name, head in check["heads"].items()}
    return json.dumps(
        [check["holds"], check["first_broken_link"], lengths], sort_keys=True
    ).encode()
