"""A partition's share of the month's detection, the steps of :mod:`sentinel.detection` on
its persons: its narrow projections for the global steps, the death records linked
against the whole province, its own persons' findings, and every partition's findings
read back together for the ranking.

Files (in the month's work folder, :func:`sentinel.partition.month_work`): per partition
``<partition>/people|edges|signal_counts.parquet`` (projections) and
``<partition>/reasons|schemes|recipients|event_counts|candidates.parquet`` (findings); for
the province ``links.parquet`` (death links) and ``halo.parquet``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from features.deaths import link_deaths
from sentinel.config import SentinelConfig
from sentinel.detection import (
    MonthFindings,
    find_candidates,
    month_persons,
    prepare_month,
    survival_shares,
)
from sentinel.partition.halo import partition_halo
from sentinel.partition.history import partition_history
from sentinel.partition.layout import global_store, month_work, owner_table, partition_names

#: The files of a partition's findings, by :class:`sentinel.detection.MonthFindings` field.
FINDINGS_FILES = {
    "reasons": "reasons.parquet",
    "schemes": "schemes.parquet",
    "recipients": "recipients.parquet",
    "event_counts": "event_counts.parquet",
    "features": "candidates.parquet",
    "unacted": "unacted.parquet",
}


def project_partition(out: Path, partition: str, month: str, config: SentinelConfig) -> str:
    """The partition's narrow projections for the global steps: its registered persons
    (ID, name, sex, birth date), its person–receiver edges, and how many of its persons
    show each survival signal (the province's shares are their sums)."""
    persons = month_persons(partition_history(out, partition, month), config)
    folder = month_work(out, month) / partition
    folder.mkdir(parents=True, exist_ok=True)
    people, edges, counts = pl.collect_all(
        [
            persons.people.select("person_id", "name", "sex", "birth_date"),
            persons.edges.select("person_id", "receiver", "kind"),
            survival_shares(persons, config),
        ]
    )
    people.write_parquet(folder / "people.parquet")
    edges.with_columns(pl.lit(partition).alias("partition")).write_parquet(folder / "edges.parquet")
    counts.write_parquet(folder / "signal_counts.parquet")
    return partition


def link_province_deaths(out: Path, month: str, partitions: list[str]) -> None:
    """Death records linked against every partition's persons at once (a namesake or an ID
    one typo away in another region changes the answer)."""
    work = month_work(out, month)
    people = pl.concat([pl.scan_parquet(work / p / "people.parquet") for p in partitions]).sort(
        "person_id"
    )
    deaths = global_store(out).scan("deaths", up_to=month)
    link_deaths(deaths, people).collect().write_parquet(work / "links.parquet")


def find_partition_candidates(
    out: Path, partition: str, month: str, config: SentinelConfig
) -> MonthFindings:
    """:func:`sentinel.detection.find_candidates` of the partition's own persons, over its
    history with its halo, the province's death links and survival signal shares."""
    work = month_work(out, month)
    halo = partition_halo(out, month, partition)
    history = partition_history(out, partition, month, halo)
    seen = pl.concat(
        [
            pl.scan_parquet(work / partition / "people.parquet").select("person_id"),
            halo.lazy().select("person_id"),
        ]
    )
    links = pl.scan_parquet(work / "links.parquet").join(seen, on="person_id", how="semi")
    shares = (
        pl.concat(
            [pl.scan_parquet(work / p / "signal_counts.parquet") for p in partition_names(out)]
        )
        .group_by("scheme", "signal")
        .agg(pl.col("persons").sum(), pl.col("paid").sum())
    )
    prep = prepare_month(history, config, links=links, shares=shares)
    owned = owner_table(out).filter(pl.col("partition") == partition).select("person_id")
    # The partition's own persons only: their reasons, the recipients they count in and
    # their features; the province-wide base rates and tiers are taken when ranking.
    return find_candidates(prep, config, owned=owned)


def keep_findings(findings: MonthFindings, out: Path, month: str, partition: str) -> int:
    """Write the partition's findings for the ranking; returns how many candidates."""
    folder = month_work(out, month) / partition
    frames = {field: getattr(findings, field).collect() for field in FINDINGS_FILES}
    for field, frame in frames.items():
        frame.write_parquet(folder / FINDINGS_FILES[field])
    return frames["features"].height


def province_findings(out: Path, month: str, partitions: list[str]) -> MonthFindings:
    """Every partition's findings together: the province's."""
    work = month_work(out, month)

    def every(file: str) -> pl.LazyFrame:
        return pl.concat(
            [pl.scan_parquet(work / p / file) for p in partitions], how="vertical_relaxed"
        )

    return MonthFindings(**{field: every(file) for field, file in FINDINGS_FILES.items()})
