"""The floors of the product: each module imports only from its own floor or below.

0. core: the data contract, the configuration, pay periods, masking, the reason registry and its
   evidence sentences, engines,
   audit-result limits (``CORE``);
1. ``features/`` and ``models/``: pure polars functions and estimators;
2. the rest of ``sentinel/``: detection, case store, storage, ingest, validation,
   evaluation, the demo county;
3. ``flows/``: the Prefect flows that wire the steps;
4. the command line (``sentinel.cli``) and the review app (``sentinel.review``).

A product import inside a function would hide an edge from this check (and usually a
cycle): only the command line imports lazily, so that ``sentinel --help`` and each command
load only what they use. No module imports another package's private name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("sentinel", "features", "models", "flows")
CORE = frozenset(
    {
        "sentinel",
        "sentinel.contract",
        "sentinel.config",
        "sentinel.masking",
        "sentinel.periods",
        "sentinel.evidence",
        "sentinel.reasons",
        "sentinel.engines",
        "sentinel.audit_result",
    }
)
#: The command line's modules: each command imports what it runs when it runs.
LAZY_IMPORTS_ALLOWED = frozenset(
    {
        "sentinel.cli",
        *(
            f"sentinel.cli.{m}"
            for m in ("cases", "common", "evaluation", "monthly", "reports", "users")
        ),
    }
)


def floor(module: str) -> int:
    if module in CORE:
        return 0
    if module.startswith(("features", "models")):
        return 1
    if module.startswith("flows"):
        return 3
    if module == "sentinel.cli" or module.startswith(("sentinel.cli.", "sentinel.review")):
        return 4
    return 2


def modules() -> dict[str, ast.Module]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = ast.parse(path.read_text(encoding="utf-8"))
    return found


def product_imports(tree: ast.Module) -> list[tuple[ast.stmt, str, list[str], bool]]:
    """(node, imported module, imported names, inside a function) of every product import."""
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                if child.module.split(".")[0] in PACKAGES:
                    found.append((child, child.module, [a.name for a in child.names], in_function))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] in PACKAGES:
                        found.append((child, alias.name, [], in_function))
            visit(child, inside)

    visit(tree, False)
    return found


MODULES = modules()


def test_the_product_has_modules_on_every_floor() -> None:
    assert {floor(m) for m in MODULES} == {0, 1, 2, 3, 4}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_never_run_up_the_floors(module: str) -> None:
    upward = [
        f"line {node.lineno}: {target} (floor {floor(target)})"
        for node, target, _, _ in product_imports(MODULES[module])
        if floor(target) > floor(module)
    ]
    assert not upward, f"{module} (floor {floor(module)}) imports from above: {upward}"


@pytest.mark.parametrize("module", sorted(set(MODULES) - LAZY_IMPORTS_ALLOWED))
def test_no_product_import_hides_inside_a_function(module: str) -> None:
    hidden = [
        f"line {node.lineno}: {target}"
        for node, target, _, inside in product_imports(MODULES[module])
        if inside
    ]
    assert not hidden, f"{module} imports inside a function: {hidden}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_name_is_imported_from_another_package(module: str) -> None:
    package = module.rsplit(".", 1)[0] if module.count(".") else module
    private = [
        f"line {node.lineno}: {target}.{name}"
        for node, target, names, _ in product_imports(MODULES[module])
        for name in names
        if name.startswith("_") and not (target == package or target.startswith(package + "."))
    ]
    assert not private, f"{module} imports private names: {private}"


def test_the_check_sees_an_upward_import() -> None:
    tree = ast.parse("def f():\n    from flows.monthly import checked_drop\n")
    [(_, target, names, inside)] = product_imports(tree)
    assert (target, names, inside) == ("flows.monthly", ["checked_drop"], True)
    assert floor(target) > floor("features.cases")
