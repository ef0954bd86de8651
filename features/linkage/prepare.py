"""Both sides normalised for comparison: IDs, names, dates, free fields (:mod:`features.linkage`)."""

from __future__ import annotations

import math
from typing import Final

import polars as pl

from features.identity import ID_CHECK_CHARS, ID_WEIGHTS
from features.linkage.model import _SLOTS, Comparison, FieldKind, LinkColumns
from sentinel.contract import SEXES

_NAME_SEPARATORS: Final = r"[·•・．.\-_,，]"
_LN2: Final = math.log(2.0)


def _prepare_sides(
    records: pl.LazyFrame,
    register: pl.LazyFrame | pl.DataFrame,
    records_cols: LinkColumns,
    register_cols: LinkColumns,
    comps: tuple[Comparison, ...],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Both sides prepared; ``register`` a frame :func:`_prepare_register` already
    prepared when it is a ``DataFrame``."""
    if isinstance(register, pl.DataFrame):
        (recs,) = pl.collect_all([_prepare_side(records, records_cols, comps, "records")])
        _check_ids(recs, records_cols, "records")
        reg = register
    else:
        recs, reg = pl.collect_all(
            [
                _prepare_side(records, records_cols, comps, "records"),
                _prepare_side(register, register_cols, comps, "register"),
            ]
        )
        _check_ids(recs, records_cols, "records")
        _check_ids(reg, register_cols, "register")
        reg = reg.drop("id_text")
    recs, reg = recs.drop("id_text").with_row_index("_row"), reg.with_row_index("_row")
    return _confirmed_ids(recs, reg), reg.drop("pid_trusted")


def _prepare_register(
    register: pl.LazyFrame, cols: LinkColumns, comps: tuple[Comparison, ...]
) -> pl.DataFrame:
    """The register side as :func:`_prepare_sides` prepares it (without its row numbers)."""
    reg = _prepare_side(register, cols, comps, "register").collect()
    _check_ids(reg, cols, "register")
    return reg.drop("id_text")


def _check_ids(frame: pl.DataFrame, cols: LinkColumns, side: str) -> None:
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


def _sex_from_id_only(reg: pl.DataFrame) -> pl.DataFrame:
    """A prepared register's ``sex`` as it is prepared with no sex column mapped: the ID's
    (:func:`_filled_from_id` on the register side)."""
    return reg.with_columns(_id_sex(pl.col("pid")).alias("sex"))


def _id_sex(pid: pl.Expr) -> pl.Expr:
    """The sex the ID's 17th digit states (odd: male), where there is an ID."""
    return pl.when(pid.is_not_null()).then(
        pl.when(pid.str.slice(16, 1).cast(pl.Int8, strict=False) % 2 == 1)
        .then(pl.lit("M"))
        .otherwise(pl.lit("F"))
    )


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
    name = _name_of(cols.name)
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
    return _filled_from_id(_citizen_id(prepared, side), side)


def _name_of(name: str | tuple[str, ...] | None) -> pl.Expr:
    """The name column(s) as one normalised text (parts joined by a blank)."""
    if isinstance(name, tuple):
        raw_name = pl.concat_str(
            [_text(c).str.strip_chars() for c in name], separator=" ", ignore_nulls=True
        )
    else:
        raw_name = _text(name)
    return _name_text(_nfkc(raw_name).str.replace_all(_NAME_SEPARATORS, " "))


def _citizen_id(prepared: pl.LazyFrame, side: str) -> pl.LazyFrame:
    """``pid`` (a GB 11643 number, a 15-digit one widened, the check character its own when
    it has 18 characters), ``id_birth``, ``pid_valid`` and ``pid_trusted`` from ``id_text``."""
    pid = pl.col("pid")
    return (
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


def _filled_from_id(prepared: pl.LazyFrame, side: str) -> pl.LazyFrame:
    """``sex`` (and on the register ``birth``) taken from the ID where the field is empty."""
    pid = pl.col("pid")
    # The register's own ID speaks for what its fields leave empty; a record's ID may be
    # the mistyped part, so only a checksum-valid one does.
    known = pid.is_not_null() if side == "register" else pl.col("pid_trusted")
    filled = [pl.coalesce("sex", pl.when(known).then(_id_sex(pid))).alias("sex")]
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
        [(number // 10 ** (16 - i)) % 10 * w for i, w in enumerate(ID_WEIGHTS)]
    )
    return (total % 11).replace_strict(
        dict(enumerate(ID_CHECK_CHARS)), default=None, return_dtype=pl.String
    )


def _field_column(comp: Comparison) -> str:
    return {
        "person_id": "pid",
        "name": "name",
        "birth_date": "birth",
        "sex": "sex",
        "place": "place",
    }.get(comp.field, f"x_{comp.field}")
