"""A file's text columns made the contract's: headers (English or Chinese) mapped to the
canonical column names, values stripped, the header checked.

Every reader (CSV, parquet, xlsx) hands over positional text columns ``c0, c1, ...`` with
``_row`` and ``_malformed``; :func:`conform_to_contract` names and cleans them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeVar

import polars as pl

from sentinel.contract import ContractError, Dataset

HeaderLanguage = Literal["en", "zh", "mixed"]
Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)

ROW_COLUMN = "_row"
MALFORMED_COLUMN = "_malformed"

# Columns holding identity numbers: text exactly as typed, except a lowercase check 'x'.
_ID_LIKE_COLUMNS = frozenset({"person_id", "collector_id"})


def clean_header(name: object) -> str:
    """A header cell as text, without a byte-order mark or surrounding whitespace."""
    return str(name).replace("\ufeff", "").strip()


@dataclass
class _HeaderMap:
    """What a file's header row names: contract columns (by the header that named them),
    extra columns (by their position), the renames and the header languages seen."""

    canonical_source: dict[str, str] = field(default_factory=dict)
    extras: dict[str, str] = field(default_factory=dict)
    renames: dict[str, str] = field(default_factory=dict)
    languages: set[str] = field(default_factory=set)

    def language(self) -> HeaderLanguage:
        if len(self.languages) != 1:
            return "mixed"
        return "en" if "en" in self.languages else "zh"


def conform_to_contract(
    headers: list[str], cells: Frame, dataset: Dataset, file: str
) -> tuple[Frame, HeaderLanguage]:
    """Rename positional columns to canonical names, clean values, check the header
    (a lazy ``cells`` gives a lazy frame: a province file is conformed while streamed)."""
    names = _map_headers(headers, cells, dataset, file)
    _check_required(names, dataset, file)
    canonical_source, extras = names.canonical_source, names.extras
    frame = cells.rename(names.renames).select(
        *(
            _cleaned(c.name, dataset, canonical_source)
            if c.name in canonical_source
            else pl.lit(None, dtype=pl.String).alias(c.name)
            for c in dataset.columns
        ),
        *(_cleaned(name, dataset, canonical_source) for name in extras),
        pl.col(ROW_COLUMN).cast(pl.Int64),
        pl.col(MALFORMED_COLUMN).cast(pl.String),
    )
    # A row of bare separators (",,,,," left by spreadsheet exports) carries nothing.
    values = [*canonical_source, *extras]
    empty = pl.all_horizontal(pl.col(values).is_null()) & pl.col(MALFORMED_COLUMN).is_null()
    return frame.filter(~empty), names.language()


def _map_headers(
    headers: list[str], cells: pl.DataFrame | pl.LazyFrame, dataset: Dataset, file: str
) -> _HeaderMap:
    """Each header as a contract column, an extra column, or (blank over an empty column)
    nothing; two headers for one column or a duplicate extra header are refused."""
    aliases = dataset.header_aliases()
    lowered = {c.name.lower(): c.name for c in dataset.columns}
    names = _HeaderMap()
    for i, raw in enumerate(headers):
        header = clean_header(raw)
        position = f"c{i}"
        name = aliases.get(header) or lowered.get(header.lower())
        if name is not None:
            if name in names.canonical_source:
                raise ContractError(
                    file,
                    name,
                    "two headers map to the same column: "
                    f"{names.canonical_source[name]!r} and {header!r}",
                )
            names.canonical_source[name] = header
            names.languages.add("en" if header.lower() == name else "zh")
            names.renames[position] = name
            continue
        if header == "":
            blank = (
                cells.lazy()
                .select(pl.col(position).str.strip_chars().replace("", None).is_null().all())
                .collect()
                .item()
            )
            if blank:
                continue  # a trailing separator in the export, not a column
            header = f"unnamed_{i + 1}"
        if header in names.extras:
            raise ContractError(file, header, "duplicate header")
        names.extras[header] = position
        names.renames[position] = header
    return names


def _check_required(names: _HeaderMap, dataset: Dataset, file: str) -> None:
    """Refuse a file missing a required column, naming the headers that would do."""
    missing = [
        c.name for c in dataset.columns if c.required and c.name not in names.canonical_source
    ]
    if missing:
        column = dataset.column(missing[0])
        accepted = ", ".join([column.name, *column.aliases])
        more = f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""
        raise ContractError(
            file, column.name, f"required column missing (accepted headers: {accepted}){more}"
        )


def _cleaned(name: str, dataset: Dataset, canonical_source: dict[str, str]) -> pl.Expr:
    """The column's text stripped, empty as null, an ID's lower-case check ``x`` upper."""
    # (An empty text becomes null by its length, and only IDs ending in a lower-case x
    # meet the regular expression: on a province's 20M rows each costs seconds.)
    stripped = pl.col(name).str.strip_chars()
    value = pl.when(stripped.str.len_bytes() > 0).then(stripped)
    if name in _ID_LIKE_COLUMNS or (name in canonical_source and dataset.column(name).kind == "id"):
        value = (
            pl.when(value.str.ends_with("x"))
            .then(value.str.replace(r"^(\d{17})x$", "${1}X"))
            .otherwise(value)
        )
    return value.alias(name)
