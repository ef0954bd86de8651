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

from collections.abc import Sequence
from dataclasses import dataclass, replace

import polars as pl

from features.linkage.candidates import _candidates
from features.linkage.decide import _decide
from features.linkage.estimate import _estimate
from features.linkage.levels import _with_levels
from features.linkage.model import (
    _SLOTS,
    DEFAULT_MIN_CONFIDENCE,
    Comparison,
    Level,
    LinkColumns,
    LinkMethod,
    LinkModel,
    _committed_settings,
    default_comparisons,
)
from features.linkage.prepare import _prepare_register, _prepare_sides, _sex_from_id_only
from sentinel.config import LinkageConfig

__all__ = [
    "DEFAULT_MIN_CONFIDENCE",
    "Comparison",
    "Level",
    "LinkColumns",
    "LinkMethod",
    "LinkModel",
    "PreparedRegister",
    "default_comparisons",
    "estimate_link_model",
    "link_records",
    "prepare_register",
]


@dataclass(frozen=True)
class PreparedRegister:
    """A register normalised for linkage once (:func:`prepare_register`), to link several
    record lists to, or kept by the monthly run for the screen: ``frame`` is what
    :func:`link_records` would prepare from a register with columns ``cols``."""

    frame: pl.DataFrame
    cols: LinkColumns

    def without_sex(self) -> PreparedRegister:
        """The register as prepared with no sex column mapped (the ID's sex, where the
        register has an ID): for records that state none."""
        return PreparedRegister(_sex_from_id_only(self.frame), replace(self.cols, sex=None))


def prepare_register(register: pl.LazyFrame, cols: LinkColumns) -> PreparedRegister:
    """``register`` normalised as :func:`link_records` normalises it for comparisons of the
    fields every side has a slot for (ID, name, birth date, sex, place): the work over the
    whole register, done once.

    Raises ``ValueError`` as :func:`link_records` does for the register side."""
    return PreparedRegister(_prepare_register(register, cols, ()), cols)


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
    prepared: PreparedRegister | None = None,
) -> pl.LazyFrame:
    """Link each record to at most one register person.

    ``comparisons``: added to (or, for a slot, replacing) :func:`default_comparisons`;
    a ``fields`` comparison needs its column mapped on both sides. ``blocking``: further
    candidate rules, each a list of fields that must agree exactly. ``model``: parameters
    estimated elsewhere (:func:`estimate_link_model` on a whole month, for a page that
    links a handful of records); estimated from these inputs when ``None``. ``prepared``:
    ``register`` already normalised (:func:`prepare_register`, with ``register_cols``);
    the links are those of ``register`` itself.

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
    side: pl.LazyFrame | pl.DataFrame = register
    if prepared is not None:
        if prepared.cols != register_cols or any(c.field not in _SLOTS for c in comps):
            raise ValueError(
                "prepared register: prepared for other register columns, or the comparisons "
                "name a further field (prepare_register covers the slot fields only)"
            )
        side = prepared.frame
    recs, reg = _prepare_sides(records, side, records_cols, register_cols, comps)
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
