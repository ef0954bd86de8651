"""One run per output folder at a time: ``OUT/.run.lock``.

Two runs on one OUT (a scheduled run meeting a manual re-run) would clear each other's
staging folders and interleave their writes to the curated history. The lock file names
its holder (process id, host, start time); the lock itself is the operating system's
advisory lock on that file (``flock``), so it is released the moment its holder dies,
however it dies. A file still naming a holder when the lock is free is a stale lock: its
holder was killed before it could clear the file; it is taken over and said so.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["LOCK_FILE", "LockHolder", "RunLocked", "run_lock"]

LOCK_FILE = ".run.lock"
# How often a waiting run looks again (seconds): short next to a month's run.
_POLL_SECONDS = 0.25
# Locks this process holds, by lock file: a flow called inside a locked CLI run re-enters.
_held: dict[Path, int] = {}


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or held) a run lock, as written in the lock file."""

    pid: int
    host: str
    started: str

    def describe(self) -> str:
        return f"process {self.pid} on {self.host}, started {self.started}"


class RunLocked(Exception):
    """Another run holds the output folder's lock and did not let go in time."""

    def __init__(self, out: Path, holder: LockHolder | None, waited: float) -> None:
        self.out = Path(out)
        self.holder = holder
        who = holder.describe() if holder is not None else "another process"
        super().__init__(
            f"{self.out}: another run is using this output folder ({who}); "
            f"waited {waited:g} s, try again when it has finished"
        )


def _read_holder(fd: int) -> LockHolder | None:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 4096).decode("utf-8", errors="replace").strip()
    if not text:
        return None
    try:
        data = json.loads(text)
        return LockHolder(int(data["pid"]), str(data["host"]), str(data["started"]))
    except (ValueError, KeyError, TypeError):
        return LockHolder(-1, "unknown host", "at an unknown time")


def _write_holder(fd: int, holder: LockHolder | None) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    if holder is not None:
        os.write(fd, (json.dumps(holder.__dict__) + "\n").encode("utf-8"))
    os.fsync(fd)


@contextmanager
def run_lock(
    out: Path,
    *,
    wait_seconds: float,
    on_wait: Callable[[LockHolder | None], None] | None = None,
    on_stale: Callable[[LockHolder], None] | None = None,
) -> Iterator[None]:
    """Hold ``OUT/.run.lock`` for the block; another run waits up to ``wait_seconds``.

    Raises :class:`RunLocked` (naming the holder) when the lock is still held after that.
    ``on_wait`` is called once when the lock is busy (with its holder), ``on_stale`` when a
    lock left by a dead run is taken over. Re-entrant within one process.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = (out / LOCK_FILE).resolve()
    if path in _held:
        _held[path] += 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait_seconds
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _read_holder(fd)
                if not told and on_wait is not None:
                    on_wait(holder)
                    told = True
                if time.monotonic() >= deadline:
                    raise RunLocked(out, holder, wait_seconds) from None
                time.sleep(_POLL_SECONDS)
        previous = _read_holder(fd)
        if previous is not None and on_stale is not None:
            on_stale(previous)
        me = LockHolder(
            pid=os.getpid(),
            host=socket.gethostname(),
            started=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        _write_holder(fd, me)
        _held[path] = 1
        try:
            yield
        finally:
            del _held[path]
            _write_holder(fd, None)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
