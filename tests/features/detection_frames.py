"""Small hand-made typed frames for rule-family tests (contract columns and dtypes), and the
rule families' reasons on them."""

from __future__ import annotations

from datetime import date

import polars as pl

from sentinel.config import load_config
from sentinel.contract import (
    BENEFICIARIES,
    CERTIFICATIONS,
    DEATHS,
    OUTCOMES_DATASET,
    PAYOUTS,
    Dataset,
    typed_schema,
)
from sentinel.detection import MonthHistory, rule_reasons


def _partition(dataset: Dataset, *, leaving_out: tuple[str, ...] = ()) -> dict[str, pl.DataType]:
    """A dataset's columns as ingest types them, then the ``month`` of the drop."""
    typed = typed_schema(dataset)
    return {**{c: t for c, t in typed.items() if c not in leaving_out}, "month": pl.String()}


# The optional columns a rule family does not read are left out of these small frames.
REGISTER_SCHEMA = _partition(BENEFICIARIES, leaving_out=("last_cert_date", "cert_due_date"))
PAYOUT_SCHEMA = _partition(PAYOUTS)
QUARANTINE_SCHEMA = {
    **{c: pl.String() for c in PAYOUT_SCHEMA if c != "month"},
    "_reason": pl.String(),
    "month": pl.String(),
}
DEATH_SCHEMA = _partition(DEATHS)
CERT_SCHEMA = _partition(CERTIFICATIONS)
OUTCOME_SCHEMA = _partition(OUTCOMES_DATASET, leaving_out=("audited_by", "reviewed_by"))

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_id(birth: str, seq: int, region: str = "430923") -> str:
    """A valid GB 11643 ID for ``birth`` (YYYYMMDD) and a 3-digit sequence."""
    body = f"{region}{birth}{seq:03d}"
    total = sum(int(c) * w for c, w in zip(body, _WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def months(start: str, end: str) -> list[str]:
    """``YYYY-MM`` months from start to end inclusive."""
    y, m = int(start[:4]), int(start[5:7])
    out = []
    while f"{y:04d}-{m:02d}" <= end:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def person(
    pid: str,
    name: str,
    sex: str,
    birth: date,
    *,
    scheme: str = "resident",
    village: str = "红星村",
    account: str | None = None,
    collector: str | None = None,
    status: str = "active",
    start: date = date(2012, 1, 1),
) -> dict:
    """One register row (without ``month``)."""
    return {
        "person_id": pid,
        "name": name,
        "sex": sex,
        "birth_date": birth,
        "scheme": scheme,
        "region_code": "430923",
        "township": "东坪镇",
        "village": village,
        "benefit_start": start,
        "status": status,
        "bank_account": account or f"6217{pid[-12:]}",
        "collector_id": collector,
    }


def register_over(rows: list[dict], span: list[str]) -> pl.DataFrame:
    """The same register rows in every month of ``span``."""
    return pl.DataFrame([{**r, "month": m} for m in span for r in rows], schema=REGISTER_SCHEMA)


def regular_payouts(rows: list[dict], span: list[str], amount: float = 120.0) -> pl.DataFrame:
    """A regular payment per register row and month, paid on the 10th."""
    return pl.DataFrame(
        [
            {
                "person_id": r["person_id"],
                "scheme": r["scheme"],
                "period": m,
                "pay_date": date(int(m[:4]), int(m[5:7]), 10),
                "amount": amount,
                "bank_account": r["bank_account"],
                "kind": "regular",
                "month": m,
            }
            for m in span
            for r in rows
        ],
        schema=PAYOUT_SCHEMA,
    )


def quarantined_line(person_id: str, period: str, reason: str, **raw: str | None) -> dict:
    """A payout line that quarantine kept, as the text it held, for ``period`` and dropped
    that month: a regular resident payment of 120 yuan on the 10th into account 6217
    unless ``raw`` says otherwise; ``reason``, why it was kept out."""
    return {
        "person_id": person_id,
        "scheme": "resident",
        "period": period,
        "pay_date": f"{period}-10",
        "amount": "120",
        "bank_account": "6217",
        "kind": "regular",
        **raw,
        "_reason": reason,
        "month": period,
    }


def death_record(p: dict, died: date, recorded: date, **record: object) -> dict:
    """A death record naming register row ``p`` as registered, received in the month it was
    recorded; ``record`` sets what it holds besides or otherwise (``record_id``, ``source``,
    a mistyped ``person_id``, no ``birth_date``)."""
    return {
        "record_id": "GA1",
        "person_id": p["person_id"],
        "name": p["name"],
        "sex": p["sex"],
        "birth_date": p["birth_date"],
        "death_date": died,
        "source": "police",
        "recorded_on": recorded,
        "month": f"{recorded:%Y-%m}",
        **record,
    }


def certification(p: dict, on: date, method: str = "on_site", result: str = "pass") -> dict:
    """A survival certification of register row ``p``, in the month it was done."""
    return {
        "person_id": p["person_id"],
        "cert_date": on,
        "method": method,
        "result": result,
        "operator": None,
        "month": f"{on:%Y-%m}",
    }


def history(
    month: str,
    register: pl.DataFrame,
    payouts: pl.DataFrame,
    *,
    quarantined: pl.DataFrame | None = None,
    deaths: pl.DataFrame | None = None,
    certifications: pl.DataFrame | None = None,
) -> MonthHistory:
    """A MonthHistory from small frames (missing ones empty)."""
    return MonthHistory(
        month=month,
        register=register.lazy(),
        payouts=payouts.lazy(),
        quarantined_payouts=(
            quarantined if quarantined is not None else pl.DataFrame(schema=QUARANTINE_SCHEMA)
        ).lazy(),
        deaths=(deaths if deaths is not None else pl.DataFrame(schema=DEATH_SCHEMA)).lazy(),
        certifications=(
            certifications if certifications is not None else pl.DataFrame(schema=CERT_SCHEMA)
        ).lazy(),
        outcomes=pl.DataFrame(schema=OUTCOME_SCHEMA).lazy(),
    )


def paid_throughout(people: list[dict], span: list[str], **records: pl.DataFrame) -> MonthHistory:
    """``people`` on the register and paid regularly every month of ``span``: the history as
    of its last month, with ``records`` as for :func:`history`."""
    return history(span[-1], register_over(people, span), regular_payouts(people, span), **records)


# What the rule-family tests read: the year they span, the committed configuration, a payout
# line cut short, and the reasons the rule families give.
SPAN = months("2020-01", "2020-12")
CONFIG = load_config()
#: What a payout line cut short still holds: its ID, scheme and period, nothing paid.
CUT_SHORT = {"pay_date": None, "amount": None, "bank_account": None, "kind": None}


def _reasons(h) -> pl.DataFrame:
    return rule_reasons(h, CONFIG).collect()


def _flagged(reasons: pl.DataFrame, typology: str) -> set[str]:
    return set(reasons.filter(pl.col("typology") == typology)["person_id"].to_list())
