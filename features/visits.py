"""Field-visit plans: the month's cases within capacity as day trips of a field auditor.

A case list (``OUT/YYYY-MM/cases.parquet``) names the cases the audit unit visits this
month (``audit_selection``: ``priority`` or ``exploration``). An auditor does not visit
them one by one across the county: a day goes to one township, and the people to see there
are grouped by village. :func:`visit_plan` makes that grouping:

1. **One stop per person**: a person with several cases is seen once; the stop lists every
   case, its typologies and evidence. Its rank is the person's best ``priority_rank``; its
   expected yuan is the largest ``risk_score × amount_at_stake`` of its cases (each case's
   amount at stake counts the same pension's coming months, so a sum would count them
   twice).
2. **Villages cut into day-sized pieces**: a village with more stops than
   ``max_visits`` is cut into pieces of ``max_visits`` stops in priority order (the first
   piece holds the village's most urgent people); a smaller village is one piece.
3. **Pieces packed into day trips, within a township**: pieces are taken by expected yuan,
   most valuable first, and each joins the first trip of its township that still has room
   for all its stops, or opens a new one ("first fit"). A village is thus never split over
   trips unless it alone holds more than a day's visits, and small villages of one township
   share a day. The register holds township and village but no coordinates, so the plan
   cannot tell which villages lie close together; a township is one road trip from the
   county seat, and its villages are what an auditor combines in a day.
   ``combine_villages=False`` keeps one village per trip.
4. **People with no village on the register** cannot be placed in a village: they go in
   trips of their own per township (``trip_villages`` empty), to be located at the
   township office. People with no township (a payee missing from the register) likewise
   form trips of their own.
5. **Trips by expected yuan**: trips are numbered 1..n by the sum of their stops' expected
   yuan, highest first; stops within a trip go village by village (the village holding the
   trip's most urgent person first) and by priority within a village.

Every tie is broken by priority rank (unique within a month), then by identifiers, so the
same case list gives the same plan. The address of a stop is its township and village as
the register holds them: the register carries no street address or house number.
"""

from __future__ import annotations

import polars as pl

__all__ = [
    "LIST_SEPARATOR",
    "VILLAGE_SEPARATOR",
    "VISIT_PLAN_COLUMNS",
    "WITHIN_CAPACITY",
    "visit_plan",
    "visit_plan_summary",
]

#: ``audit_selection`` values of the cases the month's visits are for.
WITHIN_CAPACITY: tuple[str, ...] = ("priority", "exploration")

#: Columns of a visit plan, one row per stop (a person to see), in this order.
VISIT_PLAN_COLUMNS: tuple[str, ...] = (
    "trip",
    "township",
    "trip_villages",
    "trip_stops",
    "trip_expected_yuan",
    "stop",
    "village",
    "address",
    "person_id",
    "name",
    "case_ids",
    "typology",
    "priority_rank",
    "evidence",
    "expected_yuan",
)

#: Joins the villages of a trip.
VILLAGE_SEPARATOR = "、"
#: Joins the case ids and the typologies of a stop.
LIST_SEPARATOR = ", "
# The case list joins a case's evidence sentences with "; ": a stop's cases are joined alike.
_EVIDENCE_SEPARATOR = "; "


def visit_plan(
    cases: pl.LazyFrame, max_visits: int, *, combine_villages: bool = True
) -> pl.LazyFrame:
    """The month's field visits as day trips of at most ``max_visits`` stops.

    ``cases``: a month's case list with at least ``case_id, person_id, name, township,
    village, typology, priority_rank, risk_score, amount_at_stake, evidence,
    audit_selection``. Only cases with ``audit_selection`` in :data:`WITHIN_CAPACITY` are
    planned, each exactly once. Returns one row per stop in :data:`VISIT_PLAN_COLUMNS`,
    ordered by ``trip`` then ``stop``: ``trip`` 1..n by ``trip_expected_yuan`` (yuan,
    highest first), ``trip_villages`` the trip's villages joined by ``、`` (null for a
    trip of people with no village on the register), ``address`` township and village as
    the register holds them (null without a township), ``case_ids`` and ``typology`` the
    stop's cases joined by ``, ``, ``expected_yuan`` the stop's largest
    ``risk_score × amount_at_stake`` (a missing score or amount counts 0). The module
    docstring says how villages are cut and packed. Raises ``ValueError`` when
    ``max_visits`` is below 1.
    """
    if max_visits < 1:
        raise ValueError(f"max_visits must be at least 1, got {max_visits}")
    stops = _stops(cases).with_columns(
        (
            pl.int_range(pl.len()).over("township", "village", order_by=_STOP_ORDER) // max_visits
        ).alias("piece")
    )
    packed = stops.map_batches(
        lambda frame: _pack_pieces(frame, max_visits, combine_villages),
        schema=stops.collect_schema() | {"trip_local": pl.Int64},
    )
    return _number_trips(packed)


def visit_plan_summary(plan: pl.LazyFrame) -> pl.LazyFrame:
    """Per township of a :func:`visit_plan`: ``trips``, ``stops``, ``cases`` and
    ``expected_yuan`` (the sum over its stops), in order of the township's first trip."""
    return (
        plan.group_by("township")
        .agg(
            pl.col("trip").n_unique().cast(pl.Int64).alias("trips"),
            pl.len().cast(pl.Int64).alias("stops"),
            pl.col("case_ids")
            .str.split(LIST_SEPARATOR)
            .list.len()
            .sum()
            .cast(pl.Int64)
            .alias("cases"),
            pl.col("expected_yuan").sum().round(2).alias("expected_yuan"),
            pl.col("trip").min().alias("_first_trip"),
        )
        .sort("_first_trip")
        .drop("_first_trip")
    )


