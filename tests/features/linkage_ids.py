"""GB 11643 citizen numbers for the linker's tests (features/linkage/): checksum-valid fakes,
the typos clerks make in them (a wrong digit, an adjacent swap, a recomputed check
character), and three pensioners' numbers."""

from __future__ import annotations

from datetime import date

from stdnum.cn import ric


def make_id(region: str, birth: date, sequence: int) -> str:
    """A checksum-valid fake GB 11643 number (odd sequence = male)."""
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "?")  # stdnum drops the last character


def with_digit(pid: str, position: int, digit: str) -> str:
    return pid[:position] + digit + pid[position + 1 :]


def other_digit(char: str) -> str:
    return "7" if char != "7" else "3"


def swapped(pid: str, position: int) -> str:
    return pid[:position] + pid[position + 1] + pid[position] + pid[position + 2 :]


def with_check_digit(pid: str) -> str:
    """``pid`` with its check character recomputed: two errors the checksum lets pass."""
    return pid[:17] + ric.calc_check_digit(pid)


LIU = make_id("430521", date(1948, 3, 17), 135)
WANG = make_id("430521", date(1952, 11, 2), 246)
ZHAO = make_id("430522", date(1939, 7, 30), 17)
