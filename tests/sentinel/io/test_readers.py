"""Reading a drop's dataset files: parquet and xlsx cells as text, finding the file, refusing
unreadable files and formulas, and every header and value alias of the newer datasets in
every format."""

import datetime
import sys
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from openpyxl import load_workbook
from polars.testing import assert_frame_equal

sys.path.insert(0, str(Path(__file__).parent))  # the hand-made payout files
from payout_files import (  # noqa: E402
    EN_HEADER,
    ID_A,
    ID_B,
    ID_X,
    RNG,
    ZH_HEADER,
    fake_id,
    write_csv,
)

from features.records import parse_records  # noqa: E402
from sentinel.contract import DATASETS, PAYOUTS, ContractError  # noqa: E402
from sentinel.io.readers import find_dataset_file, read_dataset  # noqa: E402

# -------------------------------------------------------------------------- parquet


@pytest.mark.parametrize(("header", "language"), [(EN_HEADER, "en"), (ZH_HEADER, "zh")])
def test_parquet_typed_columns_become_text(tmp_path, header, language):
    typed = pl.DataFrame(
        {
            header[0]: [ID_X, ID_A, ID_B],
            header[1]: ["城乡居民", "企业职工", "resident"],
            header[2]: ["2024-01", "2024-01", "2024-01"],
            header[3]: [datetime.date(2024, 1, 5), datetime.date(2024, 1, 6), None],
            header[4]: [2093.5, 2000.0, 0.1 + 0.2 - 0.2],
            header[5]: pl.Series([62170001, None, 7], dtype=pl.Int64),
            header[6]: ["正常", "补发", "regular"],
            "paid_at": [datetime.datetime(2024, 1, 5), datetime.datetime(2024, 1, 5, 9, 30), None],
        }
    )
    path = tmp_path / "payouts.parquet"
    typed.write_parquet(path)

    table = read_dataset(path, PAYOUTS)

    assert table.encoding is None
    assert table.header_language == language
    expected = pl.DataFrame(
        {
            "person_id": [ID_X, ID_A, ID_B],
            "scheme": ["城乡居民", "企业职工", "resident"],
            "period": ["2024-01", "2024-01", "2024-01"],
            "pay_date": ["2024-01-05", "2024-01-06", None],
            "amount": ["2093.5", "2000", "0.10000000000000003"],
            "bank_account": ["62170001", None, "7"],
            "kind": ["正常", "补发", "regular"],
            "paid_at": ["2024-01-05", "2024-01-05 09:30:00", None],
            "_row": pl.Series([1, 2, 3], dtype=pl.Int64),
            "_malformed": pl.Series([None, None, None], dtype=pl.String),
        }
    )
    assert_frame_equal(table.frame, expected)


def test_parquet_missing_required_column(tmp_path):
    path = tmp_path / "payouts.parquet"
    pl.DataFrame({c: ["x"] for c in EN_HEADER if c != "kind"}).write_parquet(path)
    with pytest.raises(ContractError, match="required column missing") as err:
        read_dataset(path, PAYOUTS)
    assert err.value.column == "kind"


# ----------------------------------------------------------------------------- xlsx


def write_xlsx(path: Path, header: list[str], title: str | None = None) -> Path:
    """Cells typed as a clerk's export would type them: dates, serials, numbers, text."""
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("发放")
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    top = 0
    if title is not None:
        sheet.write_string(0, 0, title)
        top = 2
    sheet.write_row(top, 0, header)
    r = top + 1
    sheet.write_string(r, 0, ID_X)
    sheet.write_string(r, 1, "城乡居民")
    sheet.write_string(r, 2, "2024-01")
    sheet.write_datetime(r, 3, datetime.datetime(2024, 1, 5), date_format)
    sheet.write_number(r, 4, 2093.5)
    sheet.write_string(r, 5, "0062170001")  # leading zeros typed as text
    sheet.write_string(r, 6, "正常")
    r += 1
    sheet.write_string(r, 0, ID_A)
    sheet.write_string(r, 1, "企业职工")
    sheet.write_number(r, 2, 202401)
    sheet.write_number(r, 3, 45296)  # Excel serial left as a number
    sheet.write_number(r, 4, 2000)
    sheet.write_blank(r, 5, None)
    sheet.write_string(r, 6, " 补发 ")
    book.close()
    return path


