"""Fields, comparisons and levels (features/linkage/model.py)."""

from __future__ import annotations

import pytest

from features.linkage import Comparison, Level


def test_level_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match="similarity 'cosine' unknown"):
        Level.similar("cosine", 0.9)
    with pytest.raises(ValueError, match="at_least"):
        Level.similar("jaro_winkler", 1.5)
    with pytest.raises(ValueError, match="edits"):
        Level.within_edits(0)
    with pytest.raises(ValueError, match="no levels"):
        Comparison("village", ())
