"""The machine a benchmark ran on, as its reports name it: the CPU model and the commit;
and the internal ``child`` command through which a benchmark runs each method in a process
of its own."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo``, else what :mod:`platform` says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def add_child_command(commands: argparse._SubParsersAction, methods: tuple[str, ...]) -> None:
    """``child METHOD DATA OUT``: run one method on the data in ``DATA``, results to ``OUT``."""
    child = commands.add_parser("child", help="internal: run one method")
    child.add_argument("method", choices=methods)
    child.add_argument("data", type=Path)
    child.add_argument("out", type=Path)


def host_line() -> str:
    """The CPU, its cores, the load now and the commit, in one line for a report's header."""
    return (
        f"{cpu_model()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
        f"commit {git_commit()}"
    )


def git_commit() -> str:
    """The commit checked out in the repository, short."""
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
