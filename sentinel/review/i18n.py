"""The review app's texts in Chinese and English (``review.language``), kept as data in
``texts.toml`` next to this module.

Values of the data (typologies, states, outcomes, certification methods, death record
sources, link fields) are shown with these labels; an unknown value is shown as it is.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Literal

__all__ = ["Language", "problem_text", "translator"]

Language = Literal["zh", "en"]


def _catalogue(table: str) -> dict[str, tuple[str, str]]:
    """One table of ``texts.toml`` (``texts`` or ``values``) as key: (zh, en)."""
    entries = tomllib.loads((Path(__file__).parent / "texts.toml").read_text(encoding="utf-8"))
    return {key: (entry["zh"], entry["en"]) for key, entry in entries[table].items()}


_TEXTS = _catalogue("texts")
_VALUES = _catalogue("values")


def translator(language: Language) -> tuple[Callable[..., str], Callable[[object], str]]:
    """``(text, label)`` for ``language``: ``text(key, **values)`` is a UI text (the key
    itself when unknown) with ``{name}`` fields filled in; ``label(value)`` the label of a
    data value (the value itself when unknown, '' for None)."""
    index = 0 if language == "zh" else 1

    def text(key: str, **values: object) -> str:
        found = _TEXTS.get(key)
        template = found[index] if found else key
        return template.format(**values) if values else template

    def label(value: object) -> str:
        if value is None:
            return ""
        found = _VALUES.get(str(value))
        return found[index] if found else str(value)

    return text, label


# The case store's and the outcome import's problem texts (sentinel/casestore/policy.py
# _closure_problems, sentinel/outcomes.py), in Chinese. Unknown texts stay in English.
_PROBLEMS_ZH: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"^(.*?) ?is not one of .*$"),
        r"\1不是有效的核查结果（确认死亡 / 确认违规 / 排除 / 无法核实）",
    ),
    (re.compile(r"^is empty$"), "未填写"),
    (re.compile(r"^(.*) is not a date$"), r"\1 不是日期"),
    (re.compile(r"^(\S+) is in the future$"), r"\1 晚于今天"),
    (
        re.compile(r"^(\S+) is before the case was first listed \((.*)\)$"),
        r"\1 早于案件首次列出的月份（\2）",
    ),
    (re.compile(r"^(\S+) is after closed_on$"), r"\1 晚于结案日期"),
    (re.compile(r"^given but the outcome is cleared$"), "核查结果为“排除”时不应填写死亡日期"),
    (
        re.compile(r"^given but the outcome is unreachable$"),
        "核查结果为“无法核实”时不应填写死亡日期",
    ),
    (re.compile(r"^(\S+) is negative$"), r"\1 为负数"),
    (re.compile(r"^(\S+) is more than overpaid_amount (\S+)$"), r"\1 超过多发金额 \2"),
    (re.compile(r"^(\S+) but the outcome is cleared$"), r"\1：核查结果为“排除”的案件没有多发金额"),
    (re.compile(r"^cannot read (.*) as a date.*$"), r"无法把 \1 识别为日期（年-月-日）"),
    (re.compile(r"^cannot read (.*) as an amount$"), r"无法把 \1 识别为金额"),
    (re.compile(r"^cannot be read as a date$"), "无法识别为日期（年-月-日）"),
    (re.compile(r"^cannot be read as an amount$"), "无法识别为金额"),
    (re.compile(r"^(.*) is not an amount$"), r"\1 不是金额"),
    (
        re.compile(r"^(\S+) is not below (\S+) yuan .*$"),
        r"\1 不小于上限 \2 元（cases.max_outcome_amount）",
    ),
    (re.compile(r"^(\S+) is before the person's birth \((.*)\)$"), r"\1 早于本人出生日期（\2）"),
    (re.compile(r"^(\S+) is more than (\d+) years ago .*$"), r"\1 早于 \2 年前，不合常理"),
    (re.compile(r"^holds a formula.*$"), "单元格含公式，不予接受，请直接填写数值"),
    # Why a result waits for sign-off (sentinel.audit_result.SignOff.reason).
    (re.compile(r"^confirms more than (\S+) yuan overpaid$"), r"确认多发金额超过 \1 元，须复核"),
    (re.compile(r"^clears a case with proof \((.*)\)$"), r"排除一个有确凿证据（\1）的案件，须复核"),
    (re.compile(r"^is the person who recorded the result.*$"), "与经办人为同一人；须由另一人复核"),
    (re.compile(r"^proposed this result.*$"), "本结果由您登记；须由另一人复核"),
    (re.compile(r"^has no result waiting for sign-off$"), "没有待复核的结果"),
)


def problem_text(problem: str, language: Language) -> str:
    """A validation problem of an outcome in the UI language (English as written in the
    case store when no translation is known)."""
    if language != "zh":
        return problem
    for pattern, replacement in _PROBLEMS_ZH:
        if pattern.match(problem):
            return pattern.sub(replacement, problem)
    return problem
