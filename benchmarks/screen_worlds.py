"""The pre-disbursement screen on demo worlds: yuan held that would have been improper, yuan
wrongly held, and time.

Run after the detection grid (it leaves every world's twelve months processed)::

    sentinel evaluate --grid --work /tmp/gridwork --save docs/evaluation-grid.csv
    PYTHONPATH=. .venv/bin/python benchmarks/screen_worlds.py --work /tmp/gridwork

Each month from the second on, the month's payouts file is screened as the draft pay file
(``sentinel.screen.screen_payroll``), knowing the months before it, with the month's death
and custody records received before its earliest pay date as the newer files. A held payment is:

* *improper* when the ground truth lists an overpayment to the person for that period paid
  that month (``overpayments.parquet``; a death still in the routine reporting lag counts:
  the screen stops what the termination procedure would have to recover);
* a *damaged line* when the demo broke the line on purpose (``malformed.parquet``: an
  empty or short ID, an unreadable amount or date, a line cut short or sent twice), which
  no one can or should pay as it is;
* *suspended in detention* when it is a pension of a person in pre-trial detention who
  was later acquitted: the policy suspends it during the detention and pays it back on
  acquittal, so it is no overpayment in the ground truth, and no wrong hold either;
* *wrongly held* otherwise (the target is 0).

Printed: one row per world, the worst first (most yuan wrongly held, then the smallest
share of improper yuan held).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import polars as pl

from sentinel.config import load_config
from sentinel.contract import CUSTODY, DEATHS, PAYOUTS, Dataset
from sentinel.io.readers import find_dataset_file, read_dataset
from sentinel.io.store import processed_months
from sentinel.screen import screen_payroll


def newer_records(month_dir: Path, pay_file: Path, folder: Path, dataset: Dataset, received_on: str) -> Path | None:
    """The month's death or custody records received before its earliest pay date, as a
    parquet file of text columns (what the centre had in hand on pay day)."""
    found = find_dataset_file(month_dir, dataset)
    if found is None:
        return None
    pay = read_dataset(pay_file, PAYOUTS).frame
    first = pay.select(pl.col("pay_date").str.to_date(strict=False).min()).item()
    records = read_dataset(found, dataset).frame
    received = pl.col(received_on).str.to_date(strict=False)
    kept = records.filter(received.is_null() | (received < first)) if first else records
    path = folder / f"{dataset.name}-{month_dir.name}.parquet"
    kept.drop("_row", "_malformed").write_parquet(path)
    return path


def classify(holds: pl.DataFrame, truth: Path, month: str) -> pl.DataFrame:
    """``holds`` with ``kind``: improper, damaged line or wrong (see the module)."""
    improper = (
        pl.read_parquet(truth / "overpayments.parquet")
        .filter(pl.col("pay_month") == month)
        .select("person_id", "period")
        .unique()
        .with_columns(pl.lit(True).alias("_improper"))
    )
    faults = pl.read_parquet(truth / "malformed.parquet").filter(
        (pl.col("month") == month) & (pl.col("dataset") == "payouts")
    )
    ids = set(faults["person_id"].drop_nulls().to_list())
    ids |= {i[:17] for i in ids}
    empty = bool(faults.filter(pl.col("kind") == "empty_id").height)
    damaged = pl.col("person_id").is_in(list(ids)) | (pl.col("person_id").is_null() & empty)
    custody = truth / "custody_records.parquet"
    detained = (
        pl.read_parquet(custody).filter(pl.col("kind") == "pretrial_detention")["true_person_id"].drop_nulls()
        if custody.exists()
        else pl.Series([], dtype=pl.String)
    )
    in_detention = pl.col("reasons").str.contains("SH_IN_CUSTODY") & pl.col("person_id").is_in(detained.implode())
    return (
        holds.join(improper, on=["person_id", "period"], how="left")
        .with_columns(
            pl.when(pl.col("_improper").fill_null(False))
            .then(pl.lit("improper"))
            .when(damaged)
            .then(pl.lit("damaged line"))
            .when(in_detention)
            .then(pl.lit("suspended in detention"))
            .otherwise(pl.lit("wrong"))
            .alias("kind")
        )
        .drop("_improper")
    )


def world(dest: Path) -> dict[str, object]:
    config = load_config()
    out = dest / "out"
    months = processed_months(out)
    overpaid = pl.read_parquet(dest / "truth" / "overpayments.parquet")
    figures = {"improper": 0.0, "damaged": 0, "detention": 0, "wrong_rows": 0, "wrong_yuan": 0.0, "drafts": 0}
    improper_due = 0.0
    seconds = []
    with tempfile.TemporaryDirectory() as tmp:
        for month in months[1:]:
            pay_file = find_dataset_file(dest / "inbox" / month, PAYOUTS)
            assert pay_file is not None
            month_dir = dest / "inbox" / month
            deaths = newer_records(month_dir, pay_file, Path(tmp), DEATHS, "recorded_on")
            custody = newer_records(month_dir, pay_file, Path(tmp), CUSTODY, "received_on")
            started = time.perf_counter()
            result = screen_payroll(pay_file, out, config, deaths=deaths, custody=custody, period=month)
            seconds.append(time.perf_counter() - started)
            held = classify(result.holds, dest / "truth", month)
            amount = pl.col("amount").fill_null(0.0)
            figures["improper"] += held.filter(pl.col("kind") == "improper").select(amount.sum()).item()
            figures["damaged"] += held.filter(pl.col("kind") == "damaged line").height
            figures["detention"] += held.filter(pl.col("kind") == "suspended in detention").height
            wrong = held.filter(pl.col("kind") == "wrong")
            figures["wrong_rows"] += wrong.height
            figures["wrong_yuan"] += wrong.select(amount.sum()).item()
            figures["drafts"] += result.rows
            improper_due += overpaid.filter(pl.col("pay_month") == month)["amount"].sum()
    return {
        "world": dest.name,
        "months": len(months) - 1,
        "draft rows": figures["drafts"],
        "improper yuan in the drafts": round(improper_due, 2),
        "improper yuan held": round(figures["improper"], 2),
        "share held": round(figures["improper"] / improper_due, 3) if improper_due else 1.0,
        "damaged lines held": figures["damaged"],
        "held in detention": figures["detention"],
        "wrongly held rows": figures["wrong_rows"],
        "wrongly held yuan": round(figures["wrong_yuan"], 2),
        "seconds per screen (mean, max)": f"{sum(seconds) / len(seconds):.2f}, {max(seconds):.2f}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="the grid's work folder")
    parser.add_argument("--save", type=Path, help="CSV of the table")
    args = parser.parse_args()
    rows = [world(d) for d in sorted(args.work.iterdir()) if (d / "out").is_dir() and (d / "truth").is_dir()]
    table = pl.DataFrame(rows).sort(
        ["wrongly held yuan", "share held"], descending=[True, False]
    )
    print("| " + " | ".join(table.columns) + " |")
    print("|" + "---|" * len(table.columns))
    for row in table.iter_rows():
        print("| " + " | ".join(str(v) for v in row) + " |")
    if args.save:
        table.write_csv(args.save)


if __name__ == "__main__":
    main()
