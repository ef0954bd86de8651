"""Upstream suspect batches of a demo county, with their ground truth.

The ministry's and the province's audit systems push suspects down in batches, true and
false mixed (docs/domain.md: "verified one by one"; most suspects are not problems). A batch is
pushed every ``suspect_batch_every`` months, from the second month on, and is due at the end
of the month after the push. Its true suspects are improper persons known by the push (a
share of those not named in an earlier batch), typed by what is wrong with them; its false
suspects are living pensioners paid properly, and a few IDs of people who are not
pensioners of the county at all (a suspect list is matched province-wide).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl
from stdnum.cn import ric

from sentinel.periods import month_end

#: What an upstream list would call each injected typology.
SUSPECT_TYPE = {
    "deceased_paid": "death",
    "suspected_unreported_death": "death",
    "custody_paid": "custody",
    "duplicate_receipt": "duplicate",
    "shared_account": "account",
    "amount_anomaly": "other",
    "identity_anomaly": "other",
}
_FALSE_TYPES = np.array(["death", "custody", "duplicate", "account", "other"])
# Most cross-check suspects are about survival (death records against the payroll).
_FALSE_TYPE_SHARES = np.array([0.6, 0.1, 0.15, 0.1, 0.05])
_SOURCES = np.array(["ministry", "province", "audit_office"])
_SOURCE_SHARES = np.array([0.5, 0.4, 0.1])
_DETAIL = {
    "death": "比对发现疑似死亡后仍领取待遇",
    "custody": "比对发现疑似服刑期间领取待遇",
    "duplicate": "比对发现疑似重复领取养老保险待遇",
    "account": "待遇发放账户疑点",
    "other": "其他疑点",
}
SUSPECT_COLUMNS = (
    "batch_id",
    "pushed_on",
    "due_on",
    "person_id",
    "name",
    "suspect_type",
    "source",
    "detail",
)


def suspect_batches(
    rng: np.random.Generator,
    months: list[str],
    improper: pl.DataFrame,
    overpayments: pl.DataFrame,
    people: pl.DataFrame,
    names: pl.DataFrame,
    *,
    per_1000: float,
    true_share: float,
    every: int,
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """The suspect frames by month (the drop that delivers each batch) and the truth.

    ``improper``: ``person_id, typology``; ``overpayments``: ``person_id, pay_month,
    amount, typology`` (a person is a true suspect once overpaid, as an all-knowing auditor
    would find them, :func:`sentinel.evaluation.improper_as_of`); ``people``: ``person_id,
    is_improper, true_death_date`` of the register; ``names``: ``person_id, name``.
    A batch names about ``per_1000`` suspects per 1,000 pensioners, ``true_share`` of them
    true (fewer when the county has fewer improper persons left to name).
    """
    pensioners = people["person_id"].n_unique()
    size = max(4, int(round(per_1000 * pensioners / 1000)))
    named: set[str] = set()
    drops: dict[str, pl.DataFrame] = {}
    truth: list[pl.DataFrame] = []
    honest = people.filter(~pl.col("is_improper") & pl.col("true_death_date").is_null())
    pool = _SuspectPool(
        first=_first_overpaid(improper, overpayments),
        honest_ids=honest["person_id"].unique().sort().to_list(),
        name_of=dict(zip(names["person_id"].to_list(), names["name"].to_list(), strict=False)),
        size=size,
        true_share=true_share,
    )
    for k, month in enumerate(months[1:-1], start=1):
        if k % every:
            continue
        due = month_end(months[months.index(month) + 1])
        frame, picked = _batch(rng, pool, named, month, k, due)
        drops[month] = frame.select(SUSPECT_COLUMNS)
        named |= set(frame["person_id"].to_list())
        truth.append(
            frame.select(
                "batch_id",
                "person_id",
                "suspect_type",
                "due_on",
                pl.col("person_id").is_in(picked["person_id"].implode()).alias("is_improper"),
                pl.col("person_id").is_in(people["person_id"].implode()).alias("on_register"),
            )
        )
    schema = {
        "batch_id": pl.String,
        "person_id": pl.String,
        "suspect_type": pl.String,
        "due_on": pl.Date,
        "is_improper": pl.Boolean,
        "on_register": pl.Boolean,
    }
    return drops, (pl.concat(truth) if truth else pl.DataFrame(schema=schema))


@dataclass(frozen=True)
class _SuspectPool:
    """Whom a batch can name: improper persons by when they were first overpaid (``first``:
    ``person_id, typology, first_paid``), living pensioners paid properly, and their names;
    ``size`` suspects a batch, ``true_share`` of them true."""

    first: pl.DataFrame
    honest_ids: list[str]
    name_of: dict[str, str | None]
    size: int
    true_share: float


def _first_overpaid(improper: pl.DataFrame, overpayments: pl.DataFrame) -> pl.DataFrame:
    """Each improper person's first typology and the first drop month that overpaid them."""
    overpaid = (
        overpayments.filter((pl.col("typology") != "reporting_lag") & (pl.col("amount") > 0))
        .group_by("person_id")
        .agg(pl.col("pay_month").min().alias("first_paid"))
    )
    return (
        improper.group_by("person_id")
        .agg(pl.col("typology").sort_by("first_period").first())
        .join(overpaid, on="person_id", how="inner")
    )


