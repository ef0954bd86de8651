"""The data contract: datasets of a monthly drop, their columns, aliases and value sets.

This module is the single source of truth for ``docs/data-contract.md``: readers map
headers and category values with it, parsing types columns with it, and the validation
suites in ``expectations/`` name the same columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

ColumnKind = Literal["id", "text", "date", "period", "amount", "category"]

SCHEMES: Mapping[str, str] = {
    "enterprise": "enterprise",
    "企业职工": "enterprise",
    "企业": "enterprise",
    "institution": "institution",
    "机关事业": "institution",
    "机关事业单位": "institution",
    "resident": "resident",
    "城乡居民": "resident",
}
SEXES: Mapping[str, str] = {"M": "M", "F": "F", "男": "M", "女": "F", "m": "M", "f": "F"}
REGISTER_STATUSES: Mapping[str, str] = {
    "active": "active",
    "正常": "active",
    "suspended": "suspended",
    "暂停": "suspended",
    "terminated": "terminated",
    "终止": "terminated",
}
PAYOUT_KINDS: Mapping[str, str] = {
    "regular": "regular",
    "正常": "regular",
    "arrears": "arrears",
    "补发": "arrears",
    "adjustment": "adjustment",
    "调整": "adjustment",
}
DEATH_SOURCES: Mapping[str, str] = {
    "police": "police",
    "公安": "police",
    "civil_affairs": "civil_affairs",
    "民政": "civil_affairs",
    "health": "health",
    "卫健": "health",
    "ministry": "ministry",
    "部省比对": "ministry",
}
CUSTODY_KINDS: Mapping[str, str] = {
    "pretrial_detention": "pretrial_detention",
    "羁押": "pretrial_detention",
    "imprisonment": "imprisonment",
    "服刑": "imprisonment",
    "probation": "probation",
    "缓刑": "probation",
    "parole": "parole",
    "假释": "parole",
    "supervised_release": "supervised_release",
    "管制": "supervised_release",
    "release": "release",
    "释放": "release",
    "acquittal": "acquittal",
    "无罪": "acquittal",
}
CUSTODY_SOURCES: Mapping[str, str] = {
    "prison": "prison",
    "监狱": "prison",
    "detention_centre": "detention_centre",
    "看守所": "detention_centre",
    "court": "court",
    "法院": "court",
    "police": "police",
    "公安": "police",
}
SUSPECT_TYPES: Mapping[str, str] = {
    "death": "death",
    "死亡": "death",
    "疑似死亡": "death",
    "custody": "custody",
    "服刑": "custody",
    "羁押服刑": "custody",
    "duplicate": "duplicate",
    "重复领取": "duplicate",
    "account": "account",
    "账户": "account",
    "账户异常": "account",
    "other": "other",
    "其他": "other",
}
SUSPECT_SOURCES: Mapping[str, str] = {
    "ministry": "ministry",
    "部": "ministry",
    "人社部": "ministry",
    "province": "province",
    "省": "province",
    "省厅": "province",
    "audit_office": "audit_office",
    "审计": "audit_office",
    "审计机关": "audit_office",
}
CERT_METHODS: Mapping[str, str] = {
    "face_app": "face_app",
    "人脸识别": "face_app",
    "on_site": "on_site",
    "现场": "on_site",
    "home_visit": "home_visit",
    "上门": "home_visit",
    "data_match": "data_match",
    "数据比对": "data_match",
}
CERT_RESULTS: Mapping[str, str] = {"pass": "pass", "通过": "pass", "fail": "fail", "未通过": "fail"}
OUTCOMES: Mapping[str, str] = {
    "confirmed_deceased": "confirmed_deceased",
    "确认死亡": "confirmed_deceased",
    "confirmed_improper": "confirmed_improper",
    "确认违规": "confirmed_improper",
    "cleared": "cleared",
    "排除": "cleared",
    "unreachable": "unreachable",
    "无法核实": "unreachable",
}

#: Steps of the recovery ladder (docs/domain.md: notice with a deadline -> order -> court or
#: police; 人社部发〔2024〕74号): a written notice, a payment received, an escalation, a
#: write-off (which counts only once a second user approved it).
RECOVERY_STEPS: Mapping[str, str] = {
    "notice": "notice",
    "催缴通知": "notice",
    "通知": "notice",
    "追回通知": "notice",
    "payment": "payment",
    "退回": "payment",
    "缴回": "payment",
    "收款": "payment",
    "escalation": "escalation",
    "升级": "escalation",
    "移送": "escalation",
    "write_off": "write_off",
    "核销": "write_off",
}
#: How a payment arrived.
PAYMENT_METHODS: Mapping[str, str] = {
    "full": "full",
    "足额退回": "full",
    "一次性退回": "full",
    "instalment": "instalment",
    "分期": "instalment",
    "分期退回": "instalment",
    "offset": "offset",
    "抵扣": "offset",
    "待遇抵扣": "offset",
    "bank_return": "bank_return",
    "银行退回": "bank_return",
}
#: Where an escalation sent the case.
ESCALATION_METHODS: Mapping[str, str] = {
    "administrative_order": "administrative_order",
    "行政处理决定": "administrative_order",
    "责令退回": "administrative_order",
    "court": "court",
    "法院": "court",
    "申请法院强制执行": "court",
    "police": "police",
    "公安": "police",
    "移送公安": "police",
}
#: The ``method`` of a recovery event: a payment's way in, or an escalation's channel.
RECOVERY_METHODS: Mapping[str, str] = {**PAYMENT_METHODS, **ESCALATION_METHODS}


@dataclass(frozen=True)
class Column:
    """One contract column.

    ``nullable`` columns may be empty in a loaded row; an empty value in a column that is
    not nullable sends the row to quarantine. ``required`` columns must be present in
    the file header (a missing one stops the run).
    """

    name: str
    kind: ColumnKind
    aliases: tuple[str, ...] = ()
    required: bool = True
    nullable: bool = False
    values: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Dataset:
    """One dataset of a monthly drop (``INBOX/YYYY-MM/<name>.{parquet,csv,xlsx}``)."""

    name: str
    columns: tuple[Column, ...]
    required: bool = True
    description: str = ""
    key: tuple[str, ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def header_aliases(self) -> dict[str, str]:
        """Map every accepted header spelling (canonical or alias) to the canonical name."""
        mapping: dict[str, str] = {}
        for c in self.columns:
            mapping[c.name] = c.name
            for alias in c.aliases:
                mapping[alias] = c.name
        return mapping


BENEFICIARIES = Dataset(
    name="beneficiaries",
    description="register snapshot at month end (one row per person per scheme)",
    key=("person_id", "scheme"),
    columns=(
        Column("person_id", "id", ("身份证号", "公民身份号码")),
        Column("name", "text", ("姓名",)),
        Column("sex", "category", ("性别",), values=SEXES),
        Column("birth_date", "date", ("出生日期",)),
        Column("scheme", "category", ("险种",), values=SCHEMES),
        Column("region_code", "text", ("行政区划代码",)),
        Column("township", "text", ("乡镇",)),
        Column("village", "text", ("村(社区)", "村（社区）", "村"), nullable=True),
        Column("benefit_start", "date", ("待遇开始日期",)),
        Column("status", "category", ("待遇状态",), values=REGISTER_STATUSES),
        Column("bank_account", "text", ("银行账号",), nullable=True),
        Column("collector_id", "text", ("代领人身份证号",), required=False, nullable=True),
        # Where the source system keeps it: the last passing survival certification, or the
        # date the current cycle runs out (a pass 12 months before).
        Column(
            "last_cert_date",
            "date",
            ("最后认证日期", "上次认证日期", "认证日期"),
            required=False,
            nullable=True,
        ),
        Column(
            "cert_due_date", "date", ("认证到期日", "认证有效期至"), required=False, nullable=True
        ),
    ),
)

PAYOUTS = Dataset(
    name="payouts",
    description="that month's payout ledger",
    key=("person_id", "scheme", "period", "kind"),
    columns=(
        Column("person_id", "id", ("身份证号", "公民身份号码")),
        Column("scheme", "category", ("险种",), values=SCHEMES),
        Column("period", "period", ("所属期",)),
        Column("pay_date", "date", ("发放日期",)),
        Column("amount", "amount", ("发放金额",)),
        Column("bank_account", "text", ("银行账号",), nullable=True),
        Column("kind", "category", ("发放类型",), values=PAYOUT_KINDS),
    ),
)


def _linked_records(name: str, description: str, *columns: Column) -> Dataset:
    """An optional dataset of records from outside the register that death and custody
    linkage match to pensioners: keyed by the source's record number, then the ID and the
    name as the source wrote them, then ``columns``. Mistyped or missing IDs are the point
    of linkage: a record is never quarantined for its ID."""
    return Dataset(
        name=name,
        description=description,
        required=False,
        key=("record_id",),
        columns=(
            Column("record_id", "text", ("记录号",)),
            Column("person_id", "text", ("身份证号", "公民身份号码"), nullable=True),
            Column("name", "text", ("姓名",), nullable=True),
            *columns,
        ),
    )


DEATHS = _linked_records(
    "deaths",
    "death records received that month, all sources",
    Column("sex", "category", ("性别",), nullable=True, values=SEXES),
    Column("birth_date", "date", ("出生日期",), nullable=True),
    Column("death_date", "date", ("死亡日期",)),
    Column("source", "category", ("来源",), values=DEATH_SOURCES),
    Column("recorded_on", "date", ("登记日期",)),
)

CERTIFICATIONS = Dataset(
    name="certifications",
    description="survival (proof-of-life) certifications done that month",
    required=False,
    key=("person_id", "cert_date", "method"),
    columns=(
        Column("person_id", "id", ("身份证号", "公民身份号码")),
        Column("cert_date", "date", ("认证日期",)),
        Column("method", "category", ("认证方式",), values=CERT_METHODS),
        Column("result", "category", ("认证结果",), values=CERT_RESULTS),
        Column("operator", "text", ("经办人",), required=False, nullable=True),
    ),
)

CUSTODY = _linked_records(
    "custody",
    "optional: custody records received that month (prisons, detention centres, courts, police)",
    Column("birth_date", "date", ("出生日期",), nullable=True),
    Column("kind", "category", ("类别", "羁押服刑类别"), values=CUSTODY_KINDS),
    Column("start_date", "date", ("开始日期",)),
    Column("end_date", "date", ("结束日期",), nullable=True),
    Column("source", "category", ("来源",), values=CUSTODY_SOURCES),
    Column("received_on", "date", ("接收日期",)),
)

SUSPECTS = Dataset(
    name="suspects",
    description=(
        "optional: suspect lists pushed down that month by the ministry's and the province's "
        "audit systems or an audit office, each suspect to be answered by its batch's due date"
    ),
    required=False,
    key=("batch_id", "person_id"),
    columns=(
        Column("batch_id", "text", ("批次号", "疑点批次")),
        Column("pushed_on", "date", ("下发日期", "推送日期")),
        Column("due_on", "date", ("反馈截止日期", "截止日期")),
        # Answered even when the ID is not a pensioner's here (or not an ID at all): the
        # reply holds one row per suspect, so the row loads as text and is never quarantined
        # for its ID.
        Column("person_id", "text", ("身份证号", "公民身份号码")),
        Column("name", "text", ("姓名",), nullable=True),
        Column("suspect_type", "category", ("疑点类型",), values=SUSPECT_TYPES),
        Column("source", "category", ("来源", "疑点来源"), values=SUSPECT_SOURCES),
        Column("detail", "text", ("疑点说明", "疑点描述"), required=False, nullable=True),
    ),
)

OUTCOMES_DATASET = Dataset(
    name="outcomes",
    description="optional: results of field audits closed that month",
    required=False,
    key=("case_id",),
    columns=(
        Column("case_id", "text", ("案件编号",)),
        Column("person_id", "id", ("身份证号", "公民身份号码")),
        Column("closed_on", "date", ("结案日期",)),
        Column("outcome", "category", ("核查结果",), values=OUTCOMES),
        Column("death_date", "date", ("死亡日期",), nullable=True),
        Column("overpaid_amount", "amount", ("多发金额",), nullable=True),
        Column("recovered_amount", "amount", ("追回金额",), nullable=True),
        # Sign-off (经办 / 复核): who recorded the result and the second person who
        # verified it; a result that needs sign-off without a second name waits for it.
        Column("audited_by", "text", ("经办人", "核查人"), required=False, nullable=True),
        Column("reviewed_by", "text", ("复核人", "审核人"), required=False, nullable=True),
    ),
)

RECOVERIES = Dataset(
    name="recoveries",
    description=(
        "optional: steps of recovering what confirmed cases overpaid (notices, payments, "
        "escalations, write-offs), from the finance office or the filled-in recovery sheet"
    ),
    required=False,
    key=("case_id", "record_id"),
    columns=(
        # The receipt or document number: importing the same record of a case twice adds
        # nothing.
        Column("record_id", "text", ("单据号", "凭证号", "票据号", "记录号")),
        Column("case_id", "text", ("案件编号",)),
        Column("person_id", "id", ("身份证号", "公民身份号码"), required=False, nullable=True),
        Column("step", "category", ("追回环节", "环节", "事项"), values=RECOVERY_STEPS),
        Column("step_date", "date", ("日期", "办理日期", "发生日期")),
        Column("amount", "amount", ("金额", "退回金额", "核销金额"), nullable=True),
        Column("method", "category", ("方式", "追回方式"), nullable=True, values=RECOVERY_METHODS),
        Column("deadline", "date", ("缴款期限", "限期"), required=False, nullable=True),
        Column("reason", "text", ("原因", "说明", "核销原因"), required=False, nullable=True),
        Column("operator", "text", ("经办人",), required=False, nullable=True),
        # A write-off signed off on the sheet: a second user, never the operator.
        Column("approved_by", "text", ("审核人", "复核人"), required=False, nullable=True),
        Column("approved_on", "date", ("审核日期",), required=False, nullable=True),
    ),
)

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        BENEFICIARIES,
        PAYOUTS,
        DEATHS,
        CERTIFICATIONS,
        CUSTODY,
        SUSPECTS,
        OUTCOMES_DATASET,
        RECOVERIES,
    )
}
FILE_SUFFIXES: tuple[str, ...] = (".parquet", ".csv", ".xlsx")

#: Who and what a case is about: the leading columns of the case list.
CASE_KEY_COLUMNS: tuple[str, ...] = (
    "case_id",
    "person_id",
    "name",
    "scheme",
    "township",
    "village",
    "typology",
)
CASE_COLUMNS: tuple[str, ...] = (
    *CASE_KEY_COLUMNS,
    "priority_rank",
    "risk_score",
    "est_overpayment",
    "evidence",
    "reasons",
    "first_flagged",
    "status",
    "strength",
    "amount_at_stake",
    "last_paid_period",
    "audit_selection",
    "selection_probability",
    # An upstream suspect still to be answered (features.suspects): its batch due first.
    "suspect_batch",
    "suspect_due",
)
#: ``strength`` of a case: a record that cannot be right (proof), evidence that makes an
#: improper payment likely (signal), or the life table alone (lead: listed only to fill a
#: month's visits); proof is audited before soft signals whatever the amount.
CASE_STRENGTHS: tuple[str, ...] = ("proof", "signal", "lead")
#: What the rule families find (the demo county injects each of them).
RULE_TYPOLOGIES: tuple[str, ...] = (
    "deceased_paid",
    "suspected_unreported_death",
    "duplicate_receipt",
    "shared_account",
    "amount_anomaly",
    "identity_anomaly",
    "custody_paid",
)
#: Typologies of the case list: the rules', and a suspect an upstream list names that no
#: audit has answered yet (``features.suspects``).
TYPOLOGIES: tuple[str, ...] = (*RULE_TYPOLOGIES, "upstream_suspect")


def typed_schema(dataset: Dataset) -> dict[str, pl.DataType]:
    """The dtypes of a dataset's columns once typed by ingest (an empty history's frame)."""
    kinds: dict[str, pl.DataType] = {"date": pl.Date(), "amount": pl.Float64()}
    return {c.name: kinds.get(c.kind, pl.String()) for c in dataset.columns}


class ContractError(Exception):
    """A drop that cannot be trusted: names the file, the column and what is wrong.

    Raised for dataset-level problems (missing file or column, undecodable bytes, a
    critical validation failure). The CLI turns it into exit code 2 and one line.
    """

    def __init__(self, file: str, column: str | None, problem: str) -> None:
        self.file = file
        self.column = column
        self.problem = problem
        where = f"{file}" + (f", column {column!r}" if column else "")
        super().__init__(f"{where}: {problem}")
