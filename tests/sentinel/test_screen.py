"""The pre-disbursement screen: each hold reason on a hand-made pay file, nothing held on a
soft signal, and the files a run writes."""

from __future__ import annotations

import os
import stat
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parents[1] / "features"))  # the shared hand-made frames
from detection_frames import (  # noqa: E402
    DEATH_SCHEMA,
    history,
    make_id,
    months,
    person,
    register_over,
    regular_payouts,
)

from features.records import parse_records  # noqa: E402
from sentinel.cli import app  # noqa: E402
from sentinel.config import load_config  # noqa: E402
from sentinel.contract import DEATHS, PAYOUTS  # noqa: E402
from sentinel.holds import HOLD_COLUMNS, HOLD_REASONS, hold_payments  # noqa: E402
from sentinel.io.readers import read_dataset  # noqa: E402
from sentinel.io.store import CuratedStore  # noqa: E402
from sentinel.partition import global_store, partition_store  # noqa: E402
from sentinel.screen import known_history  # noqa: E402

KNOWN = months("2020-01", "2020-11")
CONFIG = load_config()

ALIVE = person(make_id("19500101", 11), "张三", "M", date(1950, 1, 1))
DEAD = person(make_id("19400101", 21), "王建国", "M", date(1940, 1, 1))
ENDED = person(make_id("19420303", 31), "李秀英", "F", date(1942, 3, 3), status="terminated")
TWICE = person(make_id("19450505", 41), "陈明", "M", date(1945, 5, 5))
LAPSED = person(make_id("19300707", 51), "赵四", "M", date(1930, 7, 7))
PEOPLE = [ALIVE, DEAD, ENDED, TWICE, LAPSED]


def _bad_checksum(pid: str) -> str:
    return pid[:-1] + ("0" if pid[-1] != "0" else "1")


def _pay_file(
    tmp_path: Path,
    lines: list[str],
    header: str = "身份证号,险种,所属期,发放日期,发放金额,银行账号,发放类型",
) -> Path:
    path = tmp_path / "payroll.csv"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def _row(
    p: dict,
    amount: str = "120",
    period: str = "2020-12",
    kind: str = "正常",
    scheme: str = "城乡居民",
) -> str:
    return f"{p['person_id']},{scheme},{period},2020-12-10,{amount},{p['bank_account']},{kind}"


def _death(p: dict, died: date, record: str = "GA1", mistyped: bool = False) -> dict:
    pid = p["person_id"]
    return {
        "record_id": record,
        "person_id": pid[:5] + "9" + pid[6:] if mistyped else pid,
        "name": p["name"],
        "sex": p["sex"],
        "birth_date": p["birth_date"],
        "death_date": died,
        "source": "police",
        "recorded_on": died,
        "month": f"{died:%Y-%m}",
    }


def _known(deaths: list[dict] | None = None):  # type: ignore[no-untyped-def]
    register = (
        register_over([p for p in PEOPLE if p is not ENDED], KNOWN)
        .vstack(register_over([{**ENDED, "status": "active"}], KNOWN[:-1]))
        .vstack(register_over([ENDED], KNOWN[-1:]))
    )
    paid = regular_payouts([p for p in PEOPLE if p is not ENDED], KNOWN)
    return history(
        "2020-11", register, paid, deaths=pl.DataFrame(deaths or [], schema=DEATH_SCHEMA)
    )


def _holds(
    path: Path, deaths: list[dict] | None = None, newer: pl.DataFrame | None = None
) -> pl.DataFrame:
    rows = parse_records(
        read_dataset(path, PAYOUTS).frame.lazy(), PAYOUTS, month="2020-12"
    ).collect()
    return hold_payments(rows, _known(deaths), CONFIG, newer_deaths=newer)


def _reasons(holds: pl.DataFrame) -> dict[int, str]:
    return dict(zip(holds["row"].to_list(), holds["reasons"].to_list(), strict=True))


