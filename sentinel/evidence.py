"""Evidence sentences: one per reason code, in Chinese or English.

A rule family emits a reason code and its ``facts`` (text values, in the order of the
template's fields); :func:`render_evidence` fills the template in the configured language.
Templates are written for the field auditor who has to act on them: what was seen, in which
records, and how much money.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import polars as pl

Language = Literal["zh", "en"]

#: The templates of the notes on a carried case certified since it was listed: in person,
#: or by another method.
CERTIFIED_SINCE_NOTE = "CERTIFIED_SINCE"
CERTIFIED_REMOTELY_NOTE = "CERTIFIED_REMOTELY"


@dataclass(frozen=True)
class Template:
    """A reason's sentence: ``fields`` name the facts in order; ``{field}`` placeholders."""

    fields: tuple[str, ...]
    zh: str
    en: str


TEMPLATES: dict[str, Template] = {
    "DP_PAID_AFTER_DEATH": Template(
        ("source", "death_date", "link_method", "confidence", "months", "first_period", "amount"),
        "{source}死亡记录（死亡日期{death_date}，匹配方式{link_method}，置信度{confidence}）后仍发放{months}个月待遇（自{first_period}起），共{amount}元",
        "death record from {source} (died {death_date}; linked by {link_method}, confidence {confidence}) yet {months} months paid from {first_period}, {amount} yuan",
    ),
    "DP_ALIVE_AFTER_DEATH": Template(
        ("cert_period",),
        "但{cert_period}有现场/上门认证通过，死亡记录需核实",
        "but an in-person certification passed in {cert_period}: verify the death record",
    ),
    "DP_RECORD_JUST_ARRIVED": Template(
        ("recorded_on",),
        "死亡记录{recorded_on}登记，晚于本月发放，请核实下月是否已终止待遇",
        "death record registered {recorded_on}, after this month's payroll: check the pension is terminated next month",
    ),
    "SA_PROOF_OF_LIFE": Template(
        ("period",),
        "本人{period}现场/上门认证通过，仍在世的证据较强",
        "in-person certification passed in {period}: strong evidence the person is alive",
    ),
    "SD_SAME_NAME_DEATH_RECORD": Template(
        ("source", "death_date"),
        "{source}有一条同名死亡记录（死亡日期{death_date}，无身份证号和出生日期），且无其他同名参保人，需上门核实",
        "a {source} death record with this name (died {death_date}; no ID or birth date) and no other pensioner of that name: verify in person",
    ),
    "SD_PROBABLE_DEATH_RECORD": Template(
        ("source", "death_date", "confidence"),
        "{source}有一条死亡记录（死亡日期{death_date}）很可能是本人（匹配概率{confidence}，证件号或姓名、出生日期有不一致），需上门核实",
        "a {source} death record (died {death_date}) is probably this person (match probability {confidence}; the ID, name or birth date differ in part): verify in person",
    ),
    "SD_CERT_LAPSED": Template(
        ("months", "last_pass", "cycle"),
        "已{months}个月无通过的资格认证（最后一次认证通过或待遇申领为{last_pass}，已超过{cycle}个月的认证周期）",
        "no passing survival certification for {months} months (last pass or claim {last_pass}; the cycle is {cycle} months)",
    ),
    "SD_NO_PASS_IN_HISTORY": Template(
        ("since", "months", "cycle"),
        "自{since}有记录以来{months}个月无通过的资格认证，已超过{cycle}个月的认证周期",
        "no passing survival certification in the {months} months recorded since {since}: more than the {cycle}-month cycle",
    ),
    "SD_NO_RECENT_PASS": Template(
        ("since", "months", "cycle"),
        "自{since}有记录以来{months}个月无通过的资格认证（认证周期{cycle}个月，此前的认证不在记录中）",
        "no passing survival certification in the {months} months recorded since {since} (the cycle is {cycle} months; earlier certifications are not in the records)",
    ),
    "SD_WEAK_FACE_APP": Template(
        ("period", "age", "gap"),
        "{period}仅有人脸识别认证通过，时年{age}岁，此前至少{gap}个月无认证",
        "only a face-app pass in {period}, at age {age}, after at least {gap} months without certification",
    ),
    "SD_ACCOUNT_CHANGED": Template(
        ("period",),
        "{period}在最后一次现场认证后变更银行账户",
        "bank account changed in {period}, after the last in-person certification",
    ),
    "SD_COLLECTOR_ADDED": Template(
        ("period",),
        "{period}在最后一次现场认证后新增代领人",
        "a proxy collector added in {period}, after the last in-person certification",
    ),
    "SD_CERT_FAILED": Template(
        ("n",),
        "最后一次通过后认证失败{n}次",
        "{n} failed certifications since the last pass",
    ),
    "SD_MORTALITY": Template(
        ("age", "proof_period", "p_died", "months", "amount"),
        "{age}岁，最后一次可信的存活证明为{proof_period}，按生命表此后死亡概率{p_died}；如已死亡约多发{months}个月共{amount}元",
        "aged {age}, last credible proof of life {proof_period}; life-table probability of death since {p_died}; if dead, about {months} months ({amount} yuan) overpaid",
    ),
    "SD_MORTALITY_UNRECORDED": Template(
        ("age", "since", "p_died", "months", "amount"),
        "{age}岁，自{since}有记录以来无存活证明，按生命表此后死亡概率{p_died}；如已死亡约多发{months}个月共{amount}元",
        "aged {age}, no proof of life recorded since {since}; life-table probability of death since {p_died}; if dead, about {months} months ({amount} yuan) overpaid",
    ),
    "DR_TWO_SCHEMES": Template(
        ("schemes", "periods", "first_period", "amount"),
        "同时领取{schemes}两项养老金{periods}个月（自{first_period}起），重复{amount}元",
        "paid by two schemes ({schemes}) for {periods} periods from {first_period}, {amount} yuan extra",
    ),
    "DR_REPEAT_PERIOD": Template(
        ("periods", "first_period", "amount"),
        "同一险种{periods}个所属期重复发放（自{first_period}起），重复{amount}元",
        "{periods} periods paid twice in one scheme from {first_period}, {amount} yuan extra",
    ),
    "SA_SHARED_ACCOUNT": Template(
        ("receiver", "n", "others", "amount"),
        "银行账户{receiver}同时接收{n}名无亲属关系人员的待遇（{others}），本人经此账户领取{amount}元",
        "bank account {receiver} receives the pensions of {n} unrelated people ({others}); {amount} yuan paid to this person",
    ),
    "SA_SHARED_COLLECTOR": Template(
        ("receiver", "n", "others", "amount"),
        "代领人{receiver}为{n}名无亲属关系人员代领（{others}），本人被代领{amount}元",
        "proxy collector {receiver} collects for {n} unrelated people ({others}); {amount} yuan for this person",
    ),
    "SA_RING_WITH_DEAD": Template(
        ("dead_name", "p_dead"),
        "同一账户/代领圈中{dead_name}已死亡或疑似死亡（{p_dead}）",
        "the same ring includes {dead_name}, dead or probably dead ({p_dead})",
    ),
    "AA_OFF_STANDARD": Template(
        ("scheme", "n", "first_period", "amount", "low", "high"),
        "{scheme}正常发放金额{amount}元超出标准范围{low}–{high}元，共{n}期（自{first_period}起）",
        "{scheme} regular amount {amount} yuan outside the standard {low}–{high} in {n} periods from {first_period}",
    ),
    "AA_JUMP": Template(
        ("scheme", "before", "after", "period", "n"),
        "{scheme}待遇自{period}由{before}元突增至{after}元，持续{n}期",
        "{scheme} amount jumped from {before} to {after} yuan in {period}, for {n} periods",
    ),
    "AA_REPEAT_ARREARS": Template(
        ("scheme", "n", "first_period", "last_period", "amount"),
        "{scheme}{n}个所属期（{first_period}至{last_period}）经补发后所领超出应发额，多发{amount}元",
        "{scheme} arrears paid {n} periods ({first_period} to {last_period}) again beyond what they were worth, {amount} yuan extra",
    ),
    "AA_PAID_WHILE_TERMINATED": Template(
        ("scheme", "status", "n", "first_period", "amount"),
        "{scheme}待遇已终止（{status}）后仍发放{n}期（自{first_period}起），共{amount}元",
        "{scheme} paid {n} times after the pension was terminated ({status}; from {first_period}), {amount} yuan",
    ),
    "AA_PAID_WHILE_SUSPENDED": Template(
        ("scheme", "status", "n", "first_period", "amount"),
        "{scheme}待遇暂停（{status}）期间仍发放{n}期（自{first_period}起），共{amount}元",
        "{scheme} paid {n} times while the pension was suspended ({status}; from {first_period}), {amount} yuan",
    ),
    "IA_MALFORMED_PAYEE": Template(
        ("id", "n", "first_period", "amount"),
        "向格式错误的身份证号{id}发放{n}笔（自{first_period}起），共{amount}元",
        "{n} payments from {first_period} to a malformed ID {id}, {amount} yuan",
    ),
    "IA_UNREGISTERED_PAYEE": Template(
        ("id", "n", "first_period", "amount"),
        "身份证号{id}不在参保名册却获发放{n}笔（自{first_period}起），共{amount}元",
        "{n} payments from {first_period} to ID {id}, which is on no register snapshot, {amount} yuan",
    ),
    "IA_BAD_CHECKSUM": Template(
        ("id", "amount"),
        "身份证号{id}校验位错误（GB 11643），已发放{amount}元",
        "ID {id} fails the GB 11643 check digit; {amount} yuan paid",
    ),
    "IA_BIRTH_MISMATCH": Template(
        ("birth_date", "id_birth"),
        "名册出生日期{birth_date}与身份证号中的{id_birth}不符",
        "register birth date {birth_date} differs from {id_birth} in the ID",
    ),
    "IA_IMPOSSIBLE_AGE": Template(
        ("age", "period", "max_age"),
        "{period}时年龄{age}岁，不合常理（上限{max_age}岁）",
        "age {age} in {period} is implausible (limit {max_age})",
    ),
    # Not reasons: the notes a carried case gets when the person passed a certification
    # after the case was listed (sentinel/listing.py). In person, a staff member saw them.
    CERTIFIED_SINCE_NOTE: Template(
        ("pass_date", "method"),
        "列入清单后已于{pass_date}{method}认证通过，工作人员见到本人，怀疑的依据已不成立，可核销本案",
        "since listed, an in-person certification ({method}) passed on {pass_date}: staff saw the person, what raised the case no longer holds; it can be cleared",
    ),
    CERTIFIED_REMOTELY_NOTE: Template(
        ("pass_date", "method"),
        "列入清单后于{pass_date}有{method}认证通过（非现场，不能排除他人代为认证）",
        "since listed, a {method} certification passed on {pass_date} (not in person: somebody else may have passed it)",
    ),
}

