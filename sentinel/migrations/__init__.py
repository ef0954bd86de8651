"""Schema migrations of the case store database (Alembic).

The case store and the review app share one database (SQLite by default, PostgreSQL at a
site). Each release that changes a table adds a revision under ``versions/``; opening the
store (:class:`sentinel.casestore.CaseStore`, :class:`sentinel.review.store.ReviewStore`)
brings the database to the newest revision, so a column added by a release reaches a
database an earlier release made, with its cases kept.

A database made before the store was versioned (tables created directly, no
``alembic_version``) is taken as the first revision, and the later revisions add only what
it lacks: every revision checks what is there before it changes it.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

__all__ = ["current_revision", "head_revision", "upgrade"]

_HERE = Path(__file__).resolve().parent


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    return config


def head_revision() -> str:
    """The newest revision of the schema."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None when it is not versioned."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the database to :func:`head_revision` (nothing to do when it is there)."""
    if current_revision(engine) == head_revision():
        return
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
