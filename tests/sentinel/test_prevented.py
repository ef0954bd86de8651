"""Yuan prevented by the screen next to yuan recovered after payment."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from sentinel.prevented import prevented


def test_prevented_puts_held_yuan_and_what_audits_confirmed_next_to_recovered(tmp_path: Path) -> None:
    for period, lines in {"2020-11": [("a", "120"), ("b", "80")], "2020-12": [("a", "120")]}.items():
        folder = tmp_path / "screen" / period
        folder.mkdir(parents=True)
        pl.DataFrame({"person_id": [p for p, _ in lines], "amount": [a for _, a in lines]}).write_csv(folder / "holds.csv")
    cases = pl.DataFrame({"person_id": ["a", "b"], "outcome": ["confirmed_deceased", "cleared"]})
    recovered = pl.DataFrame({"recovered_amount": [300.0, 50.0]})
    table = prevented(tmp_path, cases, recovered)
    assert table.rows() == [
        ("2020-11", 2, 200.0, 120.0, None),
        ("2020-12", 1, 120.0, 120.0, None),
        ("total", 3, 320.0, 240.0, 350.0),
    ]
