"""Synthetic county benchmark for ``features.linkage``: time and precision / recall.

Run: ``python benchmarks/linkage_bench.py [--register 190000] [--records 12000]``.

The register is drawn from a realistic surname distribution and a small pool of
given-name characters, so namesakes born the same day occur naturally. Death records
are a mix of pensioners (with the ID exact, mistyped once, swapped, doubly mistyped or
missing, and names sometimes written with homophones or a missing character) and
non-pensioners drawn from the same distributions (some of them the ID "neighbours" of a
pensioner: same region and birth date, another sequence number).

Figures (best of the runs, seconds, in-memory / streaming engine; a shared 2-CPU box,
so expect ±30 % between runs - compare before/after only when run back to back):

==========================  ===============  ===============
                            before           after
==========================  ===============  ===============
county 190k x 12k           1.08 / 2.07      0.48 / 0.63
1M x 50k (parquet input)    4.4 / 4.9        2.2 / 2.6
2M x 100k                   7.7 / 12.3       6.6 / 8.3
==========================  ===============  ===============

"before" recomputed the register preparation (ID normalisation, two checksum passes
as 17 string slices) inside each of the eight joins; "after" prepares it once per call
(one checksum pass in integer arithmetic), blocks ID typos on integer keys and stops
name-only records that meet several sound-alike people before pair scoring. At 2M the
remaining time is spread over preparation (~1 s), typo blocking (~1.2 s), pinyin of
candidate names (~0.9 s) and scoring.

Quality (county): precision 1.0000 -> 0.9998, recall 0.9583 -> 0.9590. The one wrong
link is a ``name_only`` link of a non-pensioner without ID or birth date whose name is
unique in the register - the residual risk of that method; the benchmark makes it
likely (55 % non-pensioner deaths from the pensioners' small name pool, birth dates
dropped at random). ``missing/missing_char`` fell (28 -> 11) by design: without an ID a
shortened name links only with the place agreeing. At 2M: precision 0.9923 -> 0.9984
(wrong links 336 -> 71, mostly same-day namesakes of the small name pool).
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from datetime import date, timedelta
from itertools import accumulate
from pathlib import Path

import polars as pl

from features.linkage import LinkColumns, link_records

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = "建国华明丽芳秀英军伟平红兰玉梅志强文海云桂珍春凤德清福荣金生林永淑琴霞桂香秋菊光新成"
# "海/凯" is deliberately not a homophone: a control for a plain name typo.
HOMOPHONES = {
    "建": "健", "华": "化", "丽": "莉", "明": "铭", "军": "君", "伟": "卫", "英": "鹰", "芳": "方",
    "红": "宏", "平": "萍", "兰": "岚", "梅": "玫", "玉": "钰", "文": "雯", "海": "凯", "云": "芸",
    "珍": "真", "春": "椿", "凤": "风", "德": "得", "清": "青", "荣": "容", "林": "琳", "永": "勇",
    "琴": "勤", "霞": "侠", "香": "湘", "秋": "求", "菊": "局", "光": "广", "新": "欣", "成": "诚",
}  # fmt: skip
# Sounds southern speech merges (hu-/w-, n-/l-, -ng/-n), written by ear: 黄/王, 胡/吴, 兰/南.
DIALECT = {
    "黄": "王", "王": "黄", "胡": "吴", "吴": "胡", "兰": "南", "林": "宁", "宁": "林",
    "龙": "农", "刘": "牛", "成": "陈", "程": "陈", "平": "彬", "明": "民", "英": "音",
}  # fmt: skip
REGIONS = [f"4305{n:02d}" for n in (2, 3, 11, 21, 22, 23, 24, 25, 27, 28, 29, 81)]
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def check_char(body: str) -> str:
    return "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


def make_id(region: str, birth: date, sequence: int) -> str:
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + check_char(body)


SURNAME_CUM_WEIGHTS = list(accumulate(1 / (i + 1) ** 0.9 for i in range(len(SURNAMES))))


def random_person(rng: random.Random, taken: set[str]) -> tuple[str, str, date, str, str]:
    while True:
        surname = rng.choices(SURNAMES, cum_weights=SURNAME_CUM_WEIGHTS)[0]
        given = "".join(rng.choices(GIVEN, k=rng.choice((1, 2, 2, 2))))
        birth = date(1930, 1, 1) + timedelta(days=rng.randrange(46 * 365))
        region = rng.choice(REGIONS)
        sequence = rng.randrange(1000)
        pid = make_id(region, birth, sequence)
        if pid not in taken:
            taken.add(pid)
            return pid, surname + given, birth, "M" if sequence % 2 else "F", region


def mistyped(rng: random.Random, pid: str, errors: int) -> str:
    chars = list(pid)
    for position in rng.sample(range(18), errors):
        chars[position] = rng.choice([d for d in "0123456789" if d != chars[position]])
    return "".join(chars)


def swapped(rng: random.Random, pid: str) -> str:
    while True:
        i = rng.randrange(17)
        if pid[i] != pid[i + 1]:
            return pid[:i] + pid[i + 1] + pid[i] + pid[i + 2 :]


def written_name(rng: random.Random, name: str) -> tuple[str, str]:
    roll = rng.random()
    if roll < 0.25:
        variant = name[0] + "".join(
            HOMOPHONES.get(c, c) if rng.random() < 0.7 else c for c in name[1:]
        )
        if variant != name:
            return variant, "homophone"
    if 0.25 <= roll < 0.29:
        variant = "".join(DIALECT.get(c, c) if rng.random() < 0.7 else c for c in name)
        if variant != name:
            return variant, "dialect"
    if roll > 0.96 and len(name) == 3:
        return name[0] + name[rng.choice((1, 2))], "missing_char"
    return name, "same"


def written_birth(rng: random.Random, birth: date) -> tuple[date, str]:
    """A registrar's birth date: day and month swapped, one digit wrong, or a lunar-calendar
    birthday (21 to 51 days late) - each for 2 % of records."""
    roll = rng.random()
    if roll < 0.02 and birth.day <= 12 and birth.day != birth.month:
        return birth.replace(month=birth.day, day=birth.month), "swapped"
    if roll < 0.04:
        text = list(birth.strftime("%Y%m%d"))
        position = rng.choice((3, 5, 7))
        text[position] = str((int(text[position]) + rng.randint(1, 9)) % 10)
        try:
            return date.fromisoformat("".join(text)), "digit"
        except ValueError:
            return birth, "same"
    if roll < 0.06:
        return birth + timedelta(days=rng.randint(21, 51)), "lunar"
    return birth, "same"


RECORD_COLUMNS = LinkColumns(
    key="record_id", person_id="person_id", name="name", birth_date="birth_date", sex="sex",
    place="region_code",
)  # fmt: skip
REGISTER_COLUMNS = LinkColumns(
    key="person_id", person_id="person_id", name="name", birth_date="birth_date", sex="sex",
    place="region_code",
)  # fmt: skip
TRUTH_COLUMNS = ("truth", "kind", "name_kind", "date_kind")
"""Columns of the built death records that only the scoring may see."""


def build(n_register: int, n_records: int, seed: int = 7) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A synthetic register and death records (with ``TRUTH_COLUMNS``): see the module docstring.

    Also imported by ``benchmarks/splink_bench.py``, so both benchmarks link the same data.
    """
    rng = random.Random(seed)
    taken: set[str] = set()
    register = [random_person(rng, taken) for _ in range(n_register)]
    rows = []
    for i in range(n_records):
        if rng.random() < 0.45:
            pid, name, birth, sex, region = rng.choice(register)
            truth = pid
            roll = rng.random()
            if roll < 0.62:
                kind, typed = "exact", pid
            elif roll < 0.72:
                kind, typed = "one_digit", mistyped(rng, pid, 1)
            elif roll < 0.77:
                kind, typed = "swap", swapped(rng, pid)
            elif roll < 0.80:
                kind, typed = "two_digits", mistyped(rng, pid, 2)
            else:
                kind, typed = "missing", None
            name, name_kind = written_name(rng, name)
            birth, date_kind = written_birth(rng, birth)
        else:
            truth = None
            if rng.random() < 0.1:
                # a neighbour: same region and birth date as a pensioner
                _, _, birth, _, region = rng.choice(register)
                seq = rng.randrange(1000)
                typed = make_id(region, birth, seq)
                while typed in taken:
                    seq = (seq + 1) % 1000
                    typed = make_id(region, birth, seq)
                taken.add(typed)
                _, name, _, _, _ = random_person(rng, taken)
                sex = "M" if seq % 2 else "F"
                kind = "neighbour"
            else:
                typed, name, birth, sex, region = random_person(rng, taken)
                kind = "non_pensioner"
                if rng.random() < 0.15:
                    typed, kind = None, "non_pensioner_no_id"
            name_kind = date_kind = "same"
        rows.append(
            {
                "record_id": f"D{i:06d}",
                "person_id": typed,
                "name": name,
                "birth_date": birth if rng.random() < 0.85 else None,
                "sex": ("男" if sex == "M" else "女") if rng.random() < 0.9 else None,
                "region_code": region if rng.random() < 0.5 else None,
                "truth": truth,
                "kind": kind,
                "name_kind": name_kind,
                "date_kind": date_kind,
            }
        )
    register_frame = pl.DataFrame(
        register, schema=["person_id", "name", "birth_date", "sex", "region_code"], orient="row"
    )
    return register_frame, pl.DataFrame(rows)