@pytest.mark.parametrize(("header", "language"), [(EN_HEADER, "en"), (ZH_HEADER, "zh")])
def test_xlsx_cells_become_text(tmp_path, header, language):
    path = write_xlsx(tmp_path / "payouts.xlsx", header)
    table = read_dataset(path, PAYOUTS)
    assert table.encoding is None
    assert table.header_language == language
    expected = pl.DataFrame(
        {
            "person_id": [ID_X, ID_A],
            "scheme": ["城乡居民", "企业职工"],
            "period": ["2024-01", "202401"],
            "pay_date": ["2024-01-05", "45296"],
            "amount": ["2093.5", "2000"],
            "bank_account": ["0062170001", None],
            "kind": ["正常", "补发"],
            "_row": pl.Series([1, 2], dtype=pl.Int64),
            "_malformed": pl.Series([None, None], dtype=pl.String),
        }
    )
    assert_frame_equal(table.frame, expected)


def test_xlsx_title_rows_above_the_header_are_skipped(tmp_path):
    path = write_xlsx(tmp_path / "payouts.xlsx", ZH_HEADER, title="某县2024年1月养老金发放明细")
    frame = read_dataset(path, PAYOUTS).frame
    assert frame["person_id"].to_list() == [ID_X, ID_A]


@pytest.mark.parametrize("title", [None, "某县2024年1月养老金发放明细"])
def test_xlsx_ids_stored_as_numbers_stop_the_run_naming_column_and_row(tmp_path, title):
    """Excel keeps 15 digits of a number: an 18-digit ID typed as one is already altered, and
    read as text it would silently become another person's ID."""
    path = write_xlsx(tmp_path / "payouts.xlsx", ZH_HEADER, title=title)
    book = load_workbook(path)
    book.active.cell(row=(4 if title else 2) + 1, column=1, value=int(ID_A))
    book.save(path)
    with pytest.raises(ContractError, match="1 number cell") as err:
        read_dataset(path, PAYOUTS)
    assert err.value.column == "身份证号"
    assert f"row {(4 if title else 2) + 1}" in err.value.problem
    assert ID_A[:15] not in str(err.value)


def test_xlsx_long_digit_text_and_short_numbers_are_read(tmp_path):
    """Digits typed as text (IDs, accounts) and numbers Excel holds exactly pass."""
    path = write_xlsx(tmp_path / "payouts.xlsx", EN_HEADER)
    book = load_workbook(path)
    book.active.cell(row=2, column=6, value="6217000012345678901")  # a 19-digit account, text
    book.active.cell(row=3, column=6, value=621700001234567)  # 15 digits: exact
    book.save(path)
    frame = read_dataset(path, PAYOUTS).frame
    assert frame["bank_account"].to_list() == ["6217000012345678901", "621700001234567"]


def test_xlsx_missing_required_column(tmp_path):
    path = write_xlsx(tmp_path / "payouts.xlsx", [*ZH_HEADER[:6], "备注"])
    with pytest.raises(ContractError, match="required column missing") as err:
        read_dataset(path, PAYOUTS)
    assert err.value.column == "kind"


# ------------------------------------------------------------------------ find file


def test_find_dataset_file(tmp_path):
    assert find_dataset_file(tmp_path, PAYOUTS) is None
    (tmp_path / "payouts.CSV").write_text("x")
    (tmp_path / "payouts_old.csv").write_text("x")
    assert find_dataset_file(tmp_path, PAYOUTS) == tmp_path / "payouts.CSV"
    (tmp_path / "payouts.xlsx").write_text("x")
    with pytest.raises(ContractError, match="two files for dataset 'payouts'"):
        find_dataset_file(tmp_path, PAYOUTS)


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("payouts.csv", b"\r\n", "empty file"),
        ("payouts.parquet", b"not a parquet file", "unreadable parquet"),
        ("payouts.xls", b"", "unsupported file type"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused(tmp_path, name, content, problem):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ContractError, match=problem):
        read_dataset(path, PAYOUTS)


def test_outcomes_drop_with_a_formula_is_refused_naming_sheet_row_and_column(
    tmp_path: Path,
) -> None:
    """Regression (issue 18): calamine reads a formula's cached value, which may be forged."""
    path = tmp_path / "outcomes.xlsx"
    with xlsxwriter.Workbook(str(path)) as book:
        sheet = book.add_worksheet("outcomes")
        for j, title in enumerate(
            ("case_id", "person_id", "closed_on", "outcome", "overpaid_amount")
        ):
            sheet.write_string(0, j, title)
        for j, value in enumerate(("SU-1", "430101195001010012", "2020-02-10", "cleared")):
            sheet.write_string(1, j, value)
        sheet.write_formula(1, 4, "=1E+308*10", None, 12.5)
    with pytest.raises(
        ContractError, match=r"sheet outcomes, row 2, column overpaid_amount \(E\) holds a formula"
    ):
        read_dataset(path, DATASETS["outcomes"])


