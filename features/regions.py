"""Administrative region codes (GB/T 2260), from python-stdnum's maintained table.

Old identity numbers keep the region code of the place that issued them, so a code that
no longer exists is a *warning* (``region_current`` false), never a rejection.
"""

from __future__ import annotations

import re
from functools import lru_cache

import polars as pl
from stdnum import numdb

_YEARS = re.compile(r"^\[(\d{4})?-(\d{4})?\]")


@lru_cache(maxsize=1)
def region_table() -> pl.DataFrame:
    """Every 6-digit county-level code stdnum knows: ``region_code``, ``county``, ``region_current``.

    ``region_current`` is false for codes abolished in an earlier administrative change
    (stdnum marks them ``[-YYYY]``).
    """
    db = numdb.get("cn/loc")
    codes: list[str] = []
    names: list[str] = []
    current: list[bool] = []
    for prov_code, _prov_info, prefixes in _walk(db):
        for county_code, county_info in prefixes:
            raw = county_info.get("county", "")
            match = _YEARS.match(raw)
            ended = bool(match and match.group(2))
            codes.append(prov_code + county_code)
            names.append(_YEARS.sub("", raw))
            current.append(not ended)
    frame = pl.DataFrame(
        {"region_code": codes, "county": names, "region_current": current},
        schema={"region_code": pl.String, "county": pl.String, "region_current": pl.Boolean},
    )
    # A code reused after abolition appears twice: current wins.
    return frame.sort("region_current", descending=True).unique("region_code", keep="first")


def _walk(db: numdb.NumDB):  # type: ignore[name-defined]
    # numdb rows are (length, low, high, properties, children).
    for _len, prov_lo, _prov_hi, prov_props, children in db.prefixes:
        yield prov_lo, prov_props, [(lo, props) for _l, lo, _hi, props, _c in children]
