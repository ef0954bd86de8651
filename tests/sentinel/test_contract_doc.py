"""Guards docs/data-contract.md against drifting from sentinel/contract.py."""

from pathlib import Path

import pytest

from sentinel.contract import CASE_COLUMNS, DATASETS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "data-contract.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_every_contract_column_and_alias_is_documented(dataset: str) -> None:
    section = DOC.split(f"## {dataset}.*", 1)[1].split("\n## ", 1)[0]
    for column in DATASETS[dataset].columns:
        assert f"| {column.name} |" in section, column.name
        assert column.aliases[0] in section, (column.name, column.aliases[0])
        if column.values:
            for chinese in (v for v in column.values if not v.isascii()):
                if chinese in ("企业", "机关事业单位"):
                    continue  # accepted spellings, the doc lists the official ones
                assert chinese in section, (column.name, chinese)


def test_case_list_columns_are_documented() -> None:
    section = DOC.split("## Case list", 1)[1]
    for column in CASE_COLUMNS:
        assert column in section
