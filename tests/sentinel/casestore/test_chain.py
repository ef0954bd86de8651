"""The hash chain over the case events and the review audit log: every write sealed, any
change by hand found and named (SQLite and PostgreSQL)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from sentinel.casestore import CaseStore
from sentinel.casestore.chain import GENESIS, check_history, history_chains, row_hash
from sentinel.cli import app
from sentinel.review.store import ReviewStore

sys.path.insert(0, str(Path(__file__).parents[1]))  # the shared case builders
from case_builders import deceased_paid_listing  # noqa: E402

runner = CliRunner()
AT = datetime(2020, 3, 5, 9, 30, tzinfo=UTC)


@pytest.fixture
def store(store_url: str):  # type: ignore[no-untyped-def]
    with CaseStore(store_url) as opened:
        opened.record_month(
            "2020-02", deceased_paid_listing("p1", "p2", "p3", tier=2), clear_months=12
        )
        opened.record_month("2020-03", deceased_paid_listing("p1", "p2", tier=2), clear_months=12)
        opened.assign("DP-p1", "wang", "zhao", now=AT)
        ReviewStore(opened.engine).log("wang", "view_case", "DP-p1", {"month": "2020-03"}, now=AT)
        yield opened


def slip_in_unsealed_audit_row(store: CaseStore) -> None:
    """An audit-log row written by hand, past the product's seal."""
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO review_audit (at, username, action) VALUES (:at, 'mallory', 'view_case')"
            ),
            {"at": AT},
        )


def test_every_write_is_sealed_and_the_history_holds(store: CaseStore) -> None:
    result = check_history(store.engine)
    assert result.holds, result.broken
    assert result.heads["events"]["position"] == store.events().height
    assert result.heads["review_audit"]["position"] == 1
    assert result.rows_checked == store.events().height + 1


def test_a_hand_edited_event_row_is_found_and_named(store: CaseStore) -> None:
    target = int(store.events()["id"][2])
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE events SET actor = 'mallory' WHERE id = :id"), {"id": target})
    result = check_history(store.engine)
    assert result.broken is not None
    assert (result.broken.table, result.broken.row_id, result.broken.position) == (
        "events",
        target,
        3,
    )
    assert "changed after it was written" in str(result.broken)


def test_a_removed_row_and_a_row_slipped_in_by_hand_are_found(store: CaseStore) -> None:
    ids = store.events()["id"].to_list()
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM events WHERE id = :id"), {"id": ids[1]})
    broken = check_history(store.engine).broken
    assert broken is not None and broken.position == 2 and "removed" in broken.problem
    # Put back by hand without a seal: still not the history the product wrote.
    slip_in_unsealed_audit_row(store)
    broken = check_history(store.engine).broken
    assert broken is not None and broken.table == "events"


def test_an_unsealed_row_is_named(store: CaseStore) -> None:
    slip_in_unsealed_audit_row(store)
    broken = check_history(store.engine).broken
    assert (
        broken is not None and broken.table == "review_audit" and "never sealed" in broken.problem
    )


def test_a_chain_recomputed_by_hand_differs_from_the_heads_a_run_recorded(store: CaseStore) -> None:
    recorded = check_history(store.engine).heads
    chain = next(c for c in history_chains(store.engine) if c.name == "events")
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE events SET actor = 'mallory' WHERE chain_seq = 1"))
        rows = conn.execute(select(chain.table).order_by(chain.table.c.chain_seq)).mappings().all()
        previous = GENESIS
        for row in rows:
            previous = row_hash(previous, dict(row), chain.columns)
            conn.execute(
                text("UPDATE events SET row_hash = :h WHERE id = :id"),
                {"h": previous, "id": row["id"]},
            )
    assert check_history(store.engine).holds  # consistent in itself ...
    broken = check_history(store.engine, [recorded]).broken  # ... but not the recorded history
    assert broken is not None and "rewritten" in broken.problem


def test_re_deriving_months_keeps_the_chain(store: CaseStore) -> None:
    store.rederive_from("2020-03", reason="payouts.csv of 2020-03 changed", now=AT)
    store.record_month("2020-03", deceased_paid_listing("p1", "p2", tier=2), clear_months=12)
    assert check_history(store.engine).holds


def test_failed_login_counters_stay_outside_the_chain(store: CaseStore) -> None:
    users = ReviewStore(store.engine)
    for _ in range(3):
        users.count_event("nobody", "login_failed", now=AT)
    assert check_history(store.engine).holds


def test_audit_verify_names_the_first_broken_link(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    out.mkdir()
    with CaseStore(out / "cases.sqlite") as opened:
        opened.record_month("2020-02", deceased_paid_listing("p1", "p2", tier=2), clear_months=12)
    ok = runner.invoke(app, ["audit", "verify", "--out", str(out)])
    assert ok.exit_code == 0, ok.output
    assert "history holds" in ok.output
    with CaseStore(out / "cases.sqlite") as opened, opened.engine.begin() as conn:
        conn.execute(text("UPDATE events SET detail = NULL WHERE chain_seq = 2"))
    bad = runner.invoke(app, ["audit", "verify", "--out", str(out)])
    assert bad.exit_code == 1
    assert "events row id" in bad.output and "chain position 2" in bad.output


def test_a_check_from_a_verified_head_hashes_only_the_rows_written_since(
    store: CaseStore,
) -> None:
    """Regression guard: a monthly run's check starts from the heads the month before
    verified; an edit after them is still found, one before them only by the full check."""
    verified = check_history(store.engine).heads
    store.record_month("2020-04", deceased_paid_listing("p1", "p4", tier=2), clear_months=12)
    since = check_history(store.engine, [verified], since=verified)
    assert since.holds, since.broken
    assert since.rows_checked == store.events().height - verified["events"]["position"] > 0
    assert since.checked_after == {"events": verified["events"]["position"], "review_audit": 1}
    assert since.heads == check_history(store.engine).heads
    position = verified["events"]["position"]
    # Before the head first: an edit after it would break both checks from then on.
    for edited, found_from_head in ((position - 1, False), (position + 1, True)):
        with store.engine.begin() as conn:
            conn.execute(
                text("UPDATE events SET actor = 'mallory' WHERE chain_seq = :seq"), {"seq": edited}
            )
        broken = check_history(store.engine, [verified], since=verified).broken
        assert (broken is not None) == found_from_head
        full = check_history(store.engine, [verified]).broken
        assert full is not None and "changed after it was written" in full.problem


def test_a_check_from_a_head_no_longer_in_the_chain_says_the_history_was_rewritten(
    store: CaseStore,
) -> None:
    verified = check_history(store.engine).heads
    position = verified["events"]["position"]
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE events SET row_hash = :h WHERE chain_seq = :seq"),
            {"h": GENESIS, "seq": position},
        )
    broken = check_history(store.engine, [verified], since=verified).broken
    assert broken is not None and broken.position == position and "rewritten" in broken.problem
