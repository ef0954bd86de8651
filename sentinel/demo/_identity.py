"""Identity material of the demo county: ID numbers, names, places and bank accounts.

Everything is vectorised over numpy arrays; randomness comes only from the caller's
``numpy.random.Generator`` so a county is reproducible from its seed.
"""

from __future__ import annotations

import numpy as np
import polars as pl

# GB 11643-1999 MOD 11-2 weights of the 17 body digits, and the check characters.
_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_CHECK_CHARS = np.array(list("10X98765432"))

HOME_REGION = 430923  # 安化县 (reference county)
# Old IDs issued elsewhere in Hunan before people moved in, and 432301 (former 益阳地区,
# abolished) which still appears on IDs that were never re-issued.
OTHER_REGIONS = np.array([430902, 430921, 430903, 430922, 430981, 430102, 431121])
DEFUNCT_REGION = 432301
# Regions of other provinces (Guangdong, Jiangxi, Hubei, Chongqing, Guangxi, Guizhou,
# Zhejiang, Fujian): people who worked elsewhere and retired here keep IDs issued there.
OTHER_PROVINCES = np.array([440106, 360102, 420106, 500103, 450102, 520102, 330106, 350102])

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范廖石金贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
# Weights: the first names on the list are far more common (as in the census).
_SURNAME_WEIGHTS = 1.0 / np.arange(1, len(SURNAMES) + 1) ** 0.9
_SURNAME_WEIGHTS /= _SURNAME_WEIGHTS.sum()

GIVEN_MALE = list("建国华明军伟平志强文德辉林勇海清福春生忠发贵荣安成庆兴才松山金福正光新良永元")
GIVEN_FEMALE = list("秀英兰芳桂玉珍凤华梅丽红莲香菊群云翠娥仙淑玲春美娟花琴月霞素冬满桃")

# Same-sounding substitutes (同音字) used by clerks of another agency typing a name by ear.
HOMOPHONES: dict[str, str] = {
    "建": "健", "华": "化", "明": "鸣", "军": "君", "伟": "玮", "平": "萍", "志": "智",
    "强": "蔷", "文": "雯", "德": "得", "辉": "晖", "林": "琳", "勇": "永", "海": "亥",
    "清": "青", "福": "富", "春": "纯", "生": "升", "忠": "中", "贵": "桂", "荣": "容",
    "秀": "绣", "英": "瑛", "兰": "岚", "芳": "方", "玉": "钰", "珍": "真", "凤": "峰",
    "梅": "媚", "丽": "莉", "红": "宏", "莲": "连", "香": "湘", "菊": "局", "云": "芸",
    "国": "帼", "玲": "龄", "娟": "鹃", "琴": "勤", "霞": "夏", "桂": "贵", "刘": "留",
    "陈": "程", "杨": "阳", "黄": "王", "周": "舟", "金": "今", "山": "珊", "正": "政",
}

TOWNSHIPS = [
    "东坪镇", "羊角塘镇", "桃花江镇", "梅城镇", "仙溪镇", "长塘镇", "大福镇", "烟溪镇",
    "渠江镇", "平口镇", "柘溪镇", "奎溪镇", "清塘铺镇", "江南镇", "滔溪镇", "马路镇",
    "乐安镇", "龙塘镇", "高明乡", "古楼乡", "南金乡", "田庄乡", "冷市镇",
]
_VILLAGE_FIRST = list("大小上下新老黄石龙凤桃竹柳杨梅枫松茶田山水云金银白青红长高东西南北")
_VILLAGE_SECOND = list("塘溪湾坪冲岭桥坡洲山江湖园林庄塅桥口源坳")

BANK_PREFIXES_19 = np.array([621799, 622848, 623066, 621779, 622188, 621700])
BANK_PREFIXES_16 = np.array([622845, 436742, 622202])


def county_places(rng: np.random.Generator) -> pl.DataFrame:
    """The townships and villages of the county: one row per village.

    ~23 townships with 10-20 villages each; a township seat gets a few ``社区``.
    """
    townships: list[str] = []
    villages: list[str] = []
    for township in TOWNSHIPS:
        n_villages = int(rng.integers(10, 21))
        seen: set[str] = set()
        while len(seen) < n_villages:
            name = str(rng.choice(_VILLAGE_FIRST)) + str(rng.choice(_VILLAGE_SECOND))
            seen.add(name)
        names = sorted(seen)
        n_communities = int(rng.integers(1, 4))
        for k, name in enumerate(names):
            suffix = "社区" if k < n_communities else "村"
            townships.append(township)
            villages.append(name + suffix)
    return pl.DataFrame({"township": townships, "village": villages})


