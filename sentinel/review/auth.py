"""Who may do what: password hashing, the signed-in user and their reach.

Roles (docs/review.md):

* ``auditor`` sees and works only the cases of the townships assigned to them;
* ``supervisor`` sees and works every township, assigns cases, reads the audit trail;
* ``admin`` manages users and sees no case.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from sentinel.review.store import User
from sentinel.review.tables import Role

__all__ = [
    "HashingBusy",
    "HashingPool",
    "Principal",
    "check_password",
    "hash_password",
    "needs_rehash",
    "tokens_match",
]

T = TypeVar("T")

_hasher = PasswordHasher()
# Verified when the user name is unknown, so that a wrong name costs as long as a wrong
# password (no user enumeration by timing).
_DUMMY_HASH = _hasher.hash("not a password of anybody")
#: Shortest password accepted.
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``; raises ``ValueError`` for one shorter than
    :data:`MIN_PASSWORD_LENGTH` characters."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def check_password(user: User | None, password: str) -> bool:
    """True when ``user`` exists, is active and ``password`` is theirs."""
    try:
        _hasher.verify(user.password_hash if user is not None else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return user is not None and user.active


class HashingBusy(Exception):
    """Every password-check worker is busy and the waiting places are taken."""


class HashingPool:
    """A fixed number of threads for argon2 (64 MiB and ~0.1 s a check), with a bounded
    number of waiting places: a request beyond both is refused at once
    (:class:`HashingBusy`), so unauthenticated requests can never make the server hold
    more than ``workers`` argon2 buffers."""

    def __init__(self, workers: int, queue: int) -> None:
        if workers < 1 or queue < 0:
            raise ValueError(f"workers must be >= 1 and queue >= 0, got {workers}, {queue}")
        self.workers = workers
        self._places = threading.BoundedSemaphore(workers + queue)
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")

    def run(self, check: Callable[..., T], *args: object) -> T:
        """``check(*args)`` on a worker; raises :class:`HashingBusy` when no place is free."""
        if not self._places.acquire(blocking=False):
            raise HashingBusy()
        try:
            return self._executor.submit(check, *args).result()
        finally:
            self._places.release()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def needs_rehash(user: User) -> bool:
    """Whether the stored hash uses weaker parameters than the current ones."""
    return _hasher.check_needs_rehash(user.password_hash)


def tokens_match(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a CSRF token."""
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode())


@dataclass(frozen=True)
class Principal:
    """The signed-in user: name, role, townships, and the session's CSRF token."""

    username: str
    role: Role
    townships: frozenset[str]
    csrf_token: str
    full_id_roles: frozenset[str] = frozenset({"auditor", "reviewer", "supervisor"})
    signoff_roles: frozenset[str] = frozenset({"reviewer", "supervisor"})

    @property
    def sees_cases(self) -> bool:
        """Auditors, reviewers and supervisors work cases; admins do not."""
        return self.role in ("auditor", "reviewer", "supervisor")

    @property
    def sees_all_townships(self) -> bool:
        """Supervisors and reviewers (who sign off results of every township)."""
        return self.role in ("supervisor", "reviewer")

    @property
    def signs_off(self) -> bool:
        """Whether this user may approve another user's result (``cases.signoff_roles``)."""
        return self.role in self.signoff_roles

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def sees_full_ids(self) -> bool:
        """Whether a case page shows this user the full identity number and accounts."""
        return self.sees_cases and self.role in self.full_id_roles

    def may_work(self, township: str | None) -> bool:
        """Whether this user may see and change a case of ``township``."""
        if self.sees_all_townships:
            return True
        return self.role == "auditor" and township is not None and township in self.townships

    def may_see_person_of(self, township: str | None) -> bool:
        """Whether this user may read the name, village and status of a person of
        ``township`` (another person on a case page): the townships they work."""
        return self.may_work(township)

    def township_scope(self) -> frozenset[str] | None:
        """The townships this user is limited to; None for every township."""
        return None if self.sees_all_townships else self.townships
