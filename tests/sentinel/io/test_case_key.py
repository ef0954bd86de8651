"""The key of an output folder's case IDs: made once, kept private, never replaced."""

from __future__ import annotations

import stat
from pathlib import Path

import polars as pl
import pytest

from sentinel.contract import ContractError
from sentinel.detection import case_id
from sentinel.io.case_key import CASE_ID_KEY_FILE, case_id_key, keep_case_id_key


def _processed(out: Path, month: str, manifest: str = "{}") -> None:
    (out / month).mkdir(parents=True)
    (out / month / "manifest.json").write_text(manifest, encoding="utf-8")


def test_a_new_output_folder_gets_a_random_key_it_keeps(tmp_path: Path) -> None:
    first = case_id_key(tmp_path / "a")
    assert first is not None and len(first) == 32
    assert case_id_key(tmp_path / "a") == first
    # Another county's folder gets another key.
    assert case_id_key(tmp_path / "b") != first
    mode = stat.S_IMODE((tmp_path / "a" / CASE_ID_KEY_FILE).stat().st_mode)
    assert mode == 0o600


def test_the_key_outlives_the_months_that_follow(tmp_path: Path) -> None:
    key = case_id_key(tmp_path)
    _processed(tmp_path, "2020-01")
    assert case_id_key(tmp_path) == key


def test_a_folder_begun_before_keys_keeps_its_unkeyed_ids(tmp_path: Path) -> None:
    _processed(tmp_path, "2020-01")
    assert case_id_key(tmp_path) is None
    assert not (tmp_path / CASE_ID_KEY_FILE).exists()


def test_a_key_gone_from_a_folder_whose_cases_were_keyed_is_named_not_remade(
    tmp_path: Path,
) -> None:
    _processed(tmp_path, "2020-01", '{"case_ids": "keyed"}')
    _processed(tmp_path, "2020-02", '{"case_ids": "keyed"}')
    with pytest.raises(
        ContractError, match=f"{CASE_ID_KEY_FILE}: missing, but the cases of 2020-02"
    ):
        case_id_key(tmp_path)
    assert not (tmp_path / CASE_ID_KEY_FILE).exists()


def _keyed_month(out: Path, month: str, key: bytes) -> None:
    """A processed month whose cases were named with ``key``."""
    _processed(out, month, '{"case_ids": "keyed"}')
    people = [("110101194001010017", "deceased_paid"), ("110101193505050026", "shared_account")]
    pl.DataFrame(
        {
            "case_id": [case_id(p, t, key) for p, t in people],
            "person_id": [p for p, _ in people],
            "typology": [t for _, t in people],
        }
    ).write_parquet(out / month / "cases.parquet")


def test_the_key_that_named_the_last_month_s_cases_is_read_back(tmp_path: Path) -> None:
    key = keep_case_id_key(tmp_path, bytes(range(32)))
    _keyed_month(tmp_path, "2020-01", key)
    assert case_id_key(tmp_path) == key


def test_another_folder_s_key_is_refused_naming_the_month(tmp_path: Path) -> None:
    """A key restored from the wrong backup would raise every open case anew."""
    _keyed_month(tmp_path, "2020-01", bytes(range(32)))
    keep_case_id_key(tmp_path, bytes(32))
    with pytest.raises(ContractError, match="does not name the cases of 2020-01"):
        case_id_key(tmp_path)


def test_a_chosen_key_is_kept_and_never_replaced(tmp_path: Path) -> None:
    key = bytes(range(32))
    assert keep_case_id_key(tmp_path, key) == key
    assert case_id_key(tmp_path) == key
    with pytest.raises(FileExistsError):
        keep_case_id_key(tmp_path, bytes(32))
    assert case_id_key(tmp_path) == key
    assert [p.name for p in tmp_path.iterdir()] == [CASE_ID_KEY_FILE]


def test_a_short_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 16 bytes, got 8"):
        keep_case_id_key(tmp_path, bytes(8))
    assert not (tmp_path / CASE_ID_KEY_FILE).exists()


@pytest.mark.parametrize("text", ["", "not hex", "00ff"])
def test_a_damaged_key_file_is_named_not_replaced(tmp_path: Path, text: str) -> None:
    (tmp_path / CASE_ID_KEY_FILE).write_text(text, encoding="ascii")
    with pytest.raises(ContractError, match=f"{CASE_ID_KEY_FILE}: not a case ID key"):
        case_id_key(tmp_path)
    assert (tmp_path / CASE_ID_KEY_FILE).read_text(encoding="ascii") == text


def test_a_key_another_run_made_meanwhile_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    theirs = bytes(range(32))

    def overtaken(out: Path, key: bytes) -> bytes:
        keep_case_id_key(out, theirs)  # the other run links its key first
        return keep_case_id_key(out, key)

    monkeypatch.setattr("sentinel.io.case_key.keep_case_id_key", overtaken)
    assert case_id_key(tmp_path) == theirs
