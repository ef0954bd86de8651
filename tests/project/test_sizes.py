"""Rooms of one purpose: no product module over 500 lines, no function over 80.

A module that grows past the limit holds two subjects, a function past it several steps:
split by purpose (a new module, a named helper), not by line count. The generated demo
county (``sentinel/demo/_county.py``, one long simulation written as a script of the year)
is the one exception.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("sentinel", "features", "models", "flows")
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
EXEMPT = frozenset({Path("sentinel/demo/_county.py")})

MODULES = sorted(
    path.relative_to(ROOT)
    for package in PACKAGES
    for path in (ROOT / package).rglob("*.py")
    if path.relative_to(ROOT) not in EXEMPT
)


def test_the_packages_hold_modules() -> None:
    assert len(MODULES) > 50


@pytest.mark.parametrize("module", MODULES, ids=str)
def test_a_module_is_short_and_its_functions_shorter(module: Path) -> None:
    text = (ROOT / module).read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_MODULE_LINES, f"{module}: split it by purpose"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, f"{module}: {', '.join(long)}"
