"""Reading CSV drops: every encoding and header language, ragged and quoted rows, and
decoding that never guesses (``sentinel.io.csv_text``)."""

import hashlib
import random
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

sys.path.insert(0, str(Path(__file__).parent))  # the hand-made payout files
from payout_files import (  # noqa: E402
    EN_HEADER,
    EXPECTED,
    ID_A,
    ID_B,
    ID_X,
    ROWS,
    ZH_HEADER,
    fake_id,
    write_csv,
)

from sentinel.contract import BENEFICIARIES, DATASETS, PAYOUTS, ContractError  # noqa: E402
from sentinel.io import csv_text  # noqa: E402
from sentinel.io.csv_text import decode_csv_bytes  # noqa: E402
from sentinel.io.readers import read_dataset  # noqa: E402


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
@pytest.mark.parametrize(("header", "language"), [(EN_HEADER, "en"), (ZH_HEADER, "zh")])
def test_csv_every_encoding_and_header_language(tmp_path, encoding, header, language):
    path = write_csv(tmp_path / "payouts.csv", header, ROWS, encoding)

    table = read_dataset(path, PAYOUTS)

    assert table.encoding == encoding
    assert table.header_language == language
    assert table.dataset == "payouts"
    assert table.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert_frame_equal(table.frame, EXPECTED)


def test_csv_mixed_header_language(tmp_path):
    header = ["person_id", "险种", "period", "发放日期", "amount", "bank_account", "kind"]
    path = write_csv(tmp_path / "payouts.csv", header, ROWS, "utf-8")
    table = read_dataset(path, PAYOUTS)
    assert table.header_language == "mixed"
    assert_frame_equal(table.frame, EXPECTED)


def test_csv_values_are_stripped_and_empty_is_null_and_ids_keep_their_text(tmp_path):
    lower_x = ID_X[:-1] + "x"
    path = tmp_path / "payouts.csv"
    path.write_text(
        " 身份证号 ,险种,所属期,发放日期,发放金额,银行账号,发放类型\n"
        f" {lower_x} , 城乡居民 ,2024-01,2024-01-05,  ,\u30000062\u3000,正常\n",
        encoding="utf-8",
    )
    frame = read_dataset(path, PAYOUTS).frame
    assert frame.row(0, named=True) == {
        "person_id": ID_X,
        "scheme": "城乡居民",
        "period": "2024-01",
        "pay_date": "2024-01-05",
        "amount": None,
        "bank_account": "0062",
        "kind": "正常",
        "_row": 1,
        "_malformed": None,
    }


def test_csv_extra_column_is_kept_under_its_header(tmp_path):
    header = [*ZH_HEADER, "备注"]
    rows = [[*row, f"note {i}"] for i, row in enumerate(ROWS)]
    path = write_csv(tmp_path / "payouts.csv", header, rows, "gb18030")
    frame = read_dataset(path, PAYOUTS).frame
    assert frame.columns == [*EN_HEADER, "备注", "_row", "_malformed"]
    assert frame["备注"].to_list() == ["note 0", "note 1", "note 2"]


def payout_lines(tmp_path: Path, *lines: str) -> Path:
    """payouts.csv in UTF-8: the English header, then the lines as typed, each ended by \\n."""
    path = tmp_path / "payouts.csv"
    path.write_text("\n".join([",".join(EN_HEADER), *lines]) + "\n", encoding="utf-8")
    return path


def test_csv_ragged_rows_are_marked_not_lost(tmp_path):
    good = ",".join(ROWS[2])
    path = payout_lines(
        tmp_path,
        good,
        f"{ID_A},enterprise,2024-01",  # short
        "",  # blank line: skipped, still counted
        good + ",surplus,fields",  # long
        good,
    )
    frame = read_dataset(path, PAYOUTS).frame
    assert frame["_row"].to_list() == [1, 2, 4, 5]
    assert frame["_malformed"].to_list() == [
        None,
        "malformed row: 3 fields, expected 7",
        "malformed row: 9 fields, expected 7; extra fields: surplus,fields",
        None,
    ]
    assert frame.row(1, named=True)["person_id"] == ID_A
    assert frame.row(1, named=True)["amount"] is None
    assert frame.row(2, named=True)["kind"] == "regular"


