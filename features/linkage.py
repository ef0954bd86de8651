"""Record linkage: person records (death records, custody records, other regions' payee
files) to a person register, when the identity number is missing or mistyped.

Public API: :class:`LinkColumns` (which column holds what, on either side) and
:func:`link_records`. Everything else here is private.

Method
------
IDs are GB 11643 citizen numbers (6 region + 8 birth date + 3 sequence, odd = male,
+ ISO 7064 MOD 11-2 check character). They are normalised (NFKC, blanks and dashes
removed, upper-case ``X``; 15-digit first-generation numbers are widened to 18 with
``19`` and a computed check character); anything else is treated as *no ID*.

Four methods, tried in this order for each record; the first one that yields a
plausible candidate decides (a record with an exact ID hit is never re-linked by name):

1. ``exact_id`` - normalised ID equals a register ID. Confidence 1.0 when the name
   agrees, slightly less for a homophone / dialect / missing-character name, 0.95
   when the record has no name, 0.75 when the name disagrees (an exact checksum-valid
   ID is strong evidence; the name may be the error). A contradicting birth date
   costs 0.10, a contradicting sex 0.05.
2. ``id_typo`` - the ID differs from a register ID by one substituted character or
   one adjacent transposition (``id_distance`` = 1). MOD 11-2 detects every single
   substitution and every adjacent transposition, so a typed ID with one such error
   always fails its checksum; a record ID *with* a valid checksum that is one edit
   from a register ID is therefore suspicious (it is usually somebody else, e.g. a
   neighbour born the same day) and needs name at pinyin level AND birth date
   agreement. Otherwise the name must agree at least at the fuzzy level and neither
   sex nor birth date may contradict. Candidates come from five blocking joins, each
   on the ID with one window of characters removed - windows ``[0:5) [4:9) [8:12)
   [11:15) [14:18)`` overlap by one, so any single wrong character *and* any adjacent
   swap falls inside at least one window, and each key keeps at least 13 characters
   (blocks stay small at province scale: the widest, region + birth date, holds the
   people of one county born on one day).
3. ``demographic`` - records with no usable ID, or an ID failing its checksum that
   the typo step could not place. Blocks: (birth date, first character of the name)
   and (birth date, last character of the name), so a homophone in the given name or
   in the surname still meets its candidate without computing pinyin for the whole
   register. Birth date must be equal, the name must agree at least at the fuzzy
   level, sex must not contradict; place agreement is a bonus (and the tie-breaker).
   A record whose ID passes its checksum but is not in the register is *not* linked
   by name: it is most likely a non-pensioner who shares a name and birth date.
   A name with a character missing (刘华 for 刘建华) is weak here - 刘华 is a whole name
   too - so it links only with the place agreeing.
4. ``name_only`` - records with a name and nothing else (no usable ID, no birth date in
   the record nor in its ID). Blocks: surname of the same sound (黄/王 meet) and a name as
   long as the record's or one character longer. Linked only when the name agrees at
   pinyin level or better, neither sex nor place contradicts, and *no other* register
   person could
   have been written so (same sound, or the record dropped one of their characters): a
   name shared by two pensioners, or by a pensioner and a homophone, links nobody. The
   residual risk - a non-enrolled namesake - is why the confidence stays at the level of
   a lead for an auditor to verify, below any match with a birth date.

Name agreement (levels, strongest first, reported in ``agreed``):
``name`` (same characters after normalisation), ``name_pinyin`` (same toneless
pinyin: 刘建华/刘健华, 王丽/王莉), ``name_fuzzy`` (same after the usual dialect merges
zh/z ch/c sh/s n/l hu/w -ng/-n (黄/王 in southern speech), or one character missing
other than the first: 刘建华/刘华).
Pinyin is computed in Python once per unique name met in a candidate pair, with a
per-character reading (names are not phrases, so phrase context would not help) and
surname readings for common polyphonic surnames (曾 zeng, 单 shan, 解 xie, ...).
A character-level ratio (rapidfuzz) on pinyin was rejected on evidence: it scores
刘建华/刘建国 (a different person) at 83 and 刘建华/刘华 (a missing character) at 74.

Confidence (0..1) is a readable score table, not a fitted model::

    exact_id     0.90 + name {exact .10, pinyin .07, fuzzy .04, absent .05, differs -.15}
                 - .10 birth contradicts - .05 sex contradicts
    id_typo      0.80 + name {exact .10, pinyin .07, fuzzy 0} + .05 birth + .02 sex
                 + .03 place, capped at 0.98
    demographic  0.60 + name {exact .15, pinyin .12, fuzzy 0, shortened -.10} + .05 sex
                 + .10 place agrees - .05 place differs, capped at 0.90
    name_only    0.55 + name {exact .15, pinyin .12} + .05 sex + .10 place, capped at 0.85

Ambiguity: among a record's plausible candidates of the deciding method, the best
one is linked only when it beats the runner-up by at least ``0.10`` (the value of a
place agreement); otherwise the record is left unlinked. Two register people with the
same name and birth date therefore never receive a link on name and birth date alone.

Scale: everything is polars joins and expressions on LazyFrames (no cross join).
The register is prepared (IDs normalised and checked, names cleaned) once per call and
collected: that is the single collect here, made when :func:`link_records` is called;
the records and all matching stay lazy. Python runs only over the unique names of
candidate pairs whose characters differ, and over the unique characters of register
names that a name-only record asks about. Benchmarks: ``benchmarks/linkage_bench.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal

import polars as pl
from pypinyin import lazy_pinyin

from sentinel.contract import SEXES

__all__ = ["DEFAULT_MIN_CONFIDENCE", "LinkColumns", "LinkMethod", "link_records"]

LinkMethod = Literal["exact_id", "id_typo", "demographic", "name_only"]

DEFAULT_MIN_CONFIDENCE: Final = 0.6
"""Links below this go nowhere: a demographic link needs more than a fuzzy name."""

_AMBIGUITY_MARGIN: Final = 0.1
_ID_WEIGHTS: Final = tuple(pow(2, 17 - i, 11) for i in range(17))
_ID_CHECK_CHARS: Final = "10X98765432"
_ID_WINDOWS: Final = ((0, 5), (4, 9), (8, 12), (11, 15), (14, 18))
_NAME_SEPARATORS: Final = r"[\s·•・．.\-]"
_METHOD_RANK: Final = {"exact_id": 0, "id_typo": 1, "demographic": 2, "name_only": 3}

# Polyphonic characters read differently as surnames (pypinyin's default reading is
# the common-word one, e.g. 曾 -> ceng); used for the first character only.
_SURNAME_READINGS: Final = {
    "曾": "zeng",
    "单": "shan",
    "解": "xie",
    "区": "ou",
    "仇": "qiu",
    "朴": "piao",
    "查": "zha",
    "盖": "ge",
    "缪": "miao",
    "覃": "qin",
    "乐": "yue",
    "尉": "yu",
    "员": "yun",
    "召": "shao",
    "种": "chong",
    "繁": "po",
    "秘": "bi",
}


@dataclass(frozen=True)
class LinkColumns:
    """Which column of a frame holds what; any field but ``key`` may be ``None``.

    ``key`` identifies a row on that side (``record_id`` of a death record; the person
    key, usually ``person_id``, of the register). ``person_id`` holds GB 11643 numbers
    as text, ``birth_date`` a date (or ISO / ``YYYYMMDD`` text), ``sex`` a value of
    :data:`sentinel.contract.SEXES`, ``place`` a region code or township name - the same
    kind on both sides.
    """

    key: str
    person_id: str | None = None
    name: str | None = None
    birth_date: str | None = None
    sex: str | None = None
    place: str | None = None


def link_records(
    records: pl.LazyFrame,
    register: pl.LazyFrame,
    *,
    records_cols: LinkColumns,
    register_cols: LinkColumns,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> pl.LazyFrame:
    """Link each record to at most one register person.

    Returns one row per accepted link: ``record_key``, ``register_key``, ``confidence``
    (0..1), ``method`` (``exact_id`` | ``id_typo`` | ``demographic`` | ``name_only``),
    ``agreed`` (the fields that agreed: ``person_id``, ``name`` | ``name_pinyin`` |
    ``name_fuzzy``, ``birth_date``, ``sex``, ``place``) and ``id_distance`` (edits
    between the two IDs, an adjacent swap counting as one; null when the record has no
    usable ID).

    Records that link to nothing - no candidate, candidates that fail verification,
    two equally plausible register people, or confidence below ``min_confidence`` - are
    absent; callers anti-join on ``record_key``. Register rows sharing a key (one per
    scheme) count as one person. See the module docstring for the method.

    Raises
    ------
    ValueError
        If a named column is missing or ``min_confidence`` is outside [0, 1].
    """
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"min_confidence must be within [0, 1], got {min_confidence}")
    recs = _prepare_side(records, records_cols, "r")
    # The one collect here: every method joins the prepared register (8 joins), and
    # polars would otherwise normalise the register's IDs and names once per join.
    reg = _prepare_side(register, register_cols, "g").collect(engine="streaming").lazy()

    # Every method runs on every record; the decision keeps a record's most direct one.
    candidates = pl.concat(
        [
            _exact_id_candidates(recs, reg),
            _id_typo_candidates(recs, reg),
            _demographic_candidates(recs, reg),
            _name_only_candidates(recs, reg),
        ],
        how="vertical",
    )
    return (
        candidates.pipe(_with_name_agreement)
        .pipe(_with_scores)
        .pipe(_pick_unambiguous)
        .filter(pl.col("confidence") >= min_confidence)
        .select(
            pl.col("key_r").alias("record_key"),
            pl.col("key_g").alias("register_key"),
            "confidence",
            "method",
            "agreed",
            "id_distance",
        )
    )


# --- preparation -----------------------------------------------------------------


def _prepare_side(frame: pl.LazyFrame, cols: LinkColumns, suffix: str) -> pl.LazyFrame:
    """Normalised columns ``key pid pid_valid name birth sex place id_birth`` + suffix."""
    schema = frame.collect_schema()
    named = [
        c for c in (cols.key, cols.person_id, cols.name, cols.birth_date, cols.sex, cols.place) if c
    ]
    missing = [c for c in named if c not in schema]
    if missing:
        raise ValueError(f"columns {missing} not found; available: {list(schema.names())}")

    def text(col: str | None) -> pl.Expr:
        return pl.col(col).cast(pl.String) if col else pl.lit(None, dtype=pl.String)

    name = (
        text(cols.name)
        .str.normalize("NFKC")
        .str.replace_all(_NAME_SEPARATORS, "")
        .str.to_lowercase()
    )
    place = text(cols.place).str.strip_chars()
    id_text = (
        text(cols.person_id)
        .str.normalize("NFKC")
        .str.replace_all(" ", "", literal=True)
        .str.replace_all("-", "", literal=True)
        .str.strip_chars()
        .str.to_uppercase()
    )
    # Staged with_columns keep each expression small: an ID expression nested into the
    # checksum expression 17 times over would make the plan explode.
    pid = pl.col("pid")
    id_sex = pl.when(pid.str.slice(16, 1).cast(pl.Int8, strict=False) % 2 == 1).then(pl.lit("M"))
    sex_field = (
        pl.col("sex_field")
        .str.strip_chars()
        .replace_strict(dict(SEXES), default=None, return_dtype=pl.String)
    )
    if suffix == "g":
        # The register's own ID is authoritative for what its fields leave empty.
        birth = pl.coalesce("birth_field", "id_birth")
        sex = pl.coalesce(sex_field, pl.when(pid.is_not_null()).then(id_sex.otherwise(pl.lit("F"))))
    else:
        # A record's ID may be the mistyped part: only a checksum-valid one speaks for sex.
        birth = pl.col("birth_field")
        sex = pl.coalesce(
            sex_field, pl.when(pl.col("pid_valid")).then(id_sex.otherwise(pl.lit("F")))
        )
    return (
        frame.select(
            pl.col(cols.key).alias("key"),
            id_text.alias("id_text"),
            pl.when(name != "").then(name).alias("name"),
            _as_date(cols.birth_date, schema).alias("birth_field"),
            text(cols.sex).alias("sex_field"),
            pl.when(place != "").then(place).alias("place"),
        )
        .with_columns(_id_body(pl.col("id_text")).alias("id_body"))
        .with_columns(_check_char(pl.col("id_body")).alias("id_check"))
        .with_columns(
            pl.when(pl.col("id_text").str.len_bytes() == 18)
            .then(pl.col("id_body") + pl.col("id_text").str.slice(17, 1))
            .otherwise(pl.col("id_body") + pl.col("id_check"))
            .alias("pid")
        )
        .with_columns(
            (pid.str.slice(17, 1) == pl.col("id_check")).fill_null(False).alias("pid_valid"),
            pid.str.slice(6, 8).str.to_date("%Y%m%d", strict=False).alias("id_birth"),
        )
        .select(
            pl.col("key").alias(f"key_{suffix}"),
            pid.alias(f"pid_{suffix}"),
            pl.col("pid_valid").alias(f"pid_valid_{suffix}"),
            pl.col("name").alias(f"name_{suffix}"),
            birth.alias(f"birth_{suffix}"),
            sex.alias(f"sex_{suffix}"),
            pl.col("place").alias(f"place_{suffix}"),
            pl.col("id_birth").alias(f"id_birth_{suffix}"),
        )
    )


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


def _as_date(col: str | None, schema: pl.Schema) -> pl.Expr:
    if col is None:
        return pl.lit(None, dtype=pl.Date)
    dtype = schema[col]
    if dtype == pl.Date:
        return pl.col(col)
    if isinstance(dtype, pl.Datetime):
        return pl.col(col).dt.date()
    s = pl.col(col).cast(pl.String).str.strip_chars()
    return pl.coalesce(
        [s.str.to_date(fmt, strict=False) for fmt in ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d")]
    )


# --- candidates --------------------------------------------------------------------

_CANDIDATE_COLUMNS: Final = (
    "key_r", "pid_r", "pid_valid_r", "name_r", "birth_r", "sex_r", "place_r", "id_birth_r",
    "key_g", "pid_g", "name_g", "birth_g", "sex_g", "place_g",
)  # fmt: skip


def _as_candidates(pairs: pl.LazyFrame, method: LinkMethod, id_distance: pl.Expr) -> pl.LazyFrame:
    return pairs.select(
        *_CANDIDATE_COLUMNS,
        pl.lit(method).alias("method"),
        id_distance.cast(pl.Int32).alias("id_distance"),
    )


def _exact_id_candidates(recs: pl.LazyFrame, reg: pl.LazyFrame) -> pl.LazyFrame:
    pairs = recs.filter(pl.col("pid_r").is_not_null()).join(
        reg, left_on="pid_r", right_on="pid_g", how="inner", coalesce=False
    )
    return _as_candidates(pairs, "exact_id", pl.lit(0))


def _id_typo_candidates(recs: pl.LazyFrame, reg: pl.LazyFrame) -> pl.LazyFrame:
    """Register people whose ID is one substitution or adjacent swap from the record's."""
    # The ID as integers once per side (a province's register: 20M IDs), not per window.
    with_id = recs.filter(pl.col("pid_r").is_not_null()).with_columns(_id_numbers("pid_r"))
    reg_with_id = (
        reg.filter(pl.col("pid_g").is_not_null()).with_columns(_id_numbers("pid_g")).cache()
    )
    blocks = [
        with_id.with_columns(_id_without(start, end).alias("block"))
        .join(
            reg_with_id.with_columns(_id_without(start, end).alias("block")),
            on="block",
            how="inner",
        )
        .drop("_body", "_check", "_body_right", "_check_right")
        # outside the window the IDs agree by construction: compare the window only
        .filter(
            _id_distance(
                pl.col("pid_r").str.slice(start, end - start),
                pl.col("pid_g").str.slice(start, end - start),
                end - start,
            )
            == 1
        )
        for start, end in _ID_WINDOWS
    ]
    return pl.concat(
        [_as_candidates(b, "id_typo", pl.lit(1)) for b in blocks], how="vertical"
    ).unique()


