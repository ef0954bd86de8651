"""Policy events recognised from the month's ledger: what happened to a whole scheme, not to
a person.

An annual adjustment paid back (arrears for the same periods to most of a scheme's
recipients in one drop), a standard that changes (most recipients' regular amount moving by
the same step), an adjustment partly proportional to the pension (most recipients' amount
rising by a step of their own), a payroll that applies a configured standard late (most of
a scheme paid off the standard): each is a fact about the county that the rules must not
read as evidence against the persons it touches. The rules are built not to (arrears are
judged against what a period was worth, :func:`features.amount_anomaly.amount_anomaly`; a
reason that fires for more than ``detection.common_reason_share`` of a scheme is
discounted, :mod:`features.scoring`); the events are named in the month's manifest so that
the audit unit sees what the month held and why no case came of it.

Counts are taken so that partitions of a county add up (:func:`event_counts`), then read
into events once for the county (:func:`policy_events`).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from sentinel.config import PolicyConfig
from sentinel.periods import month_number, period_of_index
from sentinel.reasons import REASONS

__all__ = ["EVENT_COUNT_SCHEMA", "event_counts", "policy_events"]

#: What :func:`event_counts` returns: one row per (kind, scheme, step).
EVENT_COUNT_SCHEMA: dict[str, pl.DataType] = {
    "kind": pl.String(),
    "scheme": pl.String(),
    "step": pl.Float64(),
    "persons": pl.Int64(),
    "yuan": pl.Float64(),
    "first_index": pl.Int32(),
    "last_index": pl.Int32(),
}


def event_counts(ledger: pl.LazyFrame, month: str) -> pl.LazyFrame:
    """Additive counts of the month's drop (the ledger as runs, :mod:`features.ledger`):

    * ``arrears``: persons paid arrears in this drop, per scheme and period paid, with
      the yuan;
    * ``amount_step``: persons whose regular amount for this month's period differs from
      the previous period's, per scheme and step (the change, to the yuan).
    """
    now = month_number(month)
    arrears = (
        ledger.filter((pl.col("kind") == "arrears") & (pl.col("drop_index") == now))
        .group_by("scheme", "period_index")
        .agg(
            pl.col("person_id").n_unique().cast(pl.Int64).alias("persons"),
            pl.col("amount").fill_null(0.0).sum().alias("yuan"),
        )
        .with_columns(
            pl.lit("arrears").alias("kind"),
            pl.lit(None, dtype=pl.Float64).alias("step"),
            pl.col("period_index").cast(pl.Int32).alias("first_index"),
            pl.col("period_index").cast(pl.Int32).alias("last_index"),
        )
    )
    regular = ledger.filter((pl.col("kind") == "regular") & pl.col("amount").is_not_null())

    def amount_at(index: int, name: str) -> pl.LazyFrame:
        return (
            regular.filter((pl.col("period_index") <= index) & (pl.col("period_end") >= index))
            .group_by("person_id", "scheme")
            .agg(pl.col("amount").max().alias(name))
        )

    steps = (
        amount_at(now, "amount")
        .join(amount_at(now - 1, "before"), on=["person_id", "scheme"], how="inner")
        .with_columns((pl.col("amount") - pl.col("before")).round(0).alias("step"))
        .filter(pl.col("step") != 0)
        .group_by("scheme", "step")
        .agg(
            pl.len().cast(pl.Int64).alias("persons"),
            (pl.col("amount") - pl.col("before")).sum().alias("yuan"),
        )
        .with_columns(
            pl.lit("amount_step").alias("kind"),
            pl.lit(now, dtype=pl.Int32).alias("first_index"),
            pl.lit(now, dtype=pl.Int32).alias("last_index"),
        )
    )
    return pl.concat(
        [
            f.select([pl.col(c).cast(t) for c, t in EVENT_COUNT_SCHEMA.items()])
            for f in (arrears, steps)
        ]
    )


def policy_events(
    counts: pl.DataFrame,
    recipients: pl.DataFrame,
    base_rates: pl.DataFrame,
    month: str,
    policy: PolicyConfig,
    *,
    common_reason_share: float,
) -> list[dict[str, object]]:
    """The month's policy events, for the manifest.

    ``counts``: :func:`event_counts` (summed over partitions); ``recipients``:
    :func:`features.scoring.recipients_by_scheme`; ``base_rates``:
    :func:`features.scoring.reason_base_rates`. An event is anything that touches more
    than ``common_reason_share`` (``detection.common_reason_share``) of a scheme's
    recipients:

    * ``back_pay``: arrears in one drop for the same periods (an adjustment paid back:
      the periods paid to that many, the most persons paid for one of them, the yuan);
    * ``standard_change``: the regular amount moving by one step (named ``configured``
      when the ``policy`` section holds a standard taking effect this month);
    * ``adjustment``: regular amounts moving the same way by steps that differ from
      person to person (an annual adjustment partly proportional to the pension;
      ``steps_yuan`` the smallest and the largest, ``median_step_yuan`` the median person's);
    * ``common_reason``: a reason code firing that widely (a payroll applying a standard
      late, a data habit, a wrong setting), which then counts as evidence only scaled down.
    """
    share = common_reason_share
    per_scheme = dict(
        zip(recipients["scheme"].to_list(), recipients["recipients"].to_list(), strict=True)
    )
    summed = _summed_counts(counts, per_scheme, share)
    configured = month in {s.effective_from for s in policy.resident_standards}
    return [
        *_ledger_events(summed, per_scheme, share, configured),
        *_common_reason_events(base_rates, share),
    ]


def _summed_counts(counts: pl.DataFrame, per_scheme: dict[str, int], share: float) -> pl.DataFrame:
    """The :func:`event_counts` of the county summed: per scheme, the arrears batch (its
    periods paid to more than ``share`` of the recipients; the most persons paid for one of
    them, the yuan) and each amount step."""
    paid = pl.col("scheme").replace_strict(per_scheme, default=None, return_dtype=pl.Float64)
    per_period = (
        counts.filter(pl.col("kind") == "arrears")
        .group_by("scheme", "first_index")
        .agg(pl.col("persons").sum(), pl.col("yuan").sum())
        .filter(pl.col("persons") > share * paid)
    )
    batches = per_period.group_by("scheme").agg(
        pl.lit("arrears").alias("kind"),
        pl.lit(None, dtype=pl.Float64).alias("step"),
        pl.col("persons").max(),
        pl.col("yuan").sum(),
        pl.col("first_index").min().alias("first_index"),
        pl.col("first_index").max().alias("last_index"),
    )
    steps = (
        counts.filter(pl.col("kind") == "amount_step")
        .group_by("kind", "scheme", "step")
        .agg(
            pl.col("persons").sum(),
            pl.col("yuan").sum(),
            pl.col("first_index").min(),
            pl.col("last_index").max(),
        )
    )
    return pl.concat([batches, steps], how="diagonal_relaxed").sort(
        "kind", "scheme", "step", nulls_last=True
    )


def _ledger_events(
    summed: pl.DataFrame, per_scheme: dict[str, int], share: float, configured: bool
) -> list[dict[str, object]]:
    """The ``back_pay``, ``standard_change`` and ``adjustment`` events of the
    :func:`_summed_counts` that touch more than ``share`` of their scheme's recipients
    (``configured``: the configuration holds a resident standard taking effect this month)."""
    events: list[dict[str, object]] = []
    for row in summed.filter(pl.col("kind") == "arrears").iter_rows(named=True):
        paid = per_scheme.get(row["scheme"]) or 0
        if paid and row["persons"] / paid > share:
            periods = f"{_period(row['first_index'])}..{_period(row['last_index'])}"
            events.append({"event": "back_pay", **_touched(row, paid), "periods": periods})
    steps = summed.filter(pl.col("kind") == "amount_step")
    for (scheme, _direction), moved in steps.group_by(
        "scheme", pl.col("step").sign(), maintain_order=True
    ):
        paid = per_scheme.get(str(scheme)) or 0
        if paid:
            events += _step_events(moved, paid, share, configured)
    return events


def _step_events(
    moved: pl.DataFrame, paid: int, share: float, configured: bool
) -> list[dict[str, object]]:
    """The events of one scheme's regular amounts moving the same way (rising, or falling)
    this month, ``paid`` its recipients: a ``standard_change`` when one step holds more than
    ``share`` of them and at least half of those moving (a standard is the same yuan for
    everyone), and an ``adjustment`` for the other steps together when they hold more than
    ``share`` (an adjustment partly proportional to the pension moves each person by a step
    of their own, so that no one step need touch many)."""
    events: list[dict[str, object]] = []
    moved = moved.sort(["persons", "step"], descending=[True, False])
    top = moved.row(0, named=True)
    period = _period(top["first_index"])
    if top["persons"] / paid > share and 2 * top["persons"] >= moved["persons"].sum():
        events.append(
            {
                "event": "standard_change",
                **_touched(top, paid),
                "step_yuan": top["step"],
                "period": period,
                "configured": top["scheme"] == "resident" and configured,
            }
        )
        moved = moved.slice(1)
    rest = {"scheme": top["scheme"], "persons": moved["persons"].sum(), "yuan": moved["yuan"].sum()}
    if rest["persons"] / paid > share:
        events.append(
            {
                "event": "adjustment",
                **_touched(rest, paid),
                "steps_yuan": [moved["step"].min(), moved["step"].max()],
                "median_step_yuan": _median_step(moved),
                "period": period,
            }
        )
    return events


def _median_step(moved: pl.DataFrame) -> float:
    """The step of the median person of ``moved`` (steps with their persons)."""
    ordered = moved.sort("step")
    half = ordered["persons"].sum() / 2
    return float(ordered.filter(ordered["persons"].cum_sum() >= half)["step"][0])


def _touched(row: dict[str, Any], paid: int) -> dict[str, object]:
    """What every ledger event says: the scheme, the persons and their share of the
    scheme's ``paid`` recipients, and the yuan."""
    persons = int(row["persons"])
    return {
        "scheme": row["scheme"],
        "persons": persons,
        "share_of_recipients": round(persons / paid, 4),
        "yuan": round(float(row["yuan"]), 2),
    }


def _common_reason_events(base_rates: pl.DataFrame, share: float) -> list[dict[str, object]]:
    """A ``common_reason`` event per reason code and scheme whose lower share bound exceeds
    ``share``: the weight it then counts with."""
    # Reasons the rule family already weighs by their observed share are not discounted.
    discounted = [code for code, reason in REASONS.items() if not reason.observed]
    common_reasons = base_rates.filter(
        (pl.col("share_low") > share) & pl.col("reason").is_in(discounted)
    )
    return [
        {
            "event": "common_reason",
            "reason": row["reason"],
            "scheme": row["scheme"],
            "persons": int(row["persons"]),
            "share_of_recipients": round(float(row["share"]), 4),
            "weight": round(share / float(row["share"]), 4),
        }
        for row in common_reasons.sort("reason", "scheme", nulls_last=True).iter_rows(named=True)
    ]


def _period(index: int | None) -> str | None:
    if index is None:
        return None
    return pl.select(period_of_index(pl.lit(index, dtype=pl.Int32))).item()
