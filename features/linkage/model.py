"""Fields, comparisons, levels and the fitted model of the death linker (:mod:`features.linkage`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final, Literal

from rapidfuzz.distance import OSA, Indel, JaroWinkler, Levenshtein

from sentinel.config import LinkageConfig, load_config

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
@lru_cache(maxsize=1)
def _committed_settings() -> LinkageConfig:
    """The ``[linkage]`` section of the committed configuration (its reference model)."""
    return load_config().linkage