def _id_numbers(pid: str) -> list[pl.Expr]:
    """The ID's 17 digits (``_body``) and its check character (``_check``, ``X`` = 10) as
    integers, read once for :func:`_id_without`'s windows."""
    return [
        pl.col(pid).str.slice(0, 17).cast(pl.Int64).alias("_body"),
        pl.col(pid).str.slice(17, 1).replace("X", "10").cast(pl.Int64).alias("_check"),
    ]


def _id_without(start: int, end: int) -> pl.Expr:
    """The ID (from :func:`_id_numbers`) with characters ``[start, end)`` removed, as one
    integer (hashing and joining integers is several times cheaper than building and
    joining strings).

    The 17 digits fit an Int64; the check character (``X`` = 10) is the last base-11
    digit unless the window removes it. Distinct remainders give distinct integers."""
    body = pl.col("_body")
    kept = body // 10 ** (17 - start)
    if end <= 17:
        kept = (kept * 10 ** (17 - end) + body % 10 ** (17 - end)) * 11 + pl.col("_check")
    return kept


def _demographic_candidates(recs: pl.LazyFrame, reg: pl.LazyFrame) -> pl.LazyFrame:
    """Same birth date and same first (or last) character of the name."""
    usable = (
        recs.filter(~pl.col("pid_valid_r") & pl.col("name_r").is_not_null())
        .with_columns(
            pl.coalesce("birth_r", "id_birth_r").alias("block_birth"),
        )
        .filter(pl.col("block_birth").is_not_null())
    )
    reg_named = reg.filter(pl.col("name_g").is_not_null() & pl.col("birth_g").is_not_null())
    blocks = [
        usable.with_columns(pl.col("name_r").str.slice(offset, 1).alias("block_char")).join(
            reg_named.with_columns(pl.col("name_g").str.slice(offset, 1).alias("block_char")),
            left_on=["block_birth", "block_char"],
            right_on=["birth_g", "block_char"],
            how="inner",
            coalesce=False,
        )
        for offset in (0, -1)
    ]
    distance = _id_distance(pl.col("pid_r"), pl.col("pid_g"))
    return pl.concat(
        [_as_candidates(b, "demographic", distance) for b in blocks], how="vertical"
    ).unique()


