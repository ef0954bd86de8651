"""Where validated months live: the curated history and the month output folders.

Layout (``STORE`` defaults to ``OUT/curated``)::

    STORE/<dataset>/month=YYYY-MM/part-0.parquet   validated rows of one drop month
    STORE/register_runs/month=YYYY-MM/part-0.parquet  the register up to that month,
                                                   summarised per person (derived)
    STORE/ledger_runs/month=YYYY-MM/part-0.parquet    the paid ledger up to that month,
                                                   summarised per person (derived)
    STORE/register_persons/month=YYYY-MM/...       per person, what the screen links to
    STORE/register_terminations/month=YYYY-MM/...  the pensions terminated, and since when
    STORE/linkage_register/month=YYYY-MM/...       the persons normalised for linkage
                                                   (the three derived from the register
                                                   runs, for ``sentinel.screen``)
    STORE/.curating-YYYY-MM-<id>/                  a month prepared beside the history,
                                                   not yet part of it (``sentinel.io.curation``)
    OUT/YYYY-MM/                                   cases, quarantine, manifest, data-docs
    OUT/case_id.key                                the key of OUT's case IDs
                                                   (``sentinel.io.case_key``)

Every write is atomic: files are written under a temporary name in the same folder and
renamed into place, so a run that fails or is killed leaves either the previous month or
the new one, never half of one. Re-ingesting a month replaces its partitions.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from features.deaths import DEATH_REGISTER_COLUMNS
from features.history import extend_register_runs, register_runs, runs_up_to
from features.ledger import LEDGER_COLUMNS, extend_ledger_runs, ledger_runs
from features.linkage import prepare_register
from features.payments import paid_ledger
from features.screening import SCREEN_RUN_COLUMNS, register_persons, terminated_since
from sentinel.contract import CUSTODY, SUSPECTS, typed_schema
from sentinel.detection import MonthHistory

MONTH_PARTITION = "month"
#: The derived dataset holding, per month, the register snapshots up to that month
#: summarised per person (``features.history``); rebuilt whenever a register month changes.
REGISTER_RUNS = "register_runs"
#: The derived dataset holding, per month, the paid ledger (payouts and the quarantined
#: payout rows still paid) up to that month summarised per person (``features.ledger``).
LEDGER_RUNS = "ledger_runs"
#: The derived dataset holding, per month, one row per register person up to that month
#: (``features.screening.register_persons``): what the screen links records to.
REGISTER_PERSONS = "register_persons"
#: The derived dataset holding, per month, the pensions the last snapshot up to that month
#: shows terminated and since when (``features.screening.terminated_since``).
REGISTER_TERMINATIONS = "register_terminations"
#: The derived dataset holding, per month, the register persons normalised for linkage
#: (``features.linkage.prepare_register`` with ``features.deaths.DEATH_REGISTER_COLUMNS``).
LINKAGE_REGISTER = "linkage_register"
#: Which derived datasets read which stored one (a new month of it makes them stale).
_DERIVED = {
    "beneficiaries": (REGISTER_RUNS, REGISTER_PERSONS, REGISTER_TERMINATIONS, LINKAGE_REGISTER),
    "payouts": (LEDGER_RUNS,),
    "quarantined_payouts": (LEDGER_RUNS,),
}


class CuratedStore:
    """Month-partitioned Parquet history of validated datasets."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def partition(self, dataset: str, month: str) -> Path:
        return self.root / dataset / f"{MONTH_PARTITION}={month}"

    def write_month(self, dataset: str, month: str, frame: pl.DataFrame) -> Path:
        """Replace the ``month`` partition of ``dataset`` with ``frame`` (atomically)."""
        final = self.partition(dataset, month)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".tmp-{month}-{uuid.uuid4().hex}.parquet"
        try:
            frame.drop(MONTH_PARTITION, strict=False).write_parquet(tmp)
            return self.adopt_month(dataset, month, tmp)
        finally:
            tmp.unlink(missing_ok=True)

    def adopt_month(self, dataset: str, month: str, file: Path) -> Path:
        """Make the Parquet ``file`` (rows of ``month``, no ``month`` column) the ``month``
        partition of ``dataset``, replacing an earlier one atomically. ``file`` is moved,
        so it must be on the store's file system (a streamed sink writes it there)."""
        final = self.partition(dataset, month)
        final.parent.mkdir(parents=True, exist_ok=True)
        for derived in _DERIVED.get(dataset, ()):
            # The summary of this month and of every later one read the old rows.
            for stale in self.months(derived):
                if stale >= month:
                    shutil.rmtree(self.partition(derived, stale), ignore_errors=True)
        staging = final.parent / f".tmp-{month}-{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            os.replace(file, staging / "part-0.parquet")
            _replace_dir(staging, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return final

    def months(self, dataset: str) -> list[str]:
        base = self.root / dataset
        if not base.exists():
            return []
        return sorted(
            p.name.split("=", 1)[1]
            for p in base.iterdir()
            if p.is_dir() and p.name.startswith(f"{MONTH_PARTITION}=")
        )

    def scan(
        self,
        dataset: str,
        *,
        up_to: str | None = None,
        schema: dict[str, Any] | None = None,
        months: list[str] | None = None,
    ) -> pl.LazyFrame:
        """All partitions of ``dataset`` up to and including month ``up_to`` (or those of
        ``months`` that exist), with ``month``.

        An empty history returns an empty frame with ``schema`` (plus ``month``).
        """
        wanted = self.months(dataset) if months is None else months
        months = [
            m
            for m in wanted
            if (up_to is None or m <= up_to)
            and (self.partition(dataset, m) / "part-0.parquet").exists()
        ]
        if not months:
            empty = pl.DataFrame(schema=schema or {}).with_columns(
                pl.lit(None, dtype=pl.String).alias(MONTH_PARTITION)
            )
            return empty.lazy()
        frames = [
            pl.scan_parquet(self.partition(dataset, m) / "part-0.parquet").with_columns(
                pl.lit(m).alias(MONTH_PARTITION)
            )
            for m in months
        ]
        return pl.concat(frames, how="diagonal_relaxed")

    def register_runs(self, month: str) -> pl.LazyFrame | None:
        """The register up to ``month`` summarised per person, or None when not kept."""
        path = self.partition(REGISTER_RUNS, month) / "part-0.parquet"
        return pl.scan_parquet(path) if path.exists() else None

    def summarise_register(self, month: str) -> Path | None:
        """Keep the register up to ``month`` summarised per person (``REGISTER_RUNS``): the
        summary of the register month before, extended by this month's snapshot, or (when
        there is none) built from every snapshot up to ``month``. None when the store has no
        register for ``month``."""
        listed = [m for m in self.months("beneficiaries") if m <= month]
        if not listed or listed[-1] != month:
            return None
        before = self.register_runs(listed[-2]) if len(listed) > 1 else None
        if before is not None:
            # Both read once, up front: the extension reads the summary twice.
            snapshot = pl.read_parquet(self.partition("beneficiaries", month) / "part-0.parquet")
            runs = extend_register_runs(before.collect().lazy(), snapshot.lazy(), month)
        else:
            runs = register_runs(self.scan("beneficiaries", up_to=month))
        kept = runs.collect().sort("person_id", "scheme", "first_index")
        written = self.write_month(REGISTER_RUNS, month, kept)
        self._keep_screen_facts(kept.lazy(), month)
        return written

    def _keep_screen_facts(self, runs: pl.LazyFrame, month: str) -> None:
        """The register persons and terminations of ``month`` (``features.screening``),
        from its register ``runs``, in one fixed order; not kept for a register without
        the columns a person is read from (the screen then reads the runs)."""
        if not set(SCREEN_RUN_COLUMNS) <= set(runs.collect_schema().names()):
            return
        runs = runs_up_to(runs, month)
        persons, ended = pl.collect_all([register_persons(runs), terminated_since(runs, month)])
        persons = persons.sort("person_id")
        self.write_month(REGISTER_PERSONS, month, persons)
        self.write_month(REGISTER_TERMINATIONS, month, ended.sort("person_id", "scheme"))
        try:
            linkage = prepare_register(persons.lazy(), DEATH_REGISTER_COLUMNS)
        except ValueError:
            return  # no citizen number at all: the screen's own linkage says why
        self.write_month(LINKAGE_REGISTER, month, linkage.frame)

    def screen_facts(self, month: str) -> dict[str, pl.LazyFrame] | None:
        """The register persons, terminations and (when kept) linkage register of
        ``month`` by dataset name, or None when the persons or terminations are not kept
        (a store written before they were)."""
        paths = {
            name: self.partition(name, month) / "part-0.parquet"
            for name in (REGISTER_PERSONS, REGISTER_TERMINATIONS, LINKAGE_REGISTER)
        }
        if not (paths[REGISTER_PERSONS].exists() and paths[REGISTER_TERMINATIONS].exists()):
            return None
        return {name: pl.scan_parquet(path) for name, path in paths.items() if path.exists()}

    def ledger_runs(self, month: str) -> pl.LazyFrame | None:
        """The paid ledger up to ``month`` summarised per person, or None when not kept."""
        path = self.partition(LEDGER_RUNS, month) / "part-0.parquet"
        return pl.scan_parquet(path) if path.exists() else None

    def summarise_ledger(self, month: str) -> Path | None:
        """Keep the paid ledger up to ``month`` summarised per person (``LEDGER_RUNS``): the
        summary of the payout month before, extended by this month's rows, or (when there is
        none) built from every month up to ``month``. None when the store has no payouts
        for ``month``."""
        listed = [m for m in self.months("payouts") if m <= month]
        if not listed or listed[-1] != month:
            return None
        before = self.ledger_runs(listed[-2]) if len(listed) > 1 else None
        if before is not None:
            rows = paid_ledger(
                self.scan("payouts", months=[month]),
                self.scan("quarantined_payouts", months=[month], schema=_QUARANTINE_SCHEMA),
            )
            # Both read once, up front: the extension reads the summary twice.
            runs = extend_ledger_runs(before.collect().lazy(), rows.collect().lazy(), month)
        else:
            runs = ledger_runs(
                paid_ledger(
                    self.scan("payouts", up_to=month),
                    self.scan("quarantined_payouts", up_to=month, schema=_QUARANTINE_SCHEMA),
                )
            )
        # Stored in one order (row order decides nothing, but sums are then taken alike).
        frame = (
            runs.with_columns(pl.col("kind").cast(pl.String))
            .collect()
            .sort(*LEDGER_COLUMNS, "months", nulls_last=True)
        )
        return self.write_month(LEDGER_RUNS, month, frame)

    def rows(self, dataset: str, month: str) -> int | None:
        """Rows stored for ``dataset`` in ``month``, or None when that month is absent."""
        path = self.partition(dataset, month) / "part-0.parquet"
        if not path.exists():
            return None
        return pl.scan_parquet(path).select(pl.len()).collect().item()

    def guarded_rows(self, dataset: str, month: str) -> int | None:
        """The rows of ``month`` the row-count guard compares (:data:`GUARDED_ROWS`), or None
        when that month is absent."""
        path = self.partition(dataset, month) / "part-0.parquet"
        if not path.exists():
            return None
        rows = pl.scan_parquet(path)
        if dataset in GUARDED_ROWS:
            rows = rows.filter(GUARDED_ROWS[dataset])
        return rows.select(pl.len()).collect().item()

    def previous_rows(self, datasets: list[str], month: str) -> dict[str, int]:
        """Guarded rows (:meth:`guarded_rows`) of the latest month before ``month``, per
        dataset that has one.

        Validation compares a drop's size with this to catch a half-delivered file.
        """
        counts: dict[str, int] = {}
        for name in datasets:
            earlier = [m for m in self.months(name) if m < month]
            rows = self.guarded_rows(name, earlier[-1]) if earlier else None
            if rows is not None:
                counts[name] = rows
        return counts


#: The rows of a dataset the row-count guard compares month with month, where not all: a
#: payouts file is judged by its regular payouts, since arrears come in batches (the suite's
#: row condition in ``expectations/payouts.json`` is the same).
GUARDED_ROWS: dict[str, pl.Expr] = {"payouts": pl.col("kind") == "regular"}

#: What a month without quarantined payout rows reads as (no row, so no column is needed
#: but the reason every quarantined row has).
_QUARANTINE_SCHEMA: dict[str, Any] = {"_reason": pl.String}


def _replace_dir(new: Path, final: Path) -> None:
    """Move ``new`` to ``final``, replacing an existing folder with two renames."""
    old = None
    if final.exists():
        old = final.parent / f".old-{final.name}-{uuid.uuid4().hex}"
        os.replace(final, old)
    os.replace(new, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def staged_month(out: Path, month: str) -> Iterator[Path]:
    """Yield a staging folder that becomes ``OUT/YYYY-MM`` only if the block succeeds.

    On any exception (or a kill before the final rename) ``OUT/YYYY-MM`` is untouched.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    staging = out / f".staging-{month}-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        yield staging
        _replace_dir(staging, out / month)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write JSON atomically (temp file + rename), UTF-8, keys in the order given."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def processed_months(out: Path) -> list[str]:
    """Months with a committed output folder (a manifest marks a complete month)."""
    out = Path(out)
    if not out.exists():
        return []
    return sorted(
        p.name
        for p in out.iterdir()
        if p.is_dir() and (p / "manifest.json").exists() and len(p.name) == 7 and p.name[4] == "-"
    )


def scan_month_outputs(out: Path, name: str, before: str) -> pl.LazyFrame | None:
    """The file ``name`` of every processed month before ``before`` (``OUT/YYYY-MM/name``),
    concatenated with a ``month`` column; None when no month has one."""
    frames = [
        pl.scan_parquet(Path(out) / m / name).with_columns(pl.lit(m).alias("month"))
        for m in processed_months(out)
        if m < before and (Path(out) / m / name).exists()
    ]
    return pl.concat(frames, how="diagonal_relaxed") if frames else None


def latest_month_output(out: Path, name: str, before: str) -> pl.DataFrame | None:
    """The file ``name`` of the latest processed month before ``before``, or None."""
    months = [m for m in processed_months(out) if m < before and (Path(out) / m / name).exists()]
    return pl.read_parquet(Path(out) / months[-1] / name) if months else None


#: Where a month's manifest goes when the month is to be derived again: the month then
#: counts as not processed, so a run that stops half-way is caught up by the next run.
SUPERSEDED_MANIFEST = "manifest.superseded.json"


def supersede_months(out: Path, first: str) -> list[str]:
    """Mark the processed months from ``first`` on as to be derived again (their outputs
    stay readable until the new ones replace them). Returns those months."""
    months = [m for m in processed_months(out) if m >= first]
    for month in months:
        folder = Path(out) / month
        os.replace(folder / "manifest.json", folder / SUPERSEDED_MANIFEST)
    return months


def clear_stale_staging(out: Path) -> None:
    """Remove staging leftovers of a run that was killed (they were never committed)."""
    out = Path(out)
    if out.exists():
        for p in out.iterdir():
            if p.name.startswith((".staging-", ".old-")):
                shutil.rmtree(p, ignore_errors=True)


def restrict_permissions(out: Path, umask: int) -> None:
    """Create what follows with ``umask`` (077: files 0600, folders 0700) and close OUT
    itself to others: its older files (written before, under a looser umask) are then out
    of their reach too, since nobody else may enter the folder."""
    os.umask(umask)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if out.stat().st_uid == os.getuid():
        out.chmod(0o777 & ~umask)


def load_history(store: Path, month: str) -> MonthHistory:
    """The :class:`sentinel.detection.MonthHistory` of ``month`` from a curated store.

    Every dataset is scanned lazily over the months up to and including ``month``.
    """
    curated = CuratedStore(store)
    return MonthHistory(
        month=month,
        register=curated.scan("beneficiaries", up_to=month),
        payouts=curated.scan("payouts", up_to=month),
        quarantined_payouts=curated.scan("quarantined_payouts", up_to=month),
        deaths=curated.scan("deaths", up_to=month),
        certifications=curated.scan("certifications", up_to=month),
        outcomes=curated.scan("outcomes", up_to=month),
        custody=curated.scan("custody", up_to=month, schema=typed_schema(CUSTODY)),
        suspects=curated.scan("suspects", up_to=month, schema=typed_schema(SUSPECTS)),
        register_runs=curated.register_runs(month),
        ledger_runs=curated.ledger_runs(month),
    )


#: Which curated history OUT's months were kept in (``sentinel run --store``), at OUT's top.
HISTORY_STORE_FILE = "history_store.json"
#: Every month's drop has these, so a store holding a month holds their partitions.
_MONTH_DATASETS = ("beneficiaries", "payouts")


def record_history_store(out: Path, store: Path) -> None:
    """Note in ``OUT/history_store.json`` the curated history OUT's months are kept in."""
    path = Path(out) / HISTORY_STORE_FILE
    payload = {"store": str(Path(store).resolve())}
    if not path.exists() or json.loads(path.read_text(encoding="utf-8")) != payload:
        write_json(path, payload)


def recorded_history_store(out: Path) -> Path | None:
    """The curated history OUT recorded its months in, or None when it recorded none."""
    path = Path(out) / HISTORY_STORE_FILE
    if not path.exists():
        return None
    return Path(json.loads(path.read_text(encoding="utf-8"))["store"])


def months_missing_from_store(out: Path, store: Path, before: str) -> list[str]:
    """The months OUT processed before ``before`` whose validated drop the curated history
    at ``store`` does not hold: a month run on it would miss their history."""
    curated = CuratedStore(store)
    held = set.intersection(*(set(curated.months(d)) for d in _MONTH_DATASETS))
    return [m for m in processed_months(out) if m < before and m not in held]


#: A month's record of the history chains after its run (``sentinel.casestore.chain``).
HISTORY_FILE = "history.json"


def verified_history_heads(out: Path, before: str) -> dict[str, Any] | None:
    """The chain heads the latest processed month before ``before`` recorded, when its
    history check held: the rows up to them were verified then (None when that month's check
    failed, recorded nothing, or there is no such month)."""
    earlier = [month for month in processed_months(out) if month < before]
    if not earlier:
        return None
    path = Path(out) / earlier[-1] / HISTORY_FILE
    if not path.exists():
        return None
    recorded = json.loads(path.read_text(encoding="utf-8"))
    return recorded["heads"] if recorded.get("holds") else None


def history_anchors(out: Path, before: str | None = None) -> list[dict[str, Any]]:
    """The chain heads recorded by the processed months (before ``before``): each must
    still be in its chain."""
    anchors = []
    for month in processed_months(out):
        if before is not None and month >= before:
            continue
        path = Path(out) / month / HISTORY_FILE
        if path.exists():
            anchors.append(json.loads(path.read_text(encoding="utf-8"))["heads"])
    return anchors
