"""What the review app keeps next to the case store: users, sessions, failed logins and
the audit trail of who looked at or changed which case.

The tables (:mod:`sentinel.review.tables`) live in the case store's database (the SQLite
file under OUT, or the PostgreSQL database named by ``$SENTINEL_DATABASE_URL``), prefixed
``review_``; the case store's own tables are read and written only through
:class:`sentinel.casestore.CaseStore` (assignments and outcomes) or read here (a month's
listing). The detail of an audit-trail line never holds a full identity number, name or
account.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine, and_, delete, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from features.identity import ID_WELL_FORMED, id_checksum_ok
from sentinel.casestore.chain import seal
from sentinel.masking import mask_id
from sentinel.migrations import upgrade
from sentinel.review import tables
from sentinel.review.tables import AUDIT_CHAIN, MAX_USERNAME, ROLES, Role

__all__ = ["AuditEntry", "ReviewStore", "Session", "User", "relatives_failing_check"]


@dataclass(frozen=True)
class User:
    """A person who signs in: ``townships`` are the ones an auditor works (empty for others)."""

    username: str
    role: Role
    townships: tuple[str, ...]
    active: bool
    password_hash: str
    village: str | None = None
    relatives: tuple[str, ...] = ()

    def recused_from(
        self, person_id: str | None, village: str | None, *, own_village: bool, relatives: bool
    ) -> str | None:
        """Why this user may not audit a case of ``person_id`` in ``village`` (回避): a
        relative's, or of their own village, as far as the configuration asks; None when
        they may."""
        if relatives and person_id is not None and person_id.strip().upper() in self.relatives:
            return "relative"
        if (
            own_village
            and village is not None
            and self.village is not None
            and village == self.village
        ):
            return "own_village"
        return None


@dataclass(frozen=True)
class Session:
    """A signed-in browser: the user and the CSRF token every form of it must carry."""

    username: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit trail."""

    at: datetime
    username: str
    action: str
    case_id: str | None
    detail: dict[str, Any] | None
    count: int = 1


