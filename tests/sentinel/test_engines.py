"""Which polars engine a step runs on: the in-memory one inside ``partition_engine``."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from sentinel.engines import partition_engine


def _affinity() -> str | None:
    return pl.Config.state(if_set=True).get("POLARS_ENGINE_AFFINITY")


def test_partition_engine_holds_inside_the_block_and_is_restored_after() -> None:
    before = _affinity()
    with partition_engine():
        assert _affinity() == "in-memory"
    assert _affinity() == before
    with pytest.raises(RuntimeError), partition_engine():
        raise RuntimeError("a failing step")
    assert _affinity() == before


def test_the_partitioned_suspension_step_runs_on_the_in_memory_engine(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.suspensions as suspensions
    from sentinel.config import load_config
    from sentinel.partition import partition_store

    seen: list[str | None] = []

    def recording(*args: object, **kwargs: object) -> pl.LazyFrame:
        seen.append(_affinity())
        return pl.LazyFrame({"person_id": ["P1"]})

    # The county and each partition share the step (flows.suspensions.suspend).
    monkeypatch.setattr(suspensions, "suspension_list", recording)
    store = partition_store(tmp_path, "430101")
    register = {
        "person_id": ["P1"],
        "name": ["某"],
        "sex": ["M"],
        "birth_date": [date(1940, 1, 1)],
        "scheme": ["resident"],
        "township": ["东坪镇"],
        "village": ["一村"],
        "benefit_start": [date(2010, 1, 1)],
        "status": ["active"],
        "bank_account": ["6217"],
    }
    store.write_month("beneficiaries", "2020-01", pl.DataFrame(register))
    suspensions.suspend.fn(store.root, "2020-01", load_config())
    assert seen == ["in-memory"]
