"""The unattended monthly audit: its schedule, prefect.yaml, and a real Prefect server.

The fast tests check the schedule and the deployment file with Prefect's own code; the
integration tests start ``prefect server start`` on a free local port, deploy with
``prefect deploy --all`` and with ``sentinel serve``, and run one scheduled audit through
the API.
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest

from flows.deployment import (
    DEPLOYMENT_NAME,
    deployment_parameters,
    monthly_schedule,
)
from flows.monthly import previous_month, scheduled_audit

REPO = Path(__file__).resolve().parents[2]
DEPLOYMENT = f"scheduled-audit/{DEPLOYMENT_NAME}"
SERVER_START_TIMEOUT = 180  # the first start in a fresh PREFECT_HOME migrates the database
RUN_TIMEOUT = 150


# --- the schedule and the deployment file -----------------------------------------------


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2024, 3, 5), "2024-02"),
        (date(2024, 1, 5), "2023-12"),
        (date(2024, 3, 1), "2024-02"),
        (date(2024, 12, 31), "2024-11"),
    ],
)
def test_previous_month(today: date, expected: str) -> None:
    assert previous_month(today) == expected


def test_monthly_schedule_fires_at_two_on_the_fifth_beijing_time() -> None:
    from prefect.server.schemas.schedules import CronSchedule

    schedule = monthly_schedule()
    assert (schedule.cron, schedule.timezone) == ("0 2 5 * *", "Asia/Shanghai")
    # The same date arithmetic the Prefect scheduler uses.
    server_schedule = CronSchedule(cron=schedule.cron, timezone=schedule.timezone)
    start = datetime(2024, 1, 31, tzinfo=ZoneInfo("UTC"))
    dates = asyncio.run(server_schedule.get_dates(n=3, start=start))
    shanghai = [d.astimezone(ZoneInfo("Asia/Shanghai")) for d in dates]
    assert [(d.month, d.day, d.hour, d.minute) for d in shanghai] == [
        (2, 5, 2, 0),
        (3, 5, 2, 0),
        (4, 5, 2, 0),
    ]
    # The timezone is honoured: 02:00 in Beijing is 18:00 UTC on the 4th.
    first_utc = dates[0].astimezone(ZoneInfo("UTC"))
    assert (first_utc.day, first_utc.hour) == (4, 18)


def test_prefect_yaml_matches_the_served_schedule() -> None:
    """Guards against the two ways of deploying drifting apart (prefect.yaml vs serve)."""
    from prefect.cli.deploy._config import _load_deploy_configs_and_actions
    from prefect.cli.deploy._schedules import _schedule_config_to_deployment_schedule
    from prefect.flows import load_flow_from_entrypoint
    from rich.console import Console

    console = Console(file=io.StringIO())
    configs, _ = _load_deploy_configs_and_actions(REPO / "prefect.yaml", console=console)
    [config] = configs
    assert config["name"] == DEPLOYMENT_NAME
    assert config["work_pool"]["name"] == "sentinel-pool"
    [schedule] = [
        _schedule_config_to_deployment_schedule(s)["schedule"] for s in config["schedules"]
    ]
    expected = monthly_schedule()
    assert (schedule.cron, schedule.timezone) == (expected.cron, expected.timezone)

    # Entrypoints are relative to the folder `prefect deploy` runs in: the repository root.
    flow = load_flow_from_entrypoint(str(REPO / config["entrypoint"]))
    assert flow.name == scheduled_audit.name
    assert set(config["parameters"]) == {"inbox", "out"}
    assert set(config["parameters"]) <= set(flow.parameters.properties)


def test_deployment_parameters_leave_unset_paths_out() -> None:
    assert deployment_parameters(Path("/data/inbox"), Path("/data/out")) == {
        "inbox": "/data/inbox",
        "out": "/data/out",
    }
    assert deployment_parameters(
        Path("in"), Path("out"), store=Path("s"), config_file=Path("c.toml")
    ) == {"inbox": "in", "out": "out", "store": "s", "config_file": "c.toml"}


def test_scheduled_audit_defaults_to_last_month_in_beijing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        "flows.monthly.catch_up",
        lambda inbox, out, month, store=None, config_file=None: (
            calls.append((inbox, out, month, store, config_file)) or []
        ),
    )
    scheduled_audit.fn(Path("in"), Path("out"))
    scheduled_audit.fn(Path("in"), Path("out"), store=Path("s"), month="2020-03")
    last_month = previous_month(datetime.now(ZoneInfo("Asia/Shanghai")).date())
    assert calls == [
        (Path("in"), Path("out"), last_month, None, None),
        (Path("in"), Path("out"), "2020-03", Path("s"), None),
    ]


@pytest.mark.usefixtures("prefect_harness")
def test_serve_command_needs_a_prefect_api(monkeypatch: pytest.MonkeyPatch) -> None:
    """No PREFECT_API_URL: refused. One that answers (the tests' own server): served."""
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from typer.testing import CliRunner

    from sentinel.cli import app

    served: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        "flows.deployment.serve_monthly",
        lambda inbox, out, store=None, config_file=None: served.append(
            (inbox, out, store, config_file)
        ),
    )
    args = ["serve", "--inbox", "in", "--out", "out"]
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "PREFECT_API_URL" in result.output
    assert served == []

    assert PREFECT_API_URL.value()
    result = CliRunner().invoke(app, [*args, "--store", "s"])
    assert result.exit_code == 0, result.output
    assert served == [(Path("in"), Path("out"), Path("s"), None)]


