"""A person's file for the case page, from the curated history under OUT.

It reads only that person's rows of the curated history (lazy polars filters on
``person_id``, pushed down into the Parquet scans); the death records that could be
theirs are linked as the monthly run links them, and the people sharing an account or
collector are found by filtering on those receivers only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl

from features.certification import certification_state
from features.linkage import LinkColumns, LinkModel, estimate_link_model, link_records
from sentinel.config import SentinelConfig
from sentinel.io.store import CuratedStore
from sentinel.masking import mask_account, mask_id
from sentinel.periods import shift_month

__all__ = ["PersonFile", "read_person_file"]


@dataclass
class PersonFile:
    """A person's file for the case page; every frame holds only rows about this person
    (``sharing`` holds the other people paid through the same account or collector)."""

    person_id: str
    month: str
    register: pl.DataFrame
    payouts: pl.DataFrame
    deaths: pl.DataFrame
    certifications: pl.DataFrame
    #: The person's certification state as of the month
    #: (:func:`features.certification.certification_state`, the one detection and the
    #: suspension list read), empty when the person has no register row.
    certification: dict[str, Any]
    sharing: pl.DataFrame
    receivers: pl.DataFrame
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def latest(self) -> dict[str, Any]:
        """The person's latest register row (any scheme), or an empty dict."""
        if self.register.height == 0:
            return {}
        return self.register.sort(["month", "scheme"]).row(-1, named=True)


#: Columns read when a dataset has no month yet (an OUT without curated history).
_EMPTY: dict[str, dict[str, Any]] = {
    "beneficiaries": {
        "person_id": pl.String,
        "name": pl.String,
        "sex": pl.String,
        "birth_date": pl.Date,
        "scheme": pl.String,
        "township": pl.String,
        "village": pl.String,
        "benefit_start": pl.Date,
        "status": pl.String,
        "bank_account": pl.String,
        "collector_id": pl.String,
    },
    "payouts": {
        "person_id": pl.String,
        "scheme": pl.String,
        "period": pl.String,
        "pay_date": pl.Date,
        "amount": pl.Float64,
        "bank_account": pl.String,
        "kind": pl.String,
    },
    "certifications": {
        "person_id": pl.String,
        "cert_date": pl.Date,
        "method": pl.String,
        "result": pl.String,
        "operator": pl.String,
    },
}


def _scan(store: CuratedStore, dataset: str, month: str) -> pl.LazyFrame:
    return store.scan(dataset, up_to=month, schema=_EMPTY.get(dataset))


def read_person_file(
    out: Path, month: str, person_id: str, config: SentinelConfig, *, curated: Path | None = None
) -> PersonFile:
    """Everything the curated history up to ``month`` holds about ``person_id``."""
    store = CuratedStore(curated or Path(out) / "curated")
    register = (
        _scan(store, "beneficiaries", month).filter(pl.col("person_id") == person_id).collect()
    )
    latest_by_scheme = (
        register.sort("month").group_by("scheme", maintain_order=True).last().sort("scheme")
        if register.height
        else register
    )
    payouts = _payout_timeline(store, month, person_id)
    certifications_scan = _scan(store, "certifications", month)
    present = set(certifications_scan.collect_schema().names())
    certifications = (
        certifications_scan.filter(pl.col("person_id") == person_id)
        .select([c for c in ("cert_date", "method", "result", "operator", "month") if c in present])
        .sort("cert_date")
        .collect()
    )
    receivers, sharing = _shared_receivers(store, month, person_id, config)
    return PersonFile(
        person_id=person_id,
        month=month,
        register=latest_by_scheme,
        payouts=payouts,
        deaths=_linked_death_records(store, month, person_id, register, config),
        certifications=certifications,
        certification=_certification(register, certifications, month, config),
        sharing=sharing,
        receivers=receivers,
    )


def _certification(
    register: pl.DataFrame, certifications: pl.DataFrame, month: str, config: SentinelConfig
) -> dict[str, Any]:
    """The certification state of the person whose register rows (all months) and
    certifications are given."""
    if register.height == 0:
        return {}
    dates = [c for c in ("last_cert_date", "cert_due_date") if c in register.columns]
    person = register.group_by("person_id").agg(
        pl.col("benefit_start").min(),
        pl.col("month").min().alias("first_listed"),
        *[pl.col(c).max() for c in dates],
    )
    certs = certifications.with_columns(pl.lit(register["person_id"][0]).alias("person_id"))
    state = certification_state(
        person.lazy(), certs.lazy(), month, config.policy.suspend_after_months
    ).collect()
    return state.row(0, named=True) if state.height else {}


