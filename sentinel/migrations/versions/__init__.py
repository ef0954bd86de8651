"""Revisions of the case store schema, oldest first (see :mod:`sentinel.migrations`)."""
