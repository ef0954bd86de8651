"""The frames every rule family reads, prepared once a month: the month's persons (the
register, the paid ledger, survival evidence, receivers) and what is linked to them
(death records, custody records, upstream suspects)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, fields
from functools import cache

import polars as pl

from features.certification import survival_evidence
from features.custody import custody_spans, link_custody
from features.deaths import DEATH_REGISTER_COLUMNS, link_deaths, linked_deaths
from features.history import register_people
from features.linkage import PreparedRegister, prepare_register
from features.network import receiver_changes, receiver_edges
from features.survival_signals import signal_shares, survival_signals
from features.suspects import open_suspects, suspect_answers
from sentinel.config import SentinelConfig
from sentinel.detection.history import (
    MonthHistory,
    delivered_up_to,
    month_ledger_runs,
    month_register_runs,
)

#: A stage clock: ``clock("linkage")`` is a context manager wrapped around one stage of
#: detection (``benchmarks/detection_bench.py`` times them; detection itself does not).
StageClock = Callable[[str], AbstractContextManager[object]]


def no_clock(stage: str) -> AbstractContextManager[object]:
    """The stage clock of an untimed run: every stage runs as it is."""
    del stage
    return nullcontext()


@dataclass(frozen=True)
class MonthPersons:
    """The month's persons as the rule families read them (collected once per run); a
    partitioned run projects its partitions' persons from these too."""

    month: str
    #: The register runs up to the month (:func:`month_register_runs`).
    runs: pl.LazyFrame
    #: One row per register person (:func:`features.survival.register_people`).
    people: pl.LazyFrame
    #: The paid ledger as runs (:mod:`features.ledger`) with
    #: :func:`features.payments.ledger_keys` columns.
    ledger: pl.LazyFrame
    #: Survival evidence per person (:func:`features.survival.survival_evidence`).
    evidence: pl.LazyFrame
    #: When each person's receivers last changed (:func:`features.network.receiver_changes`).
    changes: pl.LazyFrame
    #: Person–receiver edges (:func:`features.network.receiver_edges`).
    edges: pl.LazyFrame


@dataclass(frozen=True)
class PreparedMonth(MonthPersons):
    """Intermediate frames shared by the rule families (collected once per run): the
    month's persons and what is linked to them."""

    deaths_linked: pl.LazyFrame
    death_leads: pl.LazyFrame
    #: How many persons paid within the cycle show each survival signal, per scheme
    #: (:func:`features.survival_signals.signal_shares`), over the whole county.
    shares: pl.LazyFrame
    #: The custodies of register persons (:func:`features.custody.custody_spans`); None
    #: when no custody record was delivered.
    custody: pl.LazyFrame | None = None
    #: ``record_id, person_id`` of the custody records linked as proof to the month's
    #: register (:func:`features.custody.link_custody`); None when no custody record was
    #: delivered.
    custody_links: pl.LazyFrame | None = None
    #: Upstream suspects still to be answered, of register persons
    #: (:func:`features.suspects.open_suspects`); None when no suspect list was delivered.
    suspects: pl.LazyFrame | None = None


def month_persons(
    history: MonthHistory, config: SentinelConfig, clock: StageClock = no_clock
) -> MonthPersons:
    """The register, the paid ledger, the survival evidence and the receivers of the
    persons in ``history``, up to its month."""
    month = history.month
    with clock("prepare: register"):
        # One chunk: the partitioned run appends its halo persons' runs (many small chunks).
        runs = month_register_runs(history).collect().rechunk().lazy()
        people = register_people(runs).collect().lazy()
    with clock("prepare: ledger"):
        ledger = month_ledger_runs(history).collect().lazy()
    with clock("prepare: evidence"):
        certifications = delivered_up_to(history.certifications, month)
        evidence = (
            survival_evidence(
                certifications,
                people,
                month,
                suspend_after_months=config.policy.suspend_after_months,
            )
            .collect()
            .lazy()
        )
    with clock("prepare: receivers"):
        # Independent plans over the same frames: collected together, they run side by side.
        changes, edges = (
            frame.lazy()
            for frame in pl.collect_all(
                [
                    receiver_changes(runs, ledger),
                    receiver_edges(
                        runs, ledger, month, lookback_months=config.detection.lookback_months
                    ),
                ]
            )
        )
    return MonthPersons(month, runs, people, ledger, evidence, changes, edges)