def _batch(
    rng: np.random.Generator,
    pool: _SuspectPool,
    named: set[str],
    month: str,
    k: int,
    due: date,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The ``k``-th batch, pushed in ``month`` and due on ``due``: its rows (shuffled) and
    the true suspects picked for it (``person_id, typology``); no one named before."""
    known = pool.first.filter(
        (pl.col("first_paid") <= month) & ~pl.col("person_id").is_in(sorted(named))
    ).sort("person_id")
    n_true = min(known.height, int(round(pool.size * pool.true_share)))
    picked = known.sample(n_true, seed=int(rng.integers(2**31))) if n_true else known.clear()
    n_false = pool.size - n_true
    n_outside = max(1, int(round(0.05 * n_false)))
    candidates = [p for p in pool.honest_ids if p not in named]
    false_ids = list(
        rng.choice(candidates, min(len(candidates), n_false - n_outside), replace=False)
    )
    outside = [_outside_id(rng) for _ in range(n_outside)]
    ids = picked["person_id"].to_list() + false_ids + outside
    types = [SUSPECT_TYPE[t] for t in picked["typology"].to_list()] + list(
        rng.choice(_FALSE_TYPES, len(false_ids) + n_outside, p=_FALSE_TYPE_SHARES)
    )
    pushed = date.fromisoformat(f"{month}-01") + timedelta(days=int(rng.integers(2, 20)))
    batch_id = f"YZ{month.replace('-', '')}{k:02d}"
    frame = pl.DataFrame(
        {
            "batch_id": [batch_id] * len(ids),
            "pushed_on": [pushed] * len(ids),
            "due_on": [due] * len(ids),
            "person_id": ids,
            "name": [pool.name_of.get(p) for p in ids],
            "suspect_type": types,
            "source": list(rng.choice(_SOURCES, len(ids), p=_SOURCE_SHARES)),
            "detail": [_DETAIL[t] for t in types],
        },
        schema_overrides={"pushed_on": pl.Date, "due_on": pl.Date, "name": pl.String},
    ).sample(fraction=1.0, shuffle=True, seed=int(rng.integers(2**31)))
    return frame, picked


def _outside_id(rng: np.random.Generator) -> str:
    """A well-formed ID of somebody who is not a pensioner here (another Hunan county)."""
    born = date(1940, 1, 1) + timedelta(days=int(rng.integers(0, 9000)))
    body = f"430521{born:%Y%m%d}{int(rng.integers(0, 999)):03d}"
    return body + ric.calc_check_digit(body)
