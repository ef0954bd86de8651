"""The README's test command collects every test module.

pytest skips folders named like build output (``build``, ``dist``, ``venv``, ...) by
default, so a test folder so named passes silently by never running; this suite's project
tests once did. Collecting the whole suite as ``make test`` does must reach every
``test_*.py`` below ``tests/``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"


def test_the_whole_suite_collects_every_test_module() -> None:
    listing = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", ""],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert listing.returncode == 0, listing.stdout[-2000:] + listing.stderr[-2000:]
    collected = {line.split("::", 1)[0] for line in listing.stdout.splitlines() if "::" in line}
    modules = {path.relative_to(ROOT).as_posix() for path in TESTS.rglob("test_*.py")}
    missing = sorted(modules - collected)
    assert not missing, f"never collected: {', '.join(missing)}"
    assert "tests/project/test_collection.py" in collected
