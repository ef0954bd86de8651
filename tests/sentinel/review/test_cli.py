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


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An output folder with a case store (as `sentinel run` leaves it), holding no case."""
    with CaseStore(tmp_path / "cases.sqlite"):
        pass
    return tmp_path


def test_users_add_reads_the_password_from_the_environment(out: Path) -> None:
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
            str(out),
        ],
        env={"SENTINEL_REVIEW_PASSWORD": "a long password"},
    )
    assert result.exit_code == 0, result.output
    assert "a long password" not in result.output
    user = users_of(out).user("wang")
    assert user is not None and user.role == "auditor" and user.townships == ("梅城镇", "清塘铺镇")
    assert user.password_hash.startswith("$argon2id$")


def test_users_add_prompts_twice_without_echo(out: Path) -> None:
    result = runner.invoke(
        app,
        ["users", "add", "zhao", "--role", "supervisor", "--out", str(out)],
        input="a long password\na long password\n",
        env={"SENTINEL_REVIEW_PASSWORD": ""},
    )
    assert result.exit_code == 0, result.output
    assert "a long password" not in result.output
    assert users_of(out).user("zhao").role == "supervisor"  # type: ignore[union-attr]


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
    out: Path, args: list[str], problem: str
) -> None:
    result = runner.invoke(
        app,
        ["users", "add", "wang", *args, "--out", str(out)],
        env={"SENTINEL_REVIEW_PASSWORD": "a long password"},
    )
    assert result.exit_code == 2
    assert problem in result.output


def test_users_list_and_disable(out: Path) -> None:
    env = {"SENTINEL_REVIEW_PASSWORD": "a long password"}
    runner.invoke(app, ["users", "add", "root", "--role", "admin", "--out", str(out)], env=env)
    listed = runner.invoke(app, ["users", "list", "--out", str(out)])
    assert "root" in listed.output and "admin" in listed.output and "argon2" not in listed.output
    assert runner.invoke(app, ["users", "disable", "root", "--out", str(out)]).exit_code == 0
    assert users_of(out).user("root").active is False  # type: ignore[union-attr]
    assert runner.invoke(app, ["users", "disable", "nobody", "--out", str(out)]).exit_code == 2


def test_review_help_names_the_options() -> None:
    result = runner.invoke(app, ["review", "--help"])
    assert result.exit_code == 0
    assert "--out" in result.output and "--port" in result.output


@pytest.mark.parametrize(
    "command, section", [(["review"], "[review]"), (["plan", "visits"], "[visits]")]
)
def test_help_shows_the_configuration_section_in_brackets(command: list[str], section: str) -> None:
    """Regression: rich read ``[review]`` in a help text as markup and dropped it."""
    result = runner.invoke(app, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert section in result.output
    assert "\\[" not in result.output


def test_review_prints_the_plain_http_address_it_serves(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: it printed https:// while uvicorn serves plain HTTP."""
    import uvicorn

    served: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.update(options))
    result = runner.invoke(app, ["review", "--out", str(out), "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "case review on http://127.0.0.1:8123/" in result.output
    assert "https://" not in result.output
    assert served["port"] == 8123 and "ssl_certfile" not in served


@pytest.fixture
def listed(out: Path) -> Path:
    """An output folder whose case store has listed generated cases in 梅城镇 and 城关镇."""
    import polars as pl

    cases = pl.DataFrame(
        {
            "case_id": ["SU-aaaaaaaaaaaa", "AA-cccccccccccc"],
            "person_id": ["430101195001010011", "430102193803030046"],
            "township": ["城关镇", "梅城镇"],
            "typology": ["suspected_unreported_death", "amount_anomaly"],
            "priority_rank": [1, 2],
            "risk_score": [0.9, 0.7],
            "est_overpayment": [1500.0, 300.0],
            "reasons": ["SU_NO_CERT", "AA_ABOVE_STANDARD"],
        }
    )
    with CaseStore(out / "cases.sqlite") as store:
        store.record_month("2020-02", cases, clear_months=6)
    return out


def test_users_add_refuses_a_township_no_case_list_names(listed: Path) -> None:
    """Regression: 梅城 (for 梅城镇) was accepted, and the auditor's queue stayed empty."""
    env = {"SENTINEL_REVIEW_PASSWORD": "a long password"}
    args = ["users", "add", "zhao", "--role", "auditor", "--out", str(listed)]
    result = runner.invoke(app, [*args, "--township", "梅城"], env=env)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: --township 梅城: no case list names it (closest: 梅城镇)"
    ]
    assert users_of(listed).user("zhao") is None
    assert runner.invoke(app, [*args, "--township", "梅城镇"], env=env).exit_code == 0


def test_users_add_takes_any_township_while_the_store_holds_no_case(out: Path) -> None:
    result = runner.invoke(
        app,
        ["users", "add", "zhao", "--role", "auditor", "--township", "梅城", "--out", str(out)],
        env={"SENTINEL_REVIEW_PASSWORD": "a long password"},
    )
    assert result.exit_code == 0, result.output


def test_a_relative_with_a_wrong_check_character_is_kept_with_a_masked_warning(
    out: Path,
) -> None:
    env = {"SENTINEL_REVIEW_PASSWORD": "a long password"}
    runner.invoke(app, ["users", "add", "zhao", "--role", "supervisor", "--out", str(out)], env=env)
    wrong, right = "430101195001010012", "430102193803030046"
    args = ["users", "recuse", "zhao", "--relative", wrong, "--relative", right]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "warning: relative 430101********0012: the check character does not match "
        "(kept; check the number against the register)"
    ]
    assert wrong not in result.output
    assert users_of(out).user("zhao").relatives == (wrong, right)  # type: ignore[union-attr]
