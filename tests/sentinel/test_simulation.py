"""The simulated audit unit, end to end on a small world: the visits, their true outcomes
going back through the next month's ``outcomes.csv``, and the comparison with an
all-knowing auditor."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from features.recovery import RECOVERY_EVENT_SCHEMA, recovery_accounts
from sentinel.cli import app
from sentinel.evaluation import improper_as_of
from sentinel.simulation import (
    AUDIT_COLUMNS,
    SUSPECT_COLUMNS,
    RecoveryLadder,
    plot_audit_curve,
    recovery_steps,
    visit_outcomes,
)
from sentinel.simulation.audits import _visits
from sentinel.simulation.users import WRITE_OFF_APPROVER, WRITE_OFF_PROPOSER

runner = CliRunner()


def test_visits_take_the_chosen_then_the_top_skipping_the_visited_and_reopened():
    cases = pl.DataFrame(
        {
            "case_id": ["a", "b", "c", "d", "e", "f"],
            "person_id": ["pa", "pb", "pc", "pd", "pe", "pf"],
            "priority_rank": [1, 2, 3, 4, 5, 6],
            "status": ["reopened", "new", "carried", "new", "new", "new"],
            "audit_selection": [None, "priority", "priority", None, "exploration", None],
        }
    )
    got = _visits(cases, visited={"pc"}, capacity=3)
    # The chosen first (b, then e drawn below the cut), then the top of the rest (d); the
    # reopened case is the centre's to act on, the visited person is not visited again.
    assert got["case_id"].to_list() == ["b", "e", "d"]


def test_visit_outcomes_are_the_truth_of_the_visited(tiny_county: Path):
    month = "2020-03"
    improper = improper_as_of(tiny_county / "truth", month)
    people = pl.read_parquet(tiny_county / "truth" / "people.parquet")
    honest = people.filter(~pl.col("person_id").is_in(improper["person_id"].implode()))
    visits = pl.DataFrame(
        {
            "case_id": ["bad", "good"],
            "person_id": [improper["person_id"][0], honest["person_id"][0]],
        }
    )
    got = visit_outcomes(visits, tiny_county / "truth", month, date(2020, 4, 15))
    rows = {r["case_id"]: r for r in got.iter_rows(named=True)}
    assert rows["bad"]["outcome"] in ("confirmed_deceased", "confirmed_improper")
    assert rows["bad"]["overpaid_amount"] == pytest.approx(improper["overpaid"][0], abs=0.01)
    assert rows["good"]["outcome"] == "cleared"
    assert rows["good"]["overpaid_amount"] is None
    assert rows["bad"]["closed_on"] == date(2020, 4, 15)


def test_visit_outcomes_name_a_different_auditor_and_reviewer(tiny_county: Path):
    improper = improper_as_of(tiny_county / "truth", "2020-03").head(20)
    visits = improper.select(
        pl.format("DP-{}", pl.int_range(pl.len()).cast(pl.String).str.zfill(12)).alias("case_id"),
        "person_id",
    )
    got = visit_outcomes(visits, tiny_county / "truth", "2020-03", date(2020, 4, 15))
    assert got.filter(pl.col("audited_by") == pl.col("reviewed_by")).height == 0
    assert got["audited_by"].null_count() == got["reviewed_by"].null_count() == 0
    assert got["audited_by"].n_unique() > 1


def simulated_accounts(n: int, seed: int = 3) -> pl.DataFrame:
    rng = random.Random(seed)
    return pl.DataFrame(
        {
            "case_id": [f"DP-{i:012x}" for i in range(n)],
            "outcome": [rng.choice(["confirmed_deceased", "confirmed_improper"]) for _ in range(n)],
            "closed_on": [
                date(2020, 1, 15) + timedelta(days=rng.randint(0, 300)) for _ in range(n)
            ],
            "overpaid_amount": [round(rng.lognormvariate(7.5, 1.0), 2) for _ in range(n)],
        }
    )


def _as_events(steps: pl.DataFrame) -> pl.LazyFrame:
    return (
        steps.rename({"step_date": "on", "operator": "actor"})
        .with_columns(pl.lit("simulation").alias("source"))
        .select(list(RECOVERY_EVENT_SCHEMA))
        .cast(RECOVERY_EVENT_SCHEMA)  # type: ignore[arg-type]
        .lazy()
    )


def test_the_simulated_ladder_recovers_what_published_programmes_recover():
    """Played to its end, the ladder recovers between the UK's 89% and the Jiangxi city's
    94.8% of the yuan due (docs/domain.md), and writes off the rest; every account settles."""
    accounts = simulated_accounts(3000)
    steps = recovery_steps(accounts, seed=11)
    cases = accounts.with_columns(
        pl.lit("p").alias("person_id"),
        pl.lit("t").alias("township"),
        pl.lit("deceased_paid").alias("typology"),
        pl.lit(None, pl.Float64).alias("recovered_amount"),
    )
    ledger = recovery_accounts(cases.lazy(), _as_events(steps), date(2030, 1, 1)).collect()
    assert ledger.height == accounts.height
    assert set(ledger["status"]) <= {"repaid", "written_off"}
    assert (ledger["outstanding"] == 0).all()
    rate = ledger["recovered"].sum() / ledger["due"].sum()
    assert 0.89 <= rate <= 0.948, rate
    for outcome in ("confirmed_deceased", "confirmed_improper"):
        part = ledger.filter(pl.col("outcome") == outcome)
        assert 0.88 <= part["recovered"].sum() / part["due"].sum() <= 0.96, outcome
    counts = steps.group_by("step").len().to_dict(as_series=False)
    assert set(counts["step"]) == {"notice", "payment", "escalation", "write_off"}
    assert set(steps.drop_nulls("method")["method"]) == {
        "full",
        "instalment",
        "offset",
        "bank_return",
        "administrative_order",
        "court",
        "police",
    }
    write_offs = steps.filter(pl.col("step") == "write_off")
    assert (write_offs["operator"] == WRITE_OFF_PROPOSER).all()
    assert (write_offs["approved_by"] == WRITE_OFF_APPROVER).all()
    assert (write_offs["approved_on"] > write_offs["step_date"]).all()
    # Bank returns only from a deceased person's account.
    banked = steps.filter(pl.col("method") == "bank_return").join(accounts, on="case_id")
    assert set(banked["outcome"]) == {"confirmed_deceased"}


def test_the_simulated_ladder_is_seeded_per_account():
    accounts = simulated_accounts(40)
    first = recovery_steps(accounts, seed=5)
    assert first.equals(recovery_steps(accounts, seed=5))
    assert not first.equals(recovery_steps(accounts, seed=6))
    alone = recovery_steps(accounts.head(1), seed=5)
    assert alone.equals(first.filter(pl.col("case_id") == accounts["case_id"][0]))
    # A ladder that never lets anyone off: nothing written off, all paid in full at once.
    keen = RecoveryLadder(bank_return=0.0, deceased_full=1.0, living_full=1.0)
    paid = recovery_steps(accounts, seed=5, ladder=keen)
    assert set(paid["step"]) == {"notice", "payment"} and set(
        paid.drop_nulls("method")["method"]
    ) == {"full"}


def test_the_plot_has_a_panel_per_world(tmp_path: Path):
    table = pl.DataFrame({"month": ["2020-01", "2020-02"], "found": [3, 2], "oracle": [5, 2]})
    path = plot_audit_curve({"a": table, "b": table, "c": table, "d": table}, tmp_path / "c.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_the_simulated_unit_learns_through_the_outcomes_path(tmp_path: Path):
    work, table_csv, png = tmp_path / "work", tmp_path / "sim.csv", tmp_path / "curve.png"
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--simulate-audits",
            "--world",
            "reference",
            "--scale",
            "0.01",
            # Six months: the loop (visits, outcomes back, the model taking over, recovery)
            # and the first and last three months the year summary compares.
            "--months",
            "6",
            "--work",
            str(work),
            "--save",
            str(table_csv),
            "--plot",
            str(png),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pl.read_csv(table_csv, schema_overrides={"month": pl.String})
    assert table.columns == ["world", *AUDIT_COLUMNS]
    assert table["month"].to_list() == [f"2020-{m:02d}" for m in range(1, 7)]
    assert (table["found"] <= table["visits"]).all()
    assert (table["visits"] <= 56).all()
    # The list's length each month, over the month's recipients.
    assert table["list_share"].is_not_null().all() and (table["list_share"] > 0).all()
    # The oracle visits each improper person once: over the year it finds them all.
    truth = work / "reference-7" / "truth"
    assert table["oracle"].sum() == improper_as_of(truth, "2020-06").height
    # Each month's visits came back as the next month's outcomes, the real path, and the
    # risk model learned from them from the second month on.
    audited = work / "reference-7" / "audited"
    outcomes = pl.read_csv(audited / "inbox" / "2020-02" / "outcomes.csv")
    assert outcomes.height == table.filter(pl.col("month") == "2020-01")["visits"][0]
    assert table["model_version"][0] == "rules-v2"
    assert table["model_version"][-1].startswith("learned-")
    assert png.exists()
    # The year per world, from the same months.
    year = pl.read_csv(tmp_path / "sim-year.csv").row(0, named=True)
    assert (year["found"], year["oracle"]) == (table["found"].sum(), table["oracle"].sum())
    # Every suspect of every batch was answered by its due date, and the ranking measured.
    suspects = pl.read_csv(tmp_path / "sim-suspects.csv")
    assert suspects.columns == ["world", *SUSPECT_COLUMNS]
    pooled = suspects.filter(pl.col("batch_id") == "all").row(0, named=True)
    batches = pl.read_parquet(truth / "suspects.parquet")
    assert pooled["suspects"] == batches.height > 0
    assert pooled["answered"] == pooled["answered_by_due_date"] == pooled["suspects"]
    assert 0.0 <= pooled["auc"] <= 1.0
    # What the visits confirmed was recovered through the drops' recoveries.csv: the
    # year's ledger per typology, and the same in the case store's report.
    assert table["recovered_to_date"][-1] > 0 and 0 < table["recovery_rate_to_date"][-1] <= 1
    assert (audited / "inbox" / "2020-03" / "recoveries.csv").exists()
    recovery = pl.read_csv(tmp_path / "sim-recovery.csv")
    total = recovery.filter(pl.col("typology") == "all").row(0, named=True)
    assert total["recovered"] == pytest.approx(table["recovered_to_date"][-1], abs=0.01)
    steps = ("none", "notified", "administrative_order", "court", "police")
    assert sum(total[f"step_{s}"] for s in steps) == total["accounts"] > 0
    assert total["step_notified"] > 0
    report = runner.invoke(
        app, ["report", "recovery", "--out", str(audited / "out"), "--as-of", "2020-06-30"]
    )
    assert report.exit_code == 0, report.output
    summary = pl.read_csv(audited / "out" / "reports" / "recovery.csv")
    assert summary.filter(pl.col("township") == "all")["recovered"][0] == total["recovered"]


def test_the_grid_replaces_a_world_left_by_an_earlier_run(tmp_path: Path):
    """Regression: a second grid in the same work folder reused the first one's months (the
    monthly job skips months already under OUT) and re-ran only December."""
    from sentinel.grid import evaluate_grid

    stale = tmp_path / "reference-3" / "out" / "2020-01"
    stale.mkdir(parents=True)
    (stale / "cases.parquet").write_bytes(b"an earlier run")
    seen: list[bool] = []

    class Stop(Exception):
        pass

    def run_months(inbox: Path, out: Path, month: str) -> None:
        seen.append((out / "2020-01" / "cases.parquet").exists())
        raise Stop

    with pytest.raises(Stop):
        evaluate_grid(["reference"], [3], 0.005, tmp_path, 56, run_months)
    assert seen == [False]


def test_the_year_per_world_sums_the_months_and_says_whether_the_loop_holds():
    from sentinel.simulation import YEAR_COLUMNS, year_summary

    def months(world: str, found: list[int], oracle: list[int]) -> pl.DataFrame:
        n = len(found)
        return pl.DataFrame(
            {
                "world": [world] * n,
                "month": [f"2020-{m:02d}" for m in range(1, n + 1)],
                "visits": [10] * n,
                "found": found,
                "oracle": oracle,
                "yuan_found": [100.0] * n,
                "list_share": [0.004] * (n - 1) + [0.006],
            }
        )

    table = pl.concat(
        [
            # 14 of 16 over the year, the last three months 4/4 against the first three 5/8.
            months("holds", [3, 1, 1, 1, 2, 0, 0, 1, 1, 1, 1, 2], [4, 2, 2, 0, 1, 1, 0, 1, 1, 1, 1, 2]),
            # 0.9 over the year, but the last three months below the first three.
            months("wears_out", [5, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [5, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
            # Under 0.7 over the year.
            months("short", [1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1], [2, 2, 2, 0, 0, 0, 0, 0, 0, 1, 1, 1]),
        ]
    )
    year = year_summary(table)
    assert year.columns == list(YEAR_COLUMNS)
    # Worst year first.
    assert year["world"].to_list() == ["short", "holds", "wears_out"]
    rows = {r["world"]: r for r in year.iter_rows(named=True)}
    assert (rows["holds"]["found"], rows["holds"]["oracle"]) == (14, 16)
    assert rows["holds"]["first_share"] == pytest.approx(5 / 8)
    assert rows["holds"]["last_share"] == pytest.approx(1.0)
    assert rows["holds"]["meets"]
    assert rows["holds"]["visits"] == 120 and rows["holds"]["yuan_per_visit"] == pytest.approx(10.0)
    assert rows["holds"]["max_list_share"] == pytest.approx(0.006)
    assert rows["wears_out"]["year_share"] == pytest.approx(0.9) and not rows["wears_out"]["meets"]
    assert not rows["short"]["meets"]