def _name_only_candidates(recs: pl.LazyFrame, reg: pl.LazyFrame) -> pl.LazyFrame:
    """Records with a name and nothing else to place them (no usable ID, no birth date
    in the record or its ID): register people whose name sounds the same (dialect-merged
    pinyin), or whose name sounds the same with one non-first character dropped (clerks
    drop characters, they do not invent them), so that the uniqueness test meets them.

    Sounds are computed on unique register names, and only for names whose surname
    sound and length a record asks for.
    """
    sounds = _SOUNDS_DTYPE
    usable = recs.filter(
        ~pl.col("pid_valid_r")
        & pl.col("name_r").is_not_null()
        & pl.col("birth_r").is_null()
        & pl.col("id_birth_r").is_null()
    ).with_columns(
        pl.col("name_r")
        .map_batches(_name_sounds, return_dtype=sounds, is_elementwise=True)
        .alias("sounds")
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
        reg.select(pl.col("name_g").drop_nulls().unique())
        .with_columns(pl.col("name_g").str.len_chars().alias("length"))
        .join(wanted.select("length").unique(), on="length", how="semi")
        .with_columns(
            pl.col("name_g")
            .map_batches(_surname_sounds, return_dtype=pl.String, is_elementwise=True)
            .alias("surname_sound")
        )
        .join(wanted, on=["surname_sound", "length"], how="semi")
        .with_columns(
            pl.col("name_g")
            .map_batches(_name_sounds, return_dtype=sounds, is_elementwise=True)
            .alias("sounds")
        )
    )
    whole = names.select("name_g", pl.col("sounds").list.join(" ").alias("sound_key"))
    dropped = (
        names.filter(pl.col("length") >= 3)
        .with_columns(pl.int_ranges(1, pl.col("length")).alias("dropped_at"))
        .explode("dropped_at")
        .select(
            "name_g",
            pl.concat_list(
                pl.col("sounds").list.slice(0, pl.col("dropped_at")),
                pl.col("sounds").list.slice(pl.col("dropped_at") + 1),
            )
            .list.join(" ")
            .alias("sound_key"),
        )
    )
    matched = usable.with_columns(pl.col("sounds").list.join(" ").alias("sound_key")).join(
        pl.concat([whole, dropped]).unique(), on="sound_key", how="inner"
    )
    # Every register person met here could have been written so; a record meeting more
    # than one can never link, so its (often many) pairs stop here.
    people_named = (
        reg.join(matched.select(pl.col("name_g").unique()), on="name_g", how="semi")
        .group_by("name_g")
        .agg(pl.col("key_g").n_unique().alias("people"))
    )
    unique_match = (
        matched.join(people_named, on="name_g", how="inner")
        .group_by("key_r")
        .agg(pl.col("people").sum())
        .filter(pl.col("people") == 1)
    )
    pairs = matched.join(unique_match, on="key_r", how="semi").join(
        reg, on="name_g", how="inner", coalesce=False
    )
    return _as_candidates(pairs, "name_only", _id_distance(pl.col("pid_r"), pl.col("pid_g")))


