"""The secret an output folder's case IDs are made with (``OUT/case_id.key``).

A case ID names a person and a typology in logs, URLs, notices' file names and the audit
unit's papers. Made as a plain hash of the identity number it would give the number away:
with the birth date and a few digits known, the rest is found by trying every candidate.
Keyed with a secret kept beside the case store, it names the same case every month and
says nothing of the person (:func:`sentinel.detection.case_id`).

The key belongs to OUT as the case store does: back them up together. A run that finds
it lost, damaged or another folder's stops until it is restored: with another key every
open case would be raised again under a new ID.
"""

from __future__ import annotations

import json
import os
import secrets
import uuid
from pathlib import Path

import polars as pl

from sentinel.contract import ContractError
from sentinel.detection import case_id
from sentinel.io.store import processed_months

#: Where in OUT the key is kept (hex, read and written by its owner only).
CASE_ID_KEY_FILE = "case_id.key"
_KEY_BYTES = 32
#: How many of the last month's cases a key read back must name as they were named.
_CHECKED_CASES = 50


def case_id_key(out: Path) -> bytes | None:
    """The key of OUT's case IDs, made the first time OUT is used.

    None for an OUT that processed months before keys existed: its open cases keep their
    unkeyed IDs. Raises :class:`ContractError` naming the file when the key there is not a
    key, when it does not name the last month's cases as they were named (another folder's
    key), or when it is gone from an OUT whose last month was named with one: the run stops
    with exit code 2 rather than name every case anew."""
    path = Path(out) / CASE_ID_KEY_FILE
    months = processed_months(out)
    keyed = bool(months) and _named_with_key(Path(out) / months[-1])
    if path.exists():
        key = _read_key(path)
        if keyed:
            _check_names(key, Path(out) / months[-1], path)
        return key
    if keyed:
        raise ContractError(
            str(path),
            None,
            f"missing, but the cases of {months[-1]} were named with it; restore it from the "
            "backup of this output folder, or every case is raised again under a new ID",
        )
    if months:
        return None
    try:
        return keep_case_id_key(out, secrets.token_bytes(_KEY_BYTES))
    except FileExistsError:
        # Another run on OUT made it first: its key is OUT's.
        return _read_key(path)


def keep_case_id_key(out: Path, key: bytes) -> bytes:
    """Make ``key`` the key of a new OUT (a demo world derives its own from its seed, so
    that its case lists are the same each time). Raises ``FileExistsError`` when OUT has a
    key already, ``ValueError`` when ``key`` is shorter than 16 bytes."""
    if len(key) < 16:
        raise ValueError(f"a case ID key has at least 16 bytes, got {len(key)}")
    Path(out).mkdir(parents=True, exist_ok=True)
    path = Path(out) / CASE_ID_KEY_FILE
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key.hex() + "\n")
        # A link is made whole or not at all, and never over an existing key.
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return key


def _named_with_key(month: Path) -> bool:
    manifest = json.loads((month / "manifest.json").read_text(encoding="utf-8"))
    return manifest.get("case_ids") == "keyed"


def _check_names(key: bytes, month: Path, path: Path) -> None:
    """Refuse a key that names ``month``'s cases otherwise than they were named: a key of
    another output folder, or an old backup, would raise every open case anew."""
    listed = pl.read_parquet(month / "cases.parquet", columns=["case_id", "person_id", "typology"])
    for row in listed.head(_CHECKED_CASES).iter_rows(named=True):
        if case_id(row["person_id"], row["typology"], key) != row["case_id"]:
            raise ContractError(
                str(path),
                None,
                f"does not name the cases of {month.name} as they were named (another output "
                "folder's key?); restore this folder's own key from its backup",
            )


def _read_key(path: Path) -> bytes:
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 16:
        raise ContractError(
            str(path),
            None,
            "not a case ID key (hex of at least 16 bytes); restore it from the backup of "
            "this output folder, or every case is raised again under a new ID",
        )
    return key
