"""The visit plan page's trips (``/plan``, docs/review.md): a month's visit plan
(:func:`sentinel.io.visit_plans.read_visit_plan`) shaped for the template and masked as
on every list page.

A list page shows identity numbers masked and names cut to the surname
(:mod:`sentinel.masking`), whatever the role: the full ones are on the case page (for
``review.full_id_roles``) and on the printed sheets of ``sentinel plan visits``. The names
an evidence sentence lists of other people (a shared account's receivers) are starred, as
on the queue, for every role.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from features.visits import LIST_SEPARATOR
from sentinel.masking import mask_id, mask_text, short_name
from sentinel.review.evidence_text import evidence_sentences, withhold_names

__all__ = ["plan_trips"]

#: Stands for a name withheld from a sentence (the queue's marker).
_WITHHELD = "**"


def plan_trips(plan: pl.DataFrame, states: Mapping[str, str | None]) -> list[dict[str, Any]]:
    """One dict per trip of ``plan`` in trip order: ``trip, township, villages, stops,
    yuan`` and ``rows``, its stops (``stop, village, address, person_masked,
    name_short, cases`` — each ``{"id", "state"}`` with the case store's state from
    ``states`` — ``typologies, sentences, expected_yuan``)."""
    return [
        {
            "trip": rows["trip"][0],
            "township": rows["township"][0],
            "villages": rows["trip_villages"][0],
            "stops": rows["trip_stops"][0],
            "yuan": rows["trip_expected_yuan"][0],
            "rows": [_stop(r, states) for r in rows.iter_rows(named=True)],
        }
        for rows in plan.sort("trip", "stop").partition_by("trip", maintain_order=True)
    ]


def _stop(row: dict[str, Any], states: Mapping[str, str | None]) -> dict[str, Any]:
    # As on the queue: no one's name in full on a list page, whatever the role.
    evidence = withhold_names(row["evidence"], lambda _: False, _WITHHELD)
    return {
        "stop": row["stop"],
        "village": row["village"],
        "address": row["address"],
        "person_masked": mask_id(row["person_id"]),
        "name_short": short_name(row["name"]),
        "cases": [{"id": c, "state": states.get(c)} for c in row["case_ids"].split(LIST_SEPARATOR)],
        "typologies": row["typology"].split(LIST_SEPARATOR),
        "sentences": [mask_text(s) for s in evidence_sentences(evidence)],
        "expected_yuan": row["expected_yuan"],
    }
