"""Chinese names by sound: pinyin, dialect-merged pinyin and surname readings (:mod:`features.linkage`)."""

from __future__ import annotations

from functools import lru_cache
from typing import Final

import polars as pl
from pypinyin import lazy_pinyin

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