def _id_distance(a: pl.Expr, b: pl.Expr, width: int = 18) -> pl.Expr:
    """Substitutions between two IDs (or ID windows of ``width`` characters), an adjacent
    swap counting as one."""
    a_chars = [a.str.slice(i, 1) for i in range(width)]
    b_chars = [b.str.slice(i, 1) for i in range(width)]
    hamming = pl.sum_horizontal(
        [(x != y).cast(pl.Int32) for x, y in zip(a_chars, b_chars, strict=True)]
    )
    swapped = pl.any_horizontal(
        [
            (a_chars[i] != b_chars[i])
            & (a_chars[i] == b_chars[i + 1])
            & (a_chars[i + 1] == b_chars[i])
            for i in range(width - 1)
        ]
    )
    return (
        pl.when(a.is_null() | b.is_null())
        .then(None)
        .when((hamming == 2) & swapped)
        .then(1)
        .otherwise(hamming)
    )


# --- names ---------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _char_reading(char: str) -> str:
    readings = lazy_pinyin(char)
    return readings[0].lower() if readings else char


_HU_AS_W: Final = {"hu": "wu", "hui": "wei", "hun": "wen"}


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


def _name_syllables(name: str) -> list[str]:
    syllables = [_char_reading(c) for c in name]
    if len(name) >= 2 and name[0] in _SURNAME_READINGS:
        syllables[0] = _SURNAME_READINGS[name[0]]
    return syllables


