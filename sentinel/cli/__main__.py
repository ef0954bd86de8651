"""``python -m sentinel.cli``: the command line."""

from sentinel.cli import main

main()
