"""Evaluation of a month's case list against a demo county's ground truth.

:func:`evaluate` compares the detected ranking with three naive baselines an audit unit
could use without this product (random order, oldest first, longest since last
certification), on the metrics that matter to it: precision and recall in the top k,
share of the overpaid yuan captured, recall of deceased-paid persons (also those whose
death record carried a mistyped or missing ID) and false death links.

:func:`demo_history` is a small development loader for a demo county written with
``formats="parquet"`` (the production history comes from the ingest layer).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from features.deaths import linked_deaths
from features.history import register_people
from sentinel.config import SentinelConfig, load_config
from sentinel.contract import DATASETS
from sentinel.detection import MonthHistory, month_register_runs
from sentinel.periods import month_end

BASELINES: tuple[str, ...] = ("random", "oldest_first", "longest_uncertified")
_RANDOM_SEED = 20201231


def demo_history(dest: Path, month: str) -> MonthHistory:
    """A :class:`MonthHistory` from a parquet demo county (``dest/inbox/YYYY-MM/*.parquet``).

    Development loader: it trusts the parquet types (the demo writes canonical columns) and
    quarantines nothing; the ingest layer does the real typing and quarantine.
    """
    inbox = Path(dest) / "inbox"
    drops = sorted(p.name for p in inbox.iterdir() if p.is_dir() and p.name <= month)

    def scan(dataset: str) -> pl.LazyFrame:
        frames = [
            pl.scan_parquet(inbox / m / f"{dataset}.parquet").with_columns(pl.lit(m).alias("month"))
            for m in drops
            if (inbox / m / f"{dataset}.parquet").exists()
        ]
        if not frames:
            schema = {c.name: _dtype(c.kind) for c in DATASETS[dataset].columns}
            return pl.LazyFrame(schema={**schema, "month": pl.String})
        return pl.concat(frames, how="diagonal_relaxed")

    payouts = DATASETS["payouts"]
    quarantine_schema = {
        **{c: pl.String for c in payouts.column_names},
        "_reason": pl.String,
        "month": pl.String,
    }
    return MonthHistory(
        month=month,
        register=scan("beneficiaries"),
        payouts=scan("payouts"),
        quarantined_payouts=pl.LazyFrame(schema=quarantine_schema),
        deaths=scan("deaths"),
        certifications=scan("certifications"),
        outcomes=scan("outcomes"),
        custody=scan("custody"),
    )


def _dtype(kind: str) -> pl.DataType:
    return {"date": pl.Date(), "amount": pl.Float64()}.get(kind, pl.String())


def _truth(truth_dir: Path, month: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    improper = pl.read_parquet(truth_dir / "improper.parquet").filter(
        pl.col("first_period") <= month
    )
    overpaid = (
        pl.read_parquet(truth_dir / "overpayments.parquet")
        .filter(pl.col("pay_month") <= month)
        .group_by("person_id")
        .agg(pl.col("amount").sum().alias("overpaid"))
    )
    return improper, overpaid


def _ranking_metrics(
    ranked: list[str], positives: set[str], overpaid: dict[str, float], ks: list[int]
) -> dict[str, float]:
    total_overpaid = sum(overpaid.values()) or 1.0
    out: dict[str, float] = {}
    for k in ks:
        top = ranked[:k]
        hits = sum(p in positives for p in top)
        out[f"precision@{k}"] = hits / k if k else float("nan")
        out[f"recall@{k}"] = hits / len(positives) if positives else float("nan")
        out[f"overpaid_share@{k}"] = sum(overpaid.get(p, 0.0) for p in set(top)) / total_overpaid
    return out


def baseline_rankings(history: MonthHistory) -> dict[str, list[str]]:
    """Persons on the month's register in the order three naive methods would audit them.

    ``random`` (fixed seed), ``oldest_first`` and ``longest_uncertified`` (no pass, or the
    oldest last pass, first): what an audit unit does without this product.
    """
    month = history.month
    people = (
        history.register.filter(pl.col("month") == month)
        .group_by("person_id")
        .agg(pl.col("birth_date").min())
        .collect()
        .sort("person_id")
    )
    rng = np.random.default_rng(_RANDOM_SEED)
    random_order = people["person_id"].to_numpy()[rng.permutation(people.height)].tolist()
    oldest = people.sort(["birth_date", "person_id"])["person_id"].to_list()
    last_pass = (
        history.certifications.filter((pl.col("month") <= month) & (pl.col("result") == "pass"))
        .group_by("person_id")
        .agg(pl.col("cert_date").max().alias("last_pass"))
        .collect()
    )
    longest = (
        people.join(last_pass, on="person_id", how="left")
        .sort(["last_pass", "birth_date", "person_id"], nulls_last=False)["person_id"]
        .to_list()
    )
    return {"random": random_order, "oldest_first": oldest, "longest_uncertified": longest}


def death_link_check(
    history: MonthHistory, truth_dir: Path, config: SentinelConfig | None = None
) -> pl.DataFrame:
    """Death links made by detection, with the truth: ``record_id, person_id, confidence,
    method, true_person_id, id_error, correct``."""

    config = config or load_config()
    people = register_people(month_register_runs(history))
    deaths = history.deaths.filter(pl.col("month") <= history.month)
    links = linked_deaths(deaths, people, config.detection).collect()
    truth = pl.read_parquet(truth_dir / "death_records.parquet")
    return links.join(truth, on="record_id", how="left").with_columns(
        (pl.col("true_person_id") == pl.col("person_id")).fill_null(False).alias("correct")
    )


def evaluate(
    cases: pl.DataFrame,
    truth_dir: Path,
    month: str,
    history: MonthHistory,
    capacity: int,
    config: SentinelConfig | None = None,
) -> pl.DataFrame:
    """Metrics of ``cases`` and of three baselines, as a table (rows metric, columns method).

    Truth positives are persons in ``improper.parquet`` whose improper payments began at or
    before ``month``; the overpaid amount is ``overpayments.parquet`` paid up to ``month``
    (including routine reporting-lag overpayments, which no method should rank first).
    ``k`` runs over 25, 50, ``capacity`` and 200. Deceased-paid recall (whole case list,
    any typology) is given overall and per death-record ID error; ``false_death_links``
    counts links to a person other than the record's true subject. Baselines rank every
    person on the month's register; the death-link rows do not apply to them (null).
    """
    truth_dir = Path(truth_dir)
    improper, overpaid = _truth(truth_dir, month)
    positives = set(improper["person_id"].to_list())
    overpaid_map = dict(
        zip(overpaid["person_id"].to_list(), overpaid["overpaid"].to_list(), strict=True)
    )
    ks = sorted({25, 50, capacity, 200})
    ranked_cases = cases.sort("priority_rank")["person_id"].to_list()

    rankings = {"detection": ranked_cases, **baseline_rankings(history)}
    table: dict[str, dict[str, float | None]] = {
        method: dict(_ranking_metrics(order, positives, overpaid_map, ks))
        for method, order in rankings.items()
    }

    records = pl.read_parquet(truth_dir / "death_records.parquet")
    dp = improper.filter(pl.col("typology") == "deceased_paid").select("person_id").unique()
    dp_errors = dp.join(
        records.filter(pl.col("true_person_id").is_not_null())
        .sort("recorded_on")
        .group_by("true_person_id")
        .agg(pl.col("id_error").first())
        .rename({"true_person_id": "person_id"}),
        on="person_id",
        how="left",
    ).with_columns(pl.col("person_id").is_in(ranked_cases).alias("found"))
    detection = table["detection"]
    detection["deceased_paid_persons"] = float(dp.height)
    detection["deceased_paid_recall"] = (
        float(dp_errors["found"].mean()) if dp.height else float("nan")
    )
    for error in ("none", "digit", "swap", "missing"):
        part = dp_errors.filter(pl.col("id_error") == error)
        detection[f"deceased_paid_recall[{error}]"] = (
            float(part["found"].mean()) if part.height else None
        )
    links = death_link_check(history, truth_dir, config)
    detection["death_links"] = float(links.height)
    detection["false_death_links"] = float((~links["correct"]).sum())
    dp_cases = cases.filter(pl.col("reasons").str.contains("DP_PAID_AFTER_DEATH"))
    detection["deceased_paid_cases_not_improper"] = float(
        dp_cases.filter(~pl.col("person_id").is_in(list(positives))).height
    )
    detection["cases"] = float(cases.height)

    metrics = list(detection)
    return pl.DataFrame(
        {
            "metric": metrics,
            **{method: [table[method].get(m) for m in metrics] for method in rankings},
        },
        schema={"metric": pl.String, **{m: pl.Float64 for m in rankings}},
    )


# --------------------------------------------------------------------------- worlds


def recipients(history: MonthHistory) -> int:
    """Persons paid a regular pension for ``history.month`` (any scheme)."""
    return int(
        history.payouts.filter(
            (pl.col("month") == history.month)
            & (pl.col("kind") == "regular")
            & (pl.col("period") == history.month)
        )
        .select(pl.col("person_id").n_unique())
        .collect()
        .item()
    )


def improper_as_of(truth_dir: Path, month: str) -> pl.DataFrame:
    """Persons with an improper payment made up to ``month`` (``person_id``,
    ``overpaid`` yuan up to the month, ``typologies``): who an all-knowing auditor would
    find (routine reporting lags, recovered by the termination procedure, excluded)."""
    improper = pl.read_parquet(Path(truth_dir) / "improper.parquet")
    paid = (
        pl.read_parquet(Path(truth_dir) / "overpayments.parquet")
        .filter((pl.col("pay_month") <= month) & (pl.col("typology") != "reporting_lag"))
        .group_by("person_id")
        .agg(pl.col("amount").sum().alias("overpaid"))
    )
    return (
        improper.group_by("person_id")
        .agg(pl.col("typology").unique().sort().alias("typologies"))
        .join(paid, on="person_id", how="inner")
        .filter(pl.col("overpaid") > 0)
    )


def paid_after_linked_death(truth_dir: Path, month: str, deaths: pl.LazyFrame) -> pl.DataFrame:
    """``deceased_paid`` persons whose death record arrived before ``month`` and who were
    paid for a period after the death by then: each must be on the case list until closed.

    ``deaths``: the death records delivered (the history's ``deaths``). A record carrying
    neither an ID (right, mistyped or partly missing) nor a birth date names a name, not a
    person (a namesake may have died): no one can link it, so it is not counted.
    """
    truth_dir = Path(truth_dir)
    start = date.fromisoformat(f"{month}-01")
    linkable = (
        deaths.filter(pl.col("person_id").is_not_null() | pl.col("birth_date").is_not_null())
        .select("record_id")
        .unique()
        .collect()
    )
    records = (
        pl.read_parquet(truth_dir / "death_records.parquet")
        .filter(pl.col("true_person_id").is_not_null() & (pl.col("recorded_on") < start))
        .join(linkable, on="record_id", how="semi")
        .select(pl.col("true_person_id").alias("person_id"), "id_error")
        .unique("person_id")
    )
    paid = (
        pl.read_parquet(truth_dir / "overpayments.parquet")
        .filter((pl.col("pay_month") <= month) & (pl.col("typology") == "deceased_paid"))
        .select("person_id")
        .unique()
    )
    return records.join(paid, on="person_id", how="inner")


def custody_check(cases: pl.DataFrame, truth_dir: Path, month: str) -> dict[str, float]:
    """How the list treats the persons in custody (``custody_records.parquet``):

    * ``custody_listed``: share of the persons paid against the custody policy by ``month``
      (``overpayments.parquet``, typology ``custody_paid``) whose custody record had arrived
      by then, listed with that typology and an overpayment within one yuan of the truth
      (1.0 when there are none);
    * ``probation_listed_for_pay``: persons on probation, parole or supervised release
      listed for being paid while in custody (``CP_PAID_*``), who are owed their pension.
    """
    truth_dir = Path(truth_dir)
    records = truth_dir / "custody_records.parquet"
    if not records.exists():
        return {"custody_listed": 1.0, "probation_listed_for_pay": 0.0}
    # Only persons a custody record of whom had arrived by the month's end can be listed.
    received = (
        pl.read_parquet(records)
        .filter(pl.col("received_on") <= month_end(month))
        .select(pl.col("true_person_id").alias("person_id"))
        .drop_nulls()
        .unique()
    )
    due = (
        pl.read_parquet(truth_dir / "overpayments.parquet")
        .filter((pl.col("typology") == "custody_paid") & (pl.col("pay_month") <= month))
        .join(received, on="person_id", how="semi")
        .group_by("person_id")
        .agg(pl.col("amount").sum().alias("overpaid"))
    )
    listed = cases.filter(pl.col("typology") == "custody_paid").select(
        "person_id", "est_overpayment"
    )
    right = due.join(listed, on="person_id", how="inner").filter(
        (pl.col("est_overpayment") - pl.col("overpaid")).abs() <= 1.0
    )
    kept = pl.read_parquet(records).filter(
        pl.col("kind").is_in(["probation", "parole", "supervised_release"])
        & pl.col("true_person_id").is_not_null()
    )
    reasons = cases["reasons"]
    paid_reason = (
        reasons.list.join(",") if reasons.dtype == pl.List(pl.String) else reasons.cast(pl.String)
    ).str.contains("CP_PAID_")
    wrongly = cases.filter(
        paid_reason & pl.col("person_id").is_in(kept["true_person_id"].implode())
    )
    return {
        "custody_listed": right.height / due.height if due.height else 1.0,
        "probation_listed_for_pay": float(wrongly.height),
    }


def _owed_upstream(cases: pl.DataFrame) -> pl.Series:
    """Cases listed only for the answer an upstream list is owed (:func:`world_metrics`)."""
    reasons = cases["reasons"]
    text = reasons.list.join(",") if reasons.dtype == pl.List(pl.String) else reasons.cast(pl.String)
    named = text.fill_null("").str.contains("US_SUSPECT_")
    lead = (cases["strength"] == "lead").fill_null(False) if "strength" in cases.columns else False
    return (cases["typology"] == "upstream_suspect") | (named & lead)


def world_metrics(
    cases: pl.DataFrame, truth_dir: Path, history: MonthHistory, capacity: int
) -> dict[str, float]:
    """What the audit unit gets from ``cases`` (a month's published case list) in a demo world.

    * ``precision_at_capacity``: improper persons in the top ``capacity`` over
      ``min(capacity, improper persons)`` (a county with fewer improper persons than visits
      is not held to the impossible);
    * ``deceased_paid_listed``: share of the persons paid after a linked death (any ID
      error) who are on the list (1.0 when there are none);
    * ``yuan_top`` and ``yuan_best_baseline``: yuan overpaid to the persons in the top
      ``capacity``, by this list and by the best of the three baselines; ``yuan_ratio``;
    * ``list_share``: cases over the month's recipients; ``own_list_share`` the same
      without the cases listed only because an upstream list names the person and no audit
      has answered it (typology ``upstream_suspect``, or a lead, ``strength`` ``lead``,
      that an upstream list names: the product's own evidence is below a finding). That is
      work the centre owes the upstream whatever the product lists.
    """
    month = history.month
    improper = improper_as_of(truth_dir, month)
    positives = set(improper["person_id"].to_list())
    overpaid = dict(
        zip(improper["person_id"].to_list(), improper["overpaid"].to_list(), strict=True)
    )
    ranked = cases.sort("priority_rank")["person_id"].to_list()
    top = list(dict.fromkeys(ranked))[:capacity]
    hits = sum(p in positives for p in top)
    possible = min(capacity, len(positives))
    yuan_top = sum(overpaid.get(p, 0.0) for p in top)
    baseline_yuan = {
        name: sum(overpaid.get(p, 0.0) for p in order[:capacity])
        for name, order in baseline_rankings(history).items()
    }
    best = max(baseline_yuan.values()) if baseline_yuan else 0.0
    must_list = paid_after_linked_death(
        truth_dir, month, history.deaths.filter(pl.col("month") <= month)
    )
    listed = set(ranked)
    found = sum(p in listed for p in must_list["person_id"].to_list())
    n_recipients = recipients(history)
    custody = custody_check(cases, truth_dir, month)
    return {
        **custody,
        "improper": float(len(positives)),
        "hits_at_capacity": float(hits),
        "precision_at_capacity": hits / possible if possible else 1.0,
        "deceased_paid_due": float(must_list.height),
        "deceased_paid_listed": found / must_list.height if must_list.height else 1.0,
        "yuan_top": yuan_top,
        "yuan_best_baseline": best,
        "yuan_ratio": yuan_top / best if best > 0 else float("inf"),
        "cases": float(cases.height),
        "recipients": float(n_recipients),
        "list_share": cases.height / n_recipients if n_recipients else 0.0,
        "own_list_share": (
            cases.filter(~_owed_upstream(cases)).height / n_recipients if n_recipients else 0.0
        ),
    }
