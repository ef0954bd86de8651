"""The two death-record linkers of ``splink_bench.py`` as its child processes run them:
``features.linkage.link_records`` and the Splink 5 model (DuckDB) described in that
module's docstring. Each reads the Parquet inputs, links, and logs its finished stages.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import time
from pathlib import Path
from typing import Any

import polars as pl
from linkage_bench import RECORD_COLUMNS, REGISTER_COLUMNS

METHODS = ("ours", "splink")
U_MAX_PAIRS = 1e7
EM_MAX_PAIRS = 5e6
PREDICT_FLOOR = 0.01
"""Pairs below this match probability are not kept by Splink's predict (thresholds swept above)."""
ID_WINDOWS = ((0, 5), (4, 9), (8, 12), (11, 15), (14, 18))


# --- the two methods (run inside a child process) --------------------------------------


class Progress:
    """Stage log of a child: one JSON line per finished stage, readable after a kill."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.start = time.perf_counter()
        self.stages: dict[str, float] = {}
        self._last = self.start
        path.write_text("")

    def done(self, stage: str) -> None:
        now = time.perf_counter()
        self.stages[stage] = round(now - self._last, 2)
        self._last = now
        line = {
            "stage": stage,
            "seconds": self.stages[stage],
            "elapsed": round(now - self.start, 2),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            "load1": os.getloadavg()[0],
        }
        with self.path.open("a") as f:
            f.write(json.dumps(line) + "\n")


def link_ours(data: Path, progress: Progress) -> pl.DataFrame:
    """``link_records`` exactly as ``linkage_bench`` calls it (in-memory engine)."""
    from features.linkage import link_records

    register = pl.read_parquet(data / "register.parquet")
    records = pl.read_parquet(data / "records.parquet")
    progress.done("read")
    links = link_records(
        records.lazy(),
        register.lazy(),
        records_cols=RECORD_COLUMNS,
        register_cols=REGISTER_COLUMNS,
    ).collect()
    progress.done("link")
    return links.select(
        pl.col("record_key").alias("record_id"),
        pl.col("register_key").alias("person_id"),
        pl.col("confidence").alias("score"),
        "method",
    )


def _splink_input(frame: pl.DataFrame, *, key: str, is_register: bool) -> pl.DataFrame:
    """The columns the Splink model compares and blocks on (see the module docstring)."""
    from pypinyin import lazy_pinyin

    chars = frame["name"].drop_nulls().str.split("").explode().unique().to_list()
    reading = {c: lazy_pinyin(c)[0] for c in chars}
    pid = pl.col("person_id")
    pinyin = (
        pl.col("name")
        .str.split("")
        .list.eval(pl.element().replace_strict(reading, default="?", return_dtype=pl.String))
        .list.join("")
    )
    no_id_no_birth = pid.is_null() & pl.col("birth_date").is_null()
    return frame.select(
        pl.col(key).alias("unique_id"),
        pid,
        "name",
        pinyin.alias("name_py"),
        pl.col("name").str.slice(0, 1).alias("surname"),
        pl.col("birth_date").cast(pl.String),
        pl.col("sex").replace_strict(
            {"M": "M", "F": "F", "男": "M", "女": "F"}, default=None, return_dtype=pl.String
        ),
        "region_code",
        *[
            (pid.str.slice(0, a) + pid.str.slice(b)).alias(f"id_key_{i}")
            for i, (a, b) in enumerate(ID_WINDOWS)
        ],
        (pinyin if is_register else pl.when(no_id_no_birth).then(pinyin)).alias("name_only_key"),
    )


def splink_settings() -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name"),
            cll.ExactMatchLevel("name", term_frequency_adjustments=True),
            cll.ExactMatchLevel("name_py").configure(label_for_charts="same pinyin"),
            cll.JaroWinklerLevel("name_py", 0.92),
            cll.JaroWinklerLevel("name_py", 0.80),
            cll.ElseLevel(),
        ],
    )
    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.DamerauLevenshteinAtThresholds("person_id", [1, 2]),
            name,
            cl.ExactMatch("birth_date"),
            cl.ExactMatch("sex"),
            cl.ExactMatch("region_code"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("person_id"),
            *[block_on(f"id_key_{i}") for i in range(len(ID_WINDOWS))],
            block_on("birth_date", "surname"),
            block_on("name_only_key"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def link_splink(data: Path, progress: Progress) -> pl.DataFrame:
    """Splink 5, DuckDB backend: prepare, train (u sampling, EM), predict, best link per record."""
    import duckdb
    from splink import DuckDBAPI, Linker, block_on

    register = pl.read_parquet(data / "register.parquet")
    records = pl.read_parquet(data / "records.parquet")
    progress.done("read")
    # DuckDB's own defaults (memory limit 80 % of RAM, all cores); spills go to the work dir.
    con = duckdb.connect(config={"temp_directory": str(progress.path.parent / "duckdb_tmp")})
    register_in = _splink_input(register, key="person_id", is_register=True).to_arrow()
    records_in = _splink_input(records, key="record_id", is_register=False).to_arrow()
    del register, records
    con.register("register_arrow", register_in)
    con.register("records_arrow", records_in)
    con.execute("create table register_in as from register_arrow")
    con.execute("create table records_in as from records_arrow")
    con.unregister("register_arrow")
    con.unregister("records_arrow")
    del register_in, records_in
    db_api = DuckDBAPI(connection=con)
    register_sdf = db_api.register("register_in", dataset_display_name="register")
    records_sdf = db_api.register("records_in", dataset_display_name="records")
    linker = Linker([register_sdf, records_sdf], splink_settings(), log_level=logging.WARNING)
    progress.done("prepare")

    training = linker.training
    training.estimate_probability_two_random_records_match([block_on("person_id")], recall=0.7)
    training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=7)
    progress.done("train_u")
    training.estimate_parameters_using_expectation_maximisation(block_on("person_id"))
    # Within exact-ID blocks a true match never disagrees on birth date or region, so
    # those "else" levels are learnt from the two sessions that do not block on them.
    for rule in (block_on("birth_date", "surname"), block_on("name")):
        training.estimate_parameters_using_expectation_maximisation(rule, max_pairs=EM_MAX_PAIRS)
    progress.done("train_em")
    linker.misc.save_model_to_json(str(progress.path.parent / "splink_model.json"), overwrite=True)

    predictions = linker.inference.predict(threshold_match_probability=PREDICT_FLOOR)
    progress.done("predict")
    pairs = predictions.physical_name
    best = con.sql(
        f"""
        with pairs as (
            select
                case when source_dataset_l = 'records' then unique_id_l else unique_id_r end
                    as record_id,
                case when source_dataset_l = 'records' then unique_id_r else unique_id_l end
                    as person_id,
                match_probability
            from {pairs}
        ),
        best as (
            select *, max(match_probability) over (partition by record_id) as top
            from pairs
        )
        select record_id, any_value(person_id) as person_id, max(match_probability) as score
        from best
        where match_probability = top
        group by record_id
        having count(distinct person_id) = 1
        """
    ).pl()
    progress.done("best_link")
    info = {
        "pairs_scored": con.sql(f"select count(*) from {pairs}").fetchall()[0][0],
        "probability_two_random_records_match": (
            linker._settings_obj._probability_two_random_records_match
        ),
    }
    (progress.path.parent / "splink_info.json").write_text(json.dumps(info))
    return best.with_columns(pl.lit("splink").alias("method"))


def run_child(method: str, data: Path, out: Path) -> None:
    """Child process entry: link, write ``links.parquet`` and ``child.json`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    progress = Progress(out / "progress.jsonl")
    links = (link_ours if method == "ours" else link_splink)(data, progress)
    link_seconds = sum(s for k, s in progress.stages.items() if k != "read")
    links.write_parquet(out / "links.parquet")
    (out / "child.json").write_text(
        json.dumps({"stages": progress.stages, "link_seconds": round(link_seconds, 2)})
    )
