"""What every command of the ``sentinel`` command line shares: the application, the
consoles, the exit code of a refused input, the options many commands take, and opening the
case store of an output folder with the site configuration."""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import typer
from rich.console import Console
from rich.table import Table

# Prefect's console handler stays quiet (the CLI prints its own progress and summary, and a
# failure must end in one clear line); flow and task logs still reach the Prefect API and UI.
# Set PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL=INFO to see them in the terminal too.
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
os.environ.setdefault("PREFECT_LOGGING_LOG_PRINTS", "false")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")

#: Prefect's wait, in seconds, for the temporary API server a command starts when no
#: PREFECT_API_URL is set. A machine's first run creates and migrates that server's database,
#: which on a 2-core machine takes longer than Prefect's own 20 s, and `sentinel run` (and
#: so `make demo`) would end in a traceback. The wait is a ceiling, not a delay: a server
#: that answers sooner is used at once. A value in the environment wins.
PREFECT_START_WAIT = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
os.environ.setdefault(PREFECT_START_WAIT, "180")

app = typer.Typer(
    name="sentinel",
    help="payout-sentinel: find improper pension payments and rank the cases worth a field audit.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Report tables written to a file or a pipe are laid out for this many columns.
PIPE_WIDTH = 240


def _pipe_width(stream: Any) -> int | None:
    """Columns for output that is not a terminal (cron, a log file, a pipe): wide enough that
    a report's case IDs and headers are not cut off, as Rich's 80 would. COLUMNS describes a
    terminal, and some launchers export it to their children (pytest-xdist sets 80): it
    does not narrow a file. None on a terminal (Rich's own width, COLUMNS included)."""
    if getattr(stream, "isatty", lambda: False)():
        return None
    return PIPE_WIDTH


console = Console(stderr=False, width=_pipe_width(sys.stdout))
err = Console(stderr=True, width=_pipe_width(sys.stderr))


def command_group(name: str, help: str) -> typer.Typer:
    """The commands under ``sentinel <name>``, listed by ``--help`` (and when none is given)."""
    group = typer.Typer(help=help, no_args_is_help=True)
    app.add_typer(group, name=name)
    return group


EXIT_UNTRUSTED_DROP = 2

# The options several commands take, each with its one help text.
#: ``--config`` of the commands that run the product on a month's drop.
ConfigOption = Annotated[
    Path | None, typer.Option(help="Site configuration TOML overriding the defaults.")
]
#: ``--config`` of the commands that work on an output folder's case store.
StoreConfigOption = Annotated[Path | None, typer.Option(help="Site configuration TOML.")]
InboxOption = Annotated[Path, typer.Option(help="Folder of monthly drops INBOX/YYYY-MM/.")]
RunOutOption = Annotated[Path, typer.Option(help="Output folder: OUT/YYYY-MM/ per month.")]
CaseStoreOutOption = Annotated[Path, typer.Option(help="Output folder holding the case store.")]
CuratedOption = Annotated[
    Path | None, typer.Option(help="Curated history folder (default OUT/curated).")
]
#: ``--relative`` of the commands that set whose cases a review user may not work (回避).
RelativesOption = Annotated[
    list[str] | None,
    typer.Option(
        "--relative",
        help="Identity number of a relative whose cases the user may not work (recusal); repeat for several.",
    ),
]


def fail(exc: Exception) -> NoReturn:
    """Print one clear error line and exit with :data:`EXIT_UNTRUSTED_DROP`."""
    err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_UNTRUSTED_DROP)


def check_output_file(option: str, path: Path | None, kind: str = "file") -> None:
    """Refuse, before any work, an output file the command could not write at its end:
    ``path`` a folder, or in a folder that does not exist or that this user may not write
    (``option`` names it in the error; ``kind`` is what the file is, for the message)."""
    if path is None:
        return
    if path.is_dir():
        fail(ValueError(f"{option} {path}: a folder; give the path of a {kind}"))
    folder = path.parent
    if not folder.is_dir():
        fail(ValueError(f"{option} {path}: no folder {folder}"))
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        fail(ValueError(f"{option} {path}: not writable"))


def prefect_api_problem() -> str | None:
    """Why the Prefect server that PREFECT_API_URL names cannot be used: it does not answer
    its health check (the URL shown without any user and password). None when it answers, or
    when no server is named (a command then starts a temporary one)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if not url:
        return None
    with get_client(sync_client=True) as client:
        if client.api_healthcheck() is None:
            return None
    parts = urlsplit(url)
    shown = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    return f"no Prefect server answers at {shown} (PREFECT_API_URL)"


def prefect_did_not_start(exc: BaseException) -> bool:
    """Whether ``exc`` is Prefect giving up on its temporary API server: a plain
    ``RuntimeError``, known only by its message."""
    return isinstance(exc, RuntimeError) and str(exc).startswith(
        "Timed out while attempting to connect to ephemeral Prefect API server"
    )


def fail_machine(problem: str) -> NoReturn:
    """Print one clear error line for what the machine lacks (not the data: a Prefect API that
    does not answer), and exit with code 1."""
    err.print(f"[bold red]error:[/] {problem}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def fail_prefect_start() -> NoReturn:
    """:func:`fail_machine` for a temporary Prefect API that never answered."""
    wait = os.environ.get(PREFECT_START_WAIT, "?")
    fail_machine(
        f"Prefect's temporary API server did not answer within {wait} s: set "
        f"{PREFECT_START_WAIT} higher, or PREFECT_API_URL to a running Prefect server "
        "(docs/operations.md)"
    )


def counted(n: int, noun: str) -> str:
    """``n`` and the noun, plural unless ``n`` is one (``1 row``, ``2 rows``, ``0 rows``)."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def known_names_hint(name: str, known: list[str]) -> str:
    """What to say after refusing ``name`` (a township, say) that is not among ``known``:
    the closest known names, else the first few; empty when nothing is known."""
    from difflib import get_close_matches

    close = get_close_matches(name, known, n=3, cutoff=0.5)
    if close:
        return f" (closest: {', '.join(close)})"
    if not known:
        return ""
    more = ", …" if len(known) > 3 else ""
    return f" (known: {', '.join(known[:3])}{more})"


