"""The ``sentinel`` command line: demo county, monthly run, validation, evaluation, the
case store's reports, the review app and its users.

One module per area registers its commands on :data:`app` (:mod:`sentinel.cli.common`);
importing them here is what puts them on the command line.
"""

from __future__ import annotations

# isort: off
# The order of the imports is the order of the commands in --help: the monthly job first.
from sentinel.cli import monthly, evaluation, cases, reports, users

# isort: on
from sentinel.cli.common import app

__all__ = ["app", "cases", "evaluation", "main", "monthly", "reports", "users"]


def main() -> None:  # pragma: no cover - console entry point
    app()