def test_csv_quoted_fields_with_commas_and_line_breaks(tmp_path):
    path = tmp_path / "payouts.csv"
    path.write_text(
        ",".join([*EN_HEADER, "remark"])
        + "\n"
        + ",".join(ROWS[2])
        + ',"two\nlines, and a comma"\n'
        + f"{ID_A},enterprise,2024-01\n"
        + ",".join(ROWS[2])
        + ',"plain"\n',
        encoding="utf-8",
    )
    frame = read_dataset(path, PAYOUTS).frame
    assert frame["remark"].to_list() == ["two\nlines, and a comma", None, "plain"]
    assert frame["_row"].to_list() == [1, 2, 3]
    assert frame["_malformed"].to_list() == [None, "malformed row: 3 fields, expected 8", None]


def _with_quote(row: list[str], column: int, opened: str) -> str:
    return ",".join([*row[:column], opened + row[column], *row[column + 1 :]])


@pytest.mark.parametrize("rows_after", [3, 20_000])
def test_a_quote_never_closed_stops_naming_its_line_and_column(tmp_path, rows_after):
    """Unclosed, the quote would swallow every line after it into one value: at the end
    of the file that hid the rows in a quarantined cell, further up it crashed the parser."""
    good = ",".join(ROWS[2])
    path = payout_lines(tmp_path, good, _with_quote(ROWS[2], 6, '"'), *[good] * rows_after)
    with pytest.raises(ContractError, match="line 3: a quote opens here and is never closed"):
        read_dataset(path, PAYOUTS)
    with pytest.raises(ContractError) as err:
        read_dataset(path, PAYOUTS)
    assert err.value.column == "kind"
    assert ID_B not in str(err.value)


def test_lines_joined_by_two_stray_quotes_are_named_in_the_quarantine_reason(tmp_path):
    good = ",".join(ROWS[2])
    path = payout_lines(
        tmp_path,
        good,
        _with_quote(ROWS[2], 2, '"'),
        good,
        _with_quote(ROWS[2], 6, '"'),
        good,
    )
    frame = read_dataset(path, PAYOUTS).frame
    assert frame["_row"].to_list() == [1, 2, 3]
    joined = frame["_malformed"][1]
    assert joined.startswith("malformed row: 3 fields, expected 7")
    assert joined.endswith("lines 3-5 joined by a quoted field")
    assert frame["_malformed"].null_count() == 2


def test_text_after_a_closing_quote_is_read_as_spreadsheets_read_it(tmp_path):
    path = payout_lines(tmp_path, ",".join([*ROWS[2][:6], '"regu"lar']))
    frame = read_dataset(path, PAYOUTS).frame
    assert frame["kind"].to_list() == ["regular"]
    assert frame["_malformed"].to_list() == [None]


def test_csv_with_classic_mac_line_endings(tmp_path):
    path = tmp_path / "payouts.csv"
    path.write_bytes(("\r".join([",".join(EN_HEADER), ",".join(ROWS[2])]) + "\r").encode())
    frame = read_dataset(path, PAYOUTS).frame
    assert frame["person_id"].to_list() == [ID_B]
    assert frame["_malformed"].to_list() == [None]


def test_csv_quoted_commas_on_one_line_stay_on_the_fast_path(tmp_path):
    path = write_csv(tmp_path / "payouts.csv", EN_HEADER, ROWS, "utf-8")
    assert '"2,093.50"' in path.read_text(encoding="utf-8")
    frame = read_dataset(path, PAYOUTS).frame
    assert frame["_malformed"].null_count() == 3
    assert frame["amount"][0] == "2,093.50"


