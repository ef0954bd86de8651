"""The Prefect flows. ``sentinel`` is imported first: it sets polars' allocator settings,
which only count before polars loads."""

import sentinel  # noqa: F401