class ReviewStore:
    """Users, sessions, failed logins and the audit trail, on the case store's engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        upgrade(engine)

    # ------------------------------------------------------------------ users

    def add_user(
        self,
        username: str,
        role: Role,
        password_hash: str,
        townships: tuple[str, ...] = (),
        *,
        village: str | None = None,
        relatives: tuple[str, ...] = (),
        now: datetime | None = None,
    ) -> User:
        """Create a user; raises ``ValueError`` for a taken or malformed name, an unknown
        role, or an auditor without a township (an auditor works townships)."""
        name = username.strip()
        if not name or len(name) > MAX_USERNAME or any(c.isspace() for c in name):
            raise ValueError(f"user name must be 1..{MAX_USERNAME} characters without spaces")
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        kept = tuple(dict.fromkeys(t.strip() for t in townships if t.strip()))
        if role == "auditor" and not kept:
            raise ValueError("an auditor needs at least one --township")
        if self.user(name) is not None:
            raise ValueError(f"user {name} exists already")
        with self.engine.begin() as conn:
            conn.execute(
                insert(tables.users).values(
                    username=name,
                    role=role,
                    townships=list(kept),
                    password_hash=password_hash,
                    active=True,
                    created_at=now or datetime.now(UTC),
                    village=(village or "").strip() or None,
                    relatives=_relatives(relatives),
                )
            )
        return User(
            name,
            role,
            kept,
            True,
            password_hash,
            (village or "").strip() or None,
            tuple(_relatives(relatives)),
        )

    def set_recusal(
        self, username: str, *, village: str | None, relatives: tuple[str, ...]
    ) -> bool:
        """Replace a user's village and relatives (回避); False when the user is unknown."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(tables.users)
                .where(tables.users.c.username == username)
                .values(village=(village or "").strip() or None, relatives=_relatives(relatives))
            ).rowcount
        return bool(changed)

    def user(self, username: str) -> User | None:
        """The user of that name, active or not; None when unknown."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(tables.users).where(tables.users.c.username == username))
                .mappings()
                .first()
            )
        return _user(row) if row is not None else None

    def users(self) -> list[User]:
        """Every user, by name."""
        with self.engine.connect() as conn:
            rows = (
                conn.execute(select(tables.users).order_by(tables.users.c.username))
                .mappings()
                .all()
            )
        return [_user(r) for r in rows]

    def set_active(self, username: str, active: bool) -> bool:
        """Enable or disable a user; disabling ends their sessions. False when unknown."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(tables.users)
                .where(tables.users.c.username == username)
                .values(active=active)
            ).rowcount
            if not active:
                conn.execute(delete(tables.sessions).where(tables.sessions.c.username == username))
        return bool(changed)

    def set_password_hash(self, username: str, password_hash: str) -> None:
        """Replace a password hash (after a rehash with stronger parameters)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(tables.users)
                .where(tables.users.c.username == username)
                .values(password_hash=password_hash)
            )

    # ------------------------------------------------------------------ sessions

    def open_session(
        self, username: str, lifetime: timedelta, *, now: datetime | None = None
    ) -> str:
        """Start a session and return its cookie token (only its hash is stored)."""
        at = now or datetime.now(UTC)
        token = secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(delete(tables.sessions).where(tables.sessions.c.expires_at < at))
            conn.execute(
                insert(tables.sessions).values(
                    token_hash=_hash(token),
                    username=username,
                    csrf_token=secrets.token_urlsafe(32),
                    created_at=at,
                    expires_at=at + lifetime,
                )
            )
        return token

    def session(self, token: str | None, *, now: datetime | None = None) -> Session | None:
        """The live session of a cookie token, or None (unknown, expired, user disabled)."""
        if not token or len(token) > 128:
            return None
        at = now or datetime.now(UTC)
        query = (
            select(
                tables.sessions.c.username,
                tables.sessions.c.csrf_token,
                tables.sessions.c.expires_at,
            )
            .join(tables.users, tables.users.c.username == tables.sessions.c.username)
            .where(
                and_(tables.sessions.c.token_hash == _hash(token), tables.users.c.active.is_(True))
            )
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        expires = _aware(row["expires_at"])
        if expires <= at:
            return None
        return Session(row["username"], row["csrf_token"], expires)

    def close_session(self, token: str | None) -> None:
        """End a session (logout)."""
        if token:
            with self.engine.begin() as conn:
                conn.execute(
                    delete(tables.sessions).where(tables.sessions.c.token_hash == _hash(token))
                )

    # ------------------------------------------------------------------ login throttling

    def reserve_login(
        self,
        username: str,
        client: str,
        *,
        max_failures: int,
        window: timedelta,
        now: datetime | None = None,
    ) -> int | None:
        """Reserve a login attempt before the password is checked; None when refused.

        The attempt is written first and counted after, in one transaction that holds the
        table's write lock (SQLite's database lock, a PostgreSQL table lock), so that of
        simultaneous attempts exactly the first ``max_failures`` (per user name or client
        address, in ``window``) are let through. The returned row is the attempt: kept as a
        failure when the password was wrong, removed with :meth:`release_login` when right.
        """
        at = now or datetime.now(UTC)
        since = at - window
        user, address = username[:MAX_USERNAME], client[:64]
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("LOCK TABLE review_login_failures IN SHARE ROW EXCLUSIVE MODE"))
            conn.execute(
                delete(tables.login_failures).where(
                    tables.login_failures.c.at < at - timedelta(days=1)
                )
            )
            reserved = conn.execute(
                insert(tables.login_failures)
                .values(at=at, username=user, client=address)
                .returning(tables.login_failures.c.id)
            ).scalar_one()
            counts = [
                conn.execute(
                    select(func.count())
                    .select_from(tables.login_failures)
                    .where(and_(tables.login_failures.c.at > since, column == value))
                ).scalar_one()
                for column, value in (
                    (tables.login_failures.c.username, user),
                    (tables.login_failures.c.client, address),
                )
            ]
            if max(counts) > max_failures:
                conn.execute(
                    delete(tables.login_failures).where(tables.login_failures.c.id == reserved)
                )
                return None
        return int(reserved)

    def release_login(self, reservation: int) -> None:
        """Forget a reserved attempt (the password was right, or it was never checked)."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(tables.login_failures).where(tables.login_failures.c.id == reservation)
            )

    # ------------------------------------------------------------------ audit trail

    def log(
        self,
        username: str,
        action: str,
        case_id: str | None = None,
        detail: dict[str, Any] | None = None,
        *,
        now: datetime | None = None,
    ) -> None:
        """Add a line to the audit trail (callers pass no full IDs, names or accounts)."""
        with self.engine.begin() as conn:
            conn.execute(
                insert(tables.audit).values(
                    at=now or datetime.now(UTC),
                    username=username[:MAX_USERNAME],
                    action=action,
                    case_id=case_id,
                    detail=detail,
                )
            )
            seal(conn, AUDIT_CHAIN)

    def count_event(
        self,
        username: str,
        action: str,
        detail: dict[str, Any] | None = None,
        *,
        now: datetime | None = None,
    ) -> None:
        """Count an event in the audit trail's row for this user, action and minute (one
        row per minute however many happen: failed and throttled logins)."""
        at = now or datetime.now(UTC)
        user = username[:MAX_USERNAME]
        minute = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
        values = {
            "at": at.astimezone(UTC).replace(second=0, microsecond=0),
            "username": user,
            "action": action,
            "case_id": None,
            "detail": detail,
            "count": 1,
            "bucket": f"{action}|{user}|{minute}",
        }
        dialect = self.engine.dialect.name
        if dialect not in ("sqlite", "postgresql"):
            raise NotImplementedError(f"no counted audit rows on {dialect}")
        insert_on = sqlite.insert if dialect == "sqlite" else postgresql.insert
        statement = insert_on(tables.audit).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[tables.audit.c.bucket],
            set_={"count": tables.audit.c.count + 1, "detail": statement.excluded.detail},
        )
        with self.engine.begin() as conn:
            conn.execute(statement)

    def audit_log(
        self,
        *,
        username: str | None = None,
        case_id: str | None = None,
        action: str | None = None,
        day: date | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[AuditEntry]:
        """The audit trail, newest first, optionally for one user, one case, one kind of
        action and one day (UTC)."""
        query = select(tables.audit).order_by(tables.audit.c.at.desc(), tables.audit.c.id.desc())
        if username:
            query = query.where(tables.audit.c.username == username)
        if case_id:
            query = query.where(tables.audit.c.case_id == case_id)
        if action:
            query = query.where(tables.audit.c.action == action)
        if day is not None:
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            query = query.where(
                tables.audit.c.at >= start, tables.audit.c.at < start + timedelta(days=1)
            )
        with self.engine.connect() as conn:
            rows = conn.execute(query.limit(limit).offset(offset)).mappings().all()
        return [
            AuditEntry(
                _aware(r["at"]),
                r["username"],
                r["action"],
                r["case_id"],
                r["detail"],
                r["count"] or 1,
            )
            for r in rows
        ]

    def audit_actions(self) -> list[str]:
        """The kinds of action in the audit trail, for the filter."""
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(tables.audit.c.action).distinct().order_by(tables.audit.c.action)
                ).scalars()
            )

    def audit_frame(self) -> pl.DataFrame:
        """The whole audit trail as a frame (at, username, action, case_id), oldest first."""
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    select(
                        tables.audit.c.at,
                        tables.audit.c.username,
                        tables.audit.c.action,
                        tables.audit.c.case_id,
                    ).order_by(tables.audit.c.id)
                )
                .mappings()
                .all()
            )
        return pl.DataFrame(
            [dict(r) for r in rows],
            schema={
                "at": pl.Datetime("us", "UTC"),
                "username": pl.String,
                "action": pl.String,
                "case_id": pl.String,
            },
        )