def day_or_today(text: str | None, option: str) -> date:
    """The day ``text`` names (YYYY-MM-DD), today when none is given; a refused input for
    anything else, naming the ``option`` it came from."""
    try:
        return date.fromisoformat(text) if text else date.today()
    except ValueError:
        fail(ValueError(f"{option} {text!r}: not a date YYYY-MM-DD"))


def site_config(path: Path | None):  # type: ignore[no-untyped-def]
    """The site configuration of ``--config`` over the defaults; a refused input, in one
    line naming the file, the key and the problem, when it cannot be used."""
    from sentinel.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        fail(exc)


def case_store(out: Path, config: Path | None):  # type: ignore[no-untyped-def]
    """The case store of ``out`` with the site configuration's outcome limits and sign-off;
    a refused input when ``out`` holds none (:func:`existing_store_url`)."""
    from sentinel.audit_result import OutcomeLimits, SignOff
    from sentinel.casestore import CaseStore

    cfg = site_config(config)
    url = existing_store_url(out, cfg)
    private(out, cfg)
    return CaseStore(
        url,
        limits=OutcomeLimits.from_config(cfg),
        signoff=SignOff.from_config(cfg),
    )


def existing_store_url(out: Path, cfg) -> str:  # type: ignore[no-untyped-def]
    """The URL of the case store that ``sentinel run`` made for the output folder ``out``.

    A refused input, in one line, when ``out`` is a file, or when the store is a SQLite
    file (``OUT/cases.sqlite`` by default) that does not exist: a mistyped ``--out`` must
    not create an empty store and report on it as if nothing were wrong. A database server
    (``$SENTINEL_DATABASE_URL``) is taken as given: its tables are made by the first run.
    """
    from sqlalchemy.engine import make_url

    from flows.context import case_store_url
    from sentinel.casestore import DATABASE_URL_ENV

    url = made_store_url(out, cfg)
    if url is not None:
        return url
    database = make_url(case_store_url(out, cfg)).database
    if os.environ.get(DATABASE_URL_ENV):
        fail(ValueError(f"no case store at {database} (${DATABASE_URL_ENV})"))
    fail(ValueError(f"no case store in {out}: give the output folder of `sentinel run`"))


def made_store_url(out: Path, cfg) -> str | None:  # type: ignore[no-untyped-def]
    """The URL of the case store of ``out`` when it exists (a database server is taken as
    given), None when it is a SQLite file not made yet. A refused input, in one line, when
    ``out`` is a file or ``$SENTINEL_DATABASE_URL`` is not a URL."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from flows.context import case_store_url
    from sentinel.casestore import DATABASE_URL_ENV

    if out.exists() and not out.is_dir():
        fail(ValueError(f"--out {out}: a file, not an output folder"))
    url = case_store_url(out, cfg)
    try:
        parsed = make_url(url)
    except ArgumentError:
        fail(ValueError(f"${DATABASE_URL_ENV}: not a database URL"))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return url
    return url if Path(parsed.database).is_file() else None


def private(out: Path, cfg) -> None:  # type: ignore[no-untyped-def]
    """What this command creates under OUT (the case store) is its owner's only (run.umask)."""
    from sentinel.io.store import restrict_permissions

    restrict_permissions(out, cfg.run.umask_bits())


def print_frame(frame, title: str, *, yuan: tuple[str, ...] = ()) -> None:  # type: ignore[no-untyped-def]
    """``frame`` as a table: the ``yuan`` columns as money (``1,234.50``), other numbers
    with three decimals (shares, rates)."""
    table = Table(title=title)
    for col in frame.columns:
        table.add_column(col, justify="right" if col in yuan else "left")
    for row in frame.iter_rows(named=True):
        table.add_row(*(_cell(v, money=col in yuan) for col, v in row.items()))
    console.print(table)


def _cell(value: Any, *, money: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}" if money else f"{value:.3f}"
    return str(value)


# ---------------------------------------------------------------------- field-visit plans

REVIEW_PASSWORD_ENV = "SENTINEL_REVIEW_PASSWORD"


def review_store(out: Path, config: Path | None):  # type: ignore[no-untyped-def]
    """The case store of ``out`` and the review app's users beside it; a refused input when
    ``out`` holds no case store (:func:`existing_store_url`)."""
    from sentinel.casestore import CaseStore
    from sentinel.review import ReviewStore

    cfg = site_config(config)
    url = existing_store_url(out, cfg)
    private(out, cfg)
    cases = CaseStore(url)
    return cases, ReviewStore(cases.engine)