def test_each_hold_reason_on_its_row_and_nothing_else_held(tmp_path: Path) -> None:
    path = _pay_file(
        tmp_path,
        [
            _row(ALIVE),  # 1: paid properly
            _row(DEAD),  # 2: died in October (record with a mistyped ID)
            _row(ENDED),  # 3: terminated on November's register
            _row(TWICE, "120"),  # 4: the larger of two: released
            _row(TWICE, "100", scheme="企业职工"),  # 5: the second regular payment for December
            _row(LAPSED),  # 6: old, no certification: a soft signal, never a hold
            f"{_bad_checksum(ALIVE['person_id'])},城乡居民,2020-12,2020-12-10,120,6217,正常",  # 7
            f"{ALIVE['person_id'][:17]},城乡居民,2020-12,2020-12-10,120,6217,正常",  # 8: 17 characters
            _row(ALIVE, "一百二十"),  # 9: an amount nobody can read
            _row(ALIVE, period="2020-11"),  # 10: November paid already (and not this file's month)
        ],
    )
    holds = _holds(path, deaths=[_death(DEAD, date(2020, 10, 3), mistyped=True)])
    assert holds.columns == list(HOLD_COLUMNS)
    reasons = _reasons(holds)
    assert reasons.pop(2) == "SH_DECEASED"
    assert reasons.pop(3) == "SH_TERMINATED"
    assert reasons.pop(5) == "SH_DUPLICATE"
    assert reasons.pop(7) == "SH_BAD_IDENTITY"
    assert reasons.pop(8) == "SH_BAD_IDENTITY"
    assert "SH_UNREADABLE" in reasons.pop(9)
    assert "SH_ALREADY_PAID" in reasons.pop(10)
    assert reasons == {}  # rows 1, 4 and 6 are released
    assert (
        holds.filter(pl.col("row") == 2)["evidence"]
        .item()
        .startswith("公安死亡记录（死亡日期2020-10-03")
    )


def _newer_death(record: str, p: dict, person_id: str, born: str) -> pl.DataFrame:
    """A death record received after the last processed month (civil affairs, 2020-11-20,
    received 2020-12-03), parsed as the screen parses a ``--deaths`` file."""
    raw = pl.LazyFrame(
        [(record, person_id, p["name"], "男", born, "2020-11-20", "民政", "2020-12-03", 1, None)],
        schema={
            **{c: pl.String for c in ("record_id", "person_id", "name", "sex", "birth_date")},
            **{c: pl.String for c in ("death_date", "source", "recorded_on")},
            "_row": pl.Int64,
            "_malformed": pl.String,
        },
        orient="row",
    )
    return parse_records(raw, DEATHS, month="2020-12").collect()


def test_the_month_of_death_is_paid_and_a_newer_record_holds_the_next(tmp_path: Path) -> None:
    path = _pay_file(tmp_path, [_row(DEAD, period="2020-12"), _row(ALIVE)])
    assert _holds(path, deaths=[_death(DEAD, date(2020, 12, 2))]).is_empty()
    newer = _newer_death("MZ7", DEAD, DEAD["person_id"], "1940-01-01")
    holds = _holds(path, newer=newer)
    assert _reasons(holds) == {1: "SH_DECEASED"}


def test_a_record_that_is_no_proof_holds_nothing(tmp_path: Path) -> None:
    """Only proof stops a payment: a record naming only a name is a lead for a visit."""
    record = {**_death(DEAD, date(2020, 10, 3)), "person_id": None, "birth_date": None, "sex": None}
    path = _pay_file(tmp_path, [_row(DEAD)])
    assert _holds(path, deaths=[record]).is_empty()


