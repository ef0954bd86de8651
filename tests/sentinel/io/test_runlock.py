"""One run per output folder: the lock names its holder, waits, and takes over a dead one's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sentinel.io.runlock import LOCK_FILE, LockHolder, RunLocked, run_lock


def holder_in(out: Path) -> dict[str, object]:
    return json.loads((out / LOCK_FILE).read_text())


def test_the_lock_file_names_the_holder_while_held_and_is_cleared_after(tmp_path: Path) -> None:
    import os

    with run_lock(tmp_path, wait_seconds=0):
        held = holder_in(tmp_path)
        assert held["pid"] == os.getpid()
        assert held["started"] and held["host"]
    assert (tmp_path / LOCK_FILE).read_text() == ""


def test_a_second_run_waits_then_is_refused_naming_the_holder(tmp_path: Path) -> None:
    """The holder is another process: flock conflicts between open files, not only PIDs."""
    script = (
        "import sys, time\n"
        "from sentinel.io.runlock import run_lock\n"
        "with run_lock(sys.argv[1], wait_seconds=0):\n"
        "    print('held', flush=True)\n"
        "    sys.stdin.readline()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parents[3],
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        seen: list[LockHolder | None] = []
        with pytest.raises(RunLocked, match=rf"process {holder.pid} on .*, started .*waited 0 s"):
            with run_lock(tmp_path, wait_seconds=0, on_wait=seen.append):
                pass
        assert [h.pid if h else None for h in seen] == [holder.pid]
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=60)
    # Released by its holder: the next run gets it at once, with no stale takeover.
    stale: list[LockHolder] = []
    with run_lock(tmp_path, wait_seconds=0, on_stale=stale.append):
        pass
    assert stale == []


def test_a_lock_left_by_a_dead_process_is_taken_over_and_said_so(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    pid = int(dead.stdout)
    (tmp_path / LOCK_FILE).write_text(
        json.dumps({"pid": pid, "host": "county-server", "started": "2020-02-05T02:00:00+00:00"})
    )
    stale: list[LockHolder] = []
    with run_lock(tmp_path, wait_seconds=0, on_stale=stale.append):
        assert holder_in(tmp_path)["pid"] != pid
    assert stale == [LockHolder(pid, "county-server", "2020-02-05T02:00:00+00:00")]


def test_the_lock_is_reentrant_within_one_process(tmp_path: Path) -> None:
    with run_lock(tmp_path, wait_seconds=0):
        with run_lock(tmp_path, wait_seconds=0):
            pass
        # The inner block did not release the outer one's lock.
        assert holder_in(tmp_path)["pid"]
