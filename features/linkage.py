"""Record linkage: person records (death records, custody records, other regions' payee
files, any list of people) to a person register, when identifiers are missing or mistyped.

Public API: :class:`LinkColumns` (which column holds what, on either side),
:class:`Comparison` and :class:`Level` (how a field is compared), :func:`link_records`,
:func:`estimate_link_model` and :class:`LinkModel`. Everything else here is private.

Model
-----
A Fellegi-Sunter model, as Splink builds it. Each *comparison* (a field on both sides)
puts a candidate pair at one of its *levels*, strongest first (exact, same sound, one
character dropped, Jaro-Winkler at least 0.92, ...); a pair that meets none is at the
comparison's *else* level, and a pair with the field empty on either side at its *null*
level, which weighs nothing. A level ``l`` of comparison ``c`` has two probabilities:
``m`` (a true match is at that level) and ``u`` (two unrelated people are), and weighs
``log2(m / u)`` bits. A pair's match weight is the sum over comparisons.

- ``u`` is read off random pairs (a deterministic sample: the records and register rows
  with the smallest key hashes, paired all with all). An exact level's ``u`` is counted
  over all pairs at once from the values' frequencies, a same-sound or dialect level's
  from the frequencies of sound keys over samples of each side's values, an ID-edit level
  the sample never met from the candidates (the ID blocks find every such pair); any
  other level no sampled pair reached gets ``1 / n`` of the ``n`` sampled pairs (the
  rarest the sample can vouch for, so its weight is a lower bound).
- ``m`` is estimated by expectation-maximisation on pairs that agree exactly on one
  field (ID, birth date, name, in turn): that field says nothing inside its own block and
  is left out of the session, ``u`` stays fixed, and each comparison's ``m`` is the mean
  over the sessions that estimated it (Splink's procedure), per level over the sessions
  whose pairs can reach it (the whole-ID levels are for records without a birth date,
  which a session blocked on the birth date never holds). The sessions start from, and
  are pulled towards by ``em_prior_pairs`` pseudo-pairs, a ladder falling by a factor 4
  per level; with thousands of pairs the data decide.
- The share of records that have a match in the register is estimated by EM over the
  records' candidates (a record either matches one register person or none).
- A register too small to show how often unrelated people agree (under
  ``min_register_for_estimation``: a test's handful, a case page's neighbours) is linked
  with the configuration's reference parameters, estimated on the synthetic county.

Decision: the probability that a record *is* register person ``j`` given all its
candidates is ``q·BF_j / (1 + q·ΣBF_k)``, ``BF = 2^weight``, ``q`` the prior odds of one
given person. That is the reported ``confidence``. A record is linked to its best
candidate when that confidence reaches ``min_confidence`` *and* the candidate holds at
least ``ambiguity_share`` of the record's evidence (``BF_j / ΣBF_k``): a record two
register people could equally have been written for is left unlinked, whatever its
probability, because a wrong death link stops a living person's pension.

Chinese specifics
-----------------
IDs are GB 11643 citizen numbers by default (``LinkColumns.id_format``): normalised (NFKC,
blanks and dashes removed, ``X`` upper-case; 15-digit first-generation numbers widened to
18 with ``19`` and a computed check character). Its levels are one or two edits (a
substitution, or an adjacent swap) on a record ID that *fails* its ISO 7064 MOD 11-2 check
character: the checksum catches every single substitution and adjacent swap and 10 of 11
double errors, so a record ID that *passes* it and differs is somebody else's (a neighbour
born the same day) and sits at the else level. An ID whose birth digits are no calendar
date fails, whatever its check character. The ID carries the birth date: when the
record states its own, the edits are counted outside the birth digits and the birth date
comparison weighs them (counted twice, an ID two sequence digits from a neighbour's born
the same day would pass for a typo). A record that states none is compared the same way
on its mistyped ID's birth digits when they are the register person's birth date (the
levels of records that state one: EM has thousands of pairs for them, and few for
records without a date); otherwise the whole ID is compared. Names are compared by
characters, by toneless pinyin (same sound: homophones, and traditional against
simplified characters, which read the same), by dialect-merged pinyin (zh/z ch/c sh/s
n/l hu/w -ng/-n, 黄/王 in southern speech), by a character left out (刘华 for 刘建华) and
by Jaro-Winkler similarity.
Surnames with a surname reading (曾 zeng, 单 shan, ...) read so. ``id_format="text"``
takes any identifier (a social security number, a passport number) compared by edits.

Blocking (candidate pairs; no cross join): exact ID; for an ID failing its checksum (any
text ID), the ID with one of five overlapping windows removed (any one wrong character or
adjacent swap leaves one key intact; keys keep at least 13 characters, so a block holds
one county's people born on one day), pairs kept only within the edits the levels reach;
for records whose ID is missing or fails its checksum (every record for a text ID): birth
date with the first or the last character of the name, the name with the birth year, the
name with the birth month and day (a mistyped date); for a name nobody in the register
bears, its sound with the birth year (the years ``within_days`` reaches) or the month and
day (a homophone and a mistyped date at once); and for records with a name and nothing
else, register names of the same sound (or that sound with one character
dropped). Name blocks with more than ``max_block_size`` register people are skipped (such
a record cannot be told apart by that key); and the caller's own rules (``blocking``). A
record ID that passes its checksum and is not in the register is not searched by name:
its holder is most likely not enrolled; unless its birth digits contradict the birth date
the record states (one of the two is mistyped) and no register person of the record's
name holds it - then the record is searched as one without an ID, the ID still compared.

Scale: the register is prepared once per call; candidates, levels and EM run on polars
frames and numpy arrays of level patterns (a few hundred distinct rows). Python runs over
unique characters (pinyin) and unique value pairs (rapidfuzz). Benchmarks:
``benchmarks/linkage_bench.py`` (synthetic county and 2M; ``--store`` the monthly step on
a curated county), ``benchmarks/febrl_bench.py`` (FEBRL4 beside Splink and recordlinkage),
``benchmarks/splink_bench.py`` and ``benchmarks/linkage_worlds.py`` (every demo world);
figures in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import lru_cache
from typing import Final, Literal

import numpy as np
import polars as pl
from pypinyin import lazy_pinyin
from rapidfuzz import process
from rapidfuzz.distance import OSA, Indel, JaroWinkler, Levenshtein

from sentinel.config import LinkageConfig, load_config
from sentinel.contract import SEXES

__all__ = [
    "DEFAULT_MIN_CONFIDENCE",
    "Comparison",
    "Level",
    "LinkColumns",
    "LinkMethod",
    "LinkModel",
    "default_comparisons",
    "estimate_link_model",
    "link_records",
]

LinkMethod = Literal["exact_id", "id_typo", "demographic", "name_only"]

DEFAULT_MIN_CONFIDENCE: Final = 0.5
"""Links less likely than not to name the right person are not returned by default."""

LevelKind = Literal[
    "exact",
    "same_sound",
    "dialect_sound",
    "dropped_character",
    "reordered",
    "similar",
    "edits",
    "day_month_swapped",
    "within_days",
]
_SIMILARITIES: Final[dict[str, Callable[..., float]]] = {
    "jaro_winkler": JaroWinkler.normalized_similarity,
    "levenshtein": Levenshtein.normalized_similarity,
    "indel": Indel.normalized_similarity,
    "osa": OSA.normalized_similarity,
}
_LABELS: Final = {
    "exact": "",
    "same_sound": "pinyin",
    "dialect_sound": "fuzzy",
    "dropped_character": "fuzzy",
    "reordered": "reordered",
    "similar": "similar",
    "edits": "typo",
    "day_month_swapped": "swapped",
    "within_days": "near",
}


@dataclass(frozen=True)
class Level:
    """One level of a comparison; build with the class methods (``Level.exact()``, ...).

    ``at_least`` is a similarity in (0, 1] for ``similar``; ``edits`` the most edits (an
    adjacent swap counts one) for ``edits``, ``checksum`` whether the record's GB 11643
    check character must fail (``"fails"``: a typo) or pass (``"valid"``) for it;
    ``days`` the largest difference for ``within_days``.
    """

    kind: LevelKind
    at_least: float | None = None
    measure: str = "jaro_winkler"
    edits: int | None = None
    checksum: Literal["any", "fails", "valid"] = "any"
    days: int | None = None
    birth_digits: Literal["counted", "left_out"] = "counted"

    def __post_init__(self) -> None:
        if self.kind == "similar":
            if self.measure not in _SIMILARITIES:
                raise ValueError(
                    f"similarity {self.measure!r} unknown; choose one of {sorted(_SIMILARITIES)}"
                )
            if self.at_least is None or not 0.0 < self.at_least <= 1.0:
                raise ValueError(f"similar level needs at_least in (0, 1], got {self.at_least}")
        if self.kind == "edits" and (self.edits is None or self.edits < 1):
            raise ValueError(f"edits level needs edits >= 1, got {self.edits}")
        if self.kind == "within_days" and (self.days is None or self.days < 1):
            raise ValueError(f"within_days level needs days >= 1, got {self.days}")

    @classmethod
    def exact(cls) -> Level:
        return cls("exact")

    @classmethod
    def same_sound(cls) -> Level:
        """Same toneless pinyin (homophones; traditional and simplified forms)."""
        return cls("same_sound")

    @classmethod
    def dialect_sound(cls) -> Level:
        """Same pinyin once zh/z ch/c sh/s n/l hu/w -ng/-n are merged."""
        return cls("dialect_sound")

    @classmethod
    def dropped_character(cls) -> Level:
        """One side is the other with one character (not the first) left out."""
        return cls("dropped_character")

    @classmethod
    def reordered(cls) -> Level:
        """The same words in another order (given name and surname swapped)."""
        return cls("reordered")

    @classmethod
    def similar(cls, measure: str, at_least: float) -> Level:
        """Similarity (``jaro_winkler``, ``levenshtein``, ``indel``, ``osa``; rapidfuzz's
        normalised similarity) of at least ``at_least``."""
        return cls("similar", at_least=at_least, measure=measure)

    @classmethod
    def within_edits(
        cls,
        edits: int,
        checksum: Literal["any", "fails", "valid"] = "any",
        birth_digits: Literal["counted", "left_out"] = "counted",
    ) -> Level:
        """At most ``edits`` substitutions, insertions or deletions, an adjacent swap
        counting one (optimal string alignment). For GB 11643 numbers, ``left_out``
        counts edits outside the birth digits (7-14) and applies only to records that
        state a birth date, or whose mistyped ID's birth digits are the register
        person's (the birth date comparison weighs those digits); ``counted`` compares
        the whole value."""
        return cls("edits", edits=edits, checksum=checksum, birth_digits=birth_digits)

    @classmethod
    def day_month_swapped(cls) -> Level:
        return cls("day_month_swapped")

    @classmethod
    def within_days(cls, days: int) -> Level:
        return cls("within_days", days=days)

    def label(self, field_name: str) -> str:
        """How ``agreed`` names a pair at this level: the field, then what kind of agreement."""
        suffix = _LABELS[self.kind]
        if self.kind == "edits" and self.checksum == "valid":
            suffix = "near"
        return f"{field_name}_{suffix}" if suffix else field_name


FieldKind = Literal["id", "name", "date", "sex", "text"]
_SLOTS: Final[dict[str, FieldKind]] = {
    "person_id": "id",
    "name": "name",
    "birth_date": "date",
    "sex": "sex",
    "place": "text",
}


@dataclass(frozen=True)
class Comparison:
    """How one field is compared: its levels, strongest first.

    ``field`` is a slot of :class:`LinkColumns` (``person_id``, ``name``, ``birth_date``,
    ``sex``, ``place``) or a key of its ``fields``; ``kind`` says how values are read
    (``date``: a date or ``YYYYMMDD``-like text, compared as 8 digits; ``name``: a person's
    name; ``text``: trimmed, upper-case folded). Slots have their own kind.
    """

    field: str
    levels: tuple[Level, ...]
    kind: FieldKind = "text"

    def __post_init__(self) -> None:
        if not self.levels:
            raise ValueError(f"comparison {self.field!r} has no levels")
        if self.field in _SLOTS and self.kind != _SLOTS[self.field]:
            object.__setattr__(self, "kind", _SLOTS[self.field])


@dataclass(frozen=True)
class LinkColumns:
    """Which column of a frame holds what; any field but ``key`` may be ``None``.

    ``key`` identifies a row on that side (``record_id`` of a death record; the person
    key, usually ``person_id``, of the register). ``person_id`` holds identity numbers as
    text: GB 11643 citizen numbers when ``id_format="gb11643"`` (the default; a column of
    which no value has that shape is an error), any identifier when ``"text"``. ``name``
    is one column, or several read in order and joined by a space (given name, surname).
    ``birth_date`` a date (or ISO / ``YYYYMMDD`` text), ``sex`` a value of
    :data:`sentinel.contract.SEXES`, ``place`` a region code or township name - the same
    kind on both sides. ``fields`` maps further comparison names (``village``,
    ``address``) to this side's columns; pass their :class:`Comparison` to
    :func:`link_records`.
    """

    key: str
    person_id: str | None = None
    name: str | tuple[str, ...] | None = None
    birth_date: str | None = None
    sex: str | None = None
    place: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    id_format: Literal["gb11643", "text"] = "gb11643"

    def column_of(self, name: str) -> str | tuple[str, ...] | None:
        if name in _SLOTS:
            column: str | tuple[str, ...] | None = getattr(self, name)
            return column
        return self.fields.get(name)

    def columns(self) -> list[str]:
        named: list[str] = [self.key]
        for slot in _SLOTS:
            column = getattr(self, slot)
            if isinstance(column, tuple):
                named.extend(column)
            elif column:
                named.append(column)
        return named + list(self.fields.values())


def default_comparisons(
    settings: LinkageConfig | None = None, id_format: Literal["gb11643", "text"] = "gb11643"
) -> tuple[Comparison, ...]:
    """The comparisons of the five slots, with the levels of ``settings`` (the committed
    ``[linkage]`` section by default). A slot not mapped on both sides is left out."""
    s = settings or _committed_settings()
    if id_format == "gb11643":
        # A checksum-valid ID that differs from the register's is somebody else's: every
        # single substitution and adjacent swap breaks the check character, and 10 of 11
        # double errors do. Such a pair is at the else level, whatever its distance.
        # A record that states its birth date has it weighed by the birth date comparison:
        # its ID is compared outside the birth digits, or an ID two sequence digits from
        # a neighbour's born the same day would pass for a typo.
        id_levels = (
            Level.exact(),
            *(
                Level.within_edits(n, checksum="fails", birth_digits=part)
                for part in ("left_out", "counted")
                for n in range(1, s.max_id_edits + 1)
            ),
        )
    else:
        id_levels = (Level.exact(), *(Level.within_edits(n) for n in range(1, s.max_id_edits + 1)))
    return (
        Comparison("person_id", id_levels, "id"),
        Comparison(
            "name",
            (
                Level.exact(),
                Level.same_sound(),
                Level.dialect_sound(),
                Level.reordered(),
                Level.dropped_character(),
                *(Level.similar("jaro_winkler", t) for t in s.name_similarity),
            ),
            "name",
        ),
        Comparison(
            "birth_date",
            (
                Level.exact(),
                Level.day_month_swapped(),
                Level.within_edits(1),
                Level.within_days(s.birth_date_within_days),
            ),
            "date",
        ),
        Comparison("sex", (Level.exact(),), "sex"),
        Comparison("place", (Level.exact(),), "text"),
    )


@dataclass(frozen=True)
class LinkModel:
    """Estimated Fellegi-Sunter parameters (see the module docstring).

    ``m[c][l]`` and ``u[c][l]`` per comparison ``c`` of ``comparisons`` and level ``l``
    (its levels, then *else*); ``match_share``: the share of records with a match in the
    register; ``register_size``: distinct register keys (the prior odds of one given
    person are ``match_share / (1 - match_share) / register_size``); ``sessions``: which
    field each EM session blocked on, its pairs and its match share.
    """

    comparisons: tuple[Comparison, ...]
    m: tuple[tuple[float, ...], ...]
    u: tuple[tuple[float, ...], ...]
    match_share: float
    register_size: int
    sessions: tuple[tuple[str, int, float], ...] = ()

    def weights(self) -> list[list[float]]:
        """``log2(m / u)`` per comparison and level (bits)."""
        return [
            [math.log2(m / u) for m, u in zip(ms, us, strict=True)]
            for ms, us in zip(self.m, self.u, strict=True)
        ]

    @property
    def prior_log2_odds(self) -> float:
        share = min(max(self.match_share, 1e-9), 1 - 1e-9)
        return math.log2(share / (1 - share) / max(self.register_size, 1))


def link_records(
    records: pl.LazyFrame,
    register: pl.LazyFrame,
    *,
    records_cols: LinkColumns,
    register_cols: LinkColumns,
    comparisons: Sequence[Comparison] | None = None,
    blocking: Sequence[Sequence[str]] = (),
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    model: LinkModel | None = None,
    settings: LinkageConfig | None = None,
) -> pl.LazyFrame:
    """Link each record to at most one register person.

    ``comparisons``: added to (or, for a slot, replacing) :func:`default_comparisons`;
    a ``fields`` comparison needs its column mapped on both sides. ``blocking``: further
    candidate rules, each a list of fields that must agree exactly. ``model``: parameters
    estimated elsewhere (:func:`estimate_link_model` on a whole month, for a page that
    links a handful of records); estimated from these inputs when ``None``.

    Returns one row per accepted link: ``record_key``, ``register_key``, ``confidence``
    (probability that the record is this person, given all its candidates),
    ``match_probability`` (the pair alone), ``match_weight`` (bits), ``method``
    (``exact_id`` | ``id_typo`` | ``demographic`` | ``name_only``: how direct the
    evidence is), ``agreed`` (fields whose level counted for the link: ``person_id``,
    ``person_id_typo``, ``name``, ``name_pinyin``, ``name_fuzzy``, ``birth_date``,
    ``birth_date_swapped``, ``sex``, ``place``, ...), ``disagreed`` (fields whose level
    counted against it) and ``id_distance`` (edits between the IDs; null when either has
    none).

    Records that link to nothing - no candidate, a runner-up too close, or confidence
    below ``min_confidence`` - are absent; callers anti-join on ``record_key``. Register
    rows sharing a key (one per scheme) count as one person. The register and the
    candidates are collected here (every step reads them several times); the result is
    returned lazy.

    Raises
    ------
    ValueError
        A named column missing (named, with the side), an ID column without a single GB
        11643 number, ``min_confidence`` outside [0, 1], or a comparison on an unmapped field.
    """
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"min_confidence must be within [0, 1], got {min_confidence}")
    s = settings or _committed_settings()
    comps = (
        model.comparisons if model else _comparisons(records_cols, register_cols, comparisons, s)
    )
    recs, reg = _prepare_sides(records, register, records_cols, register_cols, comps)
    pairs = _with_levels(_candidates(recs, reg, records_cols, comps, blocking, s), comps)
    if model is None:
        model = _estimate(recs, reg, pairs, comps, s)
    return _decide(pairs, model, s, min_confidence).lazy()


def estimate_link_model(
    records: pl.LazyFrame,
    register: pl.LazyFrame,
    *,
    records_cols: LinkColumns,
    register_cols: LinkColumns,
    comparisons: Sequence[Comparison] | None = None,
    blocking: Sequence[Sequence[str]] = (),
    settings: LinkageConfig | None = None,
) -> LinkModel:
    """The parameters :func:`link_records` would estimate from these inputs."""
    s = settings or _committed_settings()
    comps = _comparisons(records_cols, register_cols, comparisons, s)
    recs, reg = _prepare_sides(records, register, records_cols, register_cols, comps)
    pairs = _with_levels(_candidates(recs, reg, records_cols, comps, blocking, s), comps)
    return _estimate(recs, reg, pairs, comps, s)


@lru_cache(maxsize=1)
def _committed_settings() -> LinkageConfig:
    """The ``[linkage]`` section of the committed configuration (its reference model)."""
    return load_config().linkage


def _comparisons(
    records_cols: LinkColumns,
    register_cols: LinkColumns,
    extra: Sequence[Comparison] | None,
    s: LinkageConfig,
) -> tuple[Comparison, ...]:
    if records_cols.id_format != register_cols.id_format:
        raise ValueError(
            f"id_format differs: records {records_cols.id_format!r}, "
            f"register {register_cols.id_format!r}"
        )
    given = {c.field: c for c in extra or ()}
    chosen = []
    for comp in default_comparisons(s, records_cols.id_format):
        chosen.append(given.pop(comp.field, comp))
    chosen.extend(given.values())
    for comp in chosen:
        for side, cols in (("records", records_cols), ("register", register_cols)):
            if comp.field not in _SLOTS and cols.column_of(comp.field) is None:
                raise ValueError(
                    f"comparison {comp.field!r}: no column mapped for it on the {side} side "
                    "(LinkColumns.fields)"
                )
    return tuple(
        c
        for c in chosen
        if _available(records_cols, c.field) and _available(register_cols, c.field)
    )


def _available(cols: LinkColumns, name: str) -> bool:
    """Whether a side can speak for a field: its column, or (birth date and sex) its GB
    11643 ID, which carries both."""
    if cols.column_of(name) is not None:
        return True
    return (
        name in ("birth_date", "sex") and cols.person_id is not None and cols.id_format == "gb11643"
    )


# --- preparation -----------------------------------------------------------------------

_NAME_SEPARATORS: Final = r"[·•・．.\-_,，]"
_ID_WEIGHTS: Final = tuple(pow(2, 17 - i, 11) for i in range(17))
_ID_CHECK_CHARS: Final = "10X98765432"
_LN2: Final = math.log(2.0)


def _prepare_sides(
    records: pl.LazyFrame,
    register: pl.LazyFrame,
    records_cols: LinkColumns,
    register_cols: LinkColumns,
    comps: tuple[Comparison, ...],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    frames = pl.collect_all(
        [
            _prepare_side(records, records_cols, comps, "records"),
            _prepare_side(register, register_cols, comps, "register"),
        ]
    )
    for frame, cols, side in zip(
        frames, (records_cols, register_cols), ("records", "register"), strict=True
    ):
        if (
            cols.person_id
            and cols.id_format == "gb11643"
            and frame["pid"].null_count() == frame.height
            and frame["id_text"].null_count() < frame.height
        ):
            raise ValueError(
                f"{side} column {cols.person_id!r}: no value is a GB 11643 citizen number "
                "(18 characters, or 15 digits); pass id_format='text' for another identifier"
            )
    recs, reg = (f.drop("id_text").with_row_index("_row") for f in frames)
    return _confirmed_ids(recs, reg), reg.drop("pid_trusted")


def _confirmed_ids(recs: pl.DataFrame, reg: pl.DataFrame) -> pl.DataFrame:
    """``pid_trusted`` also for a record whose valid ID contradicts the birth date it
    states when the ID is a register person's of the record's name: the birth date is
    the mistyped field. An ID that is nobody's, or another person's, stays doubtful: the
    record is searched by name and birth date like one without an ID (the ID is still
    compared, and a valid ID that differs from a candidate's weighs against them)."""
    doubtful = recs.filter(pl.col("pid_valid") & ~pl.col("pid_trusted"))
    if doubtful.height == 0:
        return recs
    # the register probed with the doubtful IDs only: hashing all its IDs would cost more
    holders = reg.filter(pl.col("pid").is_in(doubtful["pid"].implode())).select("pid", "name")
    confirmed = doubtful.join(holders, on=["pid", "name"], how="semi")["_row"]
    return recs.with_columns(pl.col("pid_trusted") | pl.col("_row").is_in(confirmed.implode()))


def _text(col: str | None) -> pl.Expr:
    return pl.col(col).cast(pl.String) if col else pl.lit(None, dtype=pl.String)


def _prepare_side(
    frame: pl.LazyFrame, cols: LinkColumns, comps: tuple[Comparison, ...], side: str
) -> pl.LazyFrame:
    """Normalised columns: ``key pid pid_valid pid_trusted id_birth name birth sex place``
    and one per further field, all text (birth as ``YYYYMMDD``, flags boolean)."""
    schema = frame.collect_schema()
    missing = [c for c in cols.columns() if c not in schema]
    if missing:
        raise ValueError(f"{side}: columns {missing} not found; available: {list(schema.names())}")
    id_text = _nfkc(_text(cols.person_id)).str.replace_all(r"[\s\-]", "").str.to_uppercase()
    id_text = pl.when(id_text != "").then(id_text)
    if isinstance(cols.name, tuple):
        raw_name = pl.concat_str(
            [_text(c).str.strip_chars() for c in cols.name], separator=" ", ignore_nulls=True
        )
    else:
        raw_name = _text(cols.name)
    name = _name_text(_nfkc(raw_name).str.replace_all(_NAME_SEPARATORS, " "))
    sex = (
        _text(cols.sex)
        .str.strip_chars()
        .replace_strict(dict(SEXES), default=None, return_dtype=pl.String)
    )
    extra = {
        c.field: _normalised(cols.fields[c.field], c.kind, schema)
        for c in comps
        if c.field not in _SLOTS
    }
    prepared = frame.select(
        pl.col(cols.key).cast(pl.String).alias("key"),
        id_text.alias("id_text"),
        pl.when(name != "").then(name).alias("name"),
        _normalised(cols.birth_date, "date", schema).alias("birth"),
        sex.alias("sex"),
        _normalised(cols.place, "text", schema).alias("place"),
        *[expr.alias(f"x_{name}") for name, expr in extra.items()],
    )
    if cols.id_format == "text":
        return prepared.with_columns(
            pl.col("id_text").alias("pid"),
            pl.lit(False).alias("pid_valid"),
            pl.lit(False).alias("pid_trusted"),
            pl.lit(None, dtype=pl.String).alias("id_birth"),
        )
    pid = pl.col("pid")
    prepared = (
        prepared.with_columns(_id_body(pl.col("id_text")).alias("id_body"))
        .with_columns(_check_char(pl.col("id_body")).alias("id_check"))
        .with_columns(
            pl.when(pl.col("id_text").str.len_bytes() == 18)
            .then(pl.col("id_body") + pl.col("id_text").str.slice(17, 1))
            .otherwise(pl.col("id_body") + pl.col("id_check"))
            .alias("pid")
        )
        .with_columns(
            pl.when(pid.str.slice(6, 8).str.to_date("%Y%m%d", strict=False).is_not_null())
            .then(pid.str.slice(6, 8))
            .alias("id_birth"),
        )
        .with_columns(
            # A check character that passes on birth digits that are no calendar date
            # (1949-40-25) is a typo's luck: such an ID fails like any other typo.
            ((pid.str.slice(17, 1) == pl.col("id_check")) & pl.col("id_birth").is_not_null())
            .fill_null(False)
            .alias("pid_valid"),
        )
        .with_columns(
            # A record's valid ID whose birth digits are not the birth date the record
            # states: one of the two is mistyped (two errors pass the checksum one time in
            # eleven), so unless the register confirms the ID (:func:`_confirmed_ids`) the
            # record is searched by what else it says.
            (
                pl.col("pid_valid")
                & (
                    pl.lit(side == "register")
                    | pl.col("birth").is_null()
                    | (pl.col("birth") == pl.col("id_birth"))
                )
            ).alias("pid_trusted"),
        )
        .drop("id_body", "id_check")
    )
    id_sex = (
        pl.when(pid.str.slice(16, 1).cast(pl.Int8, strict=False) % 2 == 1)
        .then(pl.lit("M"))
        .otherwise(pl.lit("F"))
    )
    # The register's own ID speaks for what its fields leave empty; a record's ID may be
    # the mistyped part, so only a checksum-valid one does.
    known = pid.is_not_null() if side == "register" else pl.col("pid_trusted")
    filled = [pl.coalesce("sex", pl.when(known).then(id_sex)).alias("sex")]
    if side == "register":
        filled.append(pl.coalesce("birth", "id_birth").alias("birth"))
    return prepared.with_columns(filled)


def _normalised(col: str | tuple[str, ...] | None, kind: FieldKind, schema: pl.Schema) -> pl.Expr:
    if col is None:
        return pl.lit(None, dtype=pl.String)
    if isinstance(col, tuple):
        return pl.concat_str(
            [_normalised(c, kind, schema) for c in col], separator=" ", ignore_nulls=True
        )
    if kind == "date":
        dtype = schema[col]
        if dtype == pl.Date or isinstance(dtype, pl.Datetime):
            return pl.col(col).dt.strftime("%Y%m%d")
        digits = pl.col(col).cast(pl.String).str.replace_all(r"\D", "")
        return pl.when(digits.str.len_bytes() == 8).then(digits)
    if kind == "name":
        return _name_text(_nfkc(_text(col)))

    def per_value(values: pl.Series) -> pl.Series:
        # a place or village column holds few distinct values: normalise each once
        unique = values.unique().drop_nulls()
        text = unique.str.normalize("NFKC").str.replace_all(r"\s+", " ").str.strip_chars()
        text = text.str.to_uppercase() if kind == "text" else text
        text = pl.select(pl.when(text != "").then(text)).to_series()
        return values.replace_strict(unique, text, default=None, return_dtype=pl.String)

    return _text(col).map_batches(per_value, return_dtype=pl.String, is_elementwise=True)


_NFKC_STABLE: Final = r"^[\x00-\x7F\x{4E00}-\x{9FFF}]*$"
"""Text NFKC leaves as it is: ASCII and CJK unified ideographs have no compatibility
decomposition, and canonical composition joins neither to anything."""


def _nfkc(values: pl.Expr) -> pl.Expr:
    """NFKC normal form (full-width digits and letters, compatibility ideographs, ...),
    computed only for values it could change: a register's IDs and names are nearly all
    ASCII digits and common Han characters."""

    def batch(text: pl.Series) -> pl.Series:
        changing = ~text.str.contains(_NFKC_STABLE).fill_null(True)
        if changing.any():
            text = text.scatter(changing.arg_true(), text.filter(changing).str.normalize("NFKC"))
        return text

    return values.map_batches(batch, return_dtype=pl.String, is_elementwise=True)


def _name_text(names: pl.Expr) -> pl.Expr:
    """Blanks collapsed, none between Han characters (王  丽 is 王丽), lower case. The Han
    pattern runs only on names holding a blank: over a register it is the slowest step."""

    def batch(values: pl.Series) -> pl.Series:
        blank = values.str.contains(r"\s").fill_null(False)
        if blank.any():
            spaced = values.filter(blank).str.replace_all(r"\s*(\p{Han})\s*", "$1")
            spaced = spaced.str.replace_all(r"\s+", " ").str.strip_chars()
            values = values.scatter(blank.arg_true(), spaced)
        return values.str.to_lowercase()

    return names.map_batches(batch, return_dtype=pl.String, is_elementwise=True)


def _id_body(id_text: pl.Expr) -> pl.Expr:
    """The 17 digits before the check character (a 15-digit first-generation number
    widened with ``19``), or null when the value cannot be an ID."""
    return (
        pl.when(id_text.str.contains(r"^\d{17}[\dX]$"))
        .then(id_text.str.slice(0, 17))
        .when(id_text.str.contains(r"^\d{15}$"))
        .then(id_text.str.slice(0, 6) + "19" + id_text.str.slice(6, 9))
    )


def _check_char(body: pl.Expr) -> pl.Expr:
    """ISO 7064 MOD 11-2 check character of 17 digits (integer arithmetic: 17 digits fit
    an Int64, and division is far cheaper than 17 string slices)."""
    number = body.cast(pl.Int64, strict=False)
    total = pl.sum_horizontal(
        [(number // 10 ** (16 - i)) % 10 * w for i, w in enumerate(_ID_WEIGHTS)]
    )
    return (total % 11).replace_strict(
        dict(enumerate(_ID_CHECK_CHARS)), default=None, return_dtype=pl.String
    )


def _field_column(comp: Comparison) -> str:
    return {
        "person_id": "pid",
        "name": "name",
        "birth_date": "birth",
        "sex": "sex",
        "place": "place",
    }.get(comp.field, f"x_{comp.field}")


# --- candidates ------------------------------------------------------------------------

_GB_WINDOWS: Final = ((0, 5), (4, 9), (8, 12), (11, 15), (14, 18))


def _candidates(
    recs: pl.DataFrame,
    reg: pl.DataFrame,
    cols: LinkColumns,
    comps: tuple[Comparison, ...],
    blocking: Sequence[Sequence[str]],
    s: LinkageConfig,
) -> pl.DataFrame:
    """Candidate pairs ``_row_r, _row_g`` with both sides' prepared columns (suffixes
    ``_r`` / ``_g``), each pair once."""
    fields = {c.field for c in comps}
    blocks: list[pl.LazyFrame] = []
    r, g = recs.lazy(), reg.lazy()
    if "person_id" in fields:
        blocks.append(_join(r, g, pl.col("pid"), pl.col("pid")))
        blocks.extend(_id_window_blocks(recs, reg, cols.id_format, s.max_id_edits))
    # Without an ID the record must be found by what else it says; with a checksum-valid
    # ID that is not in the register its holder is most likely somebody not enrolled.
    searchable = r.filter(~pl.col("pid_trusted"))
    birth = pl.coalesce("birth", "id_birth")
    if "name" in fields:
        named = searchable.filter(pl.col("name").is_not_null())
        reg_named = g.filter(pl.col("name").is_not_null())
        # each distinct register name once, for the blocks that compute names' sounds
        reg_names = reg.select(pl.col("name").drop_nulls().unique()).lazy()
        if "birth_date" in fields:
            for first in (True, False):
                char = pl.col("name").str.slice(0 if first else -1, 1)
                blocks.append(_join(named, reg_named, [birth, char], [pl.col("birth"), char]))
            for part in ((0, 4), (4, 4)):
                date_part = pl.col("birth").str.slice(*part)
                blocks.append(
                    _join(
                        named,
                        reg_named,
                        [pl.col("name"), birth.str.slice(*part)],
                        [pl.col("name"), date_part],
                        max_block=s.max_block_size,
                    )
                )
            days = max(
                (lv.days or 0 for c in comps if c.field == "birth_date" for lv in c.levels),
                default=0,
            )
            blocks.extend(_sound_date_blocks(named, reg_named, reg_names, birth, days, s))
        blocks.append(_name_only_block(named, reg_named, reg_names, s))
    for rule in blocking:
        exprs = [pl.col(_field_column(_comparison_of(f, comps))) for f in rule]
        blocks.append(_join(searchable, g, exprs, exprs, max_block=s.max_block_size))
    pairs = (
        pl.concat(blocks).unique().collect()
        if blocks
        else pl.DataFrame(schema={"_row_r": pl.UInt32, "_row_g": pl.UInt32})
    )
    # ``_row`` is each side's row number: its rows are gathered, not joined by hash
    return pl.concat(
        [
            recs.gather(pairs["_row_r"]).rename(lambda c: f"{c}_r"),
            reg.gather(pairs["_row_g"]).rename(lambda c: f"{c}_g"),
        ],
        how="horizontal",
    )


def _comparison_of(name: str, comps: tuple[Comparison, ...]) -> Comparison:
    for comp in comps:
        if comp.field == name:
            return comp
    raise ValueError(f"blocking on {name!r}: no comparison of that field")


def _join(
    r: pl.LazyFrame,
    g: pl.LazyFrame,
    r_keys: pl.Expr | list[pl.Expr],
    g_keys: pl.Expr | list[pl.Expr],
    *,
    max_block: int | None = None,
) -> pl.LazyFrame:
    r_keys = r_keys if isinstance(r_keys, list) else [r_keys]
    g_keys = g_keys if isinstance(g_keys, list) else [g_keys]
    names = [f"_k{i}" for i in range(len(r_keys))]
    left = r.select(
        pl.col("_row").alias("_row_r"), *[k.alias(n) for k, n in zip(r_keys, names, strict=True)]
    )
    right = g.select(
        pl.col("_row").alias("_row_g"), *[k.alias(n) for k, n in zip(g_keys, names, strict=True)]
    )
    left = left.drop_nulls(names)
    right = right.drop_nulls(names).join(left.select(names).unique(), on=names, how="semi")
    if max_block is not None:
        # counted only for the keys the records ask for, not over the whole register
        small = right.group_by(names).len().filter(pl.col("len") <= max_block).drop("len")
        right = right.join(small, on=names, how="semi")
    return left.join(right, on=names).select("_row_r", "_row_g")


def _id_window_blocks(
    recs: pl.DataFrame, reg: pl.DataFrame, id_format: str, max_edits: int
) -> list[pl.LazyFrame]:
    """Register people whose ID agrees with the record's outside one window of characters
    and differs inside it by at most ``max_edits`` (an adjacent swap counting one). For
    GB 11643 numbers only records whose ID fails its checksum are searched: a valid ID that
    is not the register's is somebody else's (the else level), and its neighbours born
    the same day would be most of the candidates."""
    if id_format == "gb11643":
        # The ID as integers once per side (a province's register: 20M IDs), not per window.
        r = recs.lazy().filter(pl.col("pid").is_not_null() & ~pl.col("pid_valid"))
        g = reg.lazy().filter(pl.col("pid").is_not_null())
        r, g = (side.select("_row", "pid", *_id_numbers()) for side in (r, g))
        g = g.cache()
        keys = [(_id_without(a, b), _id_without(a, b), a, b - a) for a, b in _GB_WINDOWS]
    else:
        lengths = recs["pid"].drop_nulls().str.len_chars()
        length = int(lengths.mode().min()) if lengths.len() else 0  # type: ignore[arg-type]
        if length < 4:
            return []
        count = 5 if length >= 10 else 3
        width = math.ceil((length + count - 1) / count)
        starts = [round(i * (length - width) / (count - 1)) for i in range(count)]
        pid = pl.col("pid")
        r, g = (side.lazy().filter(pid.is_not_null()).select("_row", "pid") for side in (recs, reg))
        keys = [
            (pid.str.slice(0, a) + "|" + pid.str.slice(a + width),) * 2 + (a, width) for a in starts
        ]
    return [
        r.with_columns(key_r.alias("_k"))
        .join(g.with_columns(key_g.alias("_k")), on="_k", suffix="_g")
        .filter(
            _window_edits(
                pl.col("pid").str.slice(start, width),
                pl.col("pid_g").str.slice(start, width),
                width,
            )
            <= max_edits
        )
        .select(pl.col("_row").alias("_row_r"), "_row_g")
        for key_r, key_g, start, width in keys
    ]


def _window_edits(a: pl.Expr, b: pl.Expr, width: int) -> pl.Expr:
    """Differing characters of two short windows, an adjacent swap counting one."""
    a_chars = [a.str.slice(i, 1) for i in range(width)]
    b_chars = [b.str.slice(i, 1) for i in range(width)]
    hamming = pl.sum_horizontal(
        [(x != y).fill_null(True).cast(pl.Int32) for x, y in zip(a_chars, b_chars, strict=True)]
    )
    swapped = pl.any_horizontal(
        [
            (a_chars[i] != b_chars[i])
            & (a_chars[i] == b_chars[i + 1])
            & (a_chars[i + 1] == b_chars[i])
            for i in range(width - 1)
        ]
    ).fill_null(False)
    return pl.when((hamming == 2) & swapped).then(1).otherwise(hamming)


def _id_numbers() -> list[pl.Expr]:
    pid = pl.col("pid")
    return [
        pid.str.slice(0, 17).cast(pl.Int64).alias("_body"),
        pid.str.slice(17, 1).replace("X", "10").cast(pl.Int64).alias("_check"),
    ]


def _id_without(start: int, end: int) -> pl.Expr:
    """The ID (from :func:`_id_numbers`) with characters ``[start, end)`` removed, as one
    integer: hashing and joining integers is several times cheaper than strings. The 17
    digits fit an Int64; the check character (``X`` = 10) is the last base-11 digit
    unless the window removes it. Distinct remainders give distinct integers."""
    body = pl.col("_body")
    kept = body // 10 ** (17 - start)
    if end <= 17:
        kept = (kept * 10 ** (17 - end) + body % 10 ** (17 - end)) * 11 + pl.col("_check")
    return kept


def _sound_date_blocks(
    named: pl.LazyFrame,
    reg_named: pl.LazyFrame,
    reg_names: pl.LazyFrame,
    birth: pl.Expr,
    days: int,
    s: LinkageConfig,
) -> list[pl.LazyFrame]:
    """Records whose name no register person bears (misheard or misspelt) and that state
    a birth date: register people whose name sounds the same (homophones: 莉/丽, 中/忠)
    and whose birth date shares the record's month and day (a mistyped year) or year (a
    mistyped day or month), the year taken ``days`` either side (the largest difference
    the birth date levels weigh: a date moved 49 days may cross New Year). A name typo
    and a date typo together meet no exact block. Blocks larger than ``max_block_size``
    are skipped."""
    # a name some register person bears is searched by the exact blocks
    asked = (
        named.filter(birth.is_not_null())
        .join(reg_names, on="name", how="anti")
        .select(
            pl.col("_row").alias("_row_r"),
            _sound_key(pl.col("name"), dialect=False).alias("sound"),
            birth.str.slice(0, 4).alias("year"),
            birth.str.slice(4, 4).alias("month_day"),
        )
    )
    sounds = reg_names.with_columns(_sound_key(pl.col("name"), dialect=False).alias("sound")).join(
        asked.select("sound").unique(), on="sound", how="semi"
    )
    people = (
        reg_named.select(pl.col("_row").alias("_row_g"), "name", "birth")
        .join(sounds, on="name")
        .drop_nulls("birth")
        .select(
            "_row_g",
            "sound",
            pl.col("birth").str.slice(0, 4).alias("year"),
            pl.col("birth").str.slice(4, 4).alias("month_day"),
        )
    )
    # A date within ``days`` of New Year has the other year in reach as well: from the
    # month and day ``days - 1`` before the year's end, up to the one ``days - 1`` after
    # its start (a leap day, only a superset).
    next_year_from = (date(2001, 12, 31) - timedelta(days=days - 1)).strftime("%m%d")
    last_year_to = (date(2001, 1, 1) + timedelta(days=days - 1)).strftime("%m%d")
    year = pl.col("year").cast(pl.Int32)
    by_year = pl.concat(
        [people.select("_row_g", "sound", "year")]
        + [
            people.filter(pl.col("month_day") >= next_year_from).select(
                "_row_g", "sound", (year + 1).cast(pl.String).alias("year")
            ),
            people.filter(pl.col("month_day") <= last_year_to).select(
                "_row_g", "sound", (year - 1).cast(pl.String).alias("year")
            ),
        ]
        * (days > 0)
    )
    by_month_day = people.select("_row_g", "sound", "month_day")
    blocks = []
    for register_keys, key in ((by_year, "year"), (by_month_day, "month_day")):
        # block sizes counted for the keys records ask for, not over every register person
        wanted = register_keys.join(
            asked.select("sound", key).unique(), on=["sound", key], how="semi"
        ).filter(pl.len().over("sound", key) <= s.max_block_size)
        blocks.append(asked.join(wanted, on=["sound", key]).select("_row_r", "_row_g"))
    return blocks


def _name_only_block(
    named: pl.LazyFrame, reg_named: pl.LazyFrame, reg_names: pl.LazyFrame, s: LinkageConfig
) -> pl.LazyFrame:
    """Records with a name and nothing else (no usable ID, no birth date): register people
    whose name sounds the same, or the same with one non-first character dropped (clerks
    drop characters, they do not invent them). Sounds are computed only for register names
    whose surname sound and length a record asks for."""
    usable = named.filter(pl.col("birth").is_null() & pl.col("id_birth").is_null()).with_columns(
        _sound_keys(pl.col("name"), dialect=True).alias("sounds")
    )
    wanted = (
        usable.select(
            pl.col("sounds").list.first().alias("surname_sound"),
            (pl.col("sounds").list.len() + pl.int_ranges(0, 2, dtype=pl.UInt32)).alias("length"),
        )
        .explode("length")
        .unique()
    )
    names = (
        reg_names.with_columns(pl.col("name").str.len_chars().alias("length"))
        .join(wanted.select("length").unique(), on="length", how="semi")
        .with_columns(
            pl.col("name")
            .str.slice(0, 1)
            .map_batches(_surname_sound_batch, return_dtype=pl.String, is_elementwise=True)
            .alias("surname_sound")
        )
        .join(wanted, on=["surname_sound", "length"], how="semi")
        .with_columns(_sound_keys(pl.col("name"), dialect=True).alias("sounds"))
    )
    whole = names.select("name", pl.col("sounds").list.join(" ").alias("sound_key"))
    dropped = (
        names.filter(pl.col("length") >= 3)
        .with_columns(pl.int_ranges(1, pl.col("length")).alias("at"))
        .explode("at")
        .select(
            "name",
            pl.concat_list(
                pl.col("sounds").list.slice(0, pl.col("at")),
                pl.col("sounds").list.slice(pl.col("at") + 1),
            )
            .list.join(" ")
            .alias("sound_key"),
        )
    )
    asked = usable.select(
        pl.col("_row").alias("_row_r"), pl.col("sounds").list.join(" ").alias("sound_key")
    )
    # block sizes counted for the sounds records ask for, not over every register name
    keys = (
        pl.concat([whole, dropped])
        .join(asked.select("sound_key").unique(), on="sound_key", how="semi")
        .unique()
    )
    register_rows = reg_named.select(pl.col("_row").alias("_row_g"), "name").join(keys, on="name")
    register_rows = register_rows.filter(pl.len().over("sound_key") <= s.max_block_size)
    return asked.join(register_rows, on="sound_key").select("_row_r", "_row_g")


# --- names -----------------------------------------------------------------------------

# Polyphonic characters read differently as surnames (pypinyin's default reading is
# the common-word one, e.g. 曾 -> ceng); used for the first character only.
_SURNAME_READINGS: Final = {
    "曾": "zeng", "单": "shan", "解": "xie", "区": "ou", "仇": "qiu", "朴": "piao",
    "查": "zha", "盖": "ge", "缪": "miao", "覃": "qin", "乐": "yue", "尉": "yu",
    "员": "yun", "召": "shao", "种": "chong", "繁": "po", "秘": "bi",
}  # fmt: skip
_HU_AS_W: Final = {"hu": "wu", "hui": "wei", "hun": "wen"}


@lru_cache(maxsize=65536)
def _char_reading(char: str) -> str:
    """Toneless pinyin of a Han character; any other character stands for itself."""
    readings = lazy_pinyin(char)
    return readings[0].lower() if readings else char


@lru_cache(maxsize=65536)
def _dialect_merged(syllable: str) -> str:
    """Merge the sounds that regional speech (and IME 'fuzzy pinyin') confuses."""
    for retroflex, dental in (("zh", "z"), ("ch", "c"), ("sh", "s")):
        if syllable.startswith(retroflex):
            syllable = dental + syllable[2:]
            break
    if syllable.startswith("n") and syllable != "ng":
        syllable = "l" + syllable[1:]
    # hu-/w- are one initial in Wu, Xiang, Gan and Cantonese speech (黄/王, 胡/吴, 辉/威)
    if syllable.startswith("hu"):
        syllable = _HU_AS_W.get(syllable, "w" + syllable[2:])
    if syllable.endswith("ng") and len(syllable) > 2:
        syllable = syllable[:-1]
    return syllable


def _sound_of(char: str, *, dialect: bool, surname: bool) -> str:
    reading = _SURNAME_READINGS.get(char) if surname else None
    reading = reading or _char_reading(char)
    if reading == char:  # not a Han character: letters are not syllables
        return char
    return _dialect_merged(reading) if dialect else reading


def _surname_sound_batch(firsts: pl.Series) -> pl.Series:
    unique = firsts.drop_nulls().unique().to_list()
    sounds = {c: _sound_of(c, dialect=True, surname=True) for c in unique}
    return firsts.replace_strict(sounds, default=None, return_dtype=pl.String)


def _sound_keys(names: pl.Expr, *, dialect: bool) -> pl.Expr:
    """Per name, the list of its characters' sounds (toneless pinyin, or dialect-merged).
    Python runs once per unique character, not per name."""

    def batch(values: pl.Series) -> pl.Series:
        chars = values.str.split("")
        unique = chars.explode().drop_nulls().unique().to_list()
        given = {c: _sound_of(c, dialect=dialect, surname=False) for c in unique}
        firsts = values.str.slice(0, 1)
        surnames = {
            c: _sound_of(c, dialect=dialect, surname=True)
            for c in firsts.drop_nulls().unique().to_list()
        }
        rest = (
            values.str.slice(1)
            .str.split("")
            .list.eval(pl.element().replace_strict(given, default=None, return_dtype=pl.String))
        )
        first = firsts.replace_strict(surnames, default=None, return_dtype=pl.String)
        return (
            pl.DataFrame({"first": first, "rest": rest})
            .select(pl.when(pl.col("first").is_not_null()).then(pl.concat_list("first", "rest")))
            .to_series()
            .alias(values.name)
        )

    return names.map_batches(batch, return_dtype=pl.List(pl.String), is_elementwise=True)


def _sound_key(names: pl.Expr, *, dialect: bool) -> pl.Expr:
    """:func:`_sound_keys` joined by blanks, as one text key: each character replaced
    by its sound in one pass over the text, not a list per name."""

    def batch(values: pl.Series) -> pl.Series:
        chars = [c for c in values.str.split("").explode().drop_nulls().unique().to_list() if c]
        if not chars:
            return values
        firsts = values.str.slice(0, 1)
        surnames = {
            c: _sound_of(c, dialect=dialect, surname=True)
            for c in firsts.drop_nulls().unique().to_list()
        }
        given = [" " + _sound_of(c, dialect=dialect, surname=False) for c in chars]
        first = firsts.replace_strict(surnames, default=None, return_dtype=pl.String)
        return (first + values.str.slice(1).str.replace_many(chars, given)).alias(values.name)

    return names.map_batches(batch, return_dtype=pl.String, is_elementwise=True)


# --- comparison levels -----------------------------------------------------------------


def _with_levels(
    pairs: pl.DataFrame, comps: tuple[Comparison, ...], skip: int | None = None
) -> pl.DataFrame:
    """Add ``lv_<i>`` (Int8) per comparison: the index of the first level the pair meets,
    ``len(levels)`` for else, null when the field is empty on either side (and for the
    comparison ``skip``, which an EM session leaves out); and ``id_distance``."""
    pairs = _with_implied_birth(pairs)
    added: list[pl.Series] = []
    for i, comp in enumerate(comps):
        if i == skip:
            added.append(pl.Series(f"lv_{i}", [None] * pairs.height, dtype=pl.Int8))
            continue
        column = _field_column(comp)
        a, b = f"{column}_r", f"{column}_g"
        helpers = _level_helpers(pairs, comp, a, b)
        level = pl.when(pl.col(a).is_null() | pl.col(b).is_null()).then(None)
        for index, lv in enumerate(comp.levels):
            level = level.when(_level_condition(lv, a, b)).then(index)
        added.append(
            pairs.with_columns(list(helpers.values()))
            .select(level.otherwise(len(comp.levels)).cast(pl.Int8).alias(f"lv_{i}"))
            .to_series()
        )
    return pairs.with_columns(added) if added else pairs


def _with_implied_birth(pairs: pl.DataFrame) -> pl.DataFrame:
    """``birth_r`` as a pair compares it: the birth date the record states, else the one
    its mistyped GB 11643 ID holds when that is the register person's. The ID's edit
    levels then count edits outside the birth digits and the birth date comparison weighs
    those digits, once, with the parameters of every record that states a date (compared
    whole, the ID would be at levels only records without a birth date reach: too few for
    EM to estimate). Birth digits that differ stay the ID's: a typo there is an ID typo,
    which the whole-ID levels weigh, not a registrar's date error. Not when the two IDs are
    equal: the exact ID level has weighed the birth digits."""
    if not {"birth_r", "id_birth_r", "pid_valid_r", "pid_r", "pid_g", "birth_g"} <= set(
        pairs.columns
    ):
        return pairs
    implied = (
        pl.col("birth_r").is_null()
        & ~pl.col("pid_valid_r")
        & (pl.col("pid_r") != pl.col("pid_g")).fill_null(True)
        & (pl.col("id_birth_r") == pl.col("birth_g")).fill_null(False)
    )
    return pairs.with_columns(
        pl.when(implied).then(pl.col("id_birth_r")).otherwise(pl.col("birth_r")).alias("birth_r")
    )


def _level_helpers(pairs: pl.DataFrame, comp: Comparison, a: str, b: str) -> dict[str, pl.Series]:
    """Values a level needs that polars cannot compute alone (sounds, similarities, edits),
    computed once per unique value or unique pair of values."""
    kinds = {lv.kind for lv in comp.levels}
    helpers: dict[str, pl.Series] = {}
    differ = pairs.select(
        pl.when(pl.col(a) != pl.col(b)).then(pl.col(a)).alias("a"),
        pl.when(pl.col(a) != pl.col(b)).then(pl.col(b)).alias("b"),
    )
    for dialect, name in ((False, "_sound"), (True, "_dialect")):
        if ("dialect_sound" if dialect else "same_sound") in kinds:
            helpers[name] = _same_sound(differ, dialect=dialect)
    if "dropped_character" in kinds:
        helpers["_dropped"] = _on_some(differ, _one_character_less, _dropped_character)
    if "reordered" in kinds:
        helpers["_reordered"] = _on_some(
            differ, pl.col("a").str.contains(" ") & pl.col("b").str.contains(" "), _reordered
        )
    for measure in sorted({lv.measure for lv in comp.levels if lv.kind == "similar"}):
        helpers[f"_sim_{measure}"] = _pairwise(differ, _SIMILARITIES[measure])
    if "edits" in kinds or comp.field == "person_id":
        helpers["_edits"] = _edits(pairs, differ, a, b)
        if any(lv.birth_digits == "left_out" for lv in comp.levels):
            outside = pairs.select(
                (pl.col(c).str.slice(0, 6) + pl.col(c).str.slice(14)).alias(n)
                for c, n in ((a, "a"), (b, "b"))
            )
            differ_outside = outside.select(
                pl.when(pl.col("a") != pl.col("b")).then(pl.col(n)).alias(n) for n in ("a", "b")
            )
            helpers["_edits_outside"] = _edits(outside, differ_outside, "a", "b")

    if "within_days" in kinds:
        days = pairs.select(
            (
                pl.col(a).str.to_date("%Y%m%d", strict=False)
                - pl.col(b).str.to_date("%Y%m%d", strict=False)
            )
            .dt.total_days()
            .abs()
        ).to_series()
        helpers["_days"] = days
    return {k: v.alias(k) for k, v in helpers.items()}


_one_character_less: Final = (
    (pl.col("a").str.len_chars().cast(pl.Int32) - pl.col("b").str.len_chars().cast(pl.Int32)).abs()
    == 1
) & (pl.max_horizontal(pl.col("a").str.len_chars(), pl.col("b").str.len_chars()) >= 3)


def _dropped_character() -> pl.Expr:
    x, y = pl.col("a"), pl.col("b")
    x_shorter = x.str.len_chars() < y.str.len_chars()
    shorter = pl.when(x_shorter).then(x).otherwise(y)
    longer = pl.when(x_shorter).then(y).otherwise(x)
    return pl.any_horizontal(
        [longer.str.slice(0, i) + longer.str.slice(i + 1) == shorter for i in range(1, 8)]
    )


def _reordered() -> pl.Expr:
    def words(col: str) -> pl.Expr:
        return pl.col(col).str.split(" ").list.sort().list.join(" ")

    return words("a") == words("b")


def _on_some(differ: pl.DataFrame, applies: pl.Expr, condition: Callable[[], pl.Expr]) -> pl.Series:
    """``condition`` evaluated only on the rows where it ``applies`` (false elsewhere):
    polars would evaluate every branch of a ``when`` on every row."""
    some = differ.with_row_index("_i").filter(applies.fill_null(False))
    result = pl.Series([False] * differ.height, dtype=pl.Boolean)
    if some.height:
        result = result.scatter(some["_i"], some.select(condition().fill_null(False)).to_series())
    return result


def _same_sound(differ: pl.DataFrame, *, dialect: bool) -> pl.Series:
    """Whether the two values sound the same, keys computed once per unique value."""
    values = pl.concat([differ["a"], differ["b"]]).drop_nulls().unique()
    if values.len() == 0:
        return pl.Series([False] * differ.height, dtype=pl.Boolean)
    keys = values.to_frame("v").select("v", _sound_key(pl.col("v"), dialect=dialect).alias("k"))
    a = differ["a"].replace_strict(keys["v"], keys["k"], default=None)
    b = differ["b"].replace_strict(keys["v"], keys["k"], default=None)
    return (a == b).fill_null(False)


def _edits(pairs: pl.DataFrame, differ: pl.DataFrame, a: str, b: str) -> pl.Series:
    """Edits between the two values (optimal string alignment: an adjacent swap counts
    one), 0 when equal, null when either is empty."""
    edits = _pairwise(differ, OSA.distance).cast(pl.Int32)
    return (
        pl.DataFrame({"e": edits, "same": pairs[a] == pairs[b]})
        .select(pl.when(pl.col("same")).then(0).otherwise(pl.col("e")))
        .to_series()
        .cast(pl.Int32)
    )


def _pairwise(differ: pl.DataFrame, scorer: Callable[..., float]) -> pl.Series:
    """``scorer(a, b)`` per row (null where either is null or they are equal), by
    rapidfuzz's vectorised ``cpdist`` (cheaper than finding the unique pairs first)."""
    present = differ.with_row_index("_i").drop_nulls()
    scores = pl.Series("score", [None] * differ.height, dtype=pl.Float64)
    if present.height:
        values = process.cpdist(
            present["a"].to_list(), present["b"].to_list(), scorer=scorer, workers=-1
        )
        scores = scores.scatter(present["_i"], pl.Series(values, dtype=pl.Float64))
    return scores


def _level_condition(lv: Level, a: str, b: str) -> pl.Expr:
    x, y = pl.col(a), pl.col(b)
    if lv.kind == "exact":
        return x == y
    if lv.kind == "same_sound":
        return pl.col("_sound")
    if lv.kind == "dialect_sound":
        return pl.col("_dialect")
    if lv.kind == "reordered":
        return pl.col("_reordered")
    if lv.kind == "dropped_character":
        return pl.col("_dropped")
    if lv.kind == "similar":
        return pl.col(f"_sim_{lv.measure}") >= lv.at_least
    if lv.kind == "edits":
        if lv.birth_digits == "left_out":
            within = (pl.col("_edits_outside") <= lv.edits) & pl.col("birth_r").is_not_null()
        else:
            within = pl.col("_edits") <= lv.edits

        if lv.checksum == "fails":
            within &= ~pl.col("pid_valid_r")
        elif lv.checksum == "valid":
            within &= pl.col("pid_valid_r")
        return within
    if lv.kind == "day_month_swapped":
        return (
            (x.str.slice(0, 4) == y.str.slice(0, 4))
            & (x.str.slice(4, 2) == y.str.slice(6, 2))
            & (x.str.slice(6, 2) == y.str.slice(4, 2))
            & (x != y)
        )
    if lv.kind == "within_days":
        return pl.col("_days") <= lv.days
    raise ValueError(f"unknown level kind {lv.kind!r}")


# --- estimation ------------------------------------------------------------------------


def _estimate(
    recs: pl.DataFrame,
    reg: pl.DataFrame,
    pairs: pl.DataFrame,
    comps: tuple[Comparison, ...],
    s: LinkageConfig,
) -> LinkModel:
    cache: dict[str, pl.DataFrame] = {}  # values shared by both sides, per column
    u = _estimate_u(recs, reg, pairs, comps, s, cache)
    starting = [_ladder(len(c.levels) + 1) for c in comps]
    register_size = max(reg["key"].n_unique(), 1)
    if register_size < s.min_register_for_estimation:
        return _reference_model(pairs, comps, u, starting, register_size, recs.height, s)
    sessions = []
    estimates: list[list[np.ndarray]] = [[] for _ in comps]
    for blocked in ("person_id", "birth_date", "name"):
        index = next((i for i, c in enumerate(comps) if c.field == blocked), None)
        if index is None:
            continue
        patterns = _session_patterns(recs, reg, comps, index, s, cache)
        if patterns is None:
            continue
        levels, counts = patterns
        active = [i for i in range(len(comps)) if i != index]
        m, share = _em(levels, counts, starting, u, active, s)
        sessions.append((blocked, int(counts.sum()), round(float(share), 6)))
        for i in active:
            reached = np.ones(len(m[i]), dtype=bool)
            reached[_unreachable(comps[i], blocked)] = False
            estimates[i].append(np.where(reached, m[i], np.nan))
    m_final = tuple(
        tuple(float(x) for x in (_pooled(found) if found else starting[i]))
        for i, found in enumerate(estimates)
    )
    model = LinkModel(
        comparisons=comps,
        m=m_final,
        u=tuple(tuple(float(x) for x in row) for row in u),
        match_share=0.5,
        register_size=max(reg["key"].n_unique(), 1),
        sessions=tuple(sessions),
    )
    return replace(model, match_share=_match_share(pairs, model, recs.height))


def _unreachable(comp: Comparison, blocked: str) -> list[int]:
    """Levels of ``comp`` that no pair of a session blocked on ``blocked`` can reach. A
    session blocked on the birth date holds only records that state one, and those have
    their ID compared outside the birth digits: the whole-ID levels are for records
    without a date. Such a session's m of them would be zero, not an estimate."""
    if blocked != "birth_date" or comp.field != "person_id":
        return []
    if not any(lv.birth_digits == "left_out" for lv in comp.levels):
        return []
    return [
        index
        for index, lv in enumerate(comp.levels)
        if lv.kind == "edits" and lv.birth_digits == "counted"
    ]


def _pooled(estimates: list[np.ndarray]) -> np.ndarray:
    """m of one comparison over the sessions that estimated it: per level, the mean of
    the sessions that could reach it (NaN elsewhere), then scaled to add up to one."""
    stacked = np.vstack(estimates)
    reached = ~np.isnan(stacked)
    mean = np.where(reached, stacked, 0.0).sum(axis=0) / np.maximum(reached.sum(axis=0), 1)
    return mean / mean.sum()


def _reference_model(
    pairs: pl.DataFrame,
    comps: tuple[Comparison, ...],
    u: list[np.ndarray],
    starting: list[np.ndarray],
    register_size: int,
    records: int,
    s: LinkageConfig,
) -> LinkModel:
    """A register too small to show how often unrelated people agree (a handful of
    people in a test, a case page's neighbours) is linked with the reference parameters
    of the configuration, estimated on a county, with that county's match share and
    register size (one record cannot show how many records have a match, nor three
    people how many could have written it); a comparison they do not cover keeps its
    EM starting point and the ``u`` these inputs give."""
    m_rows, u_rows = [], []
    for i, comp in enumerate(comps):
        size = len(comp.levels) + 1
        ref_m, ref_u = s.reference_m.get(comp.field), s.reference_u.get(comp.field)
        if ref_m and ref_u and len(ref_m) == size and len(ref_u) == size:
            m_rows.append(tuple(ref_m))
            u_rows.append(tuple(ref_u))
        else:
            m_rows.append(tuple(float(x) for x in starting[i]))
            u_rows.append(tuple(float(x) for x in u[i]))
    return LinkModel(
        comps, tuple(m_rows), tuple(u_rows), s.reference_match_share, s.reference_register_size
    )


def _ladder(size: int) -> np.ndarray:
    """EM's starting point (and prior): each level a quarter as likely for a match as the
    one above it, else the least likely."""
    ladder = np.array([4.0**-i for i in range(size)])
    return ladder / ladder.sum()


def _estimate_u(
    recs: pl.DataFrame,
    reg: pl.DataFrame,
    candidates: pl.DataFrame,
    comps: tuple[Comparison, ...],
    s: LinkageConfig,
    cache: dict[str, pl.DataFrame],
) -> list[np.ndarray]:
    """``u`` per comparison and level, from random pairs; exact levels counted over all
    pairs from value frequencies. An ID level too rare for the sample (two edits away)
    takes the share of all pairs the candidates hold at that level: the ID blocks find
    every such pair, true matches included, so the estimate errs high and the weight low
    (one pair's share when no pair is at that level). Any other level the sample never
    met gets ``1 / n``."""
    side = max(int(math.sqrt(s.u_random_pairs)), 1)
    # Order-free: the rows with the smallest key hashes, so a shuffled input samples the same.
    sample_r = _smallest_hashes(recs, "key", side)
    sample_g = _smallest_hashes(reg, "key", side)
    pairs = sample_r.rename(lambda c: f"{c}_r").join(
        sample_g.rename(lambda c: f"{c}_g"), how="cross"
    )
    levels = _with_levels(pairs, comps)
    u: list[np.ndarray] = []
    for i, comp in enumerate(comps):
        column = levels[f"lv_{i}"].drop_nulls()
        size = len(comp.levels) + 1
        counts = np.bincount(column.to_numpy(), minlength=size).astype(float)
        n = max(column.len(), 1)
        column_name = _field_column(comp)
        all_pairs = max(
            (recs.height - recs[column_name].null_count())
            * (reg.height - reg[column_name].null_count()),
            1,
        )
        found = np.bincount(candidates[f"lv_{i}"].drop_nulls().to_numpy(), minlength=size).astype(
            float
        )
        shares = np.where(counts > 0, counts / n, 1.0 / n)
        if comp.field == "person_id":
            # the ID blocks meet every pair one edit apart (and two within a window): for
            # these levels the candidates count all pairs, the sample almost none; a level
            # no pair reached takes one pair's share, the rarest all pairs can show
            shares = np.where(counts > 0, counts / n, np.maximum(found, 1.0) / all_pairs)
        if comp.levels[0].kind == "exact":
            shares[0] = _exact_share(recs, reg, _field_column(comp), shares[0], cache)
            for index, share in _sound_shares(recs, reg, comp).items():
                shares[index] = share
        # the else level takes what the others leave, so the levels add up to one
        shares[-1] = max(1.0 - shares[:-1].sum(), 1.0 / n)
        u.append(shares)
    return u


_SOUND_SAMPLE: Final = (20_000, 50_000)
"""Values read per side for the sound levels' ``u``: their key frequencies stand for all
20,000 x 50,000 pairs at once."""


def _sound_shares(recs: pl.DataFrame, reg: pl.DataFrame, comp: Comparison) -> dict[int, float]:
    """``u`` of same-sound and dialect-sound levels that follow the exact level (each key
    coarser than the one before, so a level's share is its key's agreement less the
    finer key's), from key frequencies of a sample of each side's values: as rare as
    these levels are, a pair sample would seldom meet one."""
    kinds = [lv.kind for lv in comp.levels]
    nested = []
    for index, kind in enumerate(kinds[1:3], start=1):
        if kind not in ("same_sound", "dialect_sound") or (nested and kind == nested[-1][1]):
            break
        nested.append((index, kind))
    if not nested:
        return {}
    column = _field_column(comp)

    def sample(frame: pl.DataFrame, size: int) -> pl.DataFrame:
        values = frame.select(pl.col(column).drop_nulls().alias("v"))
        return _smallest_hashes(values, "v", size)

    r, g = sample(recs, _SOUND_SAMPLE[0]), sample(reg, _SOUND_SAMPLE[1])
    if r.height == 0 or g.height == 0:
        return {}

    def agreement(key: pl.Expr) -> float:
        counts_r = r.select(key.alias("k")).group_by("k").len("nr")
        counts_g = g.select(key.alias("k")).group_by("k").len("ng")
        agree = counts_r.join(counts_g, on="k").select(
            (pl.col("nr").cast(pl.Int64) * pl.col("ng")).sum()
        )
        return float(agree.item() or 0) / (r.height * g.height)

    floor = 1.0 / (r.height * g.height)
    finer = agreement(pl.col("v"))
    shares = {}
    for index, kind in nested:
        coarser = agreement(_sound_key(pl.col("v"), dialect=kind == "dialect_sound"))
        shares[index] = max(coarser - finer, floor)
        finer = coarser
    return shares


def _smallest_hashes(frame: pl.DataFrame, column: str, size: int) -> pl.DataFrame:
    """The ``size`` rows with the smallest hashes of ``column``: a sample that does not
    depend on row order (a shuffled input samples the same rows)."""
    return (
        frame.with_columns(pl.col(column).hash(7).alias("_hash"))
        .bottom_k(size, by=["_hash", column])
        .drop("_hash")
    )


def _shared_values(
    recs: pl.DataFrame, reg: pl.DataFrame, column: str, cache: dict[str, pl.DataFrame]
) -> pl.DataFrame:
    """Per value found on both sides, how many records (``nr``) and register rows
    (``ng``) hold it. The register is only probed with the records' values: grouping a
    province's 20M IDs or names would cost more than the rest of the estimate."""
    if column not in cache:
        counts = recs.group_by(column).len("nr").drop_nulls(column)
        held = (
            reg.lazy()
            .select(column)
            .filter(pl.col(column).is_in(counts[column].implode()))
            .group_by(column)
            .len("ng")
            .collect()
        )
        cache[column] = held.join(counts, on=column).select(column, "nr", "ng")
    return cache[column]


def _exact_share(
    recs: pl.DataFrame,
    reg: pl.DataFrame,
    column: str,
    fallback: float,
    cache: dict[str, pl.DataFrame],
) -> float:
    """Share of all (non-null) record x register pairs with equal values."""
    r = recs.height - recs[column].null_count()
    g = reg.height - reg[column].null_count()
    if r == 0 or g == 0:
        return fallback
    # integer products: the sum does not depend on the order groups come in
    agree = _shared_values(recs, reg, column, cache).select(
        (pl.col("nr").cast(pl.Int64) * pl.col("ng")).sum()
    )
    return max(float(agree.item() or 0.0), 1.0) / (r * g)


def _session_patterns(
    recs: pl.DataFrame,
    reg: pl.DataFrame,
    comps: tuple[Comparison, ...],
    index: int,
    s: LinkageConfig,
    cache: dict[str, pl.DataFrame],
) -> tuple[np.ndarray, np.ndarray] | None:
    """Level patterns and their counts of the pairs agreeing exactly on comparison
    ``index``; records sampled (by key hash) down to ``em_max_pairs`` pairs."""
    column = _field_column(comps[index])
    sizes = _shared_values(recs, reg, column, cache)
    total = int((sizes["nr"].cast(pl.Int64) * sizes["ng"]).sum()) if sizes.height else 0
    if total == 0:
        return None
    fraction = min(1.0, s.em_max_pairs / total)
    sample = recs
    if fraction < 1.0:
        threshold = int(fraction * 2**32)
        sample = recs.filter((pl.col("key").hash(11) % 2**32) < threshold)
    pairs = (
        sample.drop_nulls(column)
        .rename(lambda c: f"{c}_r")
        .join(
            reg.rename(lambda c: f"{c}_g"),
            left_on=f"{column}_r",
            right_on=f"{column}_g",
            coalesce=False,
        )
    )
    if pairs.height == 0:
        return None
    levels = _with_levels(pairs, comps, skip=index)
    names = [f"lv_{i}" for i in range(len(comps))]
    grouped = levels.group_by(names).len("n").sort(names)
    matrix = grouped.select(names).fill_null(-1).to_numpy().astype(np.int64)
    return matrix, grouped["n"].to_numpy().astype(float)


def _em(
    levels: np.ndarray,
    counts: np.ndarray,
    starting: list[np.ndarray],
    u: list[np.ndarray],
    active: list[int],
    s: LinkageConfig,
) -> tuple[list[np.ndarray], float]:
    """Expectation-maximisation of ``m`` (and the match share) on level patterns, ``u``
    fixed; comparisons outside ``active`` are left out (the session blocked on them)."""
    m = [p.copy() for p in starting]
    share = 0.5
    log_u = sum(
        (np.where(levels[:, i] >= 0, np.log(u[i][levels[:, i].clip(0)]), 0.0) for i in active),
        np.zeros(len(counts)),
    )
    for _ in range(s.em_max_iterations):
        log_m = sum(
            (np.where(levels[:, i] >= 0, np.log(m[i][levels[:, i].clip(0)]), 0.0) for i in active),
            np.zeros(len(counts)),
        )
        odds = np.log(share) + log_m - np.log1p(-share) - log_u
        posterior = 1.0 / (1.0 + np.exp(-np.clip(odds, -700, 700)))
        weight = counts * posterior
        new_share = float(min(max(weight.sum() / counts.sum(), 1e-9), 1 - 1e-9))
        change = abs(new_share - share)
        for i in active:
            seen = levels[:, i] >= 0
            tally = np.bincount(levels[seen, i], weights=weight[seen], minlength=len(m[i]))
            tally = tally + s.em_prior_pairs * starting[i]
            updated = tally / tally.sum()
            change = max(change, float(np.abs(updated - m[i]).max()))
            m[i] = updated
        share = new_share
        if change < s.em_tolerance:
            break
    return m, share


def _pair_weights(pairs: pl.DataFrame, model: LinkModel) -> pl.Expr:
    weights = model.weights()
    terms = [
        pl.col(f"lv_{i}")
        .replace_strict(dict(enumerate(w)), default=0.0, return_dtype=pl.Float64)
        .fill_null(0.0)
        for i, w in enumerate(weights)
    ]
    return pl.sum_horizontal(terms) if terms else pl.lit(0.0)


def _match_share(pairs: pl.DataFrame, model: LinkModel, records: int) -> float:
    """Share of records with a match in the register: EM over the records, each either
    one of its candidates' person or nobody's (non-candidates weigh nothing)."""
    if pairs.height == 0:
        return 1e-9
    per_record = (
        (
            pairs.select("_row_r", "key_g", _pair_weights(pairs, model).alias("w"))
            .group_by("_row_r", "key_g")
            .agg(pl.col("w").max())
            .group_by("_row_r")
            .agg(_log2_sum(pl.col("w")).alias("log2_bf"))
        )["log2_bf"]
        .sort()
        .to_numpy()
    )  # sorted: float sums independent of group order
    records = max(records, per_record.size)
    size = max(model.register_size, 1)
    share = 0.5
    for _ in range(200):
        log2_odds = math.log2(share / (1 - share) / size) + per_record
        posterior = 1.0 / (1.0 + np.exp2(-np.clip(log2_odds, -1000, 1000)))
        new_share = float(min(max(posterior.sum() / records, 1e-9), 1 - 1e-9))
        if abs(new_share - share) < 1e-7:
            share = new_share
            break
        share = new_share
    return share


def _exp2(bits: pl.Expr) -> pl.Expr:
    return (bits * _LN2).exp()


def _log2_sum(w: pl.Expr) -> pl.Expr:
    """log2 of the sum of 2^w, without overflow."""
    top = w.max()
    return top + _exp2(w - top).sum().log(2)


# --- decision --------------------------------------------------------------------------


def _decide(
    pairs: pl.DataFrame, model: LinkModel, s: LinkageConfig, min_confidence: float
) -> pl.DataFrame:
    comps = model.comparisons
    weights = model.weights()
    prior = model.prior_log2_odds
    labels = []
    against = []
    for i, comp in enumerate(comps):
        name = comp.field
        level = pl.col(f"lv_{i}")
        for_link = {
            index: lv.label(name) for index, lv in enumerate(comp.levels) if weights[i][index] > 0
        }
        labels.append(level.replace_strict(for_link, default=None, return_dtype=pl.String))
        negative = [index for index, w in enumerate(weights[i]) if w < 0]
        against.append(pl.when(level.is_in(negative)).then(pl.lit(name)))
    id_index = next((i for i, c in enumerate(comps) if c.field == "person_id"), None)
    if id_index is not None:
        id_level = pl.col(f"lv_{id_index}")
        id_kinds = [lv.kind for lv in comps[id_index].levels]
        method = (
            pl.when(id_level == 0)
            .then(pl.lit("exact_id"))
            .when(id_level.is_in([i for i, k in enumerate(id_kinds) if k == "edits"]))
            .then(pl.lit("id_typo"))
        )
    else:
        method = pl.when(pl.lit(False)).then(pl.lit(None, dtype=pl.String))
    method = (
        method.when(
            pl.col("pid_r").is_null() & pl.col("birth_r").is_null() & pl.col("id_birth_r").is_null()
        )
        .then(pl.lit("name_only"))
        .otherwise(pl.lit("demographic"))
    )
    scored = (
        pairs.with_columns(_pair_weights(pairs, model).alias("w"))
        # one register person may have several rows (one per scheme): keep its best
        # (windows, not a sort of every candidate)
        .filter(pl.col("w") == pl.col("w").max().over("_row_r", "key_g"))
        .filter(pl.col("_row_g") == pl.col("_row_g").min().over("_row_r", "key_g"))
        .with_columns(_log2_sum(pl.col("w")).over("_row_r").alias("_log2_sum"))
    )
    share = _exp2(pl.col("w") - pl.col("_log2_sum"))
    confidence = 1.0 / (
        _exp2(-(pl.lit(prior) + pl.col("w"))) + _exp2(pl.col("_log2_sum") - pl.col("w"))
    )
    best = (
        scored.filter(pl.col("w") == pl.col("w").max().over("_row_r"))
        .with_columns(
            share.alias("_share"),
            confidence.alias("confidence"),
            (1.0 / (1.0 + _exp2(-(pl.lit(prior) + pl.col("w"))))).alias("match_probability"),
        )
        .filter(
            (pl.col("_share") >= s.ambiguity_share)
            & (pl.col("confidence") >= min_confidence)
            & (pl.len().over("_row_r") == 1)
        )
    )
    ids = best.select(
        pl.when(pl.col("pid_r") != pl.col("pid_g")).then(pl.col(c)).alias(n)
        for c, n in (("pid_r", "a"), ("pid_g", "b"))
    )
    best = best.with_columns(_edits(best, ids, "pid_r", "pid_g").alias("id_distance"))
    return best.select(
        pl.col("key_r").alias("record_key"),
        pl.col("key_g").alias("register_key"),
        pl.col("confidence").round(6),
        pl.col("match_probability").round(6),
        pl.col("w").round(3).alias("match_weight"),
        method.alias("method"),
        pl.concat_list(labels).list.drop_nulls().alias("agreed")
        if labels
        else pl.lit([], dtype=pl.List(pl.String)).alias("agreed"),
        pl.concat_list(against).list.drop_nulls().alias("disagreed")
        if against
        else pl.lit([], dtype=pl.List(pl.String)).alias("disagreed"),
        "id_distance",
    ).sort("record_key")