def test_every_hold_reason_has_a_sentence_in_both_languages() -> None:
    for code, template in HOLD_REASONS.items():
        for text in (template.zh, template.en):
            for field in template.fields:
                assert "{" + field + "}" in text, (code, field)


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_screen_writes_holds_and_a_release_with_the_files_own_header(
    tiny_county: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    runner = CliRunner()
    ran = runner.invoke(
        app, ["run", "--inbox", str(tiny_county / "inbox"), "--month", "2020-03", "--out", str(out)]
    )
    assert ran.exit_code == 0, ran.output
    draft = next((tiny_county / "inbox" / "2020-04").glob("payouts.*"))
    pay = read_dataset(draft, PAYOUTS).frame
    dead = pay.filter(pl.col("kind").is_in(["regular", "正常"])).row(0, named=True)
    # The draft as the payroll office writes it: Chinese headers, one line sent twice.
    header = [c.aliases[0] for c in PAYOUTS.columns]
    lines = [
        ",".join(str(v or "") for v in r) for r in pay.select(PAYOUTS.column_names).iter_rows()
    ]
    path = tmp_path / "draft.csv"
    path.write_text("\n".join([",".join(header), *lines, lines[0]]) + "\n", encoding="utf-8")
    before = os.umask(0o022)  # a screen in a process of its own, not after the run above
    try:
        screened = runner.invoke(
            app, ["screen", "--payroll", str(path), "--out", str(out), "--period", "2020-04"]
        )
    finally:
        os.umask(before)
    assert screened.exit_code == 0, screened.output
    folder = out / "screen" / "2020-04"
    # Regression: world-readable, though release.csv holds every payee's ID and account.
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}
    holds = pl.read_csv(folder / "holds.csv", infer_schema_length=0)
    release = pl.read_csv(folder / "release.csv", infer_schema_length=0)
    assert release.columns == header
    assert holds.height + release.height == len(lines) + 1
    assert holds.filter(pl.col("row") == str(len(lines) + 1))["reasons"].item() == "SH_DUPLICATE"
    assert dead["person_id"] in release["身份证号"].to_list()  # the first copy is paid
    assert (folder / "holds.xlsx").exists() and (folder / "summary.json").exists()


def test_screen_without_a_processed_month_names_the_folder(tmp_path: Path) -> None:
    path = _pay_file(tmp_path, [_row(ALIVE)])
    result = CliRunner().invoke(
        app, ["screen", "--payroll", str(path), "--out", str(tmp_path / "empty")]
    )
    assert result.exit_code == 2
    assert "no month before 2020-12 was processed here" in result.output


@pytest.mark.parametrize(
    ("period", "problem"),
    [
        ("2020-3", "'2020-3' is not a month YYYY-MM"),
        ("2021-01", "no regular payment is for --period 2021-01 (the file pays 2020-12)"),
    ],
)
def test_a_period_the_pay_file_does_not_pay_is_refused_before_anything_is_written(
    tmp_path: Path, period: str, problem: str
) -> None:
    """Regression: a mistyped or wrong --period screened every payment as already paid and
    wrote holds under OUT/screen/<that text>/."""
    path = _pay_file(tmp_path, [_row(ALIVE), _row(TWICE)])
    out = tmp_path / "out"
    (out / "2020-11").mkdir(parents=True)
    (out / "2020-11" / "manifest.json").write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["screen", "--payroll", str(path), "--out", str(out), "--period", period]
    )
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and problem in lines[0], result.stderr
    assert not (out / "screen").exists()


def test_arrears_for_months_a_terminated_pension_ran_are_released(tmp_path: Path) -> None:
    """Terminated in November: an adjustment paid back for June, and November itself (the
    month it ended in), are owed; December is not."""
    path = _pay_file(
        tmp_path,
        [
            _row(ENDED, period="2020-06", kind="补发"),
            _row(ENDED, period="2020-11", kind="补发"),
            _row(ENDED),
        ],
    )
    assert _reasons(_holds(path)) == {3: "SH_TERMINATED"}


def test_a_custody_that_suspends_the_period_holds_it_and_probation_does_not(tmp_path: Path) -> None:
    from dataclasses import replace

    from sentinel.contract import CUSTODY, typed_schema

    def record(p: dict, kind: str, start: date, rid: str) -> dict:
        return {
            "record_id": rid,
            "person_id": p["person_id"],
            "name": p["name"],
            "birth_date": p["birth_date"],
            "kind": kind,
            "start_date": start,
            "end_date": None,
            "source": "prison",
            "received_on": start,
            "month": f"{start:%Y-%m}",
        }

    custody = pl.DataFrame(
        [
            record(DEAD, "imprisonment", date(2020, 11, 20), "JY1"),
            record(TWICE, "probation", date(2020, 6, 1), "FY1"),
        ],
        schema={**typed_schema(CUSTODY), "month": pl.String},
    )
    path = _pay_file(tmp_path, [_row(DEAD), _row(TWICE), _row(ALIVE)])
    rows = parse_records(
        read_dataset(path, PAYOUTS).frame.lazy(), PAYOUTS, month="2020-12"
    ).collect()
    holds = hold_payments(rows, replace(_known(), custody=custody.lazy()), CONFIG, period="2020-12")
    assert _reasons(holds) == {1: "SH_IN_CUSTODY"}
    assert holds["evidence"].item() == "监狱记录本人自2020-11-20起服刑，按规定停发2020-12待遇"