# --- a real Prefect server --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prefect_env(home: Path, api_url: str | None = None) -> dict[str, str]:
    """This machine's environment without its Prefect settings, pointed at ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_LOGGING_LEVEL="WARNING",
        PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL="WARNING",
        PREFECT_CLI_PROMPT="false",
        PREFECT_RUNNER_POLL_FREQUENCY="2",
    )
    if api_url is not None:
        env["PREFECT_API_URL"] = api_url
    return env


def start_process(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``args`` in its own process group (so teardown reaches its children too)."""
    with log.open("wb") as out:
        return subprocess.Popen(
            args,
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group; SIGKILL whatever of it is left after 20 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # children (uvicorn, flow runs) may linger
    except ProcessLookupError:
        pass
    process.wait(timeout=10)


def wait_for(check: Callable[[], Any], timeout: float, what: str, log: Path) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (result := check()) is not None:
            return result
        time.sleep(0.5)
    raise AssertionError(f"{what} not ready after {timeout:.0f} s; log:\n{log.read_text()[-4000:]}")


class PrefectServer:
    def __init__(self, home: Path, api_url: str, log: Path) -> None:
        self.home, self.api_url, self.log = home, api_url, log

    def env(self) -> dict[str, str]:
        return prefect_env(self.home, self.api_url)

    def settings(self):  # type: ignore[no-untyped-def]
        """In-process client settings pointing at this server."""
        from prefect.settings import PREFECT_API_URL, temporary_settings

        return temporary_settings(updates={PREFECT_API_URL: self.api_url})


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """``prefect server start`` on a free local port with its own PREFECT_HOME."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    log = home / "server.log"
    process = start_process(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        prefect_env(home),
        log,
    )

    def healthy() -> bool | None:
        if process.poll() is not None:
            raise AssertionError(
                f"prefect server exited ({process.returncode}):\n{log.read_text()[-4000:]}"
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                return True if r.status == 200 else None
        except OSError:
            return None

    try:
        wait_for(healthy, SERVER_START_TIMEOUT, "prefect server", log)
        yield PrefectServer(home, f"http://127.0.0.1:{port}/api", log)
    finally:
        stop_process(process)


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args,
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def read_deployment(server: PrefectServer):  # type: ignore[no-untyped-def]
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    with server.settings(), get_client(sync_client=True) as client:
        try:
            return client.read_deployment_by_name(DEPLOYMENT)
        except ObjectNotFound:
            return None


def assert_monthly_schedule(deployment) -> None:  # type: ignore[no-untyped-def]
    [deployment_schedule] = deployment.schedules
    assert deployment_schedule.active
    assert deployment_schedule.schedule.cron == "0 2 5 * *"
    assert deployment_schedule.schedule.timezone == "Asia/Shanghai"


@pytest.mark.integration
def test_prefect_deploy_all_accepts_prefect_yaml(prefect_server: PrefectServer) -> None:
    from prefect import get_client

    env = prefect_server.env()
    run_cli(
        [
            sys.executable,
            "-m",
            "prefect",
            "work-pool",
            "create",
            "sentinel-pool",
            "--type",
            "process",
        ],
        env,
    )
    run_cli([sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"], env)

    deployment = read_deployment(prefect_server)
    try:
        assert deployment is not None
        assert_monthly_schedule(deployment)
        assert deployment.work_pool_name == "sentinel-pool"
        assert deployment.entrypoint == "flows/monthly.py:scheduled_audit"
        assert deployment.parameters == {"inbox": "/data/inbox", "out": "/data/out"}
        # No pull step in the file: prefect records the checkout the deploy ran from.
        assert deployment.pull_steps == [
            {"prefect.deployments.steps.set_working_directory": {"directory": str(REPO)}}
        ]
    finally:
        # The serve test below registers the same deployment name on this server.
        if deployment is not None:
            with prefect_server.settings(), get_client(sync_client=True) as client:
                client.delete_deployment(deployment.id)


def descendant_run_ids(client, root: UUID) -> set[UUID]:  # type: ignore[no-untyped-def]
    """Ids of every subflow run below ``root`` (catch-up, then each month's audit)."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    found: set[UUID] = set()
    frontier = [root]
    while frontier:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=frontier)
            )
        )
        frontier = [run.id for run in runs if run.id not in found]
        found.update(frontier)
    return found