def _payout_timeline(store: CuratedStore, month: str, person_id: str) -> pl.DataFrame:
    """Payouts to the person by period, scheme and kind (yuan), quarantined rows included
    (a quarantined payment is still money paid)."""
    loaded = (
        _scan(store, "payouts", month)
        .filter(pl.col("person_id") == person_id)
        .select(
            pl.col("period").cast(pl.String),
            pl.col("scheme").cast(pl.String),
            pl.col("kind").cast(pl.String),
            pl.col("amount").cast(pl.Float64),
            pl.col("bank_account").cast(pl.String),
            pl.lit(False).alias("quarantined"),
        )
    )
    parts = [loaded]
    if store.months("quarantined_payouts"):
        parts.append(
            store.scan("quarantined_payouts", up_to=month)
            .filter(pl.col("person_id") == person_id)
            .select(
                pl.col("period").cast(pl.String),
                pl.col("scheme").cast(pl.String),
                pl.col("kind").cast(pl.String),
                pl.col("amount")
                .cast(pl.String)
                .str.replace_all(r"[,¥元\s]", "")
                .cast(pl.Float64, strict=False),
                pl.col("bank_account").cast(pl.String),
                pl.lit(True).alias("quarantined"),
            )
        )
    return (
        pl.concat(parts, how="vertical_relaxed")
        .group_by("period", "scheme", "kind")
        .agg(
            pl.col("amount").sum().round(2),
            pl.col("bank_account").drop_nulls().last(),
            pl.col("quarantined").any(),
            pl.len().alias("payments"),
        )
        .sort("period", "scheme", "kind")
        .collect()
    )


_DEATH_COLUMNS = LinkColumns(
    key="record_id", person_id="person_id", name="name", birth_date="birth_date", sex="sex"
)
_PERSON_COLUMNS = LinkColumns(
    key="person_id", person_id="person_id", name="name", birth_date="birth_date", sex="sex"
)


@lru_cache(maxsize=4)
def _month_link_model(root: str, month: str) -> LinkModel:
    """The linkage parameters of ``month``: every death record up to it against every
    person registered up to it (a curated month never changes, so they are kept)."""
    store = CuratedStore(Path(root))
    deaths = store.scan("deaths", up_to=month).unique("record_id", keep="last")
    people = (
        _scan(store, "beneficiaries", month)
        .sort("month")
        .group_by("person_id")
        .agg(pl.col("name", "birth_date", "sex").last())
    )
    return estimate_link_model(
        deaths, people, records_cols=_DEATH_COLUMNS, register_cols=_PERSON_COLUMNS
    )


#: The death records of a person's file (:func:`_linked_death_records`).
_DEATH_SCHEMA: dict[str, pl.DataType] = {
    "record_id": pl.String(),
    "death_date": pl.Date(),
    "source": pl.String(),
    "recorded_on": pl.Date(),
    "confidence": pl.Float64(),
    "method": pl.String(),
    "agreed": pl.List(pl.String()),
    "accepted": pl.Boolean(),
}


def _linked_death_records(
    store: CuratedStore, month: str, person_id: str, register: pl.DataFrame, config: SentinelConfig
) -> pl.DataFrame:
    """Death records linked to the person, with the link's confidence, method and the
    fields that agreed (:func:`features.linkage.link_records`).

    The records considered are those that could be this person's (same ID, same birth
    date in the record or its ID, or same name); they are linked against the register
    people who could equally be theirs (same ID, birth date or name), so a record two
    people could have written is left unlinked here as it is in the monthly run.
    """
    empty = pl.DataFrame(schema=_DEATH_SCHEMA)
    if not store.months("deaths") or register.height == 0:
        return empty
    person = register.sort("month").row(-1, named=True)
    candidates = _death_record_candidates(store, month, person_id, person)
    if candidates.height == 0:
        return empty
    links = (
        link_records(
            candidates.lazy(),
            _register_neighbours(store, month, person_id, person, candidates),
            records_cols=_DEATH_COLUMNS,
            register_cols=_PERSON_COLUMNS,
            # the month's parameters, as the run estimated them over the whole county: a
            # handful of neighbours cannot show how often unrelated people agree
            model=_month_link_model(str(store.root), month),
        )
        .filter(pl.col("register_key") == person_id)
        .collect()
    )
    detection = config.detection
    return (
        candidates.select("record_id", "death_date", "source", "recorded_on")
        .join(
            links.select(pl.col("record_key").alias("record_id"), "confidence", "method", "agreed"),
            on="record_id",
            how="inner",
        )
        .with_columns(
            (
                (pl.col("confidence") >= detection.min_death_link_confidence)
                & (
                    (pl.col("method") != "name_only")
                    | pl.lit(detection.accept_name_only_death_links)
                )
            ).alias("accepted")
        )
        .sort("death_date", "record_id")
        .select(empty.columns)
    )