# ------------------------------------------------------------------------ internals

#: Stops of one village in priority order; ranks are unique within a month, ids settle
#: anything else (a hand-made list).
_STOP_ORDER = ("priority_rank", "person_id")


def _stops(cases: pl.LazyFrame) -> pl.LazyFrame:
    """One row per person to see: the person's cases within capacity folded together."""
    within = cases.filter(pl.col("audit_selection").is_in(WITHIN_CAPACITY)).with_columns(
        (pl.col("risk_score").fill_null(0.0) * pl.col("amount_at_stake").fill_null(0.0))
        .round(2)
        .alias("expected_yuan"),
        # A case without a person (never on a list the product writes) is a stop of its own.
        pl.coalesce("person_id", "case_id").alias("_stop_key"),
    )
    return (
        within.sort("priority_rank", "case_id", nulls_last=True)
        .group_by("_stop_key", maintain_order=True)
        .agg(
            pl.col("person_id").first(),
            pl.col("name").drop_nulls().first(),
            pl.col("township").first(),
            pl.col("village").first(),
            pl.col("case_id").str.join(LIST_SEPARATOR).alias("case_ids"),
            pl.col("typology").unique(maintain_order=True).str.join(LIST_SEPARATOR),
            pl.col("priority_rank").min(),
            pl.col("evidence").drop_nulls().str.join(_EVIDENCE_SEPARATOR),
            pl.col("expected_yuan").max(),
        )
        .drop("_stop_key")
        .with_columns(
            pl.when(pl.col("township").is_not_null())
            .then(pl.concat_str("township", "village", ignore_nulls=True))
            .alias("address"),
            pl.col("evidence").replace("", None),
        )
    )


def _worth(stops: str, yuan: str, best: str, first_person: str) -> tuple[pl.Expr, ...]:
    """What a group of stops (a village piece, a trip) is worth, under the names given: its
    stops, expected yuan, best priority rank and least person id (the last tie-breaker).
    Pieces and trips are ranked on the same figures."""
    return (
        pl.len().cast(pl.Int64).alias(stops),
        pl.col("expected_yuan").sum().round(2).alias(yuan),
        pl.col("priority_rank").min().alias(best),
        pl.col("person_id").min().alias(first_person),
    )


def _pack_pieces(stops: pl.DataFrame, max_visits: int, combine: bool) -> pl.DataFrame:
    """``stops`` with ``trip_local``: the trip of its township each village piece joins
    (first fit, most valuable piece first; a piece without a village never shares)."""
    pieces = (
        stops.group_by("township", "village", "piece")
        .agg(*_worth("size", "yuan", "best", "first_person"))
        .sort(
            ["township", "yuan", "best", "first_person"],
            descending=[False, True, False, False],
            nulls_last=True,
        )
    )
    trips: list[int] = []
    room: list[int] = []  # stops still free in each open trip of the current township
    township: object = object()
    for row in pieces.iter_rows(named=True):
        if row["township"] != township:
            township, room = row["township"], []
        shares = combine and row["village"] is not None
        fits = [k for k, free in enumerate(room) if shares and free >= row["size"]]
        if fits:
            room[fits[0]] -= row["size"]
            trips.append(fits[0])
        else:
            room.append(max_visits - row["size"] if shares else -1)
            trips.append(len(room) - 1)
    assigned = pieces.select("township", "village", "piece").with_columns(
        pl.Series("trip_local", trips, dtype=pl.Int64)
    )
    return stops.join(assigned, on=["township", "village", "piece"], how="left", nulls_equal=True)


def _number_trips(stops: pl.LazyFrame) -> pl.LazyFrame:
    """Trips numbered by expected yuan, stops numbered within their trip, plan columns."""
    trip_key = ("township", "trip_local")
    village_best = pl.col("priority_rank").min().over(*trip_key, "village")
    stops = stops.with_columns(village_best.alias("_village_best")).sort(
        "_village_best", "village", *_STOP_ORDER, nulls_last=True
    )
    trips = (
        stops.group_by(*trip_key)
        .agg(
            pl.col("village")
            .drop_nulls()
            .unique(maintain_order=True)
            .str.join(VILLAGE_SEPARATOR)
            .replace("", None)
            .alias("trip_villages"),
            *_worth("trip_stops", "trip_expected_yuan", "_trip_best", "_trip_person"),
        )
        .sort(
            ["trip_expected_yuan", "_trip_best", "township", "_trip_person"],
            descending=[True, False, False, False],
            nulls_last=True,
        )
        .with_columns(pl.int_range(1, pl.len() + 1).alias("trip"))
    )
    return (
        stops.join(trips, on=list(trip_key), how="left", nulls_equal=True)
        .with_columns(
            pl.int_range(1, pl.len() + 1)
            .over("trip", order_by=["_village_best", "village", *_STOP_ORDER])
            .alias("stop")
        )
        .sort("trip", "stop")
        .select(VISIT_PLAN_COLUMNS)
    )