@pytest.mark.integration
def test_served_deployment_runs_the_audit_and_publishes_artifacts(
    prefect_server: PrefectServer, tmp_path: Path
) -> None:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.deployments import run_deployment

    from sentinel.demo import generate_county

    generate_county(tmp_path / "county", seed=5, scale=0.01, months=3)
    inbox, out = tmp_path / "county" / "inbox", tmp_path / "county" / "out"
    log = tmp_path / "serve.log"
    serve = start_process(
        [sys.executable, "-m", "sentinel.cli", "serve", "--inbox", str(inbox), "--out", str(out)],
        prefect_server.env(),
        log,
    )
    try:

        def served():  # type: ignore[no-untyped-def]
            if serve.poll() is not None:
                raise AssertionError(
                    f"sentinel serve exited ({serve.returncode}):\n{log.read_text()[-4000:]}"
                )
            return read_deployment(prefect_server)

        deployment = wait_for(served, 90, "served deployment", log)
        assert_monthly_schedule(deployment)
        assert deployment.parameters == {"inbox": str(inbox), "out": str(out)}

        with prefect_server.settings():
            flow_run = run_deployment(
                DEPLOYMENT,
                parameters={"month": "2020-03"},
                timeout=RUN_TIMEOUT,
                poll_interval=1,
                as_subflow=False,
            )
        assert flow_run.state is not None
        assert flow_run.state.is_completed(), (
            f"{flow_run.state!r}; serve log:\n{log.read_text()[-4000:]}"
        )
        assert sorted(p.name for p in out.iterdir() if (p / "manifest.json").exists()) == [
            "2020-01",
            "2020-02",
            "2020-03",
        ]

        keys = ["monthly-audit-2020-03", "top-cases-2020-03"]
        with prefect_server.settings(), get_client(sync_client=True) as client:
            runs = descendant_run_ids(client, flow_run.id)
            artifacts = client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys))
            )
        assert sorted((a.key, a.type) for a in artifacts) == [
            ("monthly-audit-2020-03", "markdown"),
            ("top-cases-2020-03", "table"),
        ]
        assert all(a.flow_run_id in runs for a in artifacts)
    finally:
        stop_process(serve)
