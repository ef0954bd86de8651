"""The review app's tables in the case store's database (migrations:
:mod:`sentinel.migrations`); :class:`sentinel.review.store.ReviewStore` reads and writes them.

``review_users``
    user name, role (auditor / reviewer / supervisor / admin), the townships an auditor works,
    argon2 password hash, active flag.
``review_sessions``
    one row per signed-in browser: the SHA-256 of the cookie token (the token itself is
    never stored), the per-session CSRF token and when the session ends.
``review_login_failures``
    login attempts (user name as typed, client address, time) for login throttling: a row
    is reserved before the password is checked and kept when it was wrong.
``review_audit``
    who did what when: every view of a case page and every change. The detail never holds
    a full identity number, name or account. Failed and throttled logins are counted, one
    row per user and minute (``count``, keyed by ``bucket``), so a flood of them cannot
    push the real entries off the page.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy.schema import Column, Index, MetaData, Table
from sqlalchemy.types import JSON, Boolean, DateTime, Integer, String, Text

from sentinel.casestore.chain import CHAINED, Chain

__all__ = [
    "AUDIT_CHAIN",
    "MAX_USERNAME",
    "ROLES",
    "Role",
    "audit",
    "login_failures",
    "sessions",
    "users",
]

#: auditor (经办: visits and records results), reviewer (复核: signs off another user's
#: result), supervisor (assigns cases, may sign off too), admin (users only).
Role = Literal["auditor", "reviewer", "supervisor", "admin"]
ROLES: tuple[Role, ...] = ("auditor", "reviewer", "supervisor", "admin")

#: Longest user name accepted (also the width of the user name columns).
MAX_USERNAME = 64

_metadata = MetaData()

users = Table(
    "review_users",
    _metadata,
    Column("username", String(MAX_USERNAME), primary_key=True),
    Column("role", String(12), nullable=False),
    Column("townships", JSON, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Recusal (回避): the village the user lives in, and the identity numbers of the
    # relatives they may not audit.
    Column("village", Text),
    Column("relatives", JSON),
)

sessions = Table(
    "review_sessions",
    _metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("username", String(MAX_USERNAME), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

login_failures = Table(
    "review_login_failures",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("username", String(MAX_USERNAME), nullable=False),
    Column("client", String(64), nullable=False),
)

audit = Table(
    "review_audit",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("username", String(MAX_USERNAME), nullable=False, index=True),
    Column("action", String(24), nullable=False),
    Column("case_id", String(40), index=True),
    Column("detail", JSON),
    # How many times this happened (> 1 only for the per-minute rows of failed logins).
    Column("count", Integer),
    # "action|user|YYYY-MM-DDTHH:MM" for the per-minute rows; NULL (never equal) otherwise.
    Column("bucket", String(160)),
    # The row's place in the hash chain and its hash (sentinel.casestore.chain); the
    # per-minute counters are outside it.
    Column("chain_seq", Integer),
    Column("row_hash", String(64)),
)
_audit_bucket = Index("ux_review_audit_bucket", audit.c.bucket, unique=True)
_audit_at = Index("ix_review_audit_at", audit.c.at)
_audit_chain_seq = Index("ux_review_audit_chain_seq", audit.c.chain_seq, unique=True)
#: The audit log's hash chain: every row but the per-minute counters.
AUDIT_CHAIN = Chain(audit, CHAINED["review_audit"][0], audit.c.bucket.is_(None))
