"""The named demo worlds: each a real phenomenon with its source, each generated as said."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from sentinel.config import load_config
from sentinel.demo import WORLDS, CountySummary, generate_world, world
from sentinel.demo.worlds import _IMPROPER_FIELDS, REFERENCE_BACKPAY

SCALE = 0.01


def make(tmp_path_factory: pytest.TempPathFactory, name: str, months: int = 10) -> CountySummary:
    """The named world as `sentinel demo --world` and the grid generate it."""
    return generate_world(
        tmp_path_factory.mktemp(name), name, seed=3, scale=SCALE, months=months, formats="parquet"
    )


def payouts(summary: CountySummary, month: str) -> pl.DataFrame:
    return pl.read_parquet(summary.inbox / month / "payouts.parquet")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> CountySummary:
    return make(tmp_path_factory, "reference")


@pytest.fixture(scope="module")
def lagging(tmp_path_factory: pytest.TempPathFactory) -> CountySummary:
    return make(tmp_path_factory, "lagging_standard")


def test_at_least_eight_named_worlds_each_with_a_source():
    assert len(WORLDS) >= 8
    for chosen in WORLDS.values():
        assert chosen.summary and chosen.source
    with pytest.raises(ValueError, match="known: reference"):
        world("atlantis")


def test_every_world_pays_the_reference_adjustments_back():
    for chosen in WORLDS.values():
        assert set(REFERENCE_BACKPAY) <= set(chosen.phenomena.backpay), chosen.name


def test_the_enterprise_adjustment_is_paid_back_in_july_one_row_per_month(reference: CountySummary):
    july = payouts(reference, "2020-07")
    arrears = july.filter((pl.col("kind") == "arrears") & (pl.col("scheme") == "enterprise"))
    back = arrears.filter(pl.col("period") < "2020-07")
    per_person = back.group_by("person_id").agg(pl.col("period").n_unique().alias("periods"))
    paid_jan_to_jun = (
        pl.concat([payouts(reference, f"2020-0{m}") for m in range(1, 7)])
        .filter((pl.col("kind") == "regular") & (pl.col("scheme") == "enterprise"))
        .select("person_id")
        .unique()
    )
    assert per_person.height >= 0.9 * paid_jan_to_jun.height
    assert per_person["periods"].max() == 6
    # The increment, not the pension: about 124 yuan a month.
    assert back["amount"].median() == pytest.approx(124.0, rel=0.15)
    # July's regular amounts include it.
    june = payouts(reference, "2020-06").filter(pl.col("kind") == "regular").select("person_id", "scheme", pl.col("amount").alias("june"))
    raised = july.filter(pl.col("kind") == "regular").join(june, on=["person_id", "scheme"])
    steps = raised.filter(pl.col("scheme") == "enterprise").select((pl.col("amount") - pl.col("june")).median())
    assert steps.item() == pytest.approx(124.0, rel=0.15)


def test_a_lagging_standard_is_paid_below_the_configuration_then_paid_back(lagging: CountySummary):
    standard = load_config().policy.resident_basic_pension("2020-07")
    july = payouts(lagging, "2020-07").filter((pl.col("scheme") == "resident") & (pl.col("kind") == "regular"))
    # Basic pension plus a personal-account part: the smallest are below the new standard.
    assert july["amount"].min() == pytest.approx(103.0)
    assert (july["amount"] < standard).mean() > 0.2
    september = payouts(lagging, "2020-09").filter(
        (pl.col("scheme") == "resident") & (pl.col("kind") == "arrears") & pl.col("period").is_in(["2020-07", "2020-08"])
    )
    # The difference for every resident paid in July and August (reinstated lapsers' own
    # arrears pay those months too, in full).
    assert (september["amount"].round(2) == 10.0).mean() > 0.9


def test_in_migrants_hold_ids_of_other_provinces(tmp_path_factory: pytest.TempPathFactory):
    summary = make(tmp_path_factory, "in_migrants", months=3)
    register = pl.read_parquet(summary.inbox / "2020-01" / "beneficiaries.parquet")
    other = (~register["person_id"].str.starts_with("43")).mean()
    assert 0.05 < other < 0.15


def test_slow_death_feeds_bring_records_later(tmp_path_factory: pytest.TempPathFactory, reference: CountySummary):
    slow = make(tmp_path_factory, "slow_death_feeds")

    def lag(summary: CountySummary) -> float:
        deaths = pl.concat(
            [pl.read_parquet(p) for p in sorted(summary.inbox.glob("*/deaths.parquet"))]
        )
        return deaths.select((pl.col("recorded_on") - pl.col("death_date")).dt.total_days().mean()).item()

    assert lag(slow) > lag(reference) + 20


def test_the_world_is_recorded_in_the_truth(reference: CountySummary):
    import json

    meta = json.loads((reference.truth / "truth.json").read_text(encoding="utf-8"))
    assert meta["world"] == "reference"
    assert [b["paid_in"] for b in meta["phenomena"]["backpay"]] == [6, 8]


def test_rare_and_common_fraud_differ_by_their_improper_share(tmp_path: Path):
    rare, common = world("rare_fraud").rates, world("common_fraud").rates
    assert common.suspected_unreported_death / rare.suspected_unreported_death == pytest.approx(20.0)


def test_pay_units_move_institution_retirees_from_unit_accounts_to_their_own(
    tmp_path_factory: pytest.TempPathFactory,
):
    summary = make(tmp_path_factory, "pay_units", months=7)

    def institution(month: str) -> pl.DataFrame:
        return payouts(summary, month).filter(
            (pl.col("kind") == "regular") & (pl.col("scheme") == "institution")
        )

    def shared_share(month: str) -> float:
        paid = institution(month)
        per_account = paid.group_by("bank_account").agg(pl.col("person_id").n_unique().alias("n"))
        shared = paid.join(per_account.filter(pl.col("n") >= 10), on="bank_account", how="semi")
        return shared["person_id"].n_unique() / paid["person_id"].n_unique()

    # Paid through units until March, directly from June (issue 17: the administrative wave).
    assert shared_share("2020-01") > 0.8
    assert shared_share("2020-02") > 0.8
    assert shared_share("2020-06") == 0.0
    units = pl.read_parquet(summary.truth / "shared_accounts.parquet").filter(
        pl.col("kind") == "pay_unit"
    )
    assert units.height and not units["is_improper"].any()


def test_the_elderly_village_agents_collect_for_die_like_everyone(tmp_path: Path):
    summary = generate_world(
        tmp_path, "village_agents", seed=3, scale=0.02, months=10, formats="parquet"
    )
    clients = (
        pl.read_parquet(summary.truth / "shared_accounts.parquet")
        .filter(pl.col("kind") == "village_agent")
        .select("person_id")
    )
    died = (
        pl.read_parquet(summary.truth / "people.parquet")
        .join(clients, on="person_id", how="semi")
        .filter(pl.col("true_death_date").is_not_null())
    )
    recorded = pl.read_parquet(summary.truth / "death_records.parquet").filter(
        pl.col("true_person_id").is_in(died["person_id"].to_list())
    )
    # Deaths recorded like anyone's, and no one of them improper (the agent is legitimate).
    assert died.height >= 1
    assert set(recorded["true_person_id"]) == set(died["person_id"])
    assert not died["is_improper"].any()


def test_the_every_confounder_worlds_hold_every_benign_phenomenon_of_the_others():
    # A benign setting is one a single-phenomenon world changes from the reference county,
    # other than how many improper payments there are (where two worlds set one apart, as
    # late and prompt certifiers do, either value will do): a world added later is caught
    # here until the combined worlds hold its phenomenon too.
    combined = ("every_confounder", "rare_fraud_every_confounder")
    base = world("reference")
    settings: dict[str, set[object]] = {}
    for single in WORLDS.values():
        if single.name in combined:
            continue
        for part in ("rates", "phenomena"):
            for field, value in vars(getattr(single, part)).items():
                if field not in (*_IMPROPER_FIELDS, "backpay") and value != getattr(
                    getattr(base, part), field
                ):
                    settings.setdefault(f"{part}.{field}", set()).add(value)
        for name in combined:
            assert set(single.phenomena.backpay) <= set(world(name).phenomena.backpay)
    assert len(settings) >= 8
    for name in combined:
        chosen = world(name)
        for key, values in settings.items():
            part, field = key.split(".")
            assert getattr(getattr(chosen, part), field) in values, (name, key)
    rare = world("rare_fraud_every_confounder").rates
    assert rare.deceased_paid == world("rare_fraud").rates.deceased_paid
    assert world("every_confounder").rates.deceased_paid == base.rates.deceased_paid