# ------------------- custody records, upstream suspect lists and recovery steps

#: One row of each dataset added for the pre-disbursement work, as text, and what it types to.
_SAMPLE_ROWS = {
    "suspects": {
        "batch_id": "YZ2024031",
        "pushed_on": "2024-03-05",
        "due_on": "2024/4/30",
        "person_id": ID_A,
        "name": "张三",
        "suspect_type": "death",
        "source": "ministry",
        "detail": "比对疑似死亡",
    },
    "custody": {
        "record_id": "JY-1",
        "person_id": ID_B,
        "name": "李四",
        "birth_date": "1950-02-03",
        "kind": "imprisonment",
        "start_date": "2024/3/1",
        "end_date": "",
        "source": "prison",
        "received_on": "20240310",
    },
    "recoveries": {
        "record_id": "SJ-2024-0031",
        "case_id": "DP-0a1b2c3d4e5f",
        "person_id": ID_A,
        "step": "payment",
        "step_date": "2024/3/12",
        "amount": "1,200.50",
        "method": "instalment",
        "deadline": "",
        "reason": "第一期",
        "operator": "李会计",
        "approved_by": "",
        "approved_on": "",
    },
}
#: The same rows typed: the text columns stay as they are, empty text becomes null.
_TYPED = {
    "suspects": _SAMPLE_ROWS["suspects"]
    | {"pushed_on": datetime.date(2024, 3, 5), "due_on": datetime.date(2024, 4, 30)},
    "custody": _SAMPLE_ROWS["custody"]
    | {
        "birth_date": datetime.date(1950, 2, 3),
        "start_date": datetime.date(2024, 3, 1),
        "end_date": None,
        "received_on": datetime.date(2024, 3, 10),
    },
    "recoveries": _SAMPLE_ROWS["recoveries"]
    | {
        "step_date": datetime.date(2024, 3, 12),
        "amount": 1200.5,
        "deadline": None,
        "approved_by": None,
        "approved_on": None,
    },
}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
@pytest.mark.parametrize(
    ("dataset", "column", "alias"),
    [(d, c.name, a) for d in _SAMPLE_ROWS for c in DATASETS[d].columns for a in c.aliases],
)
def test_every_header_alias_of_custody_suspects_and_recoveries_in_every_format(
    tmp_path, suffix, dataset, column, alias
):
    sample = _SAMPLE_ROWS[dataset]
    header = {c: (alias if c == column else c) for c in sample}
    frame = pl.DataFrame(
        {header[c]: [v or None] for c, v in sample.items()},
        schema={header[c]: pl.String for c in sample},
    )
    path = tmp_path / f"{dataset}{suffix}"
    if suffix == ".csv":
        write_csv(path, list(frame.columns), [list(sample.values())], "gb18030")
    elif suffix == ".parquet":
        frame.write_parquet(path)
    else:
        frame.write_excel(path)

    table = read_dataset(path, DATASETS[dataset])
    typed = parse_records(table.frame.lazy(), DATASETS[dataset], month="2024-03").collect()

    assert typed["_reason"].to_list() == [None]
    row = typed.row(0, named=True)
    assert {c: row[c] for c in sample} == _TYPED[dataset]


@pytest.mark.parametrize(
    ("dataset", "column"),
    [
        ("suspects", "suspect_type"),
        ("suspects", "source"),
        ("custody", "kind"),
        ("custody", "source"),
        ("recoveries", "step"),
        ("recoveries", "method"),
    ],
)
def test_every_value_alias_of_custody_suspects_and_recoveries_is_read(tmp_path, dataset, column):
    values = DATASETS[dataset].column(column).values
    assert values is not None
    sample = _SAMPLE_ROWS[dataset]
    rows = [dict(sample, person_id=fake_id(RNG), **{column: v}) for v in values]
    path = tmp_path / f"{dataset}.csv"
    write_csv(path, list(sample), [list(r.values()) for r in rows], "utf-8")
    typed = parse_records(
        read_dataset(path, DATASETS[dataset]).frame.lazy(), DATASETS[dataset], month="2024-03"
    ).collect()
    assert typed[column].to_list() == list(values.values())
    assert typed["_reason"].null_count() == len(values)
