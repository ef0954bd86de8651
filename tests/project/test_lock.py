"""The dependency lock CI installs from: complete, hashed, and above the advisories' floors."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PINNED = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([^ ;\\]+)")


def locked() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        found = PINNED.match(line)
        if found:
            name = canonicalize_name(found.group(1).split("[")[0])
            pins[name] = Version(found.group(2))
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [
        Requirement(r)
        for r in [*project["dependencies"], *project["optional-dependencies"]["test"]]
    ]


def test_every_declared_dependency_is_locked_within_its_bounds() -> None:
    pins = locked()
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is in pyproject.toml but not in requirements.lock (make lock)"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{name} {pins[name]} does not satisfy {requirement} (make lock)"
        )


@pytest.mark.parametrize(
    ("package", "floor"),
    [
        ("python-multipart", "0.0.18"),  # CVE-2024-53981
        ("starlette", "0.40"),  # CVE-2024-47874
        ("fastapi", "0.115.3"),  # the first on starlette 0.40
    ],
)
def test_web_dependencies_are_above_their_advisories(package: str, floor: str) -> None:
    assert locked()[package] >= Version(floor)
    bounds = {canonicalize_name(r.name): r.specifier for r in declared()}
    # The floor is declared too, so that no later resolution can go below it.
    lower = [Version(s.version) for s in bounds[package] if s.operator == ">="]
    assert lower and all(v >= Version(floor) for v in lower)


def test_every_locked_package_carries_hashes() -> None:
    text = (ROOT / "requirements.lock").read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text)
    pinned = [b for b in blocks if PINNED.match(b)]
    assert pinned and all("--hash=sha256:" in b for b in pinned)