def time_county_step(store: Path, month: str, repeat: int) -> None:
    """The linkage step of ``sentinel.detection.prepare_month`` on a curated month, timed alone."""
    from features.deaths import link_deaths, linked_deaths
    from features.history import register_people
    from sentinel.config import load_config
    from sentinel.detection import month_register_runs
    from sentinel.io.store import load_history

    config = load_config()
    history = load_history(store, month)
    people = register_people(month_register_runs(history).collect().rechunk().lazy()).collect()
    deaths = history.deaths.filter(pl.col("month") <= month)
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        links = link_deaths(deaths, people.lazy()).collect().lazy()
        proof, leads = pl.collect_all(
            [
                linked_deaths(deaths, people.lazy(), config.detection, links=links),
                linked_deaths(deaths, people.lazy(), config.detection, links=links, leads=True),
            ]
        )
        timings.append(time.perf_counter() - start)
    print(
        f"linkage step, {month}: best {min(timings):.2f} s of {repeat} "
        f"({', '.join(f'{t:.2f}' for t in timings)}); register {people.height:,}, "
        f"proof links {proof.height:,}, leads {leads.height:,}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--register", type=int, default=190_000)
    parser.add_argument("--records", type=int, default=12_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--store",
        type=Path,
        default=None,
        help="a curated store (OUT/curated of a full-scale county): time the monthly "
        "detection's linkage step on it instead (link_deaths, then linked_deaths)",
    )
    parser.add_argument("--month", default="2020-12")
    parser.add_argument(
        "--model",
        action="store_true",
        help="print the estimated m and u as the [linkage] reference_m / reference_u of "
        "sentinel/default_config.toml, and stop",
    )
    args = parser.parse_args()
    if args.store is not None:
        time_county_step(args.store, args.month, args.repeat)
        return
    register, records = build(args.register, args.records)
    if args.model:
        print_model(register, records)
        return
    from sentinel.config import load_config

    threshold = load_config().detection.min_death_link_confidence
    links = time_link(register, records, args.repeat)
    if "confidence" in links.columns:
        print(f"links at detection.min_death_link_confidence = {threshold}:")
        links = links.filter(pl.col("confidence") >= threshold)
    print_quality(records, links)


