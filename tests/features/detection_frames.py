"""Small hand-made typed frames for rule-family tests (contract columns and dtypes)."""

from __future__ import annotations

from datetime import date

import polars as pl

from sentinel.detection import MonthHistory

REGISTER_SCHEMA = {
    "person_id": pl.String,
    "name": pl.String,
    "sex": pl.String,
    "birth_date": pl.Date,
    "scheme": pl.String,
    "region_code": pl.String,
    "township": pl.String,
    "village": pl.String,
    "benefit_start": pl.Date,
    "status": pl.String,
    "bank_account": pl.String,
    "collector_id": pl.String,
    "month": pl.String,
}
PAYOUT_SCHEMA = {
    "person_id": pl.String,
    "scheme": pl.String,
    "period": pl.String,
    "pay_date": pl.Date,
    "amount": pl.Float64,
    "bank_account": pl.String,
    "kind": pl.String,
    "month": pl.String,
}
QUARANTINE_SCHEMA = {
    **{c: pl.String for c in PAYOUT_SCHEMA if c != "month"},
    "_reason": pl.String,
    "month": pl.String,
}
DEATH_SCHEMA = {
    "record_id": pl.String,
    "person_id": pl.String,
    "name": pl.String,
    "sex": pl.String,
    "birth_date": pl.Date,
    "death_date": pl.Date,
    "source": pl.String,
    "recorded_on": pl.Date,
    "month": pl.String,
}
CERT_SCHEMA = {
    "person_id": pl.String,
    "cert_date": pl.Date,
    "method": pl.String,
    "result": pl.String,
    "operator": pl.String,
    "month": pl.String,
}
OUTCOME_SCHEMA = {
    "case_id": pl.String,
    "person_id": pl.String,
    "closed_on": pl.Date,
    "outcome": pl.String,
    "death_date": pl.Date,
    "overpaid_amount": pl.Float64,
    "recovered_amount": pl.Float64,
    "month": pl.String,
}

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
    return pl.DataFrame(
        [{**r, "month": m} for m in span for r in rows], schema=REGISTER_SCHEMA
    )


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
        quarantined_payouts=(quarantined if quarantined is not None else pl.DataFrame(schema=QUARANTINE_SCHEMA)).lazy(),
        deaths=(deaths if deaths is not None else pl.DataFrame(schema=DEATH_SCHEMA)).lazy(),
        certifications=(certifications if certifications is not None else pl.DataFrame(schema=CERT_SCHEMA)).lazy(),
        outcomes=pl.DataFrame(schema=OUTCOME_SCHEMA).lazy(),
    )
