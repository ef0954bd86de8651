"""The evidence text of a case as the review pages show it: its sentences, and the names
of other people withheld from a user who may not read them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sentinel.evidence import TEMPLATES

__all__ = ["evidence_sentences", "withhold_names"]


#: Facts of an evidence sentence that are names of *other* people (the shared account's
#: other receivers, the dead member of a ring): what a user outside their township may
#: not read.
_NAME_FACTS = ("others", "dead_name")
_NAME_SEPARATOR = "、"


def _name_fact_patterns() -> list[re.Pattern[str]]:
    """One pattern per evidence template (zh and en) holding a name fact; the name facts
    are named groups, the other facts match any text within one sentence."""
    patterns = []
    for template in TEMPLATES.values():
        for text in (template.zh, template.en):
            parts = re.split(r"(\{\w+\})", text)
            if not any(p.strip("{}") in _NAME_FACTS for p in parts if p.startswith("{")):
                continue
            regex = ""
            for part in parts:
                name = part[1:-1] if part.startswith("{") and part.endswith("}") else None
                if name in _NAME_FACTS:
                    regex += f"(?P<{name}>[^；;（）()]+?)"
                elif name is not None:
                    regex += "[^；;]*?"
                else:
                    regex += re.escape(part)
            patterns.append(re.compile(regex))
    return patterns


_NAME_PATTERNS = _name_fact_patterns()


def withhold_names(evidence: str | None, shown: Callable[[str], bool], marker: str) -> str:
    """The evidence text with the names of other people replaced by ``marker`` unless
    ``shown(name)``: the names listed in a shared-account, shared-collector or ring
    sentence (the only sentences naming anyone but the case's person)."""
    if not evidence:
        return evidence or ""
    text = evidence
    for pattern in _NAME_PATTERNS:
        pieces: list[str] = []
        at = 0
        for found in pattern.finditer(text):
            for group in _NAME_FACTS:
                if group not in pattern.groupindex or found.group(group) is None:
                    continue
                start, end = found.span(group)
                names = found.group(group).split(_NAME_SEPARATOR)
                pieces.append(text[at:start])
                pieces.append(_NAME_SEPARATOR.join(n if shown(n) else marker for n in names))
                at = end
        text = "".join(pieces) + text[at:]
    return text


def evidence_sentences(evidence: str | None) -> list[str]:
    """The evidence text of a case as its sentences (the case list joins them with '; ')."""
    if not evidence:
        return []
    return [s.strip() for s in evidence.split(";") if s.strip()]
