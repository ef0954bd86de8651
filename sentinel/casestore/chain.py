"""A hash chain over the history tables: rows cannot be changed, removed or slipped in unseen.

Every row of a chained table (the case events, the review app's audit log) gets a place in
its table's chain (``chain_seq``: 1, 2, ...) and ``row_hash`` = SHA-256 of the previous row's
hash and the row's own content. Rows are sealed by the transaction that writes them, at its
end, one sealer at a time (PostgreSQL: an advisory lock; SQLite writes one transaction at a
time), so concurrent writers never fork the chain.

:func:`verify_chains` recomputes every chain and names the first broken link: a row whose
content no longer gives its hash (changed after it was written), a position missing (a row
removed), a row never sealed (slipped in by hand), or a hash that differs from the chain
head a monthly run wrote into its manifest (the whole chain recomputed by someone who knows
the algorithm).

A monthly run checks from the head the month before it verified (``since``): the rows
written since are recomputed from that head's hash, the head must still be the row it was,
and every recorded head must still be there. A row already verified that is edited later is
found by the full check (``sentinel audit verify``, the review app), which recomputes every
chain from its first row.

The one rewrite the product itself makes, moving the listings of re-derived months out of
their month (``CaseStore.rederive_from``), seals the chain again from the first row it
changed, and says so in a ``rederived`` event. The review app's per-minute counters of
failed logins (``bucket`` set) are throttling state that is counted up in place, not
history: they are outside the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import MetaData, Table, bindparam, inspect, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

__all__ = [
    "CHAINED",
    "GENESIS",
    "Chain",
    "ChainBreak",
    "HistoryCheck",
    "chain_heads",
    "check_history",
    "history_chains",
    "row_hash",
    "seal",
    "verify_chains",
]

GENESIS = "0" * 64
#: The chained tables: their content columns, in order, and the column that, when set,
#: keeps a row out of the chain (the audit log's per-minute counters).
CHAINED: dict[str, tuple[tuple[str, ...], str | None]] = {
    "events": (("case_id", "at", "actor", "kind", "month", "detail"), None),
    "review_audit": (("at", "username", "action", "case_id", "detail"), "bucket"),
}
# Any fixed number: the advisory lock that lets one transaction seal at a time.
_LOCK_KEY = 7_236_001


@dataclass(frozen=True)
class Chain:
    """One chained table: its content columns, in order, and which rows belong."""

    table: Table
    columns: tuple[str, ...]
    where: ColumnElement[bool] | None = None

    @property
    def name(self) -> str:
        return self.table.name


@dataclass(frozen=True)
class ChainBreak:
    """The first broken link of a chain."""

    table: str
    row_id: int | None
    position: int | None
    problem: str

    def __str__(self) -> str:
        where = f"{self.table}" + (f" row id {self.row_id}" if self.row_id is not None else "")
        at = f" (chain position {self.position})" if self.position is not None else ""
        return f"{where}{at}: {self.problem}"


def history_chains(bind: Engine | Connection) -> list[Chain]:
    """The chains of :data:`CHAINED` over the tables as they are in the database."""
    chains = []
    for name, (columns, outside) in CHAINED.items():
        if not inspect(bind).has_table(name):
            continue
        table = Table(name, MetaData(), autoload_with=bind)
        chains.append(Chain(table, columns, table.c[outside].is_(None) if outside else None))
    return chains


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        # SQLite hands timestamps back without their zone: both are UTC here.
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def row_hash(previous: str, row: dict[str, Any], columns: Sequence[str]) -> str:
    """SHA-256 of the previous hash and the row's content columns (canonical JSON)."""
    content = json.dumps(
        [_canonical(row[c]) for c in columns], sort_keys=True, ensure_ascii=False, default=str
    )
    return hashlib.sha256(f"{previous}\n{content}".encode()).hexdigest()


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def _rows(conn: Connection, chain: Chain, condition: ColumnElement[bool]) -> list[dict[str, Any]]:
    t = chain.table
    query = select(t.c.id, t.c.chain_seq, t.c.row_hash, *[t.c[c] for c in chain.columns]).where(
        condition
    )
    if chain.where is not None:
        query = query.where(chain.where)
    return [dict(r) for r in conn.execute(query.order_by(t.c.chain_seq, t.c.id)).mappings()]


def seal(conn: Connection, chain: Chain, *, from_seq: int | None = None) -> int:
    """Give the chain's unsealed rows their place and hash, inside the writing transaction;
    with ``from_seq``, first hash every row from that position again (a rewrite by the
    product itself). Returns how many rows were sealed or sealed again."""
    _lock(conn)
    t = chain.table
    start = from_seq if from_seq is not None else None
    if start is None:
        seq, previous = _head(conn, t)
        again: list[dict[str, Any]] = []
    else:
        before = conn.execute(select(t.c.row_hash).where(t.c.chain_seq == start - 1)).scalar()
        seq, previous = start - 1, before or GENESIS
        again = _rows(conn, chain, t.c.chain_seq >= start)
    fresh = _rows(conn, chain, t.c.chain_seq.is_(None))
    updates = []
    for row in [*again, *fresh]:
        seq += 1
        previous = row_hash(previous, row, chain.columns)
        updates.append({"key": row["id"], "seq": seq, "hash": previous})
    if updates:
        conn.execute(
            update(t)
            .where(t.c.id == bindparam("key"))
            .values(chain_seq=bindparam("seq"), row_hash=bindparam("hash")),
            updates,
        )
    return len(updates)


