"""The reason registry: every code complete, its weight a configuration key, its sentence
the same facts in both languages."""

from __future__ import annotations

import re

import pytest

from sentinel.config import DetectionConfig
from sentinel.contract import TYPOLOGIES
from sentinel.evidence import TEMPLATES
from sentinel.reasons import REASONS


@pytest.mark.parametrize("code", sorted(REASONS))
def test_each_reason_is_complete(code: str) -> None:
    reason = REASONS[code]
    assert reason.code == code
    assert code.startswith({"deceased_paid": "DP_", "suspected_unreported_death": "SD_", "duplicate_receipt": "DR_",
                            "shared_account": "SA_", "amount_anomaly": "AA_", "identity_anomaly": "IA_",
                            "custody_paid": "CP_", "upstream_suspect": "US_"}[reason.typology])
    assert reason.weight in DetectionConfig.model_fields, f"{code}: {reason.weight} is no detection setting"
    for text in (reason.zh, reason.en):
        named = re.findall(r"\{(\w+)\}", text)
        assert set(named) == set(reason.fields), f"{code}: {text!r} against {reason.fields}"
    assert TEMPLATES[code].zh == reason.zh


def test_every_typology_has_reasons() -> None:
    assert {r.typology for r in REASONS.values()} == set(TYPOLOGIES)