_SOUNDS_DTYPE: Final = pl.List(pl.String)


def _name_sounds(names: pl.Series) -> pl.Series:
    """Per name, its dialect-merged syllables (as in ``_name_keys``' ``merged``).
    Python runs once per unique character, not per name: a register has a few thousand
    name characters but up to millions of names."""
    unique_chars = names.str.split("").explode().drop_nulls().unique().to_list()
    given = {c: _dialect_merged(_char_reading(c)) for c in unique_chars}
    rest = (
        names.str.slice(1)
        .str.split("")
        .list.eval(pl.element().replace_strict(given, default=None, return_dtype=pl.String))
    )
    return (
        pl.DataFrame({"first": _surname_sounds(names), "rest": rest})
        .select(pl.when(pl.col("first").is_not_null()).then(pl.concat_list("first", "rest")))
        .to_series()
        .alias(names.name)
    )


def _surname_sounds(names: pl.Series) -> pl.Series:
    """Per name, the dialect-merged sound of its first character (the surname): a
    blocking key that 黄/王 or 陈/程 share. Python runs once per unique first character."""
    firsts = names.str.slice(0, 1)
    unique_firsts = firsts.drop_nulls().unique().to_list()
    sounds = {c: _dialect_merged(_name_syllables(c + "_")[0]) for c in unique_firsts}
    return firsts.replace_strict(sounds, default=None, return_dtype=pl.String)