def chain_heads(engine: Engine, chains: Sequence[Chain]) -> dict[str, dict[str, Any]]:
    """Each chain's last position and hash (what a monthly run writes into its manifest)."""
    heads: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        for chain in chains:
            position, head = _head(conn, chain.table)
            heads[chain.name] = {"position": position, "hash": head}
    return heads


def _head(conn: Connection, table: Table) -> tuple[int, str]:
    """The position and hash of the table's last sealed row; (0, :data:`GENESIS`) when none."""
    last = conn.execute(
        select(table.c.chain_seq, table.c.row_hash)
        .where(table.c.chain_seq.is_not(None))
        .order_by(table.c.chain_seq.desc())
        .limit(1)
    ).first()
    return (last[0], last[1]) if last is not None else (0, GENESIS)


def verify_chains(
    engine: Engine,
    chains: Sequence[Chain],
    anchors: Sequence[dict[str, dict[str, Any]]] = (),
    since: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[int, ChainBreak | None]:
    """Recompute every chain; returns the rows checked and the first broken link (None when
    every chain holds). ``anchors``: chain heads written earlier (:func:`chain_heads`), each
    of which must still be in its chain.

    ``since``: chain heads verified earlier (a month's heads whose check held): each chain is
    recomputed only after its head, from the head's hash; the head's row must still carry
    that hash, and an anchor at or before it is compared with the stored hash of its row.
    Without it (or at position 0) every chain is recomputed from its first row."""
    checked = 0
    with engine.connect() as conn:
        for chain in chains:
            t = chain.table
            verified = (since or {}).get(chain.name) or {}
            start = int(verified.get("position") or 0)
            previous = str(verified.get("hash") or GENESIS)
            stored: dict[int, str] = {}
            if start:
                earlier = {start} | {
                    int(a[chain.name]["position"])
                    for a in anchors
                    if a.get(chain.name) and 0 < a[chain.name]["position"] <= start
                }
                stored = {
                    seq: digest
                    for seq, digest in conn.execute(
                        select(t.c.chain_seq, t.c.row_hash).where(t.c.chain_seq.in_(earlier))
                    )
                }
                if stored.get(start) != previous:
                    return checked, ChainBreak(
                        chain.name,
                        None,
                        start,
                        "differs from the chain head a monthly run verified: the history was rewritten",
                    )
            after = (
                (t.c.chain_seq > start) | t.c.chain_seq.is_(None) if start else t.c.id.is_not(None)
            )
            rows = _rows(conn, chain, after)
            hashes: dict[int, str] = dict(stored)
            for expected, row in enumerate(
                (r for r in rows if r["chain_seq"] is not None), start=start + 1
            ):
                if row["chain_seq"] != expected:
                    return checked, ChainBreak(
                        chain.name, row["id"], expected, "a row before this one was removed"
                    )
                previous = row_hash(previous, row, chain.columns)
                if previous != row["row_hash"]:
                    return checked, ChainBreak(
                        chain.name,
                        row["id"],
                        expected,
                        "its content does not give its hash: changed after it was written",
                    )
                hashes[expected] = previous
                checked += 1
            # A committed row is sealed by the transaction that wrote it.
            unsealed = [r for r in rows if r["chain_seq"] is None]
            if unsealed:
                return checked, ChainBreak(
                    chain.name, unsealed[0]["id"], None, "never sealed: written outside the product"
                )
            for anchor in anchors:
                head = anchor.get(chain.name)
                if head and head["position"] and hashes.get(head["position"]) != head["hash"]:
                    return checked, ChainBreak(
                        chain.name,
                        None,
                        head["position"],
                        "differs from the chain head a monthly run recorded: the history was rewritten",
                    )
    return checked, None


@dataclass(frozen=True)
class HistoryCheck:
    """What :func:`check_history` found: rows checked, the first broken link, the heads;
    ``checked_after``: per chain, the position of the verified head the check started from
    (0: the whole chain was recomputed)."""

    rows_checked: int
    broken: ChainBreak | None
    heads: dict[str, dict[str, Any]]
    checked_after: dict[str, int] = field(default_factory=dict)

    @property
    def holds(self) -> bool:
        return self.broken is None

    def as_json(self) -> dict[str, Any]:
        return {
            "holds": self.holds,
            "rows_checked": self.rows_checked,
            "checked_after": self.checked_after,
            "first_broken_link": None if self.broken is None else str(self.broken),
            "heads": self.heads,
        }


def check_history(
    engine: Engine,
    anchors: Sequence[dict[str, dict[str, Any]]] = (),
    since: Mapping[str, Mapping[str, Any]] | None = None,
) -> HistoryCheck:
    """Verify the case events' and the audit log's chains against themselves and the
    ``anchors`` (heads recorded by earlier monthly runs); with the heads as they are now.

    ``since``: the heads a check that held verified (a monthly run passes the month
    before's): only the rows written after them are recomputed (:func:`verify_chains`).
    Without it the whole history is recomputed, as ``sentinel audit verify`` does."""
    chains = history_chains(engine)
    checked, broken = verify_chains(engine, chains, anchors, since)
    after = {c.name: int(((since or {}).get(c.name) or {}).get("position") or 0) for c in chains}
    return HistoryCheck(checked, broken, chain_heads(engine, chains), after)