def survival_shares(persons: MonthPersons, config: SentinelConfig) -> pl.LazyFrame:
    """:func:`features.survival_signals.signal_shares` of the persons: how many of those paid
    within the cycle show each survival signal, per scheme (a partitioned run sums its
    partitions' counts)."""
    return signal_shares(
        survival_signals(
            persons.ledger,
            persons.people,
            persons.evidence,
            persons.changes,
            persons.month,
            config.detection,
            certification_cycle_months=config.policy.certification_cycle_months,
        )
    )


def prepare_month(
    history: MonthHistory,
    config: SentinelConfig,
    clock: StageClock = no_clock,
    *,
    links: pl.LazyFrame | None = None,
    shares: pl.LazyFrame | None = None,
) -> PreparedMonth:
    """The shared frames; ``links`` (:func:`link_deaths` output) when the death linkage was
    done elsewhere, over a larger register (a partitioned run links against the province),
    and ``shares`` (:func:`signal_shares`) when counted elsewhere over a larger county."""
    persons = month_persons(history, config, clock)
    people = persons.people

    @cache
    def register() -> PreparedRegister:
        # One normalised register for the death and the custody records.
        return prepare_register(people, DEATH_REGISTER_COLUMNS)

    with clock("linkage"), ThreadPoolExecutor(1) as side:
        if links is None or history.custody is not None:
            register()  # once, before the two linkages read it side by side
        # The custody records are linked beside the death records: neither reads the other.
        custodies = side.submit(_custody, history, people, config, register)
        deaths_linked, death_leads = _linked_deaths(history, people, config, links, register)
        custody, custody_links = custodies.result()
    suspects = _open_suspects(history, persons.people, config, clock)
    if shares is None:
        with clock("prepare: survival signals"):
            shares = survival_shares(persons, config).collect().lazy()
    return PreparedMonth(
        **{field.name: getattr(persons, field.name) for field in fields(MonthPersons)},
        deaths_linked=deaths_linked,
        death_leads=death_leads,
        shares=shares,
        custody=custody,
        custody_links=custody_links,
        suspects=suspects,
    )


def _linked_deaths(
    history: MonthHistory,
    people: pl.LazyFrame,
    config: SentinelConfig,
    links: pl.LazyFrame | None,
    register: Callable[[], PreparedRegister],
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """The death records linked to ``people`` (``register``: them normalised for linkage),
    and the leads below a link."""
    deaths = delivered_up_to(history.deaths, history.month)
    if links is None:
        links = link_deaths(deaths, people, prepared=register())
    links = links.collect().lazy()
    linked, leads = pl.collect_all(
        [
            linked_deaths(deaths, people, config.detection, links=links),
            linked_deaths(deaths, people, config.detection, links=links, leads=True),
        ]
    )
    return linked.lazy(), leads.lazy()


def _custody(
    history: MonthHistory,
    people: pl.LazyFrame,
    config: SentinelConfig,
    register: Callable[[], PreparedRegister],
) -> tuple[pl.LazyFrame | None, pl.LazyFrame | None]:
    """The custodies of register persons and the custody records linked to them (both
    None when no custody record was delivered)."""
    if history.custody is None:
        return None, None
    records = delivered_up_to(history.custody, history.month).collect()
    if not records.height:
        return None, None
    links = (
        link_custody(
            records.lazy(),
            people,
            min_confidence=config.detection.min_death_link_confidence,
            prepared=register(),
        )
        .collect()
        .lazy()
    )
    spans = custody_spans(records.lazy(), links, history.month, config.policy)
    return spans.collect().lazy(), links


def _open_suspects(
    history: MonthHistory, people: pl.LazyFrame, config: SentinelConfig, clock: StageClock
) -> pl.LazyFrame | None:
    """Upstream suspects of register persons still to be answered (None when no suspect
    list was delivered)."""
    if history.suspects is None:
        return None
    with clock("prepare: suspects"):
        pushed = delivered_up_to(history.suspects, history.month).collect()
        if not pushed.height:
            return None
        answers = suspect_answers(
            pushed.lazy(),
            delivered_up_to(history.outcomes, history.month),
            config.cases.clear_months,
        )
        return open_suspects(answers, people).collect().lazy()
