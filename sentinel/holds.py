"""The holds of the pre-disbursement screen (:mod:`sentinel.screen`): one rule per reason a
payment of a draft pay file must not be made, each on hard evidence, never on a score.

:data:`HOLD_REASONS` says why each is held (the facts each sentence names, in both report
languages); :func:`hold_payments` runs every rule on a pay file's typed rows and gives one
row per held payment (:data:`HOLD_COLUMNS`) with its reasons and evidence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from threading import Lock

import polars as pl

from features.custody import custody_spans, link_custody
from features.deaths import DEATH_REGISTER_COLUMNS, link_deaths, linked_deaths
from features.identity import ID_CHECK_CHARS, ID_WEIGHTS, ID_WELL_FORMED
from features.ledger import ledger_runs, ledger_runs_up_to
from features.linkage import PreparedRegister, prepare_register
from features.payments import paid_ledger
from features.screening import register_persons, terminated_since
from sentinel.config import SentinelConfig
from sentinel.contract import CUSTODY, DEATHS
from sentinel.detection import MonthHistory, month_register_runs
from sentinel.evidence import Language, Template, render_evidence
from sentinel.periods import date_month_index, month_end, month_index, period_of_index

__all__ = ["HOLD_COLUMNS", "HOLD_REASONS", "RegisterFacts", "hold_payments"]


@dataclass(frozen=True)
class RegisterFacts:
    """What the screen reads of the register up to the history's month:
    ``persons`` (:func:`features.screening.register_persons`) and ``terminations``
    (:func:`features.screening.terminated_since`)."""

    persons: pl.LazyFrame
    terminations: pl.LazyFrame
    #: ``persons`` normalised for linkage with :data:`features.deaths.DEATH_REGISTER_COLUMNS`;
    #: prepared from ``persons`` when None.
    linkage: PreparedRegister | None = None


#: Why a payment is held, the facts each sentence names, in the order rules emit them.
HOLD_REASONS: Mapping[str, Template] = {
    "SH_DECEASED": Template(
        ("source", "death_date", "confidence", "period"),
        "{source}死亡记录（死亡日期{death_date}，匹配置信度{confidence}），不应发放{period}待遇",
        "death record from {source} (died {death_date}; match confidence {confidence}): no pension is due for {period}",
    ),
    "SH_IN_CUSTODY": Template(
        ("source", "kind", "start_date", "period"),
        "{source}记录本人自{start_date}起{kind}，按规定停发{period}待遇",
        "a {source} record has the person in {kind} from {start_date}: the pension for {period} is suspended",
    ),
    "SH_DUPLICATE": Template(
        ("period", "rows"),
        "同一人{period}的正常待遇在本发放文件中出现{rows}次，仅保留金额最大的一笔",
        "{rows} regular payments to one person for {period} in this pay file: only the largest is released",
    ),
    "SH_ALREADY_PAID": Template(
        ("period", "month"),
        "{period}的正常待遇已于{month}发放",
        "the regular pension for {period} was already paid in {month}",
    ),
    "SH_BAD_IDENTITY": Template(
        ("problem",),
        "身份证号{problem}，无法确认领取人",
        "the ID {problem}: the payee cannot be established",
    ),
    "SH_TERMINATED": Template(
        ("scheme", "month"),
        "{scheme}待遇自{month}的参保登记起已终止",
        "the {scheme} pension is terminated on the register since {month}",
    ),
    "SH_UNREADABLE": Template(
        ("problem",),
        "该行无法读取为一笔发放（{problem}）",
        "the row cannot be read as a payment ({problem})",
    ),
}


#: What is wrong with an ID (``SH_BAD_IDENTITY``), as each language says it.
_ID_PROBLEMS: Mapping[str, Mapping[str, str]] = {
    "zh": {"empty": "为空", "malformed": "不是18位", "checksum": "校验码错误"},
    "en": {
        "empty": "is empty",
        "malformed": "is not 18 characters",
        "checksum": "fails its check character",
    },
}


HOLD_COLUMNS: tuple[str, ...] = (
    "row",
    "person_id",
    "name",
    "scheme",
    "period",
    "kind",
    "amount",
    "reasons",
    "evidence",
)


def hold_payments(
    rows: pl.DataFrame,
    history: MonthHistory,
    config: SentinelConfig,
    *,
    newer_deaths: pl.DataFrame | None = None,
    newer_custody: pl.DataFrame | None = None,
    period: str | None = None,
    facts: RegisterFacts | None = None,
) -> pl.DataFrame:
    """The held payments (:data:`HOLD_COLUMNS`) of a pay file's ``rows`` (typed by
    :func:`features.records.parse_records`, with ``_row`` and ``_reason``), against what
    ``history`` knows and ``newer_deaths`` and ``newer_custody`` (typed records; those with
    a quarantine reason are left out); ``period``: the pay period (by default the month
    after the history's). ``facts``: the register persons and terminations of the
    history's month as the monthly run kept them; derived from the history's register
    runs when None (the same holds either way)."""
    period = period or _next_month(history.month)
    if facts is None:
        runs = month_register_runs(history)
        facts = RegisterFacts(register_persons(runs), terminated_since(runs, history.month))
    people = facts.persons.collect()
    kept = facts.linkage

    lock = Lock()

    @cache
    def _prepared() -> PreparedRegister:
        return kept or prepare_register(people.lazy(), DEATH_REGISTER_COLUMNS)

    def prepared() -> PreparedRegister:
        # One normalised register for the death and the custody records.
        with lock:
            return _prepared()

    deaths = history.deaths.select(DEATHS.column_names).collect()
    if newer_deaths is not None:
        deaths = pl.concat(
            [deaths, newer_deaths.filter(pl.col("_reason").is_null()).select(deaths.columns)],
            how="vertical_relaxed",
        )
    # The death linkage beside the other rules: its Python parts leave a core to polars.
    with ThreadPoolExecutor(max_workers=1) as pool:
        deceased = pool.submit(_deceased, rows, deaths, people, config, prepared)
        others = [
            _unreadable(rows),
            _bad_identity(rows),
            _duplicates(rows),
            _already_paid(rows, history),
            _terminated(rows, facts.terminations),
            _in_custody(rows, history.custody, newer_custody, people, config, period, prepared),
        ]
        found = deceased.result()
    holds = pl.concat([*others[:2], found, *others[2:]], how="vertical_relaxed")
    return _hold_table(holds, rows, people, config.detection.report_language)


def _hold(frame: pl.DataFrame, code: str, *facts: pl.Expr) -> pl.DataFrame:
    """``_row, reason, facts`` of the rows of ``frame`` held for ``code``."""
    if len(facts) != len(HOLD_REASONS[code].fields):
        raise ValueError(f"{code} names {HOLD_REASONS[code].fields}")
    return frame.select(
        "_row",
        pl.lit(code).alias("reason"),
        pl.concat_list([f.cast(pl.String).fill_null("-") for f in facts]).alias("facts"),
    )


def _unreadable(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows whose amount, period, scheme or kind cannot be read (ID problems aside)."""
    unreadable = (
        pl.col("amount").is_null()
        | pl.col("period").is_null()
        | pl.col("scheme").is_null()
        | pl.col("kind").is_null()
    )
    return _hold(
        rows.filter(unreadable),
        "SH_UNREADABLE",
        pl.col("_reason").fill_null("empty value"),
    )


def _bad_identity(rows: pl.DataFrame) -> pl.DataFrame:
    """IDs that are empty, not 17 digits and a digit or ``X``, or fail the check character
    (:func:`features.identity.id_checksum_ok`)."""
    pid, text = pl.col("person_id"), pl.col("_id")
    well_formed = text.str.contains(ID_WELL_FORMED).fill_null(False)
    check = (_weighted_digit_sum(text) % 11).replace_strict(
        list(range(11)), list(ID_CHECK_CHARS), return_dtype=pl.String
    )
    checksum_ok = (well_formed & (text.str.slice(17, 1) == check)).fill_null(False)
    bad = (
        rows.lazy()
        .with_columns(pid.str.to_uppercase().alias("_id"))
        .filter(pid.is_null() | ~checksum_ok)
        .collect()
    )
    return _hold(
        bad,
        "SH_BAD_IDENTITY",
        pl.when(pid.is_null())
        .then(pl.lit("empty"))
        .when(~well_formed)
        .then(pl.lit("malformed"))
        .otherwise(pl.lit("checksum")),
    )


def _digit_group(weights: tuple[int, ...]) -> pl.Series:
    """The weighted sum of every number of ``len(weights)`` digits, by its value."""
    width = len(weights)
    return pl.Series(
        [
            sum(int(d) * w for d, w in zip(f"{v:0{width}d}", weights, strict=True))
            for v in range(10**width)
        ],
        dtype=pl.Int32,
    )


#: (start, width, weighted sums) of every three digits of an ID's first 17 (MOD 11-2).
_DIGIT_GROUPS = tuple(
    (start, len(ID_WEIGHTS[start : start + 3]), _digit_group(ID_WEIGHTS[start : start + 3]))
    for start in range(0, 17, 3)
)


def _weighted_digit_sum(text: pl.Expr) -> pl.Expr:
    """The MOD 11-2 weighted sum of the first 17 characters, looked up three digits at a
    time (a province file has 19 million IDs; cutting out each digit costs several times
    more); meaningless unless they are digits."""
    return pl.sum_horizontal(
        pl.lit(sums).gather(text.str.slice(start, width).cast(pl.UInt32, strict=False))
        for start, width, sums in _DIGIT_GROUPS
    )


def _deceased(
    rows: pl.DataFrame,
    deaths: pl.DataFrame,
    people: pl.DataFrame,
    config: SentinelConfig,
    prepared: Callable[[], PreparedRegister],
) -> pl.DataFrame:
    """Payments for a period after a death linked as proof (the month of death is due)."""
    if deaths.is_empty():
        return _hold(rows.clear(), "SH_DECEASED", *[pl.lit(None)] * 4)
    links = link_deaths(deaths.lazy(), people.lazy(), prepared=prepared())
    linked = linked_deaths(deaths.lazy(), people.lazy(), config.detection, links=links).collect()
    paid_after = rows.join(linked, on="person_id", how="inner").filter(
        month_index(pl.col("period")) > date_month_index(pl.col("death_date"))
    )
    return _hold(
        paid_after,
        "SH_DECEASED",
        pl.col("source"),
        pl.col("death_date"),
        pl.format("{}%", (pl.col("confidence") * 100).round(0).cast(pl.Int64)),
        pl.col("period"),
    )


def _next_month(month: str) -> str:
    return f"{month_end(month) + timedelta(days=1):%Y-%m}"


def _in_custody(
    rows: pl.DataFrame,
    known: pl.LazyFrame | None,
    newer: pl.DataFrame | None,
    people: pl.DataFrame,
    config: SentinelConfig,
    period: str,
    prepared: Callable[[], PreparedRegister],
) -> pl.DataFrame:
    """Payments for a period a linked custody suspends (see :mod:`features.custody`)."""
    columns = CUSTODY.column_names
    parts = [] if known is None else [known.select(columns).collect()]
    if newer is not None:
        parts.append(newer.filter(pl.col("_reason").is_null()).select(columns))
    records = pl.concat(parts, how="vertical_relaxed") if parts else pl.DataFrame()
    if records.is_empty():
        return _hold(rows.clear(), "SH_IN_CUSTODY", *[pl.lit(None)] * 4)
    spans = custody_spans(
        records.lazy(),
        link_custody(
            records.lazy(),
            people.lazy(),
            min_confidence=config.detection.min_death_link_confidence,
            prepared=prepared(),
        ),
        period,
        config.policy,
    ).filter(pl.col("kind").is_in(list(config.policy.custody_suspends)) & ~pl.col("acquitted"))
    # A payment two custodies suspend (a detention, then the sentence) names the latest.
    held = (
        rows.join(spans.collect(), on="person_id", how="inner")
        .filter(
            month_index(pl.col("period")).is_between(pl.col("first_index"), pl.col("last_index"))
        )
        .sort(["_row", "start_date", "record_id"], descending=[False, True, False], nulls_last=True)
        .unique("_row", keep="first", maintain_order=True)
    )
    return _hold(
        held,
        "SH_IN_CUSTODY",
        pl.col("source"),
        pl.col("kind_right"),
        pl.col("start_date"),
        pl.col("period"),
    )


def _duplicates(rows: pl.DataFrame) -> pl.DataFrame:
    """Every regular payment of a person and period but the largest (first row on a tie)."""
    regular = rows.filter(
        (pl.col("kind") == "regular")
        & pl.col("person_id").is_not_null()
        & pl.col("period").is_not_null()
    )
    # Only the few persons paid twice for a period are ranked.
    twice = regular.filter(pl.struct("person_id", "period").is_duplicated())
    ranked = twice.with_columns(
        pl.len().over("person_id", "period").alias("_n"),
        pl.struct(-pl.col("amount").fill_null(0.0), pl.col("_row"))
        .rank("ordinal")
        .over("person_id", "period")
        .alias("_order"),
    )
    extra = ranked.filter(pl.col("_order") > 1)
    return _hold(extra, "SH_DUPLICATE", pl.col("period"), pl.col("_n"))


def _already_paid(rows: pl.DataFrame, history: MonthHistory) -> pl.DataFrame:
    """Regular payments for a person and period the ledger shows paid already.

    The ledger is read as its runs (:mod:`features.ledger`), cut to the periods this file
    pays: a province's ledger has hundreds of millions of rows, the runs that pay one of the
    file's periods a few million. A row of a run is the run's ``k``-th month
    (:func:`features.ledger.ledger_rows`)."""
    regular = rows.filter(pl.col("kind") == "regular")
    periods = regular.select(month_index(pl.col("period")).alias("_p")).drop_nulls().unique()
    k = pl.col("_p") - pl.col("period_index")
    ledger = (
        _ledger_runs(history)
        .filter((pl.col("kind") == "regular") & (pl.col("amount") > 0))
        .select("person_id", "period", "period_index", "drop_index", "months")
        .join_where(
            periods.lazy(),
            pl.col("_p") >= pl.col("period_index"),
            pl.col("_p") < pl.col("period_index") + pl.col("months"),
        )
        .select(
            "person_id",
            pl.when(k == 0)
            .then(pl.col("period"))
            .otherwise(period_of_index(pl.col("_p")))
            .alias("period"),
            (pl.col("drop_index") + k).alias("drop_index"),
        )
        .group_by("person_id", "period")
        .agg(pl.col("drop_index").min().alias("_drop"))
        .collect()
    )
    again = regular.join(ledger, on=["person_id", "period"], how="inner")
    return _hold(
        again,
        "SH_ALREADY_PAID",
        pl.col("period"),
        period_of_index(pl.col("_drop")),
    )


def _ledger_runs(history: MonthHistory) -> pl.LazyFrame:
    """The paid ledger up to the history's month as runs: the stored summary when the
    history has one, else summarised from the payouts (the same rows either way)."""
    if history.ledger_runs is not None:
        return ledger_runs_up_to(history.ledger_runs, history.month)
    return ledger_runs(paid_ledger(history.payouts, history.quarantined_payouts))


def _terminated(rows: pl.DataFrame, terminations: pl.LazyFrame) -> pl.DataFrame:
    """Payments in a scheme the last register snapshot shows terminated for the person, for
    a period after the month it was terminated in (``terminations``:
    :func:`features.screening.terminated_since`)."""
    since = terminations.select("person_id", "scheme", pl.col("since").alias("_since")).collect()
    after = rows.join(since, on=["person_id", "scheme"], how="inner").filter(
        pl.col("period") > pl.col("_since")
    )
    return _hold(after, "SH_TERMINATED", pl.col("scheme"), pl.col("_since"))


def _hold_table(
    holds: pl.DataFrame, rows: pl.DataFrame, people: pl.DataFrame, language: Language
) -> pl.DataFrame:
    """One row per held payment (:data:`HOLD_COLUMNS`), reasons in the order found."""
    per_row = (
        holds.unique(["_row", "reason"], keep="first", maintain_order=True)
        .group_by("_row", maintain_order=True)
        .agg(pl.col("reason").alias("reasons"), pl.col("facts").alias("reason_facts"))
    )
    table = (
        per_row.join(rows, on="_row", how="left")
        .join(people.select("person_id", "name"), on="person_id", how="left")
        .sort("_row")
    )
    sentences = _render(table, language)
    return sentences.select(
        pl.col("_row").alias("row"),
        "person_id",
        "name",
        pl.col("scheme").cast(pl.String),
        "period",
        pl.col("kind").cast(pl.String),
        "amount",
        pl.col("reasons").list.join(","),
        "evidence",
    )


def _render(table: pl.DataFrame, language: Language) -> pl.DataFrame:
    """``evidence``: the hold sentences, by the case list's renderer over these templates."""
    problems = _ID_PROBLEMS[language]
    keyed = table.with_columns(
        pl.col("_row").cast(pl.String).alias("_key"),
        pl.col("reason_facts").list.eval(pl.element().list.eval(pl.element().replace(problems))),
    )
    rendered = render_evidence(
        keyed.select(pl.col("_key").alias("person_id"), "reasons", "reason_facts").lazy(),
        language,
        templates=HOLD_REASONS,
    ).collect()
    return keyed.join(
        rendered.select(pl.col("person_id").alias("_key"), "evidence"),
        on="_key",
        maintain_order="left",
    ).drop("_key")
