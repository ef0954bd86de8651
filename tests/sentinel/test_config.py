"""Loading the site configuration: the defaults, a site file over them, and one clear line
for a file that cannot be used (``sentinel.config``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentinel.config import ConfigError, load_config


def test_a_site_file_overrides_only_what_it_names(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text("[detection]\naudit_capacity = 20\n", encoding="utf-8")
    default, local = load_config(), load_config(site)
    assert local.detection.audit_capacity == 20
    assert local.detection.max_list_share == default.detection.max_list_share


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[detection]\naudit_capacty = 20\n", "detection.audit_capacty: unknown key"),
        ("[detecton]\naudit_capacity = 20\n", "detecton: unknown key"),
        ("[detection]\naudit_capacity = -5\n", "detection.audit_capacity: Input should be"),
        ("[detection]\nexploration_share = 1.5\n", "detection.exploration_share: Input should"),
        ("[detection\n", "not a TOML file"),
    ],
)
def test_a_file_that_cannot_be_used_is_named_with_its_key_and_problem(
    tmp_path: Path, text: str, problem: str
) -> None:
    site = tmp_path / "site.toml"
    site.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(site)
    message = str(refused.value)
    assert message.startswith(f"{site}: ") and problem in message
    assert "\n" not in message


@pytest.mark.parametrize("name", ["missing.toml", "."])
def test_a_file_that_cannot_be_read_is_named(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(tmp_path / name)