def test_corrupted_gb18030_names_the_offset(tmp_path):
    good = write_csv(tmp_path / "good.csv", ZH_HEADER, ROWS * 20, "gb18030").read_bytes()
    offset = good.index("企业职工".encode("gb18030"), 500)
    corrupted = good[:offset] + b"\xff" + good[offset + 1 :]
    path = tmp_path / "payouts.csv"
    path.write_bytes(corrupted)
    with pytest.raises(ContractError, match=rf"offset {offset} \(not UTF-8 nor GB18030\)") as err:
        read_dataset(path, PAYOUTS)
    assert err.value.file == str(path)
    assert err.value.column is None


@pytest.mark.parametrize("copies", [1, 20])
def test_corrupted_utf8_is_reported_not_decoded_as_gb18030(tmp_path, copies):
    good = write_csv(tmp_path / "good.csv", ZH_HEADER, ROWS * copies, "utf-8").read_bytes()
    offset = good.rindex("城乡居民".encode())
    # Drop the last byte of '城': a truncated sequence GB18030 would happily misread.
    corrupted = good[: offset + 2] + good[offset + 3 :]
    path = tmp_path / "payouts.csv"
    path.write_bytes(corrupted)
    with pytest.raises(
        ContractError, match=rf"corrupted UTF-8: undecodable bytes at offset {offset}"
    ):
        read_dataset(path, PAYOUTS)


def test_corrupted_utf8_with_bom_names_the_offset_in_the_file(tmp_path):
    good = write_csv(tmp_path / "good.csv", ZH_HEADER, ROWS, "utf-8-sig").read_bytes()
    offset = good.index("城乡居民".encode())
    path = tmp_path / "payouts.csv"
    path.write_bytes(good[:offset] + b"\xff" + good[offset + 1 :])
    with pytest.raises(ContractError, match=rf"offset {offset}"):
        read_dataset(path, PAYOUTS)


@pytest.mark.parametrize("seed", range(5))
def test_small_gb18030_files_of_names_are_not_mistaken_for_utf8(tmp_path, seed):
    rng = random.Random(seed)
    given = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅"
    family = "张王李赵刘陈杨黄周吴徐孙马胡朱郭何罗高林郑梁谢宋唐许韩冯邓曹"
    path = tmp_path / "deaths.csv"
    lines = ["record_id,name"] + [
        f"D{i},{rng.choice(family)}{rng.choice(given)}{rng.choice(given)}" for i in range(3)
    ]
    path.write_bytes("\n".join(lines).encode("gb18030"))
    text, encoding = decode_csv_bytes(path.read_bytes(), str(path))
    assert encoding == "gb18030"
    assert text == "\n".join(lines)


def test_binary_garbage_is_undecodable(tmp_path):
    path = tmp_path / "payouts.csv"
    path.write_bytes(b"person_id,scheme\n\x80\x80\xff\xfe\n")
    with pytest.raises(ContractError, match=r"undecodable bytes at offset 17"):
        read_dataset(path, PAYOUTS)


def test_missing_required_column_is_named(tmp_path):
    header = [h for h in ZH_HEADER if h != "发放金额"]
    rows = [[v for h, v in zip(ZH_HEADER, row, strict=True) if h != "发放金额"] for row in ROWS]
    path = write_csv(tmp_path / "payouts.csv", header, rows, "utf-8")
    with pytest.raises(ContractError, match="required column missing") as err:
        read_dataset(path, PAYOUTS)
    assert err.value.column == "amount"
    assert "发放金额" in str(err.value)