def _name_keys(names: pl.Series) -> pl.Series:
    """Per name: toneless pinyin, dialect-merged pinyin, and the merged pinyin with one
    non-first syllable dropped (to meet a name written with a character missing).

    Python runs once per unique name of the batch; rows get theirs back by a join.
    """
    unique_names = names.drop_nulls().unique().to_list()
    pinyin, merged, dropped = [], [], []
    for name in unique_names:
        syllables = _name_syllables(name)
        fuzzy = [_dialect_merged(s) for s in syllables]
        pinyin.append(" ".join(syllables))
        merged.append(" ".join(fuzzy))
        dropped.append(
            [" ".join(fuzzy[:i] + fuzzy[i + 1 :]) for i in range(1, len(fuzzy))]
            if len(fuzzy) >= 3
            else []
        )
    keys = pl.DataFrame(
        {"name": unique_names, "pinyin": pinyin, "merged": merged, "dropped": dropped},
        schema={"name": pl.String, **_NAME_KEYS_DTYPE.to_schema()},
    )
    return (
        names.to_frame("name")
        .join(keys, on="name", how="left", maintain_order="left")
        .drop("name")
        .to_struct(names.name)
    )


_NAME_KEYS_DTYPE: Final = pl.Struct(
    {"pinyin": pl.String, "merged": pl.String, "dropped": pl.List(pl.String)}
)


