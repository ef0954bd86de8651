"""Small payout files as a county clerk's export writes them (for the reader tests): made-up
identity numbers, the header in English or Chinese, three rows and what they read to."""

import datetime
import random
from pathlib import Path

import polars as pl

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def fake_id(rng: random.Random, check_x: bool = False) -> str:
    """A made-up, checksum-valid identity number (no real person)."""
    while True:
        born = datetime.date(1930, 1, 1) + datetime.timedelta(days=rng.randrange(12000))
        prefix = f"430923{born:%Y%m%d}{rng.randrange(1000):03d}"
        check = "10X98765432"[sum(int(d) * w for d, w in zip(prefix, _WEIGHTS, strict=True)) % 11]
        if (check == "X") == check_x:
            return prefix + check


RNG = random.Random(20240101)
ID_X = fake_id(RNG, check_x=True)
ID_A = fake_id(RNG)
ID_B = fake_id(RNG)

EN_HEADER = ["person_id", "scheme", "period", "pay_date", "amount", "bank_account", "kind"]
ZH_HEADER = ["身份证号", "险种", "所属期", "发放日期", "发放金额", "银行账号", "发放类型"]
ROWS = [
    [ID_X, "城乡居民", "2024-01", "2024-01-05", "2,093.50", "0062170001", "正常"],
    [ID_A, "企业职工", "2024-01", "2024/1/5", "150", "", "补发"],
    [ID_B, "resident", "202401", "20240105", "¥88.5", "6217000099", "regular"],
]
EXPECTED = pl.DataFrame(
    {
        "person_id": [ID_X, ID_A, ID_B],
        "scheme": ["城乡居民", "企业职工", "resident"],
        "period": ["2024-01", "2024-01", "202401"],
        "pay_date": ["2024-01-05", "2024/1/5", "20240105"],
        "amount": ["2,093.50", "150", "¥88.5"],
        "bank_account": ["0062170001", None, "6217000099"],
        "kind": ["正常", "补发", "regular"],
        "_row": pl.Series([1, 2, 3], dtype=pl.Int64),
        "_malformed": pl.Series([None, None, None], dtype=pl.String),
    }
)


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str) -> Path:
    lines = [",".join(header)] + [",".join(_quote(v) for v in row) for row in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def _quote(value: str) -> str:
    return f'"{value}"' if "," in value else value
