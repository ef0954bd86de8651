"""The audit unit's case review web app (``sentinel review``; docs/review.md).

Public API: :func:`create_app` (the FastAPI app on an output folder's case store),
:class:`ReviewStore` (users, sessions, audit trail) and :func:`hash_password`.
"""

from sentinel.review.app import create_app
from sentinel.review.auth import hash_password
from sentinel.review.store import ReviewStore
from sentinel.review.tables import ROLES

__all__ = ["ROLES", "ReviewStore", "create_app", "hash_password"]
