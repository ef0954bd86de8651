"""The reason registry: every code complete, its weight a configuration key, its sentence
the same facts in both languages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sentinel.config import DetectionConfig
from sentinel.contract import TYPOLOGIES
from sentinel.evidence import TEMPLATES
from sentinel.reasons import REASONS, Reason, load_reasons


@pytest.mark.parametrize("code", sorted(REASONS))
def test_each_reason_is_complete(code: str) -> None:
    reason = REASONS[code]
    assert reason.code == code
    assert code.startswith(
        {
            "deceased_paid": "DP_",
            "suspected_unreported_death": "SD_",
            "duplicate_receipt": "DR_",
            "shared_account": "SA_",
            "amount_anomaly": "AA_",
            "identity_anomaly": "IA_",
            "custody_paid": "CP_",
            "upstream_suspect": "US_",
        }[reason.typology]
    )
    assert reason.weight in DetectionConfig.model_fields, (
        f"{code}: {reason.weight} is no detection setting"
    )
    for text in (reason.zh, reason.en):
        named = re.findall(r"\{(\w+)\}", text)
        assert set(named) == set(reason.fields), f"{code}: {text!r} against {reason.fields}"
    assert TEMPLATES[code].zh == reason.zh


def test_every_typology_has_reasons() -> None:
    assert {r.typology for r in REASONS.values()} == set(TYPOLOGIES)


ENTRY = {
    "typology": "deceased_paid",
    "role": "proof",
    "weight": "deceased_paid_probability",
    "fields": ["months"],
    "zh": "{months}个月",
    "en": "{months} months",
}


def _registry(tmp_path: Path, entry: dict[str, object]) -> Path:
    lines = [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in entry.items()]
    path = tmp_path / "reasons.toml"
    path.write_text("\n".join(["[DP_TEST]", *lines]), encoding="utf-8")
    return path


def test_a_registry_entry_loads_with_its_flags_false_unless_set(tmp_path: Path) -> None:
    assert load_reasons(_registry(tmp_path, ENTRY)) == {
        "DP_TEST": Reason(
            "DP_TEST",
            "deceased_paid",
            "proof",
            "deceased_paid_probability",
            ("months",),
            "{months}个月",
            "{months} months",
        )
    }


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"role": "hint"}, "role 'hint' is none of"),
        ({"colour": "red"}, "unexpected keyword argument 'colour'"),
        ({"zh": None}, "'zh'"),
        ({"observed": "yes"}, "must be true or false"),
        ({"fields": ["months", 3]}, "must be text"),
    ],
)
def test_a_registry_entry_missing_unknown_or_mistyped_is_refused(
    tmp_path: Path, change: dict[str, object], problem: str
) -> None:
    entry = {k: v for k, v in {**ENTRY, **change}.items() if v is not None}
    with pytest.raises(ValueError, match=re.escape("reason DP_TEST: ") + ".*" + re.escape(problem)):
        load_reasons(_registry(tmp_path, entry))
