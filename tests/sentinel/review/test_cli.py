"""`sentinel users add|list|disable` and `sentinel review --help`."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sentinel.casestore import CaseStore
from sentinel.cli import app
from sentinel.review import ReviewStore

runner = CliRunner()


def users_of(out: Path) -> ReviewStore:
    return ReviewStore(CaseStore(out / "cases.sqlite").engine)


@pytest.fixture(autouse=True)
def no_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SENTINEL_DATABASE_URL", raising=False)


def test_users_add_reads_the_password_from_the_environment(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "users",
            "add",
            "wang",
            "--role",
            "auditor",
            "--township",
            "梅城镇",
            "--township",
            "清塘铺镇",
            "--out",
            str(tmp_path),
        ],
        env={"SENTINEL_REVIEW_PASSWORD": "a long password"},
    )
    assert result.exit_code == 0, result.output
    assert "a long password" not in result.output
    user = users_of(tmp_path).user("wang")
    assert user is not None and user.role == "auditor" and user.townships == ("梅城镇", "清塘铺镇")
    assert user.password_hash.startswith("$argon2id$")


def test_users_add_prompts_twice_without_echo(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["users", "add", "zhao", "--role", "supervisor", "--out", str(tmp_path)],
        input="a long password\na long password\n",
        env={"SENTINEL_REVIEW_PASSWORD": ""},
    )
    assert result.exit_code == 0, result.output
    assert "a long password" not in result.output
    assert users_of(tmp_path).user("zhao").role == "supervisor"  # type: ignore[union-attr]


def test_there_is_no_password_option() -> None:
    result = runner.invoke(app, ["users", "add", "--help"])
    assert "--password" not in result.output


@pytest.mark.parametrize(
    "args, problem",
    [
        (["--role", "boss"], "--role must be one of"),
        (["--role", "auditor"], "needs at least one --township"),
    ],
)
def test_users_add_refuses_bad_input_with_exit_code_2(
    tmp_path: Path, args: list[str], problem: str
) -> None:
    result = runner.invoke(
        app,
        ["users", "add", "wang", *args, "--out", str(tmp_path)],
        env={"SENTINEL_REVIEW_PASSWORD": "a long password"},
    )
    assert result.exit_code == 2
    assert problem in result.output


def test_users_list_and_disable(tmp_path: Path) -> None:
    env = {"SENTINEL_REVIEW_PASSWORD": "a long password"}
    runner.invoke(app, ["users", "add", "root", "--role", "admin", "--out", str(tmp_path)], env=env)
    listed = runner.invoke(app, ["users", "list", "--out", str(tmp_path)])
    assert "root" in listed.output and "admin" in listed.output and "argon2" not in listed.output
    assert runner.invoke(app, ["users", "disable", "root", "--out", str(tmp_path)]).exit_code == 0
    assert users_of(tmp_path).user("root").active is False  # type: ignore[union-attr]
    assert runner.invoke(app, ["users", "disable", "nobody", "--out", str(tmp_path)]).exit_code == 2


def test_review_help_names_the_options() -> None:
    result = runner.invoke(app, ["review", "--help"])
    assert result.exit_code == 0
    assert "--out" in result.output and "--port" in result.output