def test_optional_absent_column_is_added_as_null(tmp_path):
    header = [
        "身份证号", "姓名", "性别", "出生日期", "险种", "行政区划代码",
        "乡镇", "村（社区）", "待遇开始日期", "待遇状态", "银行账号",
    ]  # fmt: skip
    row = [
        ID_A,
        "测试甲",
        "男",
        "1950-01-01",
        "城乡居民",
        "430923",
        "某镇",
        "",
        "2015-01-01",
        "正常",
        "",
    ]
    path = write_csv(tmp_path / "beneficiaries.csv", header, [row], "gb18030")
    frame = read_dataset(path, BENEFICIARIES).frame
    assert frame.columns == [*BENEFICIARIES.column_names, "_row", "_malformed"]
    assert frame["collector_id"].dtype == pl.String
    assert frame["collector_id"].to_list() == [None]
    assert frame["village"].to_list() == [None]


def test_two_headers_for_one_column_is_an_error(tmp_path):
    header = [*EN_HEADER, "身份证号"]
    rows = [[*row, row[0]] for row in ROWS]
    path = write_csv(tmp_path / "payouts.csv", header, rows, "utf-8")
    with pytest.raises(ContractError, match="two headers map to the same column") as err:
        read_dataset(path, PAYOUTS)
    assert err.value.column == "person_id"


def test_header_only_csv_gives_an_empty_frame(tmp_path):
    path = write_csv(tmp_path / "payouts.csv", EN_HEADER, [], "utf-8")
    frame = read_dataset(path, PAYOUTS).frame
    assert frame.height == 0
    assert frame.columns == [*EN_HEADER, "_row", "_malformed"]


# -------------------------------------------------------------------------- speed


@pytest.mark.slow
def test_a_county_sized_csv_is_read_on_the_vectorised_path(tmp_path, monkeypatch):
    """Line by line parsing is for quoted line breaks only (how fast a county file reads
    is measured in benchmarks/validation_bench.py, not here)."""
    rng = random.Random(7)
    ids = [fake_id(rng) for _ in range(2000)]
    body = "".join(
        f"{ids[i % 2000]},城乡居民,2024-01,2024-01-05,{100 + i % 500}.50,62170{i:010d},正常\n"
        for i in range(190_000)
    )
    path = tmp_path / "payouts.csv"
    path.write_text(",".join(ZH_HEADER) + "\n" + body, encoding="utf-8")

    def line_by_line(*_args: object) -> None:
        raise AssertionError("the county file left the vectorised path")

    monkeypatch.setattr(csv_text, "_split_csv_records", line_by_line)
    frame = read_dataset(path, PAYOUTS).frame
    assert frame.height == 190_000
    assert frame["_malformed"].null_count() == 190_000


def test_rows_of_bare_separators_are_dropped_but_ragged_empty_rows_kept(tmp_path):
    good = ",".join(ROWS[2])
    path = payout_lines(tmp_path, good, ",,,,,,", " , ,", good)
    frame = read_dataset(path, PAYOUTS).frame
    assert frame["_row"].to_list() == [1, 3, 4]
    assert frame["_malformed"].to_list() == [None, "malformed row: 3 fields, expected 7", None]


@pytest.mark.parametrize("quoted", [False, True])
def test_fields_beyond_the_header_are_kept_in_the_malformed_message(
    tmp_path: Path, quoted: bool
) -> None:
    """Regression: a long row used to lose its extra fields; nothing may be lost."""
    note = '"multi\nline"' if quoted else "plain"
    head = "record_id,person_id,name,sex,birth_date,death_date,source,recorded_on,note"
    values = ",,,,,2020-01-02,police,2020-01-05"
    text = f"{head}\nD1{values},{note}\nD2{values},x,EXTRA1,EXTRA2\n"
    path = tmp_path / "deaths.csv"
    path.write_text(text, encoding="utf-8")
    frame = read_dataset(path, DATASETS["deaths"]).frame
    message = frame.filter(pl.col("record_id") == "D2")["_malformed"].item()
    assert message == "malformed row: 11 fields, expected 9; extra fields: EXTRA1,EXTRA2"
    assert frame.filter(pl.col("record_id") == "D1")["_malformed"].item() is None
