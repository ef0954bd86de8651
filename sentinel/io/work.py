"""A month's work files, ``OUT/.work/YYYY-MM/<fingerprint>/``: the checked drop a run keeps
(``flows.intake.work_folder``). Its raw copy goes once the month is committed
(``run.keep_raw_months``); everything an attempt at a month left goes when the month fails.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sentinel.io.store import processed_months

__all__ = ["RAW_COPY_GLOB", "discard_raw_copies", "work_cleared_on_failure"]


#: Raw text copies of a drop's files, under ``OUT/.work/YYYY-MM/<fingerprint>/``.
RAW_COPY_GLOB = "*.raw.parquet"


def discard_raw_copies(out: Path, keep_months: int) -> list[Path]:
    """Delete the raw copies of committed months but the last ``keep_months`` of them.

    A raw copy (``OUT/.work/YYYY-MM/<fingerprint>/<dataset>.raw.parquet``) is the whole
    drop as text, personal data and all; once its month is committed the inbox still
    holds the drop, and re-running the month reads it again. The checked rows next to it
    are kept (the quarantine and the curated history came from them). Returns what was
    deleted.
    """
    committed = processed_months(out)
    keep = set(committed[-keep_months:]) if keep_months > 0 else set()
    work = Path(out) / ".work"
    removed: list[Path] = []
    for month in committed:
        if month in keep or not (work / month).is_dir():
            continue
        for raw in sorted((work / month).glob(f"*/{RAW_COPY_GLOB}")):
            raw.unlink(missing_ok=True)
            removed.append(raw)
    return removed


@contextmanager
def work_cleared_on_failure(out: Path, month: str, *also: Path) -> Iterator[None]:
    """Run the block; if it fails, delete the work files its attempt at ``month`` left.

    A refused drop must not leave its copy behind: ``OUT/.work/YYYY-MM/<fingerprint>/``
    holds the drop as text and its checked rows, personal data and all, and no later
    month's commit would remove them. The folders the attempt created go, with any raw copy
    it left half-written; a folder that was there before (the checked drop of the month as
    committed earlier, which ``run.keep_raw_months`` may keep) stays, as does everything
    outside the month's work folder (the run lock, the curated history). ``also``: more
    folders of the month's work, deleted whole on failure.
    """
    work = Path(out) / ".work" / month
    before = set(work.iterdir()) if work.is_dir() else set()
    try:
        yield
    except BaseException:
        if work.is_dir():
            for entry in work.iterdir():
                if entry not in before:
                    shutil.rmtree(entry, ignore_errors=True)
            for unfinished in work.glob("*/.*.raw.*.parquet"):
                unfinished.unlink(missing_ok=True)
            if not any(work.iterdir()):
                work.rmdir()
        for folder in also:
            shutil.rmtree(folder, ignore_errors=True)
        raise