_SOURCE_ZH = {"police": "公安", "civil_affairs": "民政", "health": "卫健", "ministry": "部省比对"}
_SCHEME_ZH = {"enterprise": "企业职工", "institution": "机关事业", "resident": "城乡居民"}
_STATUS_ZH = {"suspended": "暂停", "terminated": "终止", "active": "正常"}
_CERT_METHOD_ZH = {
    "face_app": "人脸识别",
    "on_site": "现场",
    "home_visit": "上门",
    "data_match": "数据比对",
    "register": "系统记录",
}
_METHOD_ZH = {
    "exact_id": "身份证号一致",
    "typo_id": "身份证号近似+姓名出生日期",
    "name_birth": "姓名+出生日期",
}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _translate(language: Language) -> dict[str, str]:
    if language == "en":
        return {}
    return {**_SOURCE_ZH, **_SCHEME_ZH, **_STATUS_ZH, **_METHOD_ZH, **_CERT_METHOD_ZH}


def reason_sentence(reason: pl.Expr, facts: pl.Expr, language: Language) -> pl.Expr:
    """One sentence for a reason code and its facts (an unknown code shows the code itself)."""
    vocabulary = _translate(language)
    out = reason
    for code, template in reversed(list(TEMPLATES.items())):
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


def render_evidence(frame: pl.LazyFrame, language: Language) -> pl.LazyFrame:
    """Add ``evidence``: the sentences of ``reasons`` (list) with ``reason_facts`` (list of
    lists), in order, joined by ``；`` (zh) or ``; `` (en)."""
    separator = "；" if language == "zh" else "; "
    exploded = (
        frame.select("person_id", "reasons", "reason_facts")
        .with_columns(pl.int_range(pl.len()).alias("_i"))
        .explode(["reasons", "reason_facts"])
        .with_columns(
            reason_sentence(pl.col("reasons"), pl.col("reason_facts"), language).alias("_sentence")
        )
        .group_by("_i", maintain_order=True)
        .agg(pl.col("person_id").first(), pl.col("_sentence").str.join(separator).alias("evidence"))
        .drop("_i")
    )
    return frame.join(exploded, on="person_id", how="left")