def _with_name_agreement(candidates: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``name_level``: 3 same characters, 2 same pinyin, 1 fuzzy, 0 differs, null unknown."""

    def name_keys(side: str) -> pl.Expr:
        # Pairs with identical characters need no pinyin.
        differing = pl.when(pl.col("name_r") != pl.col("name_g")).then(pl.col(f"name_{side}"))
        return differing.map_batches(
            _name_keys, return_dtype=_NAME_KEYS_DTYPE, is_elementwise=True
        ).alias(f"keys_{side}")

    def key(side: str, field: str) -> pl.Expr:
        return pl.col(f"keys_{side}").struct.field(field)

    fuzzy = (
        (key("r", "merged") == key("g", "merged"))
        | key("r", "dropped").list.contains(key("g", "merged"))
        | key("g", "dropped").list.contains(key("r", "merged"))
    )
    level = (
        pl.when(pl.col("name_r").is_null() | pl.col("name_g").is_null())
        .then(None)
        .when(pl.col("name_r") == pl.col("name_g"))
        .then(3)
        .when(key("r", "pinyin") == key("g", "pinyin"))
        .then(2)
        .when(fuzzy.fill_null(False))
        .then(1)
        .otherwise(0)
    )
    return (
        candidates.with_columns(name_keys("r"), name_keys("g"))
        .with_columns(level.cast(pl.Int8).alias("name_level"))
        .drop("keys_r", "keys_g")
    )


# --- scores and decision -------------------------------------------------------------


def _with_scores(candidates: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``plausible``, ``confidence``, ``agreed`` and ``id_distance`` per candidate."""
    method = pl.col("method")
    level = pl.col("name_level")
    birth_agrees = pl.col("birth_r") == pl.col("birth_g")
    sex_agrees = pl.col("sex_r") == pl.col("sex_g")
    place_agrees = pl.col("place_r") == pl.col("place_g")
    # null (unknown on a side) is "not contradicting"
    birth_ok = birth_agrees.fill_null(True)
    sex_ok = sex_agrees.fill_null(True)
    place_ok = place_agrees.fill_null(True)
    valid_id_birth_agrees = (pl.coalesce("birth_r", "id_birth_r") == pl.col("birth_g")).fill_null(
        False
    )

    def bonus(condition: pl.Expr, points: float) -> pl.Expr:
        return pl.when(condition.fill_null(False)).then(points).otherwise(0.0)

    exact_conf = (
        0.90
        + level.replace_strict(
            {3: 0.10, 2: 0.07, 1: 0.04, 0: -0.15}, default=0.05, return_dtype=pl.Float64
        )
        - bonus(~birth_ok, 0.10)
        - bonus(~sex_ok, 0.05)
    )
    typo_conf = (
        0.80
        + level.replace_strict({3: 0.10, 2: 0.07}, default=0.0, return_dtype=pl.Float64)
        + bonus(birth_agrees, 0.05)
        + bonus(sex_agrees, 0.02)
        + bonus(place_agrees, 0.03)
    ).clip(upper_bound=0.98)
    # 薛海 is a whole name, not necessarily 薛海荣 with a character dropped: without an
    # ID, a shortened name needs the place as well.
    shortened = (level == 1) & (
        pl.col("name_r").str.len_chars() != pl.col("name_g").str.len_chars()
    )
    demographic_conf = (
        0.60
        + level.replace_strict({3: 0.15, 2: 0.12}, default=0.0, return_dtype=pl.Float64)
        - bonus(shortened, 0.10)
        + bonus(sex_agrees, 0.05)
        + bonus(place_agrees, 0.10)
        - bonus(~place_agrees, 0.05)
    ).clip(upper_bound=0.90)
    name_only_conf = (
        0.55
        + level.replace_strict({3: 0.15, 2: 0.12}, default=0.0, return_dtype=pl.Float64)
        + bonus(sex_agrees, 0.05)
        + bonus(place_agrees, 0.10)
    ).clip(upper_bound=0.85)
    # A name alone identifies somebody only when no other register person could have
    # been written that way: same sound, or the record dropped one of their characters.
    could_be_written_so = (level >= 1) & (
        pl.col("name_g").str.len_chars() >= pl.col("name_r").str.len_chars()
    )
    sound_alikes = (
        pl.col("key_g")
        .filter(could_be_written_so.fill_null(False))
        .n_unique()
        .over("key_r", "method")
    )

    name_fits = (level >= 1).fill_null(False)
    typo_plausible = (
        pl.when(pl.col("pid_valid_r"))
        .then((level >= 2).fill_null(False) & valid_id_birth_agrees & sex_ok)
        .otherwise(name_fits & birth_ok & sex_ok)
    )
    plausible = (
        pl.when(method == "exact_id")
        .then(True)
        .when(method == "id_typo")
        .then(typo_plausible)
        .when(method == "demographic")
        .then(name_fits & birth_ok & sex_ok)
        .otherwise((level >= 2).fill_null(False) & sex_ok & place_ok & (sound_alikes == 1))
    )
    confidence = (
        pl.when(method == "exact_id")
        .then(exact_conf)
        .when(method == "id_typo")
        .then(typo_conf)
        .when(method == "demographic")
        .then(demographic_conf)
        .otherwise(name_only_conf)
        .clip(0.0, 1.0)
        .round(4)
    )
    name_label = level.replace_strict(
        {3: "name", 2: "name_pinyin", 1: "name_fuzzy"}, default=None, return_dtype=pl.String
    )
    agreed = pl.concat_list(
        [
            pl.when(pl.col("pid_r") == pl.col("pid_g")).then(pl.lit("person_id")),
            name_label,
            pl.when(birth_agrees).then(pl.lit("birth_date")),
            pl.when(sex_agrees).then(pl.lit("sex")),
            pl.when(place_agrees).then(pl.lit("place")),
        ]
    ).list.drop_nulls()
    return candidates.with_columns(
        plausible.alias("plausible"),
        confidence.alias("confidence"),
        agreed.alias("agreed"),
        method.replace_strict(_METHOD_RANK, return_dtype=pl.Int8).alias("method_rank"),
    )


def _pick_unambiguous(candidates: pl.LazyFrame) -> pl.LazyFrame:
    """Per record, the best plausible candidate of its most direct method, unless another
    register person comes within the ambiguity margin. Order-free (no sort), so the
    streaming engine gives the same answer."""
    record = "key_r"
    pair = ["key_r", "key_g"]
    # The record's best confidence is a column before it is compared within the record: a
    # window nested in another window is evaluated once per group of the outer one
    # (the decision over a province's 1.35M candidates: 61 s, against 1.8 s so).
    best = pl.col("_best")
    contenders = (pl.col("confidence") >= best - _AMBIGUITY_MARGIN + 1e-9).sum().over(record)
    return (
        candidates.filter(pl.col("plausible"))
        .filter(pl.col("method_rank") == pl.col("method_rank").min().over(record))
        # one register person may have several rows (one per scheme): keep its best
        .filter(pl.col("confidence") == pl.col("confidence").max().over(pair))
        .unique(subset=pair, keep="any")
        .with_columns(pl.col("confidence").max().over(record).alias("_best"))
        .filter((pl.col("confidence") == best) & (contenders == 1))
        .drop("_best")
    )