def check_chars(body17: np.ndarray) -> np.ndarray:
    """MOD 11-2 check character of each 17-digit ID body (int64 array) as a str array."""
    digits = np.empty((body17.shape[0], 17), dtype=np.int64)
    rest = body17.copy()
    for pos in range(16, -1, -1):
        digits[:, pos] = rest % 10
        rest //= 10
    return _CHECK_CHARS[(digits @ _WEIGHTS) % 11]


def id_bodies(region: np.ndarray, birth: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """17-digit bodies (int64): region(6) + YYYYMMDD + sequence(3)."""
    years = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    months = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
    days = (birth - birth.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    ymd_int = years * 10000 + months * 100 + days
    return region.astype(np.int64) * 10**11 + ymd_int * 1000 + seq.astype(np.int64)


def format_ids(body17: np.ndarray, check: np.ndarray | None = None) -> np.ndarray:
    """18-character ID strings from bodies (and check characters, computed when omitted)."""
    if check is None:
        check = check_chars(body17)
    bodies = pl.Series(body17).cast(pl.String).str.zfill(17)
    return (bodies + pl.Series(check.astype(str))).to_numpy().astype(object)


def make_ids(
    rng: np.random.Generator,
    region: np.ndarray,
    birth: np.ndarray,
    male: np.ndarray,
    taken: set[int] | None = None,
) -> np.ndarray:
    """Valid, mutually unique 18-character IDs; sequence odd for men, even for women.

    ``taken`` holds bodies already issued (updated in place) so later batches stay unique.
    """
    n = region.shape[0]
    taken = set() if taken is None else taken
    seq = rng.integers(0, 500, n) * 2 + male.astype(np.int64)
    body = id_bodies(region, birth, seq)
    issued = pl.Series(np.fromiter(taken, dtype=np.int64, count=len(taken)))
    for _ in range(100):
        bodies = pl.Series(body)
        redo = np.flatnonzero((~bodies.is_first_distinct() | bodies.is_in(issued)).to_numpy())
        if redo.size == 0:
            break
        seq[redo] = rng.integers(0, 500, redo.size) * 2 + male[redo].astype(np.int64)
        body[redo] = id_bodies(region[redo], birth[redo], seq[redo])
    taken.update(body.tolist())
    return format_ids(body)


def id_birth_date(ids: np.ndarray) -> np.ndarray:
    """Birth date encoded in 18-character IDs (datetime64[D])."""
    s = pl.Series(ids, dtype=pl.String).str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    return s.to_numpy().astype("datetime64[D]")


def make_names(rng: np.random.Generator, male: np.ndarray, surname: np.ndarray | None = None) -> np.ndarray:
    """Chinese names: a common surname plus one or two given-name characters by sex."""
    n = male.shape[0]
    if surname is None:
        surname = np.array(SURNAMES)[rng.choice(len(SURNAMES), n, p=_SURNAME_WEIGHTS)]
    gm, gf = np.array(GIVEN_MALE), np.array(GIVEN_FEMALE)
    first = np.where(male, gm[rng.integers(0, gm.size, n)], gf[rng.integers(0, gf.size, n)])
    second = np.where(male, gm[rng.integers(0, gm.size, n)], gf[rng.integers(0, gf.size, n)])
    two = rng.random(n) < 0.55
    given = np.where(two, np.char.add(first, second), first)
    return np.char.add(surname.astype(str), given).astype(object)


def homophone_variant(name: str, rng: np.random.Generator) -> str:
    """The name as another agency might type it by ear: one character swapped for a homophone."""
    positions = [i for i, ch in enumerate(name) if ch in HOMOPHONES and i > 0]
    positions = positions or [i for i, ch in enumerate(name) if ch in HOMOPHONES]
    if not positions:
        return name
    i = int(rng.choice(positions))
    return name[:i] + HOMOPHONES[name[i]] + name[i + 1 :]


def make_bank_accounts(rng: np.random.Generator, n: int, share_16: float = 0.08) -> np.ndarray:
    """Unique bank card numbers as text: mostly 19 digits, some old 16-digit cards."""
    short = rng.random(n) < share_16
    p19 = BANK_PREFIXES_19[rng.integers(0, BANK_PREFIXES_19.size, n)].astype(np.int64)
    p16 = BANK_PREFIXES_16[rng.integers(0, BANK_PREFIXES_16.size, n)].astype(np.int64)
    tail = rng.integers(0, 10**12, n, dtype=np.int64)
    lead = pl.Series(rng.integers(0, 10, n)).cast(pl.String)
    long_acc = pl.Series(p19).cast(pl.String) + lead + pl.Series(tail).cast(pl.String).str.zfill(12)
    short_acc = pl.Series(p16).cast(pl.String) + pl.Series(tail % 10**10).cast(pl.String).str.zfill(10)
    acc = np.where(short, short_acc.to_numpy(), long_acc.to_numpy()).astype(object)
    return acc
