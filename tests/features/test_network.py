"""Rings of persons and receivers (features/network.py)."""

from __future__ import annotations

import polars as pl

from features.network import connected_components


def components(edges: list[tuple[str, str, str]]) -> dict[str, str]:
    frame = pl.LazyFrame(edges, schema=["person_id", "receiver", "kind"], orient="row")
    return dict(connected_components(frame).collect().iter_rows())


def test_a_long_chain_is_one_ring_labelled_by_its_smallest_person():
    """Regression: labels spread a fixed eight rounds, so a longer chain was split."""
    # P00 - A0 - P01 - A1 - P02 ... : each account shared by two neighbours.
    edges = [(f"P{i:02d}", f"A{i}", "account") for i in range(20)]
    edges += [(f"P{i + 1:02d}", f"A{i}", "account") for i in range(20)]
    got = components(edges)
    assert set(got.values()) == {"P00"} and len(got) == 21


def test_an_account_and_a_collector_with_the_same_text_are_different_receivers():
    got = components([("P1", "X", "account"), ("P2", "X", "collector"), ("P3", "X", "collector")])
    assert got == {"P1": "P1", "P2": "P2", "P3": "P2"}


def test_separate_rings_keep_separate_labels_and_row_order_does_not_matter():
    edges = [("P9", "A", "account"), ("P4", "A", "account"), ("P7", "B", "collector"), ("P5", "B", "collector")]
    assert components(edges) == components(edges[::-1]) == {"P9": "P4", "P4": "P4", "P7": "P5", "P5": "P5"}
