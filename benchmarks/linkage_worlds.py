"""Death linkage on every demo world: false links on living pensioners, deaths of paid
pensioners left unlinked, with the records as generated and with their birth dates mistyped.

Run (worlds built first with ``sentinel demo --dest DIR/NAME --world NAME --scale 0.1
--formats parquet --seed 7``)::

    PYTHONPATH=. .venv/bin/python benchmarks/linkage_worlds.py --worlds DIR

Per world and variant: death records, links accepted as proof of death
(:func:`features.survival.linked_deaths` at ``detection.min_death_link_confidence``), false
ones (the record's true person is another, or nobody in the register), the deaths of paid
pensioners (``improper.parquet``, typology ``deceased_paid``) with a record that could be
proof (an ID or a birth date in it) and how many of them are linked, as proof or as a
lead (``leads=True``: at least ``detection.min_death_lead_confidence``, a visit, not a
stop). Variant
``dates mistyped``: one record in three has its birth date written wrong, in turn day and
month swapped (when the day is 12 or less), one digit of the year, month or day changed,
or the date moved by 21 to 51 days (a lunar birthday); another one in three has one digit
of its ID changed. The demo's records carry no such dates, and far fewer mistyped IDs.
"""

from __future__ import annotations

import argparse
import random
from datetime import timedelta
from pathlib import Path

import polars as pl

from features.deaths import linked_deaths
from features.history import register_people
from sentinel.config import load_config
from sentinel.demo.worlds import WORLDS
from sentinel.detection import month_register_runs
from sentinel.evaluation import demo_history

MONTH = "2020-12"


def mistyped_dates(deaths: pl.DataFrame, seed: int = 7) -> pl.DataFrame:
    """Each record's birth date written wrong (see the module docstring)."""
    rng = random.Random(seed)
    births, ids = [], []
    for i, (birth, pid) in enumerate(zip(deaths["birth_date"], deaths["person_id"], strict=True)):
        if birth is not None and i % 3 == 0:
            kind = (i // 3) % 3
            if kind == 0 and birth.day <= 12 and birth.day != birth.month:
                birth = birth.replace(month=birth.day, day=birth.month)
            elif kind == 1:
                text = list(birth.strftime("%Y%m%d"))
                position = rng.choice([3, 5, 7])
                text[position] = str((int(text[position]) + rng.randint(1, 8)) % 10)
                try:
                    birth = birth.fromisoformat("".join(text))
                except ValueError:
                    birth = birth + timedelta(days=1)
            else:
                birth = birth + timedelta(days=rng.randint(21, 51))
        if pid is not None and i % 3 == 1 and len(pid) == 18:
            position = rng.randrange(17)
            pid = pid[:position] + str((int(pid[position]) + 1) % 10) + pid[position + 1 :]
        births.append(birth)
        ids.append(pid)
    return deaths.with_columns(
        pl.Series("birth_date", births, dtype=pl.Date), pl.Series("person_id", ids, dtype=pl.String)
    )


def check(dest: Path, variant: str) -> dict[str, object]:
    config = load_config()
    history = demo_history(dest, MONTH)
    people = register_people(month_register_runs(history)).collect().lazy()
    deaths = history.deaths.filter(pl.col("month") <= MONTH).collect()
    if variant == "dates mistyped":
        deaths = mistyped_dates(deaths)
    links = linked_deaths(deaths.lazy(), people, config.detection).collect()
    leads = linked_deaths(deaths.lazy(), people, config.detection, leads=True).collect()
    truth = pl.read_parquet(dest / "truth" / "death_records.parquet")
    wrong = pl.col("true_person_id").is_null() | (pl.col("true_person_id") != pl.col("person_id"))
    false = links.join(truth, on="record_id", how="left").filter(wrong)
    false_leads = leads.join(truth, on="record_id", how="left").filter(wrong)
    improper = pl.read_parquet(dest / "truth" / "improper.parquet")
    paid_dead = improper.filter(pl.col("typology") == "deceased_paid").select("person_id").unique()
    records = deaths.join(truth.select("record_id", "true_person_id"), on="record_id")
    provable = records.filter(
        pl.col("true_person_id").is_in(paid_dead["person_id"].implode())
        & (pl.col("person_id").is_not_null() | pl.col("birth_date").is_not_null())
    )
    persons = provable["true_person_id"].unique()
    linked = links.filter(pl.col("person_id").is_in(persons.implode()))["person_id"].unique()
    led = leads.filter(
        pl.col("person_id").is_in(persons.implode()) & ~pl.col("person_id").is_in(linked.implode())
    )["person_id"].unique()
    return {
        "records": deaths.height,
        "links": links.height,
        "false": false.height,
        "leads": leads.height,
        "false_leads": false_leads.height,
        "paid_dead_provable": persons.len(),
        "paid_dead_linked": linked.len(),
        "paid_dead_led": led.len(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", type=Path, required=True)
    args = parser.parse_args()
    print(
        "| world | variant | death records | proof links | false links | leads | false leads "
        "| paid dead (with ID or birth date) | of them linked as proof | and as leads |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in WORLDS:
        dest = args.worlds / name
        if not (dest / "inbox").exists():
            print(f"| {name} | not built | | | | | | | | |")
            continue
        for variant in ("as generated", "dates mistyped"):
            r = check(dest, variant)
            print(
                f"| {name} | {variant} | {r['records']} | {r['links']} | {r['false']} | "
                f"{r['leads']} | {r['false_leads']} | {r['paid_dead_provable']} | "
                f"{r['paid_dead_linked']} | {r['paid_dead_led']} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