def test_the_id_check_agrees_with_the_identity_module() -> None:
    """The screen looks the check character up three digits at a time; it holds exactly the
    IDs ``features.identity`` finds empty, malformed or with a wrong check character."""
    import random

    from features.payments import id_checksum_ok, id_is_well_formed
    from sentinel.holds import _bad_identity

    rng = random.Random(7)
    ids = [
        "".join(rng.choice("0123456789") for _ in range(17)) + rng.choice("0123456789Xx")
        for _ in range(3000)
    ]
    ids += [
        make_id("19500101", 11),
        make_id("19500101", 11).lower(),
        "",
        None,
        "12345",
        "+1010519491231002X",
        "１１0105194912310021",
        "11010519491231002X ",
        "abcdefghijklmnopqr",
    ]
    rows = pl.DataFrame(
        {"_row": range(len(ids)), "person_id": ids},
        schema={"_row": pl.Int64, "person_id": pl.String},
    )
    pid = pl.col("person_id")
    expected = rows.filter(pid.is_null() | ~id_is_well_formed(pid) | ~id_checksum_ok(pid))
    held = _bad_identity(rows)
    assert held["_row"].to_list() == expected["_row"].to_list()
    assert 0 < held.height < rows.height


def _stores(tmp_path: Path) -> tuple[Path, Path]:
    """The same history in one store (``whole``) and split over two partitions."""
    known = _known(deaths=[_death(DEAD, date(2020, 10, 3), mistyped=True)])
    frames = {
        "beneficiaries": known.register.collect(),
        "payouts": known.payouts.collect(),
        "deaths": known.deaths.collect(),
    }
    whole, split = tmp_path / "whole", tmp_path / "split"
    east = pl.col("person_id").is_in([ALIVE["person_id"], DEAD["person_id"]])
    for name, frame in frames.items():
        for (month,), rows in frame.partition_by("month", as_dict=True).items():
            CuratedStore(whole / "curated").write_month(name, month, rows)
            if name == "deaths":
                global_store(split).write_month(name, month, rows)
                continue
            partition_store(split, "east").write_month(name, month, rows.filter(east))
            partition_store(split, "west").write_month(name, month, rows.filter(~east))
    for store in _all_stores(whole, split):
        store.summarise_register("2020-11")
        store.summarise_ledger("2020-11")
    return whole, split


def _all_stores(whole: Path, split: Path) -> list[CuratedStore]:
    return [
        CuratedStore(whole / "curated"),
        partition_store(split, "east"),
        partition_store(split, "west"),
    ]


def _rows(tmp_path: Path) -> pl.DataFrame:
    path = _pay_file(
        tmp_path,
        [
            _row(ALIVE),
            _row(DEAD),
            _row(ENDED),
            _row(TWICE),
            _row(TWICE, "100", scheme="企业职工"),
            _row(ALIVE, period="2020-11"),
        ],
    )
    return parse_records(
        read_dataset(path, PAYOUTS).frame.lazy(), PAYOUTS, month="2020-12"
    ).collect()


def test_a_partitioned_out_is_screened_as_one_store(tmp_path: Path) -> None:
    """After a partitioned run (a province) the screen reads every partition's store and
    the global one, and holds what it holds when the same history sits in one store."""
    whole, split = _stores(tmp_path)
    rows = _rows(tmp_path)
    partitioned = known_history(split, "2020-11")
    assert partitioned.register_runs is not None and partitioned.ledger_runs is not None
    held = hold_payments(rows, partitioned, CONFIG)
    assert held.equals(hold_payments(rows, known_history(whole, "2020-11"), CONFIG))
    assert _reasons(held) == {
        2: "SH_DECEASED",
        3: "SH_TERMINATED",
        5: "SH_DUPLICATE",
        6: "SH_ALREADY_PAID",
    }
