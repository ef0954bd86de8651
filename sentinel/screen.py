"""The pre-disbursement screen: hold the payments of a draft pay file that hard evidence
says must not be made, before the money leaves.

The draft pay file of the coming disbursement has the payouts columns (any reader format,
Chinese headers and values included). It is checked against everything known up to the
last month the monthly job processed (``OUT/curated``; after a partitioned run, a
province's, every partition's store), plus any newer death and custody records given with
it. The register and the paid ledger are read as their summaries per person (runs), cut to
the periods the file pays. A payment is held only on hard evidence, never on a score:

``SH_DECEASED``
    a death record linked as proof (``detection.min_death_link_confidence``; mistyped IDs
    included) before the period paid;
``SH_IN_CUSTODY``
    a custody record linked as proof that suspends the pension for the period paid
    (imprisonment, or pre-trial detention not ended by an acquittal; ``policy.custody_suspends``);
``SH_DUPLICATE``
    a second regular payment of one person for one period in the file, in the same scheme
    or another (the largest is released);
``SH_ALREADY_PAID``
    a regular payment for a period the ledger already shows paid to the person;
``SH_BAD_IDENTITY``
    an ID that is not 18 characters or fails its check character (GB 11643-1999);
``SH_TERMINATED``
    the person's pension in that scheme is terminated on the last register snapshot, and
    the payment is for a period after the month it was terminated in;
``SH_UNREADABLE``
    a row that cannot be read as a payment (its amount, period or scheme unparseable): no
    one can pay what no one can read.

Output, in ``OUT/screen/<period>/``: ``holds.csv`` and ``holds.xlsx`` (the file's row
number, the person, the payment, the reason codes and the evidence), ``release.csv`` (the
pay file less the holds, with the file's own header and values) and ``summary.json`` (yuan
held by reason).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from features.deaths import DEATH_REGISTER_COLUMNS
from features.linkage import PreparedRegister
from features.parsing import map_category, parse_period
from features.records import parse_records
from sentinel.config import SentinelConfig
from sentinel.contract import CUSTODY, DEATHS, PAYOUTS, ContractError
from sentinel.detection import MonthHistory
from sentinel.holds import RegisterFacts, hold_payments
from sentinel.io.readers import read_dataset
from sentinel.io.reports import write_csv_bom, write_table_xlsx
from sentinel.io.store import (
    LINKAGE_REGISTER,
    REGISTER_PERSONS,
    REGISTER_TERMINATIONS,
    CuratedStore,
    load_history,
    processed_months,
)
from sentinel.partition import global_store, partition_store, partitions_root
from sentinel.partition.history import history_of_stores

__all__ = ["ScreenResult", "known_facts", "known_history", "screen_payroll"]

#: A pay period as ``--period`` gives it.
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class ScreenResult:
    """What a screen held: ``holds`` (:data:`sentinel.holds.HOLD_COLUMNS`), the figures of
    ``summary.json`` and the folder written."""

    period: str
    known_through: str
    rows: int
    yuan: float
    holds: pl.DataFrame
    held_by_reason: dict[str, dict[str, float]]
    folder: Path
    seconds: float


def screen_payroll(
    payroll: Path,
    out: Path,
    config: SentinelConfig,
    *,
    deaths: Path | None = None,
    custody: Path | None = None,
    period: str | None = None,
) -> ScreenResult:
    """Screen the draft pay file ``payroll`` against what ``out`` knows (see the module).

    ``period``: the pay period (``YYYY-MM``); by default the period most regular rows of
    the file name. Raises ``ContractError`` for a file that cannot be read, a ``period``
    that is not ``YYYY-MM`` or that no regular row of the file names (checked against the
    wrong month, every payment would look paid already), and when ``out`` holds no
    processed month before the period. Nothing is written then.
    """
    started = time.perf_counter()
    if period is not None and not _PERIOD.match(period):
        raise ContractError("--period", None, f"{period!r} is not a month YYYY-MM")
    raw = read_dataset(Path(payroll), PAYOUTS)
    frame = raw.frame
    period = _pay_period(frame, str(payroll), period)
    known = [m for m in processed_months(Path(out)) if m < period]
    if not known:
        raise ContractError(
            str(out),
            None,
            f"no month before {period} was processed here: run the monthly job first",
        )
    history = known_history(Path(out), known[-1])
    newer = None
    if deaths is not None:
        table = read_dataset(Path(deaths), DEATHS)
        newer = parse_records(table.frame.lazy(), DEATHS, month=period).collect()
    newer_custody = None
    if custody is not None:
        table = read_dataset(Path(custody), CUSTODY)
        newer_custody = parse_records(table.frame.lazy(), CUSTODY, month=period).collect()
    rows = parse_records(frame.lazy(), PAYOUTS, month=period).collect()
    held = hold_payments(
        rows,
        history,
        config,
        newer_deaths=newer,
        newer_custody=newer_custody,
        period=period,
        facts=known_facts(Path(out), known[-1]),
    )
    folder = Path(out) / "screen" / period
    folder.mkdir(parents=True, exist_ok=True)
    write_csv_bom(held, folder / "holds.csv")
    write_table_xlsx(held, folder / "holds.xlsx", "holds", numbers=("row", "amount"))
    release = frame.filter(~pl.col("_row").is_in(held["row"].implode()))
    write_csv_bom(_as_delivered(release, raw.header_language), folder / "release.csv")
    by_reason = _held_by_reason(held)
    yuan = float(rows["amount"].fill_null(0.0).sum())
    result = ScreenResult(
        period=period,
        known_through=known[-1],
        rows=frame.height,
        yuan=round(yuan, 2),
        holds=held,
        held_by_reason=by_reason,
        folder=folder,
        seconds=round(time.perf_counter() - started, 2),
    )
    _write_summary(result, Path(payroll).name)
    return result


def _write_summary(result: ScreenResult, pay_file: str) -> None:
    """``summary.json``: what the file paid and what was held, by reason."""
    held = result.holds
    summary = {
        "period": result.period,
        "known_through": result.known_through,
        "pay_file": pay_file,
        "rows": result.rows,
        "yuan": result.yuan,
        "held_rows": held.height,
        "held_yuan": round(float(held["amount"].fill_null(0.0).sum()), 2),
        "held_by_reason": result.held_by_reason,
        "seconds": result.seconds,
    }
    (result.folder / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8"
    )


def known_history(out: Path, month: str) -> MonthHistory:
    """What ``out`` knows at the end of ``month``: its curated store, or the stores of every
    partition and the global one after a partitioned run (a province, ``flows.partitioned``;
    each person's rows sit in one partition, so the partitions' register and ledger
    summaries together are the province's)."""
    root = partitions_root(out)
    if not root.is_dir():
        return load_history(out / "curated", month)
    stores = [
        partition_store(out, p.name)
        for p in sorted(root.iterdir())
        if p.is_dir() and not p.name.startswith(".")
    ]
    shared = global_store(out)

    def rows(name: str) -> pl.LazyFrame:
        return pl.concat([s.scan(name, up_to=month) for s in stores], how="diagonal_relaxed")

    def summary(runs: list[pl.LazyFrame | None]) -> pl.LazyFrame | None:
        kept = [r for r in runs if r is not None]
        return pl.concat(kept, how="diagonal_relaxed") if kept and len(kept) == len(runs) else None

    # The screen reads no upstream suspects.
    return history_of_stores(
        month,
        rows,
        shared,
        register_runs=summary([s.register_runs(month) for s in stores]),
        ledger_runs=summary([s.ledger_runs(month) for s in stores]),
        with_suspects=False,
    )


def known_facts(out: Path, month: str) -> RegisterFacts | None:
    """The register persons, terminations and linkage register the monthly run kept for
    ``month`` in ``out`` (every partition's, after a partitioned run: each person sits in
    one partition), or None when a store lacks them (written by a release that did not
    keep them): the screen then derives them from the register runs (and normalises the
    persons for linkage itself when only the linkage register is missing)."""
    root = partitions_root(out)
    if root.is_dir():
        stores = [
            partition_store(out, p.name)
            for p in sorted(root.iterdir())
            if p.is_dir() and not p.name.startswith(".")
        ]
    else:
        stores = [CuratedStore(out / "curated")]
    kept = [s.screen_facts(month) for s in stores]
    facts = [k for k in kept if k is not None]
    if not kept or len(facts) < len(kept):
        return None

    def joined(name: str) -> pl.LazyFrame:
        return pl.concat([f[name] for f in facts], how="vertical_relaxed")

    linkage = None
    if all(LINKAGE_REGISTER in f for f in facts):
        frame = joined(LINKAGE_REGISTER).collect()
        linkage = PreparedRegister(frame, DEATH_REGISTER_COLUMNS)
    # Read here, whole: every screen links to them and names its payees from them.
    persons, ended = pl.collect_all([joined(REGISTER_PERSONS), joined(REGISTER_TERMINATIONS)])
    return RegisterFacts(persons.lazy(), ended.lazy(), linkage)


def _pay_period(frame: pl.DataFrame, file: str, given: str | None = None) -> str:
    """The period most regular rows name (a pay file pays one month), or ``given`` when
    some regular row names it (or none names any period). Each distinct pair of period and
    kind texts is read once, as :func:`features.records.parse_records` reads them: the rest
    of the file is typed once, for the pay period found."""
    kinds = PAYOUTS.column("kind").values or {}
    periods = (
        frame.lazy()
        .group_by("period", "kind")
        .len()
        .filter(
            (map_category(pl.col("kind"), kinds) == "regular")
            & parse_period(pl.col("period")).is_not_null()
        )
        .group_by(parse_period(pl.col("period")).alias("period"))
        .agg(pl.col("len").sum())
        .sort(["len", "period"], descending=True)
        .collect()
    )
    if periods.is_empty():
        if given is None:
            raise ContractError(
                file, "period", "no regular payment names a pay period: give --period"
            )
        return given
    named = periods["period"].to_list()
    if given is not None and given not in named:
        raise ContractError(
            file,
            "period",
            f"no regular payment is for --period {given} (the file pays {named[0]}"
            f"{f' and {len(named) - 1} other period(s)' if len(named) > 1 else ''})",
        )
    return given or str(named[0])


def _as_delivered(release: pl.DataFrame, header_language: str) -> pl.DataFrame:
    """The released rows with the file's own header (Chinese when it came in Chinese)."""
    names = {
        c.name: (c.aliases[0] if header_language == "zh" and c.aliases else c.name)
        for c in PAYOUTS.columns
    }
    kept = [c for c in release.columns if not c.startswith("_")]
    return release.select(kept).rename({c: names[c] for c in kept if c in names})


def _held_by_reason(held: pl.DataFrame) -> dict[str, dict[str, float]]:
    """Rows and yuan held per reason (a row held for two reasons counts under both)."""
    per = (
        held.select(pl.col("reasons").str.split(","), "amount")
        .explode("reasons")
        .group_by("reasons")
        .agg(pl.len().alias("rows"), pl.col("amount").fill_null(0.0).sum().alias("yuan"))
        .sort("reasons")
    )
    return {
        r["reasons"]: {"rows": int(r["rows"]), "yuan": round(float(r["yuan"]), 2)}
        for r in per.iter_rows(named=True)
    }
