"""The review app's texts in Chinese and English (``review.language``).

Values of the data (typologies, states, outcomes, certification methods, death record
sources, link fields) are shown with these labels; an unknown value is shown as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

__all__ = ["Language", "problem_text", "translator"]

Language = Literal["zh", "en"]

# key: (zh, en)
_TEXTS: dict[str, tuple[str, str]] = {
    "app_title": ("养老金疑点核查", "Pension case review"),
    "queue": ("案件队列", "Case queue"),
    "suspect_due": ("上级疑点反馈", "Suspect answer"),
    "recused_relative": (
        "{user} 与本案当事人有亲属关系，按回避规定不得核查本案。",
        "{user} is a relative of this case's person and may not work it (recusal).",
    ),
    "recused_own_village": (
        "{user} 居住在本案当事人所在村，按回避规定不得核查本案。",
        "{user} lives in this case's village and may not work it (recusal).",
    ),
    "history_broken": (
        "操作记录校验未通过（记录可能被改动），请联系管理员：",
        "The history check failed (records may have been altered); tell an administrator:",
    ),
    "suspect_due_in": (
        "批次 {batch}：{date} 前反馈，剩 {n} 天",
        "batch {batch}: due {date}, {n} days left",
    ),
    "suspect_overdue": (
        "批次 {batch}：{date} 前反馈，已逾期 {n} 天",
        "batch {batch}: due {date}, {n} days overdue",
    ),
    "dashboard": ("月度看板", "Month dashboard"),
    "visit_plan": ("走访计划", "Visit plan"),
    "visit_plan_of_month": ("本月走访计划 →", "This month's visit plan →"),
    "plan_note": (
        "本月核查名额内的案件（优先核查与随机抽查）按乡镇和村(社区)编成一天的走访行程，"
        "每趟最多 {n} 户，同一人有多个案件只走访一次；行程按每趟预期金额（风险概率 × 涉及金额）"
        "从高到低排列。地址为参保登记的乡镇和村(社区)，登记中没有门牌地址。"
        "打印版走访单：sentinel plan visits。",
        "The month's cases within capacity (priority and exploration) as day trips by township "
        "and village, at most {n} visits a trip; a person with several cases is one visit; trips "
        "by expected yuan (risk × amount at stake), highest first. Addresses are the township "
        "and village the register holds: it has no street address. Printable sheets: "
        "sentinel plan visits.",
    ),
    "plan_total": ("共 {trips} 趟，走访 {stops} 户", "{trips} trips, {stops} people to see"),
    "trip_title": ("第 {trip} 趟", "Trip {trip}"),
    "trip_stops": ("走访 {n} 户", "{n} people to see"),
    "trip_yuan": ("预期金额 {yuan} 元", "expected {yuan} yuan"),
    "stop": ("序号", "Stop"),
    "address": ("地址", "Address"),
    "expected_yuan": ("预期金额(元)", "Expected (yuan)"),
    "no_village": ("村(社区)未登记", "no village on the register"),
    "no_plan": ("本月核查名额内没有案件。", "No case within this month's capacity."),
    "audit_log": ("操作日志", "Audit log"),
    "users": ("用户", "Users"),
    "logout": ("退出", "Sign out"),
    "login": ("登录", "Sign in"),
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "login_failed": ("用户名或密码错误。", "Wrong user name or password."),
    "login_throttled": (
        "密码错误次数过多，请一分钟后再试。",
        "Too many wrong passwords: try again in a minute.",
    ),
    "csrf_failed": (
        "表单已过期或来源不明，请刷新页面后重试。",
        "The form expired or did not come from this site: reload the page and try again.",
    ),
    "forbidden": ("您无权查看此页面。", "You may not open this page."),
    "not_found": ("未找到（或不在您负责的乡镇）。", "Not found (or not in your townships)."),
    "bad_request": ("请求参数有误。", "Bad request."),
    "month": ("月份", "Month"),
    "township": ("乡镇", "Township"),
    "typology": ("疑点类型", "Typology"),
    "status": ("状态", "Status"),
    "any": ("全部", "any"),
    "filter": ("筛选", "Filter"),
    "mine": ("只看分派给我的", "assigned to me"),
    "rank": ("优先级", "Rank"),
    "case": ("案件", "Case"),
    "person": ("人员", "Person"),
    "name": ("姓名", "Name"),
    "person_id": ("身份证号", "ID number"),
    "est_overpayment": ("估计多发金额(元)", "Est. overpayment (yuan)"),
    "strongest_reason": ("主要疑点", "Strongest reason"),
    "assignee": ("核查人", "Assignee"),
    "risk_score": ("风险概率", "Risk"),
    "no_cases": ("没有符合条件的案件。", "No case matches."),
    "cases_total": ("共 {n} 件", "{n} cases"),
    "previous": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "sex": ("性别", "Sex"),
    "birth_date": ("出生日期", "Birth date"),
    "scheme": ("险种", "Scheme"),
    "village": ("村(社区)", "Village"),
    "benefit_start": ("待遇开始", "Benefit start"),
    "register_status": ("待遇状态", "Register status"),
    "bank_account": ("银行账号", "Bank account"),
    "collector_id": ("代领人", "Collector"),
    "evidence": ("疑点依据", "Evidence"),
    "reasons": ("疑点代码", "Reason codes"),
    "first_flagged": ("首次列出", "First flagged"),
    "last_listed": ("最近列出", "Last listed"),
    "listed_months": ("列出月份", "Months listed"),
    "note": ("备注", "Note"),
    "timeline": ("逐月发放", "Payouts by month"),
    "period": ("所属期", "Period"),
    "kind": ("发放类型", "Kind"),
    "amount": ("金额(元)", "Amount (yuan)"),
    "quarantined": ("隔离行", "quarantined row"),
    "after_death": ("死亡后发放", "paid after death"),
    "deaths": ("死亡记录", "Death records"),
    "record_id": ("记录号", "Record"),
    "death_date": ("死亡日期", "Death date"),
    "source": ("来源", "Source"),
    "recorded_on": ("登记日期", "Recorded on"),
    "confidence": ("关联置信度", "Link confidence"),
    "link_method": ("关联方式", "Link method"),
    "agreed": ("一致的字段", "Fields that agreed"),
    "accepted": ("可作死亡证据", "Proof of death"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "no_deaths": ("没有关联到此人的死亡记录。", "No death record links to this person."),
    "certifications": ("资格认证", "Survival certifications"),
    "cert_date": ("认证日期", "Date"),
    "method": ("认证方式", "Method"),
    "result": ("结果", "Result"),
    "operator": ("经办人", "Operator"),
    "no_certifications": ("没有认证记录。", "No certification on record."),
    "cert_known": (
        "距最后一次认证通过或待遇申领{months}个月。",
        "{months} months since the last pass or the claim.",
    ),
    "cert_bounded": (
        "自{since}有记录以来{months}个月无通过的认证（更早的认证不在记录中）。",
        "No pass in the {months} months recorded since {since} (earlier certifications are not in the records).",
    ),
    "cert_lapsed": (
        "已超过认证周期：应暂停待遇。",
        "The cycle has run out: the pension is to be suspended.",
    ),
    "sharing": ("共用账户或代领人的人员", "People sharing the account or collector"),
    "receiver": ("账户/代领人", "Account / collector"),
    "no_sharing": (
        "没有他人共用此人的账户或代领人。",
        "Nobody else is paid through this person's accounts or collectors.",
    ),
    "their_case": ("其案件", "Their case"),
    "elsewhere_person": ("其他乡镇人员", "a person of another township"),
    "sharing_elsewhere": (
        "其他乡镇也有人员共用此账户或代领人（姓名等信息不在您的权限范围内）",
        "People of other townships share this account or collector too (their details are outside your townships)",
    ),
    "people": ("人数", "People"),
    "history": ("案件记录", "Case history"),
    "at": ("时间", "Time"),
    "actor": ("操作人", "By"),
    "event": ("事件", "Event"),
    "assign": ("分派", "Assign"),
    "assign_to": ("分派给", "Assign to"),
    "assigned": ("已分派。", "Assigned."),
    "no_auditor": ("此乡镇没有核查人员账号。", "No auditor works this township."),
    "record_outcome": ("登记核查结果", "Record the outcome"),
    "outcome": ("核查结果", "Outcome"),
    "closed_on": ("结案日期", "Closed on"),
    "overpaid_amount": ("多发金额(元)", "Overpaid (yuan)"),
    "recovered_amount": ("追回金额(元)", "Recovered (yuan)"),
    "save": ("保存", "Save"),
    "saved": ("核查结果已登记。", "Outcome recorded."),
    "unchanged": (
        "与已登记的结果相同，未作修改。",
        "Same as the recorded result: nothing changed.",
    ),
    "fix_errors": ("请更正以下问题：", "Please correct:"),
    "current_outcome": ("已登记结果", "Recorded outcome"),
    "cases_listed": ("本月案件", "Cases this month"),
    "amount_at_stake": ("涉及金额(元)", "Amount at stake (yuan)"),
    "closed_cases": ("已结案", "Closed"),
    "recovered_total": ("已追回(元)", "Recovered (yuan)"),
    "by_typology": ("按疑点类型", "By typology"),
    "by_township": ("按乡镇", "By township"),
    "cases_count": ("案件数", "Cases"),
    "outcomes_so_far": ("本月案件核查结果", "Outcomes so far (this month's cases)"),
    "open": ("未结", "open"),
    "precision": ("各类型准确率（全部已结案件）", "Precision per typology (all closed cases)"),
    "precision_col": ("准确率", "Precision"),
    "no_township": ("（无乡镇）", "(no township)"),
    "audited": ("已核查", "Audited"),
    "confirmed": ("确认", "Confirmed"),
    "cleared": ("排除", "Cleared"),
    "recovery": ("追回与估计（确认案件）", "Recovered vs estimated (confirmed cases)"),
    "estimated": ("估计", "Estimated"),
    "overpaid": ("核定多发", "Overpaid"),
    "recovered": ("追回", "Recovered"),
    "action": ("操作", "Action"),
    "day": ("日期", "Day"),
    "times": ("次数", "Times"),
    "busy": ("服务器繁忙，请稍后再试。", "The server is busy; try again in a moment."),
    "detail": ("内容", "Detail"),
    "user": ("用户", "User"),
    "role": ("角色", "Role"),
    "townships": ("负责乡镇", "Townships"),
    "active": ("启用", "Active"),
    "add_user": ("新增用户", "Add user"),
    "townships_hint": ("多个乡镇用逗号分隔", "several townships separated by commas"),
    "disable": ("停用", "Disable"),
    "enable": ("启用", "Enable"),
    "user_added": ("用户已新增。", "User added."),
    "no_data": ("暂无数据", "no data"),
    "no_months": ("案件库中还没有任何月份的案件。", "The case store holds no month yet."),
    "full_id_hidden": ("（仅核查人员可见完整号码）", "(full number shown to auditors only)"),
    "recovery_ledger": ("追回台账", "Recovery ledger"),
    "recovery_account": ("追回账户", "Recovery account"),
    "recovery_by": ("汇总方式", "Summed by"),
    "as_of": ("截至", "As of"),
    "recovery_accounts": ("账户数", "Accounts"),
    "recovery_due": ("应追回(元)", "Due (yuan)"),
    "recovery_outstanding": ("未追回(元)", "Outstanding (yuan)"),
    "recovery_rate": ("追回率", "Recovery rate"),
    "recovery_ageing": (
        "未追回账户账龄（天，自结案日）",
        "Open accounts by age (days since closing)",
    ),
    "recovery_ladder": ("追回进程（已到哪一步）", "How far the ladder went"),
    "recovery_step": ("追回环节", "Step"),
    "written_off": ("核销(元)", "Written off (yuan)"),
    "write_offs_waiting": ("待审批的核销", "Write-offs waiting for approval"),
    "approve_write_off": ("批准核销", "Approve write-off of"),
    "open_accounts": ("未追回账户", "Open accounts"),
    "no_open_accounts": ("没有未追回的账户。", "No open account."),
    "next_deadline": ("期限", "Deadline"),
    "overdue": ("已逾期", "overdue"),
    "days": ("天", "days"),
    "recovery_method": ("方式", "Method"),
    "reason": ("原因/说明", "Reason / note"),
    "receipt_no": ("凭证号", "Receipt / reference"),
    "approved_by": ("审批人", "Approved by"),
    "waiting": ("待审批", "waiting"),
    "print_notice": ("打印追回通知书", "Print the recovery notice"),
    "recovery_saved": ("追回环节已登记。", "Recovery step recorded."),
    "write_off_approved": ("核销已批准。", "Write-off approved."),
    "signoff": ("待复核", "Sign-off"),
    "signoff_waiting": ("待复核的核查结果", "Results waiting for sign-off"),
    "signoff_none": ("没有待复核的结果。", "No result waits for sign-off."),
    "signoff_why": ("需复核原因", "Why sign-off"),
    "proposed_by": ("经办人", "Recorded by"),
    "proposed_at": ("登记时间", "Recorded at"),
    "approve": ("复核通过", "Approve"),
    "reject": ("退回", "Send back"),
    "reject_note": ("退回原因", "Why it is sent back"),
    "pending_saved": (
        "核查结果已登记，待另一名复核人员审核通过后结案。",
        "Outcome recorded; the case closes once a second user signs it off.",
    ),
    "approved": ("已复核通过，案件结案。", "Signed off: the case is closed."),
    "rejected": ("已退回经办人。", "Sent back to the auditor."),
    "own_result": (
        "这是您本人登记的结果，须由另一名复核人员审核。",
        "You recorded this result: another user signs it off.",
    ),
}

_VALUES: dict[str, tuple[str, str]] = {
    # typologies
    "deceased_paid": ("死亡后仍发放", "Paid after death"),
    "suspected_unreported_death": ("疑似死亡未报", "Suspected unreported death"),
    "duplicate_receipt": ("重复领取", "Duplicate receipt"),
    "shared_account": ("共用账户/代领", "Shared account / collector"),
    "amount_anomaly": ("金额异常", "Amount anomaly"),
    "identity_anomaly": ("身份异常", "Identity anomaly"),
    "custody_paid": ("服刑期间领取", "Paid in custody"),
    "upstream_suspect": ("上级下发疑点", "Upstream suspect"),
    # case states
    "new": ("新案件", "new"),
    "assigned": ("已分派", "assigned"),
    "closed": ("已结案", "closed"),
    "pending": ("待复核", "waiting for sign-off"),
    # recovery steps, methods, ladder and account states
    "notice": ("催缴通知", "notice"),
    "payment": ("退回款项", "payment"),
    "escalation": ("升级处理", "escalation"),
    "write_off": ("核销", "write-off"),
    "full": ("足额退回", "in full"),
    "instalment": ("分期退回", "instalment"),
    "offset": ("待遇抵扣", "offset against benefits"),
    "bank_return": ("银行退回", "bank return"),
    "administrative_order": ("行政处理决定", "administrative order"),
    "court": ("申请法院强制执行", "court"),
    "notified": ("已通知", "notified"),
    "none": ("未通知", "not yet notified"),
    "repaid": ("已追回", "repaid"),
    "open": ("未结清", "open"),
    "written_off": ("已核销", "written off"),
    "proposed": ("登记待复核", "proposed"),
    "approved": ("复核通过", "signed off"),
    "rejected": ("退回", "sent back"),
    "reopened": ("重新打开", "reopened"),
    "listed": ("列入清单", "listed"),
    "suppressed": ("未列出", "suppressed"),
    # outcomes
    "confirmed_deceased": ("确认死亡", "confirmed deceased"),
    "confirmed_improper": ("确认违规", "confirmed improper"),
    "cleared": ("排除", "cleared"),
    "unreachable": ("无法核实", "unreachable"),
    # certification methods and results
    "face_app": ("人脸识别", "face app"),
    "on_site": ("现场", "on site"),
    "home_visit": ("上门", "home visit"),
    "data_match": ("数据比对", "data match"),
    "pass": ("通过", "pass"),
    "fail": ("未通过", "fail"),
    # death sources
    "police": ("公安", "police"),
    "civil_affairs": ("民政", "civil affairs"),
    "health": ("卫健", "health"),
    "ministry": ("部省比对", "ministry"),
    # link methods and fields
    "exact_id": ("身份证号一致", "exact ID"),
    "id_typo": ("身份证号误录", "ID with a typo"),
    "demographic": ("姓名+出生日期", "name and birth date"),
    "name_only": ("仅姓名", "name only"),
    "name_pinyin": ("姓名同音", "name (same sound)"),
    "name_fuzzy": ("姓名近似", "name (similar)"),
    "place": ("地点", "place"),
    # schemes, statuses, kinds
    "enterprise": ("企业职工", "enterprise"),
    "institution": ("机关事业", "institution"),
    "resident": ("城乡居民", "resident"),
    "active": ("正常", "active"),
    "suspended": ("暂停", "suspended"),
    "terminated": ("终止", "terminated"),
    "regular": ("正常", "regular"),
    "arrears": ("补发", "arrears"),
    "adjustment": ("调整", "adjustment"),
    "account": ("银行账户", "account"),
    "collector": ("代领人", "collector"),
    "M": ("男", "M"),
    "F": ("女", "F"),
    # roles
    "auditor": ("核查员", "auditor"),
    "reviewer": ("复核员", "reviewer"),
    "supervisor": ("主管", "supervisor"),
    "admin": ("管理员", "admin"),
    # audit actions
    "view_case": ("查看案件", "viewed case"),
    "assign_case": ("分派案件", "assigned case"),
    "record_outcome": ("登记结果", "recorded outcome"),
    "approve_outcome": ("复核通过", "signed off outcome"),
    "record_recovery": ("登记追回环节", "recorded recovery step"),
    "recovery_rejected": ("追回环节未通过校验", "recovery step rejected"),
    "recovery_refused": ("追回登记被拒绝", "recovery step refused"),
    "approve_write_off": ("批准核销", "approved write-off"),
    "print_notice": ("打印追回通知书", "printed notice"),
    "reject_outcome": ("退回结果", "sent back outcome"),
    "signoff_refused": ("复核被拒绝", "sign-off refused"),
    "outcome_rejected": ("结果未通过校验", "outcome rejected"),
    "login_ok": ("登录", "signed in"),
    "login_failed": ("登录失败", "wrong password"),
    "login_throttled": ("登录被限制", "login throttled"),
    "logout": ("退出", "signed out"),
    "user_added": ("新增用户", "added user"),
    "user_enabled": ("启用用户", "enabled user"),
    "user_disabled": ("停用用户", "disabled user"),
    # field names in the link's agreement and outcome errors
    "person_id": ("身份证号", "ID"),
    "name": ("姓名", "name"),
    "birth_date": ("出生日期", "birth date"),
    "sex": ("性别", "sex"),
    "outcome": ("核查结果", "outcome"),
    "closed_on": ("结案日期", "closed on"),
    "death_date": ("死亡日期", "death date"),
    "overpaid_amount": ("多发金额", "overpaid"),
    "recovered_amount": ("追回金额", "recovered"),
    "case_id": ("案件编号", "case"),
}


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
        re.compile(r"^(.*) is not one of .*$"),
        r"\1 不是有效的核查结果（确认死亡 / 确认违规 / 排除 / 无法核实）",
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
