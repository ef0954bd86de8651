"""Alembic's environment: runs the revisions on the connection :func:`sentinel.migrations.upgrade`
hands over (no URL of its own, no logging set-up)."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
