"""What the learned model reads of a person: :data:`features.cases.PERSON_FEATURES` and
the context the case list shows."""

from __future__ import annotations

import polars as pl

from features.payments import monthly_amount, months_paid
from sentinel.detection.preparation import MonthPersons
from sentinel.periods import date_month_index, month_number


def prepared_person_features(prep: MonthPersons, persons: pl.LazyFrame) -> pl.LazyFrame:
    """:data:`features.cases.PERSON_FEATURES` and context of ``persons`` (``person_id``)."""
    now = month_number(prep.month)
    scheme_code = (
        pl.when(pl.col("scheme") == "enterprise")
        .then(1)
        .when(pl.col("scheme") == "institution")
        .then(2)
        .otherwise(0)
    )
    return (
        persons.select("person_id")
        .unique()
        .join(prep.people, on="person_id", how="left")
        .join(monthly_amount(prep.ledger, prep.month), on="person_id", how="left")
        .join(months_paid(prep.ledger), on="person_id", how="left")
        .join(prep.evidence.drop("birth_date", "benefit_start"), on="person_id", how="left")
        .join(prep.changes, on="person_id", how="left")
        .join(_receiver_group_sizes(prep.edges), on="person_id", how="left")
        .with_columns(
            ((pl.lit(now) - date_month_index(pl.col("birth_date"))) / 12.0).alias("age"),
            scheme_code.alias("scheme_code"),
            (pl.lit(now) - pl.col("pass_index")).alias("months_since_pass"),
            (pl.lit(now) - pl.col("strong_index")).alias("months_since_strong_evidence"),
            pl.col("fails_since_pass").fill_null(0).alias("failed_certs_since_pass"),
            (pl.col("pass_method") == "face_app")
            .fill_null(False)
            .cast(pl.Int8)
            .alias("last_pass_face_app"),
            (pl.col("account_change_index") > pl.col("strong_index"))
            .fill_null(False)
            .cast(pl.Int8)
            .alias("account_changed_after_evidence"),
            (pl.col("collector_change_index") > pl.col("strong_index"))
            .fill_null(False)
            .cast(pl.Int8)
            .alias("collector_after_evidence"),
            pl.col("collector_id").is_not_null().cast(pl.Int8).alias("has_collector"),
            (pl.lit(now) - pl.col("last_paid_index")).alias("months_since_paid"),
        )
        .with_columns(
            pl.col("account_people").fill_null(0),
            pl.col("collector_people").fill_null(0),
            pl.col("component_size").fill_null(0),
            pl.col("months_paid").fill_null(0),
            pl.col("monthly_amount").fill_null(0.0),
        )
    )


def _receiver_group_sizes(edges: pl.LazyFrame) -> pl.LazyFrame:
    """``person_id, account_people, collector_people, component_size``: how many persons
    share the person's largest account, collector, and receiver of either kind."""
    sizes = edges.group_by("receiver", "kind").agg(pl.col("person_id").n_unique().alias("size"))
    return (
        edges.join(sizes, on=["receiver", "kind"])
        .group_by("person_id")
        .agg(
            pl.col("size")
            .filter(pl.col("kind") == "account")
            .max()
            .fill_null(0)
            .alias("account_people"),
            pl.col("size")
            .filter(pl.col("kind") == "collector")
            .max()
            .fill_null(0)
            .alias("collector_people"),
            pl.col("size").max().alias("component_size"),
        )
    )