def _death_record_candidates(
    store: CuratedStore, month: str, person_id: str, person: dict[str, Any]
) -> pl.DataFrame:
    """The death records up to ``month`` that could be the person's: their ID, their birth
    date (in the record or in its ID) or their name."""
    birth: date | None = person.get("birth_date")
    name: str | None = person.get("name")
    birth_digits = birth.strftime("%Y%m%d") if birth is not None else None
    records = store.scan("deaths", up_to=month).unique("record_id", keep="last")
    maybe_theirs = pl.col("person_id") == person_id
    if birth is not None:
        maybe_theirs |= (pl.col("birth_date") == birth) | (
            pl.col("person_id").str.slice(6, 8) == birth_digits
        )
    if name:
        maybe_theirs |= pl.col("name") == name
    return records.filter(maybe_theirs.fill_null(False)).collect()


def _register_neighbours(
    store: CuratedStore,
    month: str,
    person_id: str,
    person: dict[str, Any],
    candidates: pl.DataFrame,
) -> pl.LazyFrame:
    """The register people who could equally have written one of the candidate records
    (same ID, birth date or name as a record or the person), each with their latest name,
    birth date and sex."""
    birth: date | None = person.get("birth_date")
    name: str | None = person.get("name")
    births = set(candidates["birth_date"].drop_nulls().to_list()) | ({birth} if birth else set())
    names = set(candidates["name"].drop_nulls().to_list()) | ({name} if name else set())
    ids = set(candidates["person_id"].drop_nulls().to_list()) | {person_id}
    return (
        _scan(store, "beneficiaries", month)
        .filter(
            pl.col("person_id").is_in(list(ids))
            | pl.col("birth_date").is_in(list(births))
            | pl.col("name").is_in(list(names))
        )
        .sort("month")
        .group_by("person_id")
        .agg(pl.col("name", "birth_date", "sex").last())
    )


def _shared_receivers(
    store: CuratedStore, month: str, person_id: str, config: SentinelConfig
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The person's accounts and collectors in the lookback window, and the other people
    paid through any of them (``person_id`` masked, name, township, village, status,
    ``kind``: account / collector, ``receiver`` masked)."""
    first = shift_month(month, -(config.detection.lookback_months - 1))
    register = _scan(store, "beneficiaries", month).filter(pl.col("month") >= first)
    has_collector = "collector_id" in register.collect_schema().names()
    payouts = _scan(store, "payouts", month).filter(pl.col("month") >= first)

    def edges(register_filter: pl.Expr, payout_filter: pl.Expr) -> pl.LazyFrame:
        parts = [
            register.filter(register_filter).select(
                "person_id",
                pl.col("bank_account").alias("receiver"),
                pl.lit("account").alias("kind"),
            ),
            payouts.filter(payout_filter).select(
                "person_id",
                pl.col("bank_account").alias("receiver"),
                pl.lit("account").alias("kind"),
            ),
        ]
        if has_collector:
            parts.append(
                register.filter(register_filter).select(
                    "person_id",
                    pl.col("collector_id").alias("receiver"),
                    pl.lit("collector").alias("kind"),
                )
            )
        return (
            pl.concat(parts, how="vertical_relaxed")
            .filter(pl.col("receiver").is_not_null() & (pl.col("receiver").str.strip_chars() != ""))
            .unique()
        )

    own = edges(pl.col("person_id") == person_id, pl.col("person_id") == person_id).collect()
    accounts = own.filter(pl.col("kind") == "account")["receiver"].to_list()
    collectors = own.filter(pl.col("kind") == "collector")["receiver"].to_list()
    on_account = pl.col("bank_account").is_in(accounts)
    shared = on_account | pl.col("collector_id").is_in(collectors) if has_collector else on_account
    others = (
        edges(shared, on_account)
        .filter(pl.col("person_id") != person_id)
        .join(own.lazy(), on=["receiver", "kind"], how="semi")
        .collect()
    )
    people = (
        register.filter(pl.col("person_id").is_in(others["person_id"].unique().to_list()))
        .sort("month")
        .group_by("person_id")
        .agg(pl.col("name", "township", "village", "status", "birth_date").last())
        .collect()
    )
    sharing = (
        others.join(people, on="person_id", how="left")
        .with_columns(
            pl.col("person_id")
            .map_elements(mask_id, return_dtype=pl.String)
            .alias("person_masked"),
            pl.col("receiver")
            .map_elements(mask_account, return_dtype=pl.String)
            .alias("receiver_masked"),
        )
        .sort("kind", "receiver", "person_id")
    )
    return own.sort("kind", "receiver"), sharing
