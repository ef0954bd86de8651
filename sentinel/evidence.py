"""Evidence sentences: one per reason code, in Chinese or English.

A rule family emits a reason code and its ``facts`` (text values, in the order of the
template's fields, :mod:`sentinel.reasons`); :func:`render_evidence` fills the template in
the configured language.
Templates are written for the field auditor who has to act on them: what was seen, in which
records, and how much money.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import polars as pl

from sentinel.reasons import REASONS

Language = Literal["zh", "en"]

#: The templates of the notes on a carried case certified since it was listed: in person,
#: or by another method.
CERTIFIED_SINCE_NOTE = "CERTIFIED_SINCE"
CERTIFIED_REMOTELY_NOTE = "CERTIFIED_REMOTELY"
#: The note on a carried case of pension paid in pre-trial detention once an acquittal
#: ended the detention (the pension is paid back: nothing improper remains).
ACQUITTED_NOTE = "ACQUITTED"
#: The note on a carried case whose payments stopped with nothing against the person but
#: not being seen alive (:func:`features.audit_order.awaiting_certification`).
AWAITING_CERTIFICATION_NOTE = "AWAITING_CERTIFICATION"


@dataclass(frozen=True)
class Template:
    """A reason's sentence: ``fields`` name the facts in order; ``{field}`` placeholders."""

    fields: tuple[str, ...]
    zh: str
    en: str


#: The sentence of every reason code (from the registry, :data:`sentinel.reasons.REASONS`)
#: and of the notes on carried cases.
TEMPLATES: dict[str, Template] = {
    **{code: Template(r.fields, r.zh, r.en) for code, r in REASONS.items()},
    # Not reasons: the notes a carried case gets when the person passed a certification
    # after the case was listed (sentinel/listing.py). In person, a staff member saw them.
    CERTIFIED_SINCE_NOTE: Template(
        ("pass_date", "method"),
        "列入清单后已于{pass_date}{method}认证通过，工作人员见到本人，怀疑的依据已不成立，可核销本案",
        "since listed, an in-person certification ({method}) passed on {pass_date}: staff saw the person, what raised the case no longer holds; it can be cleared",
    ),
    ACQUITTED_NOTE: Template(
        ("acquitted_on",),
        "{acquitted_on}宣告无罪，羁押期间的待遇应予补发，怀疑的依据已不成立，可核销本案",
        "acquitted on {acquitted_on}: the pension of the detention is due after all, what raised the case no longer holds; it can be cleared",
    ),
    AWAITING_CERTIFICATION_NOTE: Template(
        ("last_paid",),
        "{last_paid}之后已停发，怀疑的依据只是未见本人认证，由资格认证程序处理（本人认证即恢复发放），无需走访，期间多发的待遇仍待核实",
        "payments stopped after {last_paid}: nothing is against the person but not being seen alive, which the certification procedure answers (a pass restores the pension); no visit needed, what was paid meanwhile is still to be settled",
    ),
    CERTIFIED_REMOTELY_NOTE: Template(
        ("pass_date", "method"),
        "列入清单后于{pass_date}有{method}认证通过（非现场，不能排除他人代为认证）",
        "since listed, a {method} certification passed on {pass_date} (not in person: somebody else may have passed it)",
    ),
}

_SOURCE_ZH = {
    "police": "公安",
    "civil_affairs": "民政",
    "health": "卫健",
    "ministry": "部省比对",
    "prison": "监狱",
    "detention_centre": "看守所",
    "court": "法院",
    "province": "省厅",
    "audit_office": "审计机关",
}
_CUSTODY_ZH = {
    "probation": "缓刑",
    "parole": "假释",
    "supervised_release": "管制",
    "imprisonment": "服刑",
    "pretrial_detention": "羁押",
}
_SCHEME_ZH = {"enterprise": "企业职工", "institution": "机关事业", "resident": "城乡居民"}
_STATUS_ZH = {"suspended": "暂停", "terminated": "终止", "active": "正常"}
_CERT_METHOD_ZH = {
    "face_app": "人脸识别",
    "on_site": "现场",
    "home_visit": "上门",
    "data_match": "数据比对",
    "register": "系统记录",
}
#: How a death record was linked (features.linkage.LinkMethod), and the kinds of records
#: the centre's own matching does or does not find (features.deaths.RECORD_KINDS).
_METHOD_ZH = {
    "exact_id": "身份证号一致",
    "id_typo": "身份证号误录+姓名出生日期",
    "demographic": "姓名+出生日期",
    "name_only": "仅姓名",
    "inexact_id": "身份证号有误或缺失",
}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _translate(language: Language) -> dict[str, str]:
    if language == "en":
        return {}
    return {
        **_SOURCE_ZH,
        **_SCHEME_ZH,
        **_STATUS_ZH,
        **_METHOD_ZH,
        **_CERT_METHOD_ZH,
        **_CUSTODY_ZH,
    }


def reason_sentence(
    reason: pl.Expr,
    facts: pl.Expr,
    language: Language,
    templates: Mapping[str, Template] | None = None,
) -> pl.Expr:
    """One sentence for a reason code and its facts (an unknown code shows the code itself);
    ``templates``: another set than :data:`TEMPLATES` (the screen's hold reasons)."""
    vocabulary = _translate(language)
    out = reason
    for code, template in reversed(list((TEMPLATES if templates is None else templates).items())):
        text = getattr(template, language)
        order = _PLACEHOLDER.findall(text)
        args = []
        for name in order:
            value = facts.list.get(template.fields.index(name), null_on_oob=True).fill_null("-")
            if vocabulary:
                value = value.replace(vocabulary)
            args.append(value)
        sentence = pl.format(_PLACEHOLDER.sub("{}", text), *args) if args else pl.lit(text)
        out = pl.when(reason == code).then(sentence).otherwise(out)
    return out


def render_evidence(
    frame: pl.LazyFrame, language: Language, templates: Mapping[str, Template] | None = None
) -> pl.LazyFrame:
    """Add ``evidence``: the sentences of ``reasons`` (list) with ``reason_facts`` (list of
    lists), in order, joined by ``；`` (zh) or ``; `` (en)."""
    separator = "；" if language == "zh" else "; "
    exploded = (
        frame.select("person_id", "reasons", "reason_facts")
        .with_columns(pl.int_range(pl.len()).alias("_i"))
        .explode(["reasons", "reason_facts"])
        .with_columns(
            reason_sentence(pl.col("reasons"), pl.col("reason_facts"), language, templates).alias(
                "_sentence"
            )
        )
        .group_by("_i", maintain_order=True)
        .agg(pl.col("person_id").first(), pl.col("_sentence").str.join(separator).alias("evidence"))
        .drop("_i")
    )
    return frame.join(exploded, on="person_id", how="left")
