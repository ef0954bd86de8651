"""Name sounds (features/linkage/names.py): pinyin keys of names."""

from __future__ import annotations

import polars as pl
import pytest

from features.linkage.names import _sound_key, _sound_keys


@pytest.mark.parametrize("dialect", [False, True])
def test_sound_key_is_the_sounds_joined(dialect: bool) -> None:
    names = pl.Series("name", ["曾国藩", "单田芳", "黄建华", "john smith", "刘x", "王", None])
    frame = names.to_frame().select(
        _sound_key(pl.col("name"), dialect=dialect).alias("key"),
        _sound_keys(pl.col("name"), dialect=dialect).list.join(" ").alias("joined"),
    )
    assert frame["key"].to_list() == frame["joined"].to_list()
