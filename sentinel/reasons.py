"""The reason codes of the rule families, as data: for each code its typology, what it
proves, the configuration key of its weight, and its evidence sentence in Chinese and
English. Evidence, the case list, the case store, the reports and the learned model read
this registry; a new rule adds its code here and nowhere else.

Every reason row a rule family emits carries one of these codes. What a code *is* decides
how far it can lift a case:

``proof``
    a record that cannot be right unless money was paid that should not have been: a
    linked death followed by payments for later periods, one period paid twice, payment
    while the register says terminated. A case with proof outranks every case without.
``signal``
    evidence that makes an improper payment more likely (a lapsed certification, a shared
    account, an amount off the standard). Its weight is a prior belief that audit outcomes
    correct.
``context``
    a fact that explains a case but is not evidence on its own (a life-table probability).
``pending``
    proof that is not yet due: the centre has had no payroll to act on the record.
``exculpatory``
    evidence for the person (an in-person certification after the death date).

``observed``: the family already weighs the code by how often it occurs in the county
(likelihood ratios from this month's shares, :func:`features.survival.suspected_unreported_death`);
the others carry a configured prior that the base-rate step discounts when the code is
common (:func:`features.scoring.discount_common_reasons`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl

Role = Literal["proof", "signal", "context", "pending", "exculpatory"]


@dataclass(frozen=True)
class Reason:
    """One reason code.

    ``weight``: the field of :class:`sentinel.config.DetectionConfig` that weighs it (a
    prior probability, a likelihood ratio or the share of improper cases that show it; the
    source of each number is cited beside it in ``default_config.toml``). ``fields``: the
    facts a rule emits with the code, in order; ``zh`` and ``en``: the evidence sentence,
    with ``{field}`` placeholders. ``observed``: weighed by how often it occurs in the
    county; ``refuted_by_pass``: an in-person certification pass refutes it (the reason
    says only that the person has not been seen alive recently); ``answer_due``: an
    upstream list asks for an answer, so the case stays listed until it is answered,
    whatever its weight (:mod:`features.suspects`).
    """

    code: str
    typology: str
    role: Role
    weight: str
    fields: tuple[str, ...]
    zh: str
    en: str
    observed: bool = False
    refuted_by_pass: bool = False
    answer_due: bool = False


REASONS: dict[str, Reason] = {
    r.code: r
    for r in (
    Reason(
        "DP_PAID_AFTER_DEATH",
        "deceased_paid",
        "proof",
        weight="deceased_paid_probability",
        fields=('source', 'death_date', 'link_method', 'confidence', 'months', 'first_period', 'amount'),
        zh="{source}死亡记录（死亡日期{death_date}，匹配方式{link_method}，置信度{confidence}）后仍发放{months}个月待遇（自{first_period}起），共{amount}元",
        en="death record from {source} (died {death_date}; linked by {link_method}, confidence {confidence}) yet {months} months paid from {first_period}, {amount} yuan",
    ),
    Reason(
        "DP_ALIVE_AFTER_DEATH",
        "deceased_paid",
        "exculpatory",
        weight="deceased_paid_contradicted_probability",
        fields=('cert_period',),
        zh="但{cert_period}有现场/上门认证通过，死亡记录需核实",
        en="but an in-person certification passed in {cert_period}: verify the death record",
    ),
    Reason(
        "DP_RECORD_JUST_ARRIVED",
        "deceased_paid",
        "pending",
        weight="deceased_paid_pending_factor",
        fields=('recorded_on',),
        zh="死亡记录{recorded_on}登记，晚于本月发放，请核实下月是否已终止待遇",
        en="death record registered {recorded_on}, after this month's payroll: check the pension is terminated next month",
    ),
    Reason(
        "SD_SAME_NAME_DEATH_RECORD",
        "suspected_unreported_death",
        "signal",
        weight="lr_same_name_death_record",
        fields=('source', 'death_date'),
        zh="{source}有一条同名死亡记录（死亡日期{death_date}，无身份证号和出生日期），且无其他同名参保人，需上门核实",
        en="a {source} death record with this name (died {death_date}; no ID or birth date) and no other pensioner of that name: verify in person",
        observed=True,
    ),
    Reason(
        "SD_PROBABLE_DEATH_RECORD",
        "suspected_unreported_death",
        "signal",
        weight="min_death_lead_confidence",
        fields=('source', 'death_date', 'confidence'),
        zh="{source}有一条死亡记录（死亡日期{death_date}）很可能是本人（匹配概率{confidence}，证件号或姓名、出生日期有不一致），需上门核实",
        en="a {source} death record (died {death_date}) is probably this person (match probability {confidence}; the ID, name or birth date differ in part): verify in person",
        observed=True,
    ),
    Reason(
        "SD_CERT_LAPSED",
        "suspected_unreported_death",
        "signal",
        weight="uncertified_dead_share",
        fields=('months', 'last_pass', 'cycle'),
        zh="已{months}个月无通过的资格认证（最后一次认证通过或待遇申领为{last_pass}，已超过{cycle}个月的认证周期）",
        en="no passing survival certification for {months} months (last pass or claim {last_pass}; the cycle is {cycle} months)",
        observed=True,
        refuted_by_pass=True,
    ),
    Reason(
        "SD_NO_PASS_IN_HISTORY",
        "suspected_unreported_death",
        "signal",
        weight="uncertified_dead_share",
        fields=('since', 'months', 'cycle'),
        zh="自{since}有记录以来{months}个月无通过的资格认证，已超过{cycle}个月的认证周期",
        en="no passing survival certification in the {months} months recorded since {since}: more than the {cycle}-month cycle",
        observed=True,
        refuted_by_pass=True,
    ),
    Reason(
        "SD_NO_RECENT_PASS",
        "suspected_unreported_death",
        "signal",
        weight="uncertified_dead_share",
        fields=('since', 'months', 'cycle'),
        zh="自{since}有记录以来{months}个月无通过的资格认证（认证周期{cycle}个月，此前的认证不在记录中）",
        en="no passing survival certification in the {months} months recorded since {since} (the cycle is {cycle} months; earlier certifications are not in the records)",
        observed=True,
        refuted_by_pass=True,
    ),
    Reason(
        "SD_WEAK_FACE_APP",
        "suspected_unreported_death",
        "signal",
        weight="weak_face_dead_share",
        fields=('period', 'age', 'gap'),
        zh="{period}仅有人脸识别认证通过，时年{age}岁，此前至少{gap}个月无认证",
        en="only a face-app pass in {period}, at age {age}, after at least {gap} months without certification",
        observed=True,
    ),
    Reason(
        "SD_ACCOUNT_CHANGED",
        "suspected_unreported_death",
        "signal",
        weight="account_changed_dead_share",
        fields=('period',),
        zh="{period}在最后一次现场认证后变更银行账户",
        en="bank account changed in {period}, after the last in-person certification",
        observed=True,
    ),
    Reason(
        "SD_COLLECTOR_ADDED",
        "suspected_unreported_death",
        "signal",
        weight="collector_added_dead_share",
        fields=('period',),
        zh="{period}在最后一次现场认证后新增代领人",
        en="a proxy collector added in {period}, after the last in-person certification",
        observed=True,
    ),
    Reason(
        "SD_CERT_FAILED",
        "suspected_unreported_death",
        "signal",
        weight="failed_certification_dead_share",
        fields=('n',),
        zh="最后一次通过后认证失败{n}次",
        en="{n} failed certifications since the last pass",
        observed=True,
        refuted_by_pass=True,
    ),
    Reason(
        "SD_MORTALITY",
        "suspected_unreported_death",
        "context",
        weight="unreported_death_share",
        fields=('age', 'proof_period', 'p_died', 'months', 'amount'),
        zh="{age}岁，最后一次可信的存活证明为{proof_period}，按生命表此后死亡概率{p_died}；如已死亡约多发{months}个月共{amount}元",
        en="aged {age}, last credible proof of life {proof_period}; life-table probability of death since {p_died}; if dead, about {months} months ({amount} yuan) overpaid",
        observed=True,
        refuted_by_pass=True,
    ),
    Reason(
        "SD_MORTALITY_UNRECORDED",
        "suspected_unreported_death",
        "context",
        weight="unreported_death_share",
        fields=('age', 'since', 'p_died', 'months', 'amount'),
        zh="{age}岁，自{since}有记录以来无存活证明，按生命表此后死亡概率{p_died}；如已死亡约多发{months}个月共{amount}元",
        en="aged {age}, no proof of life recorded since {since}; life-table probability of death since {p_died}; if dead, about {months} months ({amount} yuan) overpaid",
        observed=True,
        refuted_by_pass=True,
    ),
    Reason(
        "DR_TWO_SCHEMES",
        "duplicate_receipt",
        "proof",
        weight="duplicate_receipt_probability",
        fields=('schemes', 'periods', 'first_period', 'amount'),
        zh="同时领取{schemes}两项养老金{periods}个月（自{first_period}起），重复{amount}元",
        en="paid by two schemes ({schemes}) for {periods} periods from {first_period}, {amount} yuan extra",
    ),
    Reason(
        "DR_REPEAT_PERIOD",
        "duplicate_receipt",
        "proof",
        weight="duplicate_receipt_probability",
        fields=('periods', 'first_period', 'amount'),
        zh="同一险种{periods}个所属期重复发放（自{first_period}起），重复{amount}元",
        en="{periods} periods paid twice in one scheme from {first_period}, {amount} yuan extra",
    ),
    Reason(
        "SA_SHARED_ACCOUNT",
        "shared_account",
        "signal",
        weight="shared_account_probability",
        fields=('receiver', 'n', 'others', 'amount'),
        zh="银行账户{receiver}同时接收{n}名无亲属关系人员的待遇（{others}），本人经此账户领取{amount}元",
        en="bank account {receiver} receives the pensions of {n} unrelated people ({others}); {amount} yuan paid to this person",
    ),
    Reason(
        "SA_SHARED_COLLECTOR",
        "shared_account",
        "signal",
        weight="shared_collector_probability",
        fields=('receiver', 'n', 'others', 'amount'),
        zh="代领人{receiver}为{n}名无亲属关系人员代领（{others}），本人被代领{amount}元",
        en="proxy collector {receiver} collects for {n} unrelated people ({others}); {amount} yuan for this person",
    ),
    Reason(
        "SA_RING_WITH_DEAD",
        "shared_account",
        "signal",
        weight="ring_with_dead_probability",
        fields=('dead_name', 'p_dead'),
        zh="同一账户/代领圈中{dead_name}已死亡或疑似死亡（{p_dead}）",
        en="the same ring includes {dead_name}, dead or probably dead ({p_dead})",
    ),
    Reason(
        "SA_PROOF_OF_LIFE",
        "shared_account",
        "exculpatory",
        weight="shared_alive_factor",
        fields=('period',),
        zh="本人{period}现场/上门认证通过，仍在世的证据较强",
        en="in-person certification passed in {period}: strong evidence the person is alive",
    ),
    Reason(
        "AA_OFF_STANDARD",
        "amount_anomaly",
        "signal",
        weight="amount_excess_probability",
        fields=('scheme', 'n', 'first_period', 'amount', 'low', 'high'),
        zh="{scheme}正常发放金额{amount}元超出标准范围{low}–{high}元，共{n}期（自{first_period}起）",
        en="{scheme} regular amount {amount} yuan outside the standard {low}–{high} in {n} periods from {first_period}",
    ),
    Reason(
        "AA_JUMP",
        "amount_anomaly",
        "signal",
        weight="amount_jump_probability",
        fields=('scheme', 'before', 'after', 'period', 'n'),
        zh="{scheme}待遇自{period}由{before}元突增至{after}元，持续{n}期",
        en="{scheme} amount jumped from {before} to {after} yuan in {period}, for {n} periods",
    ),
    Reason(
        "AA_REPEAT_ARREARS",
        "amount_anomaly",
        "signal",
        weight="repeat_arrears_probability",
        fields=('scheme', 'n', 'first_period', 'last_period', 'amount'),
        zh="{scheme}{n}个所属期（{first_period}至{last_period}）经补发后所领超出应发额，多发{amount}元",
        en="{scheme} arrears paid {n} periods ({first_period} to {last_period}) again beyond what they were worth, {amount} yuan extra",
    ),
    Reason(
        "AA_PAID_WHILE_SUSPENDED",
        "amount_anomaly",
        "signal",
        weight="paid_suspended_probability",
        fields=('scheme', 'status', 'n', 'first_period', 'amount'),
        zh="{scheme}待遇暂停（{status}）期间仍发放{n}期（自{first_period}起），共{amount}元",
        en="{scheme} paid {n} times while the pension was suspended ({status}; from {first_period}), {amount} yuan",
    ),
    Reason(
        "AA_PAID_WHILE_TERMINATED",
        "amount_anomaly",
        "proof",
        weight="paid_terminated_probability",
        fields=('scheme', 'status', 'n', 'first_period', 'amount'),
        zh="{scheme}待遇已终止（{status}）后仍发放{n}期（自{first_period}起），共{amount}元",
        en="{scheme} paid {n} times after the pension was terminated ({status}; from {first_period}), {amount} yuan",
    ),
    Reason(
        "IA_MALFORMED_PAYEE",
        "identity_anomaly",
        "signal",
        weight="malformed_payee_probability",
        fields=('id', 'n', 'first_period', 'amount'),
        zh="向格式错误的身份证号{id}发放{n}笔（自{first_period}起），共{amount}元",
        en="{n} payments from {first_period} to a malformed ID {id}, {amount} yuan",
    ),
    Reason(
        "IA_UNREGISTERED_PAYEE",
        "identity_anomaly",
        "signal",
        weight="unregistered_payee_probability",
        fields=('id', 'n', 'first_period', 'amount'),
        zh="身份证号{id}不在参保名册却获发放{n}笔（自{first_period}起），共{amount}元",
        en="{n} payments from {first_period} to ID {id}, which is on no register snapshot, {amount} yuan",
    ),
    Reason(
        "IA_BAD_CHECKSUM",
        "identity_anomaly",
        "signal",
        weight="bad_checksum_probability",
        fields=('id', 'amount'),
        zh="身份证号{id}校验位错误（GB 11643），已发放{amount}元",
        en="ID {id} fails the GB 11643 check digit; {amount} yuan paid",
    ),
    Reason(
        "IA_BIRTH_MISMATCH",
        "identity_anomaly",
        "signal",
        weight="birth_mismatch_probability",
        fields=('birth_date', 'id_birth'),
        zh="名册出生日期{birth_date}与身份证号中的{id_birth}不符",
        en="register birth date {birth_date} differs from {id_birth} in the ID",
    ),
    Reason(
        "IA_IMPOSSIBLE_AGE",
        "identity_anomaly",
        "signal",
        weight="impossible_age_probability",
        fields=('age', 'period', 'max_age'),
        zh="{period}时年龄{age}岁，不合常理（上限{max_age}岁）",
        en="age {age} in {period} is implausible (limit {max_age})",
    ),

        Reason(
            "CP_PAID_IN_PRISON",
            "custody_paid",
            "proof",
            weight="custody_paid_probability",
            fields=("source", "start_date", "months", "first_period", "amount"),
            zh="{source}记录本人自{start_date}起服刑，服刑期间仍发放{months}个月待遇（自{first_period}起），共{amount}元，按规定停发且不予补发",
            en="a {source} record has the person serving a sentence from {start_date}, yet {months} months were paid for it from {first_period}, {amount} yuan; the pension stops while imprisoned and is not paid back",
        ),
        Reason(
            "CP_PAID_IN_DETENTION",
            "custody_paid",
            "signal",
            weight="custody_detention_probability",
            fields=("source", "start_date", "months", "first_period", "amount"),
            zh="{source}记录本人自{start_date}起被羁押（尚未判决），羁押期间仍发放{months}个月待遇（自{first_period}起），共{amount}元；宣告无罪的予以补发",
            en="a {source} record has the person in pre-trial detention from {start_date} (not yet tried), yet {months} months were paid for it from {first_period}, {amount} yuan; paid back only if acquitted",
        ),
        Reason(
            "CP_RAISED_ON_PROBATION",
            "custody_paid",
            "proof",
            weight="custody_raise_probability",
            fields=("kind", "months", "first_period", "amount"),
            zh="{kind}期间不参与待遇调整，但{months}个月（自{first_period}起）多发调整额共{amount}元",
            en="no increase is due during {kind}, yet {months} months from {first_period} paid {amount} yuan of increases",
        ),
        *[
            Reason(
                f"US_SUSPECT_{kind.upper()}",
                "upstream_suspect",
                "signal",
                weight="upstream_suspect_probability",
                fields=("source", "batch_id", "due_on", "detail"),
                zh=f"{{source}}下发疑点（{zh}；批次{{batch_id}}，{{due_on}}前反馈）：{{detail}}。上级疑点只是线索，需核实后逐条反馈",
                en=f"suspect pushed down by the {{source}} ({en}; batch {{batch_id}}, answer due {{due_on}}): {{detail}}. An upstream suspect is a lead, not proof: check and answer it",
                answer_due=True,
            )
            for kind, zh, en in (
                ("death", "疑似死亡", "possibly dead"),
                ("custody", "疑似服刑", "possibly in custody"),
                ("duplicate", "疑似重复领取", "possibly paid twice"),
                ("account", "账户疑点", "account"),
                ("other", "其他疑点", "other"),
            )
        ],
    )
}

#: Reason codes in a fixed order (model features are one indicator per code).
REASON_CODES: tuple[str, ...] = tuple(REASONS)
#: Reasons an in-person certification pass refutes.
REFUTED_BY_PASS: frozenset[str] = frozenset(c for c, r in REASONS.items() if r.refuted_by_pass)
#: Reasons that are proof (a linked death paid after, a double payment, paid in a
#: terminated or suspended state): clearing a case with one needs sign-off.
PROOF_CODES: frozenset[str] = frozenset(c for c, r in REASONS.items() if r.role == "proof")
#: Reasons an upstream list asks to have answered: listed until answered.
ANSWER_DUE: frozenset[str] = frozenset(c for c, r in REASONS.items() if r.answer_due)


def reason_table() -> pl.LazyFrame:
    """The registry as a frame: ``reason, role, observed``."""
    return pl.LazyFrame(
        {
            "reason": list(REASONS),
            "role": [r.role for r in REASONS.values()],
            "observed": [r.observed for r in REASONS.values()],
        }
    )


__all__ = [
    "ANSWER_DUE",
    "REASONS",
    "REASON_CODES",
    "REFUTED_BY_PASS",
    "Reason",
    "Role",
    "reason_table",
]