def _user(row: Any) -> User:
    return User(
        username=row["username"],
        role=row["role"],
        townships=tuple(row["townships"] or ()),
        active=bool(row["active"]),
        password_hash=row["password_hash"],
        village=row.get("village"),
        relatives=tuple(row.get("relatives") or ()),
    )


def _relatives(ids: tuple[str, ...] | list[str]) -> list[str]:
    """Identity numbers as compared: trimmed, upper-case X, each once. ``ValueError`` for
    one not shaped as a resident identity number (a typo would leave the recusal without
    effect, and nobody would know). The check character is not required: a register holds
    some numbers that fail it, and a recusal must reach those people too."""
    numbers = list(dict.fromkeys(i.strip().upper() for i in ids if i and i.strip()))
    for number in numbers:
        if not re.fullmatch(ID_WELL_FORMED, number):
            raise ValueError(
                f"relative {mask_id(number) or '?'}: not a resident identity number "
                "(17 digits and a digit or X)"
            )
    return numbers


def relatives_failing_check(ids: tuple[str, ...] | list[str]) -> list[str]:
    """The well-formed identity numbers among ``ids`` (trimmed, upper-case X, each once)
    whose check character does not match GB 11643's: kept for the recusal (a register holds
    such numbers), but worth a second look, since a typo leaves the recusal without effect."""
    unique = dict.fromkeys(i.strip().upper() for i in ids if i and i.strip())
    numbers = [n for n in unique if re.fullmatch(ID_WELL_FORMED, n)]
    if not numbers:
        return []
    ok = pl.DataFrame({"id": numbers}).select(id_checksum_ok("id"))["id"]
    return [n for n, good in zip(numbers, ok, strict=True) if not good]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _aware(at: datetime) -> datetime:
    """SQLite returns naive datetimes (stored as UTC): make them UTC-aware."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