def print_model(register: pl.DataFrame, records: pl.DataFrame) -> None:
    """The estimated m and u as the [linkage] reference_m / reference_u of
    sentinel/default_config.toml."""
    from features.linkage import estimate_link_model

    model = estimate_link_model(
        records.lazy().drop(*TRUTH_COLUMNS),
        register.lazy(),
        records_cols=RECORD_COLUMNS,
        register_cols=REGISTER_COLUMNS,
    )
    print(f"reference_match_share = {model.match_share:.4g}")
    for name, table in (("reference_m", model.m), ("reference_u", model.u)):
        print(f"[linkage.{name}]")
        for comparison, values in zip(model.comparisons, table, strict=True):
            print(f"{comparison.field} = [{', '.join(f'{v:.4g}' for v in values)}]")


def time_link(register: pl.DataFrame, records: pl.DataFrame, repeat: int) -> pl.DataFrame:
    """``link_records`` timed ``repeat`` times (wall and CPU seconds printed); its links."""
    timings, cpu = [], []
    for _ in range(repeat):
        # timed from the call: the linker estimates and decides when called, lazily or not
        start, start_cpu = time.perf_counter(), time.process_time()
        links = link_records(
            records.lazy().drop(*TRUTH_COLUMNS),
            register.lazy(),
            records_cols=RECORD_COLUMNS,
            register_cols=REGISTER_COLUMNS,
        ).collect()
        timings.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    # CPU seconds (all threads) as well: on a shared box they move less with the load
    print(
        f"link: best {min(timings):.2f} s of {repeat} "
        f"({', '.join(f'{t:.2f}' for t in timings)}; cpu {', '.join(f'{t:.2f}' for t in cpu)}; "
        f"register {len(register):,}, records {len(records):,})"
    )
    return links


def print_quality(records: pl.DataFrame, links: pl.DataFrame) -> None:
    """Precision and recall of ``links`` against the records' truth, and by kind of record."""
    scored = records.join(links, left_on="record_id", right_on="record_key", how="left")
    correct = scored.filter(pl.col("register_key") == pl.col("truth")).height
    linked = scored.filter(pl.col("register_key").is_not_null()).height
    pensioners = scored.filter(pl.col("truth").is_not_null()).height
    print(f"links {linked}, correct {correct}, pensioner records {pensioners}")
    print(f"precision {correct / linked:.4f}  recall {correct / pensioners:.4f}")
    by_kind = (
        scored.group_by("kind", "name_kind", "date_kind")
        .agg(
            pl.len().alias("records"),
            (pl.col("register_key") == pl.col("truth")).sum().alias("correct"),
            (
                (pl.col("register_key") != pl.col("truth"))
                | (pl.col("register_key").is_not_null() & pl.col("truth").is_null())
            )
            .sum()
            .alias("wrong"),
        )
        .sort("kind", "name_kind", "date_kind")
    )
    with pl.Config(tbl_rows=60):
        print(by_kind)
    print(Counter(links["method"].to_list()))


if __name__ == "__main__":
    main()
