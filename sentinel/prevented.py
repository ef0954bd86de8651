"""Yuan prevented next to yuan recovered: what the pre-disbursement screen held
(``OUT/screen/<period>/holds.csv``, :mod:`sentinel.screen`), what audits later confirmed of
it, and what was recovered after payment (the case store)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from sentinel.casestore.constants import CONFIRMED


def prevented(out: Path, cases: pl.DataFrame, recovered: pl.DataFrame) -> pl.DataFrame:
    """Yuan prevented next to yuan recovered: one row per screened pay period and a total.

    ``cases``: the case store's cases (``person_id``, ``outcome``); ``recovered``: one row
    per recovery account with ``recovered_amount`` (the ledger's recovered yuan). Columns:
    period, held_rows, held_yuan, held_yuan_confirmed (held from persons an audit later
    confirmed improper or deceased), recovered_yuan (the total row only: recoveries are
    not per pay period).
    """
    confirmed = set(
        cases.filter(pl.col("outcome").is_in(list(CONFIRMED)))[
            "person_id"
        ].to_list()
    )
    rows = []
    for folder in sorted((Path(out) / "screen").glob("*/holds.csv")):
        held = pl.read_csv(folder, infer_schema_length=0).with_columns(
            pl.col("amount").cast(pl.Float64, strict=False).fill_null(0.0)
        )
        rows.append(
            {
                "period": folder.parent.name,
                "held_rows": held.height,
                "held_yuan": round(float(held["amount"].sum()), 2),
                "held_yuan_confirmed": round(
                    float(held.filter(pl.col("person_id").is_in(list(confirmed)))["amount"].sum()), 2
                ),
                "recovered_yuan": None,
            }
        )
    schema = {
        "period": pl.String,
        "held_rows": pl.Int64,
        "held_yuan": pl.Float64,
        "held_yuan_confirmed": pl.Float64,
        "recovered_yuan": pl.Float64,
    }
    table = pl.DataFrame(rows, schema=schema)
    total = pl.DataFrame(
        [
            {
                "period": "total",
                "held_rows": int(table["held_rows"].sum()),
                "held_yuan": round(float(table["held_yuan"].sum()), 2),
                "held_yuan_confirmed": round(float(table["held_yuan_confirmed"].sum()), 2),
                "recovered_yuan": round(float(recovered["recovered_amount"].sum()), 2)
                if recovered.height
                else 0.0,
            }
        ],
        schema=schema,
    )
    return pl.concat([table, total])


__all__ = ["prevented"]
