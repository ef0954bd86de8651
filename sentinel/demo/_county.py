"""Simulation of a demo county: register, lives and deaths, certifications, payroll.

Pure computation, no file access: :func:`simulate_county` returns the monthly drops as
polars frames with canonical columns and types, plus the ground truth. Loops run over
months, typologies and injected cases (a few hundred), never over people.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from sentinel.config import PolicyConfig
from sentinel.contract import RULE_TYPOLOGIES as TYPOLOGIES
from sentinel.demo import _identity as ident
from sentinel.demo._rates import Phenomena, TypologyRates

SCHEME_NAMES = np.array(["enterprise", "institution", "resident"])
ENTERPRISE, INSTITUTION, RESIDENT = 0, 1, 2
# Reference county, 2020: pensioners per scheme and average monthly pension (yuan).
SCHEME_COUNTS = {ENTERPRISE: 21_600, INSTITUTION: 9_978, RESIDENT: 156_842}
SCHEME_MEAN_PENSION = {ENTERPRISE: 2_093.0, INSTITUTION: 4_770.0}

ACTIVE, SUSPENDED, TERMINATED = 0, 1, 2
STATUS_NAMES = np.array(["active", "suspended", "terminated"])
SOURCES = np.array(["police", "civil_affairs", "health", "ministry"])
SOURCE_PREFIX = {"police": "GA", "civil_affairs": "MZ", "health": "WJ", "ministry": "BS"}
METHODS = np.array(["face_app", "on_site", "home_visit", "data_match"])
FACE_APP, ON_SITE, HOME_VISIT, DATA_MATCH = 0, 1, 2, 3

# Typology codes: 1.. follow contract.TYPOLOGIES; the next is the routine reporting lag (a death
# recorded with a correct ID after one or more payroll runs: overpaid, then recovered).
TYPOLOGY_CODE = {name: k + 1 for k, name in enumerate(TYPOLOGIES)}
REPORTING_LAG = len(TYPOLOGIES) + 1
TYPOLOGY_NAMES = np.array(["", *TYPOLOGIES, "reporting_lag"])

NEVER = 10**9  # a day / month index that never comes
CERT_LAPSE_MONTHS = 13  # suspended from the 13th month without a pass (policy 12 + 1)


@dataclass
class County:
    """A simulated county: monthly frames (canonical columns and dtypes) and ground truth."""

    months: list[str]
    drops: dict[str, dict[str, pl.DataFrame]]  # month -> dataset -> frame
    improper: pl.DataFrame
    overpayments: pl.DataFrame
    death_records: pl.DataFrame
    people: pl.DataFrame
    shared_accounts: pl.DataFrame
    pensioners: dict[str, int]
    injected: dict[str, int]
    notes: dict[str, int] = field(default_factory=dict)
    custody_records: pl.DataFrame = field(default_factory=pl.DataFrame)
    suspects: pl.DataFrame = field(default_factory=pl.DataFrame)


# --------------------------------------------------------------------------- helpers


def _annual_death_hazard(age: np.ndarray) -> np.ndarray:
    """Gompertz annual mortality: ~1%/yr at 60, ~17%/yr at 90, capped at 70%."""
    return np.minimum(0.01 * np.exp(0.0944 * (np.asarray(age, dtype=float) - 60.0)), 0.7)


def _monthly_death_probability(age: np.ndarray) -> np.ndarray:
    return 1.0 - (1.0 - _annual_death_hazard(age)) ** (1.0 / 12.0)


def _sample_ages(rng: np.random.Generator, n: int, low: float, decay: float) -> np.ndarray:
    """Ages of a living pensioner stock: Gompertz survival from ``low`` times cohort growth."""
    grid = np.arange(low, 106.0, 1.0 / 12.0)
    cum_hazard = np.cumsum(-np.log1p(-_annual_death_hazard(grid)) / 12.0)
    weight = np.exp(-cum_hazard - (grid - low) / decay)
    return rng.choice(grid, n, p=weight / weight.sum()) + rng.random(n) / 12.0


def _month_of(days: np.ndarray, start_m: np.datetime64) -> np.ndarray:
    """Month index (0 = first simulated month) of epoch days; NEVER stays NEVER."""
    days = np.asarray(days, dtype=np.int64)
    safe = np.where(days >= NEVER, 0, days)
    m = (safe.astype("datetime64[D]").astype("datetime64[M]") - start_m).astype(np.int64)
    return np.where(days >= NEVER, NEVER, m)


def _month_start_day(start_m: np.datetime64, m: np.ndarray | int) -> np.ndarray:
    return (start_m + np.asarray(m, dtype=np.int64)).astype("datetime64[D]").astype(np.int64)


def _add_years_month_start(birth_day: np.ndarray, years: np.ndarray) -> np.ndarray:
    """First day of the month after the ``years``-th birthday (when a pension starts)."""
    bm = birth_day.astype("datetime64[D]").astype("datetime64[M]")
    return (bm + (years * 12 + 1).astype("timedelta64[M]")).astype("datetime64[D]").astype(np.int64)


def _period(start_m: np.datetime64, k: int) -> str:
    return str(start_m + np.timedelta64(int(k), "M"))


def _text(values: object) -> pl.Series:
    """A text column from a numpy/object array or list (None stays null)."""
    if isinstance(values, np.ndarray):
        values = values.tolist()
    return pl.Series(values, dtype=pl.String)


def _count(rate_per_100k: float, n: int, minimum: int) -> int:
    return max(minimum, int(round(rate_per_100k * n / 100_000)))


def _variants(rng: np.random.Generator, n: int, names: list[str], p: list[float]) -> list[str]:
    """Every variant once (while n allows), the rest drawn by ``p``."""
    head = names[: min(n, len(names))]
    tail = list(rng.choice(names, n - len(head), p=np.asarray(p) / np.sum(p))) if n > len(head) else []
    out = head + [str(v) for v in tail]
    return [out[i] for i in rng.permutation(len(out))]


# --------------------------------------------------------------------------- register


class _Register:
    """Register rows (one per person per scheme) as parallel numpy arrays."""

    FIELDS = (
        "pid", "name", "male", "birth", "id_birth", "scheme", "region", "township", "village",
        "benefit_start", "bank", "collector", "base", "payday", "entry_m", "death_day",
        "lapser", "l0", "reinstate_m", "fraud_pass", "method_pref", "death_typ", "row_typ",
        "used", "village_idx",
    )

    def __init__(self, **arrays: np.ndarray) -> None:
        self.a: dict[str, np.ndarray] = dict(arrays)

    def __getattr__(self, key: str) -> np.ndarray:
        try:
            return self.__dict__["a"][key]
        except KeyError as e:
            raise AttributeError(key) from e

    def __len__(self) -> int:
        return int(self.a["pid"].shape[0])

    def append(self, **arrays: np.ndarray) -> np.ndarray:
        """Append rows; returns their indices."""
        n0 = len(self)
        for k in self.a:
            self.a[k] = np.concatenate([self.a[k], np.asarray(arrays[k], dtype=self.a[k].dtype)])
        return np.arange(n0, len(self))


def _new_people(
    rng: np.random.Generator,
    n: int,
    scheme: int,
    ages: np.ndarray,
    male: np.ndarray,
    ret_age: np.ndarray,
    start_day: int,
    places: pl.DataFrame,
    phenomena: Phenomena,
) -> dict[str, np.ndarray]:
    """Attributes of ``n`` new register rows (before IDs, which need final birth dates)."""
    village_idx = rng.integers(0, places.height, n)
    birth = start_day - np.round(ages * 365.25).astype(np.int64)
    if scheme == RESIDENT:
        base = np.where(rng.random(n) < 0.3, 0.0, np.round(rng.uniform(1, 60, n), 2))
    else:
        mean, sigma = SCHEME_MEAN_PENSION[scheme], (0.38 if scheme == ENTERPRISE else 0.28)
        lo, hi = (800.0, 9_000.0) if scheme == ENTERPRISE else (2_000.0, 15_000.0)
        base = np.clip(np.round(rng.lognormal(np.log(mean) - sigma**2 / 2, sigma, n), 2), lo, hi)
    u = rng.random(n)
    moved_in = ident.OTHER_REGIONS[rng.integers(0, ident.OTHER_REGIONS.size, n)]
    if phenomena.migrant_other_province > 0:
        far = ident.OTHER_PROVINCES[rng.integers(0, ident.OTHER_PROVINCES.size, n)]
        moved_in = np.where(rng.random(n) < phenomena.migrant_other_province, far, moved_in)
    region = np.where(
        u < 0.0003, ident.DEFUNCT_REGION,
        np.where(u < phenomena.migrant_share, moved_in, ident.HOME_REGION),
    )
    return {
        "male": male,
        "birth": birth,
        "scheme": np.full(n, scheme, dtype=np.int8),
        "region_int": region,
        "ret_age": ret_age,
        "base": base,
        "village_idx": village_idx,
    }


def _build_register(
    rng: np.random.Generator,
    scale: float,
    months: int,
    start_m: np.datetime64,
    places: pl.DataFrame,
    rates: TypologyRates,
    taken: set[int],
    phenomena: Phenomena,
) -> tuple[_Register, list[tuple[int, int]]]:
    """The initial register plus the entrants of the simulated months.

    Returns the register and the couples sharing a bank account (row pairs).
    """
    start_day = int(start_m.astype("datetime64[D]").astype(np.int64))
    parts: list[dict[str, np.ndarray]] = []
    for scheme, full_count in SCHEME_COUNTS.items():
        n = max(1, int(round(full_count * scale)))
        if scheme == RESIDENT:
            male = rng.random(n) < 0.47
            ret_age = np.full(n, 60)
        elif scheme == ENTERPRISE:
            male = rng.random(n) < 0.55
            ret_age = np.where(male, 60, np.where(rng.random(n) < 0.7, 50, 55))
        else:
            male = rng.random(n) < 0.58
            ret_age = np.where(male, 60, 55)
        ages = np.empty(n)
        for r in np.unique(ret_age):
            sel = ret_age == r
            ages[sel] = _sample_ages(rng, int(sel.sum()), float(r), 22.0 if scheme == RESIDENT else 14.0)
        part = _new_people(rng, n, scheme, ages, male, ret_age, start_day, places, phenomena)
        part["entry_m"] = np.full(n, -1)
        # Entrants: people reaching pension age during the simulated months.
        n_new = rng.binomial(n, 0.0018 * months)
        if n_new:
            entry = rng.integers(0, months, n_new)
            new_male = rng.random(n_new) < 0.5
            new_ret = np.where(new_male, 60, 50 if scheme == ENTERPRISE else (55 if scheme == INSTITUTION else 60))
            new = _new_people(rng, n_new, scheme, np.zeros(n_new), new_male, new_ret, start_day, places, phenomena)
            entry_day = _month_start_day(start_m, entry)
            month_before = (entry_day.astype("datetime64[D]").astype("datetime64[M]") - (new_ret * 12 + 1).astype("timedelta64[M]"))
            new["birth"] = month_before.astype("datetime64[D]").astype(np.int64) + rng.integers(0, 28, n_new)
            new["entry_m"] = entry
            part = {k: np.concatenate([part[k], new[k]]) for k in part}
        parts.append(part)
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    n = cols["male"].shape[0]
    # The register is exported village by village, schemes mixed.
    order = np.lexsort((rng.random(n), cols["village_idx"]))
    cols = {k: v[order] for k, v in cols.items()}
    initial = cols["entry_m"] < 0

    # Married couples among residents: same village, opposite sex, similar age, one account.
    res = np.flatnonzero((cols["scheme"] == RESIDENT) & initial)
    n_pairs = int(round(rates.couple_share * res.size / 2))
    husbands = rng.permutation(res[cols["male"][res]])[:n_pairs]
    wives = rng.permutation(res[~cols["male"][res]])[: husbands.size]
    husbands = husbands[: wives.size]
    cols["village_idx"][wives] = cols["village_idx"][husbands]
    wife_birth = cols["birth"][husbands] + rng.integers(-4 * 365, 6 * 365, husbands.size)
    cols["birth"][wives] = np.minimum(wife_birth, start_day - int(60.2 * 365.25))

    # Namesakes: a few people share name and birth date (they get different IDs).
    n_namesakes = max(2, int(round(n * 0.0002)))
    residents = np.flatnonzero(initial & (cols["scheme"] == RESIDENT))
    src = rng.choice(residents, n_namesakes, replace=False)
    dst = rng.choice(residents, n_namesakes, replace=False)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    cols["birth"][dst] = cols["birth"][src]
    cols["male"][dst] = cols["male"][src]

    benefit_start = _add_years_month_start(cols["birth"], cols["ret_age"])
    resident_launch = int(np.datetime64("2011-07-01").astype(np.int64))
    benefit_start = np.where(cols["scheme"] == RESIDENT, np.maximum(benefit_start, resident_launch), benefit_start)
    entrants = ~initial
    benefit_start[entrants] = _month_start_day(start_m, cols["entry_m"][entrants])
    # Initial rows started before the first month (the age draw is continuous).
    benefit_start[initial] = np.minimum(benefit_start[initial], start_day - 1)
    benefit_start[initial] = _month_start_day(
        start_m, _month_of(benefit_start[initial], start_m)
    )

    pid = ident.make_ids(rng, cols["region_int"], cols["birth"].astype("datetime64[D]"), cols["male"], taken)
    names = ident.make_names(rng, cols["male"])
    names[dst] = names[src]
    bank = ident.make_bank_accounts(rng, n)
    bank[wives] = bank[husbands]

    places_t = places["township"].to_numpy()
    places_v = places["village"].to_numpy()
    township_no = pl.Series(places_t).rank("dense").to_numpy().astype(np.int64)
    reg = _Register(
        pid=pid,
        name=names,
        male=cols["male"],
        birth=cols["birth"].astype(np.int64),
        id_birth=cols["birth"].astype(np.int64),
        scheme=cols["scheme"],
        region=cols["region_int"].astype(str).astype(object),
        township=places_t[cols["village_idx"]],
        village=places_v[cols["village_idx"]],
        benefit_start=benefit_start.astype(np.int64),
        bank=bank,
        collector=np.full(n, None, dtype=object),
        base=cols["base"],
        payday=(10 + township_no[cols["village_idx"]] % 6).astype(np.int64),
        entry_m=cols["entry_m"].astype(np.int64),
        death_day=np.full(n, NEVER, dtype=np.int64),
        lapser=np.zeros(n, dtype=bool),
        l0=np.zeros(n, dtype=np.int64),
        reinstate_m=np.full(n, NEVER, dtype=np.int64),
        fraud_pass=np.zeros(n, dtype=bool),
        method_pref=np.full(n, -1, dtype=np.int64),
        death_typ=np.zeros(n, dtype=np.int64),
        row_typ=np.zeros(n, dtype=np.int64),
        used=np.zeros(n, dtype=bool),
        village_idx=cols["village_idx"].astype(np.int64),
    )
    reg.used[husbands] = True
    reg.used[wives] = True

    # Certification: last pass before the first month; lapsers are alive but uncertified.
    reg.lapser[:] = initial & (rng.random(n) < rates.certification_lapse_share)
    reg.l0[:] = np.where(reg.lapser, rng.integers(-22, -8, n), rng.integers(-12, 0, n))
    reg.l0[entrants] = reg.entry_m[entrants]
    can_return = reg.lapser & (np.maximum(0, reg.l0 + CERT_LAPSE_MONTHS) < months) & (rng.random(n) < 0.3)
    lo = np.maximum(0, reg.l0 + CERT_LAPSE_MONTHS)
    reg.reinstate_m[can_return] = lo[can_return] + (rng.random(int(can_return.sum())) * (months - lo[can_return])).astype(np.int64)

    # Family collectors for some of the very old.
    age0 = (start_day - reg.birth) / 365.25
    has_collector = initial & (age0 >= 85) & (rng.random(n) < rates.collector_share_85plus)
    reg.collector[has_collector] = _fresh_ids(rng, int(has_collector.sum()), start_day, taken, 35, 62)
    couples = list(zip(husbands.tolist(), wives.tolist(), strict=True))
    return reg, couples


def _fresh_ids(
    rng: np.random.Generator, n: int, start_day: int, taken: set[int], age_lo: float, age_hi: float
) -> np.ndarray:
    """Valid IDs of younger people (family members, agents) of the home county."""
    birth = start_day - np.round(rng.uniform(age_lo, age_hi, n) * 365.25).astype(np.int64)
    male = rng.random(n) < 0.5
    return ident.make_ids(rng, np.full(n, ident.HOME_REGION), birth.astype("datetime64[D]"), male, taken)


# --------------------------------------------------------------------------- deaths


def _simulate_natural_deaths(
    rng: np.random.Generator,
    reg: _Register,
    months: int,
    start_m: np.datetime64,
    rows: np.ndarray | None = None,
) -> None:
    """Gompertz monthly deaths of everyone in the register, or of ``rows`` only (persons
    the typologies had taken from those who live through the year), in place; recorded
    later like every natural death."""
    for m in range(months):
        first = int(_month_start_day(start_m, m))
        days = int(_month_start_day(start_m, m + 1)) - first
        alive = (reg.death_day >= NEVER) & (reg.entry_m <= m)
        idx = np.flatnonzero(alive) if rows is None else rows[alive[rows]]
        age = (first + 15 - reg.birth[idx]) / 365.25
        dies = rng.random(idx.size) < _monthly_death_probability(age)
        reg.death_day[idx[dies]] = first + rng.integers(0, days, int(dies.sum()))


@dataclass
class _Records:
    """Death records (one row per record) before IDs are assigned."""

    row: list[np.ndarray] = field(default_factory=list)  # register row, -1 if not a pensioner
    pid: list[np.ndarray] = field(default_factory=list)
    true_pid: list[np.ndarray] = field(default_factory=list)
    name: list[np.ndarray] = field(default_factory=list)
    sex: list[np.ndarray] = field(default_factory=list)
    birth: list[np.ndarray] = field(default_factory=list)
    death: list[np.ndarray] = field(default_factory=list)
    source: list[np.ndarray] = field(default_factory=list)
    recorded: list[np.ndarray] = field(default_factory=list)
    id_error: list[np.ndarray] = field(default_factory=list)

    def add(self, **cols: np.ndarray) -> None:
        for k, v in cols.items():
            getattr(self, k).append(np.asarray(v, dtype=object if k in ("pid", "true_pid", "name", "sex", "source", "id_error") else np.int64))

    def frame(self) -> pl.DataFrame:
        def cat(k: str) -> np.ndarray:
            return np.concatenate(getattr(self, k))

        birth = cat("birth")
        return pl.DataFrame(
            {
                "row": cat("row"),
                "person_id": _text(cat("pid")),
                "true_person_id": _text(cat("true_pid")),
                "name": _text(cat("name")),
                "sex": _text(cat("sex")),
                "birth_date": pl.Series(np.where(birth >= NEVER, 0, birth)).cast(pl.Int32).cast(pl.Date),
                "birth_missing": birth >= NEVER,
                "death_date": pl.Series(cat("death")).cast(pl.Int32).cast(pl.Date),
                "source": _text(cat("source")),
                "recorded_on": pl.Series(cat("recorded")).cast(pl.Int32).cast(pl.Date),
                "id_error": _text(cat("id_error")),
            }
        ).with_columns(
            birth_date=pl.when(pl.col("birth_missing")).then(None).otherwise(pl.col("birth_date"))
        ).drop("birth_missing")


def _routine_lag_days(rng: np.random.Generator, source: np.ndarray) -> np.ndarray:
    """Days from death to record: cremation/police quick, ministry cross-check slow."""
    quick = 1 + rng.exponential(16.0, source.size)
    slow = rng.uniform(40, 120, source.size)
    return np.where(source == "ministry", slow, quick).astype(np.int64)


# Share of ``Phenomena.death_record_delay_months`` a source may add: the ministry's
# cross-check is the latest feed, household de-registration at the police the soonest.
_DELAY_SHARE = {"police": 0.2, "civil_affairs": 0.35, "health": 0.6, "ministry": 1.0}


def _extra_delay_days(rng: np.random.Generator, source: np.ndarray, months_max: int) -> np.ndarray:
    """Extra days a death record arrives late (0 when the county's feeds are prompt)."""
    if months_max <= 0:
        return np.zeros(source.size, dtype=np.int64)
    share = np.array([_DELAY_SHARE[str(s)] for s in source])
    return (rng.random(source.size) * share * months_max * 30.4).astype(np.int64)


def _mistype_ids(rng: np.random.Generator, ids: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """IDs as typed by another agency: one digit wrong, adjacent digits swapped, or missing."""
    out = ids.copy()
    for i, kind in enumerate(kinds):
        s = list(str(ids[i]))
        if kind == "digit":
            pos = int(rng.integers(0, 17))
            s[pos] = str((int(s[pos]) + int(rng.integers(1, 10))) % 10)
            out[i] = "".join(s)
        elif kind == "swap":
            positions = [p for p in range(16) if s[p] != s[p + 1]]
            pos = int(rng.choice(positions))
            s[pos], s[pos + 1] = s[pos + 1], s[pos]
            out[i] = "".join(s)
        elif kind == "missing":
            out[i] = None
    return out


# --------------------------------------------------------------------------- the county


@dataclass
class _Custody:
    """Custody of register rows (``mode`` 1: the pension suspended by policy but paid,
    from month ``first`` to ``last``; 2: kept but frozen, no increase) and the custody
    records delivered (``records``, contract columns plus ``month`` and ``true_person_id``)."""

    rows: np.ndarray
    mode: np.ndarray
    first: np.ndarray
    last: np.ndarray
    frozen_from: np.ndarray
    records: pl.DataFrame


CUSTODY_SOURCE_PREFIX = {"prison": "JY", "detention_centre": "KS", "court": "FY", "police": "GA"}


def _custody_events(
    rng: np.random.Generator,
    reg: _Register,
    candidates: np.ndarray,
    rates: TypologyRates,
    n_initial: int,
    start_m: np.datetime64,
    months: int,
    taken: set[int],
) -> tuple[_Custody, list[tuple[int, str, str]]]:
    """Custodies of pensioners and of people not in the register (see
    :class:`TypologyRates`): the paid prisoners (held to the end, released, or detained then
    sentenced), those on probation, parole or supervised release, and the detained who were
    acquitted; returns them and the improper persons to note (row, first period, what)."""
    start_day = int(start_m.astype("datetime64[D]").astype(np.int64))
    end_day = int(_month_start_day(start_m, months))
    n_prison = _count(rates.custody_paid, n_initial, 3)
    n_frozen = _count(rates.custody_paid, n_initial, 2)
    n_acquitted = max(1, n_prison // 3)
    enterprise = candidates[reg.scheme[candidates] == ENTERPRISE]
    frozen_rows = rng.choice(enterprise, min(n_frozen, enterprise.size), replace=False)
    others = np.setdiff1d(candidates, frozen_rows)
    chosen = rng.choice(others, min(n_prison + n_acquitted, others.size), replace=False)
    prison_rows, acquitted_rows = chosen[:n_prison], chosen[n_prison:]
    reg.used[np.concatenate([frozen_rows, chosen])] = True
    rec: list[dict[str, object]] = []
    notes: list[tuple[int, str, str]] = []
    rows, mode, first, last, frozen_from = [], [], [], [], []

    def day_in(m: int) -> int:
        return int(_month_start_day(start_m, m)) + int(rng.integers(0, 28))

    def record(row: int, kind: str, start: int, end: int | None, source: str, received: int) -> None:
        rec.append({"row": row, "kind": kind, "start": start, "end": end, "source": source, "received": received})

    variants = ["held", "released", "detained_then_sentenced"]
    for i, r in enumerate(prison_rows):
        r = int(r)
        s = int(rng.integers(0, max(months - 3, 1)))
        variant = variants[i % 3] if s + 2 < months else "held"
        start = day_in(s)
        if variant == "detained_then_sentenced":
            record(r, "pretrial_detention", start, None, "detention_centre", start + int(rng.integers(3, 25)))
            sentenced = day_in(min(s + 2, months - 1))
            end = sentenced + int(rng.integers(365, 3 * 365))
            record(r, "imprisonment", sentenced, end, "court", sentenced + int(rng.integers(5, 30)))
        else:
            end = (
                day_in(int(rng.integers(s + 2, months))) if variant == "released"
                else start + int(rng.integers(365, 5 * 365))
            )
            record(r, "imprisonment", start, end, "prison", start + int(rng.integers(10, 45)))
            if variant == "released":
                record(r, "release", end, None, "prison", end + int(rng.integers(3, 20)))
        end_m = int(_month_of(np.array([end]), start_m)[0])
        rows.append(r)
        mode.append(1)
        first.append(s + 1)
        last.append(min(end_m, NEVER))
        frozen_from.append(NEVER)
        notes.append((r, _period(start_m, s + 1), f"custody: {variant}, still paid"))
    for r in frozen_rows:
        r = int(r)
        kind = str(rng.choice(["probation", "parole", "supervised_release"], p=[0.7, 0.2, 0.1]))
        s = int(rng.integers(0, max(months - 2, 1)))
        start = day_in(s)
        end = start + int(rng.integers(365, 3 * 365))
        record(r, kind, start, end, "court", start + int(rng.integers(5, 30)))
        rows.append(r)
        mode.append(2)
        first.append(s)
        last.append(int(_month_of(np.array([end]), start_m)[0]))
        frozen_from.append(s)
        notes.append((r, _period(start_m, s), f"custody: {kind}, increases paid"))
    for r in acquitted_rows:
        r = int(r)
        s = int(rng.integers(0, max(months - 3, 1)))
        start = day_in(s)
        record(r, "pretrial_detention", start, None, "detention_centre", start + int(rng.integers(3, 25)))
        freed = day_in(s + 2)
        record(r, "acquittal", freed, None, "court", freed + int(rng.integers(3, 20)))
    # People not in the register: younger offenders mostly.
    n_np = int(round(rates.non_pensioner_custody_per_1000 * n_initial / 1000 * months / 12))
    np_birth = start_day - np.round(rng.uniform(20, 70, n_np) * 365.25).astype(np.int64)
    np_male = rng.random(n_np) < 0.85
    np_ids = ident.make_ids(rng, np.full(n_np, ident.HOME_REGION), np_birth.astype("datetime64[D]"), np_male, taken)
    np_names = ident.make_names(rng, np_male)
    records = pl.DataFrame(rec, schema={"row": pl.Int64, "kind": pl.String, "start": pl.Int64, "end": pl.Int64,
                                        "source": pl.String, "received": pl.Int64})
    pid = reg.pid[records["row"].to_numpy()] if records.height else np.array([], dtype=object)
    typo = rng.random(records.height) < 0.25
    kinds = np.where(typo, "digit", "none").astype(object)
    typed = _mistype_ids(rng, pid, kinds) if records.height else pid
    names = reg.name[records["row"].to_numpy()].copy() if records.height else np.array([], dtype=object)
    for i in range(names.size):
        if rng.random() < 0.2:
            names[i] = ident.homophone_variant(str(names[i]), rng)
    births = reg.birth[records["row"].to_numpy()] if records.height else np.array([], dtype=np.int64)
    known_birth = rng.random(records.height) < 0.8
    np_start = start_day + rng.integers(0, end_day - start_day, n_np)
    np_kind = rng.choice(["pretrial_detention", "imprisonment", "probation", "release"], n_np, p=[0.3, 0.3, 0.3, 0.1])
    np_source = np.where(np_kind == "pretrial_detention", "detention_centre", np.where(np_kind == "probation", "court", "prison"))
    frame = pl.concat(
        [
            pl.DataFrame(
                {
                    "person_id": pl.Series(typed, dtype=pl.String),
                    "true_person_id": pl.Series(pid, dtype=pl.String),
                    "name": pl.Series(names, dtype=pl.String),
                    "birth_date": pl.Series(np.where(known_birth, births, 0)).cast(pl.Int32).cast(pl.Date),
                    "_known": known_birth,
                    "kind": records["kind"],
                    "start_date": records["start"].cast(pl.Int32).cast(pl.Date),
                    "end_date": records["end"].cast(pl.Int32).cast(pl.Date),
                    "source": records["source"],
                    "received_on": records["received"].cast(pl.Int32).cast(pl.Date),
                }
            ),
            pl.DataFrame(
                {
                    "person_id": pl.Series(np_ids, dtype=pl.String),
                    "true_person_id": pl.Series([None] * n_np, dtype=pl.String),
                    "name": pl.Series(np_names, dtype=pl.String),
                    "birth_date": pl.Series(np_birth).cast(pl.Int32).cast(pl.Date),
                    "_known": np.ones(n_np, dtype=bool),
                    "kind": pl.Series(np_kind, dtype=pl.String),
                    "start_date": pl.Series(np_start).cast(pl.Int32).cast(pl.Date),
                    "end_date": pl.Series([None] * n_np, dtype=pl.Date),
                    "source": pl.Series(np_source, dtype=pl.String),
                    "received_on": pl.Series(np_start + rng.integers(5, 40, n_np)).cast(pl.Int32).cast(pl.Date),
                }
            ),
        ]
    )
    frame = (
        frame.with_columns(pl.when("_known").then("birth_date").alias("birth_date"))
        .drop("_known")
        .filter(pl.col("received_on") < pl.lit(np.datetime64(end_day, "D")))
        .with_columns(
            month=((pl.col("received_on").dt.year() - int(str(start_m)[:4])) * 12
                   + pl.col("received_on").dt.month() - int(str(start_m)[5:7]))
        )
        .sort("received_on", "start_date", "true_person_id", nulls_last=True)
        .with_columns(
            record_id=pl.col("source").replace_strict(CUSTODY_SOURCE_PREFIX)
            + pl.col("received_on").dt.strftime("%Y%m")
            + (pl.int_range(pl.len()).over("source", "month") + 1).cast(pl.String).str.zfill(5)
        )
    )
    custody = _Custody(
        rows=np.asarray(rows, dtype=np.int64), mode=np.asarray(mode, dtype=np.int64),
        first=np.asarray(first, dtype=np.int64), last=np.asarray(last, dtype=np.int64),
        frozen_from=np.asarray(frozen_from, dtype=np.int64), records=frame,
    )
    return custody, notes


@dataclass
class _Plan:
    """Injected payout rows and overrides, indexed by the month they are paid."""

    extra_row: list[int] = field(default_factory=list)
    extra_m: list[int] = field(default_factory=list)
    extra_period: list[int] = field(default_factory=list)
    extra_kind: list[str] = field(default_factory=list)
    extra_typ: list[int] = field(default_factory=list)
    factor: dict[int, list[tuple[int, float]]] = field(default_factory=dict)  # m -> (row, factor)
    force_pay: dict[int, list[int]] = field(default_factory=dict)  # m -> rows
    bank_change: dict[int, list[tuple[int, str]]] = field(default_factory=dict)
    collector_change: dict[int, list[tuple[int, str]]] = field(default_factory=dict)

    def add_extra(self, row: int, m: int, period: int, kind: str, typ: int) -> None:
        self.extra_row.append(row)
        self.extra_m.append(m)
        self.extra_period.append(period)
        self.extra_kind.append(kind)
        self.extra_typ.append(typ)


def simulate_county(
    *,
    seed: int,
    scale: float,
    start: str,
    months: int,
    rates: TypologyRates,
    policy: PolicyConfig,
    phenomena: Phenomena | None = None,
    progress: Callable[[str], None] | None = None,
) -> County:
    """Simulate ``months`` monthly drops of a county of ``scale`` × the reference size.

    Deterministic in ``seed``. Every typology is injected at least a few times (see
    :class:`TypologyRates`); ``phenomena`` adds policy events and data habits
    (:class:`Phenomena`, none by default).
    """
    phenomena = phenomena or Phenomena()
    say = progress or (lambda _msg: None)
    if months < 3:
        raise ValueError("a demo county needs at least 3 months")
    rng = np.random.default_rng(seed)
    start_m = np.datetime64(start, "M")
    start_day = int(start_m.astype("datetime64[D]").astype(np.int64))
    end_day = int(_month_start_day(start_m, months))
    taken: set[int] = set()
    places = ident.county_places(rng)

    reg, couples = _build_register(rng, scale, months, start_m, places, rates, taken, phenomena)
    n_initial = int((reg.entry_m < 0).sum())
    say(f"register: {len(reg):,} rows")
    _simulate_natural_deaths(rng, reg, months, start_m)

    plan = _Plan()
    improper: list[dict[str, object]] = []
    rings: list[dict[str, object]] = []
    records = _Records()

    def period_of_day(day: int) -> str:
        return str(np.datetime64(int(day), "D").astype("datetime64[M]"))

    def note_improper(row: int, typ: str, first_period: str, note: str) -> None:
        dd = int(reg.death_day[row])
        improper.append(
            {
                "person_id": reg.pid[row],
                "scheme": str(SCHEME_NAMES[reg.scheme[row]]),
                "typology": typ,
                "first_period": first_period,
                "true_death_date": None if dd >= NEVER else np.datetime64(dd, "D").astype(object),
                "note": note,
            }
        )

    age_now = (start_day - reg.birth) / 365.25
    base = np.flatnonzero(
        (reg.entry_m < 0) & (reg.death_day >= NEVER) & ~reg.lapser
        & np.equal(reg.collector, None) & ~reg.used
    )

    def pool(min_age: float, schemes: tuple[int, ...] = (0, 1, 2)) -> np.ndarray:
        """Living, certified, unused initial rows of at least ``min_age`` in ``schemes``."""
        ok = (age_now[base] >= min_age) & np.isin(reg.scheme[base], schemes) & ~reg.used[base]
        return base[ok]

    def pick(candidates: np.ndarray, n: int, by_hazard: bool = True) -> np.ndarray:
        n = min(n, candidates.size)
        p = _annual_death_hazard(age_now[candidates]) if by_hazard else np.ones(candidates.size)
        chosen = rng.choice(candidates, n, replace=False, p=p / p.sum())
        reg.used[chosen] = True
        return np.sort(chosen)

    spare_ids = iter(_fresh_ids(rng, 4 * n_initial // 1000 + 50, start_day, taken, 30, 60).tolist())

    def fresh_id() -> str:
        """A valid ID of a younger county resident (collector, agent)."""
        return str(next(spare_ids))

    def new_account() -> str:
        return str(ident.make_bank_accounts(rng, 1)[0])

    # 1. deceased_paid: a death record arrives, but the centre never acts on it.
    n = _count(rates.deceased_paid, n_initial, 4)
    rows = pick(pool(70), n)
    kinds = np.array(_variants(rng, rows.size, ["none", "digit", "swap", "missing"], list(rates.death_id_errors)), dtype=object)
    d = rng.integers(0, months - 2, rows.size)
    reg.death_day[rows] = _month_start_day(start_m, d) + rng.integers(0, 28, rows.size)
    reg.death_typ[rows] = TYPOLOGY_CODE["deceased_paid"]
    src = SOURCES[rng.integers(0, 4, rows.size)]
    rec = reg.death_day[rows] + rng.integers(3, 60, rows.size)
    rec = np.minimum(rec + _extra_delay_days(rng, src, phenomena.death_record_delay_months), end_day - 1)
    typed_name = reg.name[rows].copy()
    for i in range(rows.size):
        if rng.random() < 0.4:
            typed_name[i] = ident.homophone_variant(str(typed_name[i]), rng)
    known = rng.random(rows.size) < 0.9
    records.add(
        row=rows, pid=_mistype_ids(rng, reg.pid[rows], kinds), true_pid=reg.pid[rows], name=typed_name,
        sex=np.where(known, np.where(reg.male[rows], "M", "F"), None), birth=np.where(known, reg.birth[rows], NEVER),
        death=reg.death_day[rows], source=src, recorded=rec, id_error=kinds,
    )
    for i, r in enumerate(rows):
        note_improper(int(r), "deceased_paid", _period(start_m, int(d[i]) + 1),
                      f"death record {src[i]} with id_error={kinds[i]}, not acted on")

    # 2. suspected_unreported_death: no record ever; relatives keep collecting.
    n = _count(rates.suspected_unreported_death, n_initial, 3)
    rows = pick(pool(78), n)
    d = rng.integers(-6, months - 1, rows.size)
    reg.death_day[rows] = _month_start_day(start_m, d) + rng.integers(0, 28, rows.size)
    reg.death_typ[rows] = TYPOLOGY_CODE["suspected_unreported_death"]
    fraud = rng.random(rows.size) < rates.fraud_pass_share
    fraud[: min(1, rows.size)] = True
    reg.fraud_pass[rows] = fraud
    # Without fraud, the last true pass was before the death.
    honest = rows[~fraud]
    dh = d[~fraud]
    reg.l0[honest] = np.where(reg.l0[honest] >= dh, np.maximum(dh - rng.integers(1, 6, honest.size), -12), reg.l0[honest])
    for i, r in enumerate(rows):
        r = int(r)
        after = max(int(d[i]) + 1, 0)
        what = "face_app passes continue after death" if fraud[i] else "certification lapses"
        if after < months and rng.random() < 0.15:
            plan.bank_change.setdefault(after, []).append((r, new_account()))
            what += "; bank account changed after death"
        elif after < months and rng.random() < 0.18:
            plan.collector_change.setdefault(after, []).append((r, fresh_id()))
            what += "; collector appeared after death"
        note_improper(r, "suspected_unreported_death", _period(start_m, int(d[i]) + 1), what)

    # 3. duplicate_receipt: two schemes for one person, or a second regular row.
    n = _count(rates.duplicate_receipt, n_initial, 2)
    variants = _variants(rng, n, ["two_schemes", "second_row"], [0.6, 0.4])
    n_two = variants.count("two_schemes")
    rows = pick(pool(60, (ENTERPRISE, INSTITUTION)), n_two, by_hazard=False)
    if rows.size:
        entry = np.where(rng.random(rows.size) < 0.7, -1, rng.integers(1, months - 1, rows.size))
        launch = int(np.datetime64("2014-01-01").astype(np.int64))
        bstart = np.maximum(_add_years_month_start(reg.birth[rows], np.full(rows.size, 60)), launch)
        bstart = np.where(entry < 0, np.minimum(bstart, start_day - 1), _month_start_day(start_m, entry))
        bstart = _month_start_day(start_m, _month_of(bstart, start_m))
        same_bank = rng.random(rows.size) < 0.3
        dup = reg.append(
            pid=reg.pid[rows], name=reg.name[rows], male=reg.male[rows], birth=reg.birth[rows],
            id_birth=reg.id_birth[rows], scheme=np.full(rows.size, RESIDENT), region=reg.region[rows],
            township=reg.township[rows], village=reg.village[rows], benefit_start=bstart,
            bank=np.where(same_bank, reg.bank[rows], ident.make_bank_accounts(rng, rows.size)),
            collector=np.full(rows.size, None), base=np.where(rng.random(rows.size) < 0.5, 0.0, np.round(rng.uniform(1, 40, rows.size), 2)),
            payday=reg.payday[rows], entry_m=entry, death_day=np.full(rows.size, NEVER), lapser=np.zeros(rows.size, bool),
            l0=reg.l0[rows], reinstate_m=np.full(rows.size, NEVER), fraud_pass=np.zeros(rows.size, bool),
            method_pref=np.full(rows.size, -1), death_typ=np.zeros(rows.size), row_typ=np.full(rows.size, TYPOLOGY_CODE["duplicate_receipt"]),
            used=np.ones(rows.size, bool), village_idx=reg.village_idx[rows],
        )
        reg.a["method_pref"][dup] = -2  # certifications come from the original row
        for r in dup:
            note_improper(int(r), "duplicate_receipt", period_of_day(int(reg.benefit_start[r])),
                          "also registered as a resident pensioner")
    rows = pick(pool(60), n - n_two, by_hazard=False)
    for r in rows:
        k = int(rng.integers(1, 4))
        ms = np.sort(rng.choice(months, k, replace=False))
        for m in ms:
            plan.add_extra(int(r), int(m), int(m), "regular", TYPOLOGY_CODE["duplicate_receipt"])
        note_improper(int(r), "duplicate_receipt", _period(start_m, int(ms[0])), f"second regular payout in {k} month(s)")

    # 4. shared_account: improper rings (a member dead, the collector keeps collecting)
    # and legitimate village agents (all alive, certified on site).
    n_rings = _count(rates.shared_account_rings, n_initial, 2)
    cands = rng.permutation(pool(72))
    surname = np.array([str(s)[0] for s in reg.name])
    cursor = 0
    modes = ["collector", "account", "both"]
    group_no = 0
    for ring_no in range(n_rings):
        size = int(rng.integers(3, 7))
        members: list[int] = []
        seen_s: set[str] = set()
        seen_v: set[str] = set()
        while len(members) < size and cursor < cands.size:
            c = int(cands[cursor])
            cursor += 1
            if reg.used[c] or surname[c] in seen_s or reg.village[c] in seen_v:
                continue
            members.append(c)
            seen_s.add(surname[c])
            seen_v.add(reg.village[c])
        if len(members) < 3:
            break
        mem = np.array(members)
        reg.used[mem] = True
        mode = modes[ring_no % 3]
        collector = fresh_id()
        account = new_account()
        if mode in ("collector", "both"):
            reg.collector[mem] = collector
        if mode in ("account", "both"):
            reg.bank[mem] = account
        n_dead = 1 + int(size >= 4 and rng.random() < 0.4)
        dead = mem[:n_dead]
        dd = rng.integers(-8, months - 2, dead.size)
        reg.death_day[dead] = _month_start_day(start_m, dd) + rng.integers(0, 28, dead.size)
        reg.death_typ[dead] = TYPOLOGY_CODE["shared_account"]
        reg.fraud_pass[mem] = True
        reg.method_pref[mem] = FACE_APP
        first = _period(start_m, int(dd.min()) + 1)
        group_no += 1
        for r in mem:
            is_dead = reg.death_day[r] < NEVER
            note_improper(int(r), "shared_account", first,
                          f"ring G{group_no:03d} ({mode}), {'dead member' if is_dead else 'living member'}")
            rings.append({"group_id": f"G{group_no:03d}", "kind": "improper_ring", "person_id": reg.pid[r],
                          "scheme": str(SCHEME_NAMES[reg.scheme[r]]), "bank_account": reg.bank[r],
                          "collector_id": reg.collector[r], "is_improper": True})
    n_legit = _count(rates.legit_agent_rings, n_initial, 2)
    by_village = pool(65)
    made, attempts = 0, 0
    clients: list[np.ndarray] = []
    while made < n_legit and attempts < 50 * n_legit and by_village.size:
        attempts += 1
        v = reg.village_idx[int(rng.choice(by_village))]
        here = by_village[(reg.village_idx[by_village] == v) & ~reg.used[by_village]]
        if here.size < 3:
            continue
        made += 1
        mem = rng.choice(here, min(here.size, int(rng.integers(3, 7))), replace=False)
        reg.used[mem] = True
        clients.append(mem)
        reg.collector[mem] = fresh_id()
        if phenomena.agents_certify_on_site:
            reg.method_pref[mem] = ON_SITE
        group_no += 1
        for r in mem:
            rings.append({"group_id": f"G{group_no:03d}", "kind": "village_agent", "person_id": reg.pid[r],
                          "scheme": str(SCHEME_NAMES[reg.scheme[r]]), "bank_account": reg.bank[r],
                          "collector_id": reg.collector[r], "is_improper": False})
    if phenomena.agent_clients_die and clients:
        # A stream of its own: the rest of the county stays as it was.
        _simulate_natural_deaths(
            np.random.default_rng([seed, 5]), reg, months, start_m, np.concatenate(clients)
        )
    for h, w in couples:
        group_no += 1
        for r in (h, w):
            rings.append({"group_id": f"G{group_no:03d}", "kind": "couple", "person_id": reg.pid[r],
                          "scheme": str(SCHEME_NAMES[reg.scheme[r]]), "bank_account": reg.bank[r],
                          "collector_id": reg.collector[r], "is_improper": False})

    # 5. amount_anomaly.
    n = _count(rates.amount_anomaly, n_initial, 5)
    variants = _variants(rng, n, ["x10", "jump", "repeated_arrears", "paid_while_suspended", "paid_while_terminated"],
                         [0.3, 0.2, 0.15, 0.2, 0.15])
    code = TYPOLOGY_CODE["amount_anomaly"]
    suspended_pool = np.flatnonzero((reg.lapser) & (reg.l0 <= -14) & (reg.reinstate_m >= NEVER) & (reg.death_day >= NEVER) & ~reg.used)
    death_m = _month_of(reg.death_day, start_m)
    for v in variants:
        if v == "x10":
            r = int(pick(pool(60, (RESIDENT,)), 1, by_hazard=False)[0])
            m0 = int(rng.integers(0, months))
            k = int(rng.integers(1, 4))
            for m in range(m0, min(months, m0 + k)):
                plan.factor.setdefault(m, []).append((r, 10.0))
            note_improper(r, "amount_anomaly", _period(start_m, m0), "amount ten times the standard (decimal slip)")
        elif v == "jump":
            r = int(pick(pool(60, (ENTERPRISE, INSTITUTION)), 1, by_hazard=False)[0])
            m0 = int(rng.integers(2, months))
            f = float(np.round(rng.uniform(2.5, 4.0), 2))
            for m in range(m0, months):
                plan.factor.setdefault(m, []).append((r, f))
            note_improper(r, "amount_anomaly", _period(start_m, m0), f"amount jumps ×{f} vs own history")
        elif v == "repeated_arrears":
            r = int(pick(pool(60), 1, by_hazard=False)[0])
            m0 = int(rng.integers(2, max(3, months - 1)))
            for m in range(m0, months):
                for back in (2, 1):
                    plan.add_extra(r, m, m0 - back, "arrears", code)
            note_improper(r, "amount_anomaly", _period(start_m, m0 - 2), "same arrears periods paid month after month")
        elif v == "paid_while_suspended":
            avail = suspended_pool[~reg.used[suspended_pool]]
            if avail.size == 0:
                continue
            r = int(rng.choice(avail))
            reg.used[r] = True
            m0 = int(rng.integers(0, months - 1))
            ms = list(range(m0, min(months, m0 + int(rng.integers(2, 6)))))
            plan.force_pay.update({m: [*plan.force_pay.get(m, []), r] for m in ms})
            reg.row_typ[r] = code
            note_improper(r, "amount_anomaly", _period(start_m, m0), "paid while the register says suspended")
        else:
            term = _month_of(reg.death_day + 20, start_m)  # routine lag decided below; keep margin
            avail = np.flatnonzero((reg.death_day < NEVER) & (reg.death_typ == 0) & ~reg.used & (death_m <= months - 4) & (term <= months - 4))
            if avail.size == 0:
                continue
            r = int(rng.choice(avail))
            reg.used[r] = True
            reg.death_typ[r] = -1  # routine record, forced prompt (see below)
            note_improper(r, "amount_anomaly", "", "paid while the register says terminated")

    # 6. identity_anomaly: ghosts in register and ledger.
    n = _count(rates.identity_anomaly, n_initial, 3)
    variants = _variants(rng, n, ["bad_checksum", "birth_mismatch", "impossible_age"], [0.4, 0.35, 0.25])
    kinds = np.array(variants, dtype=object)
    male = rng.random(n) < 0.5
    ages = rng.uniform(61, 86, n)
    ages[kinds == "impossible_age"] = rng.uniform(121, 130, int((kinds == "impossible_age").sum()))
    birth = start_day - np.round(ages * 365.25).astype(np.int64)
    scheme = np.where(rng.random(n) < 0.75, RESIDENT, ENTERPRISE)
    ghost_ids = ident.make_ids(rng, np.full(n, ident.HOME_REGION), birth.astype("datetime64[D]"), male, taken)
    for i in np.flatnonzero(kinds == "bad_checksum"):
        s = str(ghost_ids[i])
        wrong = [c for c in "0123456789X" if c != s[-1]]
        ghost_ids[i] = s[:-1] + str(rng.choice(wrong))
    reg_birth = birth.copy()
    shift = kinds == "birth_mismatch"
    reg_birth[shift] = birth[shift] - rng.integers(2 * 365, 9 * 365, int(shift.sum()))
    entry = np.where(rng.random(n) < 0.8, -1, rng.integers(1, months - 1, n))
    bstart = np.where(entry < 0, _month_start_day(start_m, -rng.integers(6, 60, n)), _month_start_day(start_m, entry))
    vidx = rng.integers(0, places.height, n)
    base = np.where(scheme == RESIDENT, np.round(rng.uniform(0, 60, n), 2), np.round(rng.lognormal(np.log(2000), 0.3, n), 2))
    ghosts = reg.append(
        pid=ghost_ids, name=ident.make_names(rng, male), male=male, birth=reg_birth, id_birth=birth,
        scheme=scheme, region=np.full(n, str(ident.HOME_REGION)), township=places["township"].to_numpy()[vidx],
        village=places["village"].to_numpy()[vidx], benefit_start=bstart, bank=ident.make_bank_accounts(rng, n),
        collector=np.full(n, None), base=base, payday=np.full(n, 12), entry_m=entry, death_day=np.full(n, NEVER),
        lapser=np.zeros(n, bool), l0=np.where(entry < 0, rng.integers(-12, 0, n), entry), reinstate_m=np.full(n, NEVER),
        fraud_pass=np.zeros(n, bool), method_pref=np.where(rng.random(n) < 0.6, DATA_MATCH, FACE_APP),
        death_typ=np.zeros(n), row_typ=np.full(n, TYPOLOGY_CODE["identity_anomaly"]), used=np.ones(n, bool), village_idx=vidx,
    )
    for i, r in enumerate(ghosts):
        note_improper(int(r), "identity_anomaly", period_of_day(int(reg.benefit_start[r])), f"ghost identity: {kinds[i]}")

    # Routine death records (correct IDs) for natural deaths, some from two sources.
    natural = np.flatnonzero((reg.death_day < NEVER) & (reg.death_typ <= 0))
    src_code = rng.choice(4, natural.size, p=[0.35, 0.35, 0.2, 0.1])
    src = SOURCES[src_code]
    lag = _routine_lag_days(rng, src) + _extra_delay_days(rng, src, phenomena.death_record_delay_months)
    forced_prompt = reg.death_typ[natural] == -1
    lag[forced_prompt] = rng.integers(1, 15, int(forced_prompt.sum()))
    rec = reg.death_day[natural] + lag
    term_day = np.full(len(reg), NEVER, dtype=np.int64)
    term_day[natural] = rec
    keep = rec < end_day
    sexes = np.where(reg.male[natural], "M", "F")
    records.add(row=natural[keep], pid=reg.pid[natural][keep], true_pid=reg.pid[natural][keep], name=reg.name[natural][keep],
                sex=sexes[keep], birth=reg.birth[natural][keep], death=reg.death_day[natural][keep], source=src[keep],
                recorded=rec[keep], id_error=np.full(int(keep.sum()), "none", dtype=object))
    second = keep & (rng.random(natural.size) < 0.15)
    src2 = SOURCES[(src_code + rng.integers(1, 4, natural.size)) % 4]  # another agency
    rec2 = reg.death_day[natural] + _routine_lag_days(rng, src2) + rng.integers(0, 30, natural.size)
    rec2 = rec2 + _extra_delay_days(rng, src2, phenomena.death_record_delay_months)
    second &= rec2 < end_day
    records.add(row=natural[second], pid=reg.pid[natural][second], true_pid=reg.pid[natural][second], name=reg.name[natural][second],
                sex=sexes[second], birth=reg.birth[natural][second], death=reg.death_day[natural][second], source=src2[second],
                recorded=rec2[second], id_error=np.full(int(second.sum()), "none", dtype=object))
    term_m = _month_of(term_day, start_m)
    reg.death_typ[reg.death_typ == -1] = 0
    # Forced payments after termination (amount_anomaly "paid while terminated").
    for item in improper:
        if item["note"] == "paid while the register says terminated":
            r = int(np.flatnonzero((reg.pid == item["person_id"]) & (SCHEME_NAMES[reg.scheme] == item["scheme"]))[0])
            t = int(term_m[r])
            ms = list(range(t + 1, min(months, t + 1 + int(rng.integers(1, 4)))))
            plan.force_pay.update({m: [*plan.force_pay.get(m, []), r] for m in ms})
            reg.row_typ[r] = code
            item["first_period"] = _period(start_m, ms[0])

    # Deaths of people who are not in the register (younger people, non-enrolled elderly).
    n_np = int(round(rates.non_pensioner_deaths_per_1000 * n_initial / 1000 * months / 12))
    np_age = np.where(rng.random(n_np) < 0.7, rng.uniform(18, 60, n_np), rng.uniform(60, 95, n_np))
    np_death = start_day + rng.integers(0, end_day - start_day, n_np)
    np_birth = np_death - np.round(np_age * 365.25).astype(np.int64)
    np_male = rng.random(n_np) < 0.56
    np_ids = ident.make_ids(rng, np.full(n_np, ident.HOME_REGION), np_birth.astype("datetime64[D]"), np_male, taken)
    np_names = ident.make_names(rng, np_male)
    namesake = rng.random(n_np) < 0.02
    np_names[namesake] = reg.name[rng.integers(0, n_initial, int(namesake.sum()))]
    np_src = SOURCES[rng.choice(4, n_np, p=[0.4, 0.35, 0.2, 0.05])]
    np_rec = np_death + _routine_lag_days(rng, np_src) + _extra_delay_days(rng, np_src, phenomena.death_record_delay_months)
    np_rec = np.minimum(np_rec, end_day - 1)
    np_missing = rng.random(n_np) < 0.03
    records.add(row=np.full(n_np, -1), pid=np.where(np_missing, None, np_ids), true_pid=np.full(n_np, None), name=np_names,
                sex=np.where(np_male, "M", "F"), birth=np_birth, death=np_death, source=np_src, recorded=np_rec,
                id_error=np.where(np_missing, "missing", "none"))

    # Custody draws from a stream of its own: the rest of the county stays as it was.
    custody, custody_notes = _custody_events(
        np.random.default_rng([seed, 3]), reg,
        np.flatnonzero(
            (reg.entry_m < 0) & (reg.death_day >= NEVER) & ~reg.lapser & np.equal(reg.collector, None)
            & ~reg.used & ((start_day - reg.birth) / 365.25 >= 55)
        ),
        rates, n_initial, start_m, months, taken,
    )
    for r, first_period, what in custody_notes:
        note_improper(r, "custody_paid", first_period, what)

    if phenomena.unit_payment_move is not None:
        # A stream of its own, like custody: the rest of the county stays as it was.
        rings.extend(_pay_units(np.random.default_rng([seed, 4]), reg, plan, phenomena.unit_payment_move))

    say("simulating months")
    county = _run_months(rng, reg, plan, records, term_day, start_m, months, policy, places, phenomena, custody)
    county.improper = pl.DataFrame(
        improper,
        schema={"person_id": pl.String, "scheme": pl.String, "typology": pl.String, "first_period": pl.String,
                "true_death_date": pl.Date, "note": pl.String},
    ).sort("typology", "person_id", "scheme")
    improper_keys = county.improper.select("person_id", "scheme").unique().with_columns(is_improper=pl.lit(True))
    county.people = (
        pl.DataFrame(
            {
                "person_id": _text(reg.pid),
                "scheme": _text(SCHEME_NAMES[reg.scheme]),
                "true_death_date": pl.Series(np.where(reg.death_day >= NEVER, 0, reg.death_day)).cast(pl.Int32).cast(pl.Date),
                "dead": reg.death_day < NEVER,
            }
        )
        .with_columns(true_death_date=pl.when("dead").then("true_death_date").otherwise(None))
        .drop("dead")
        .join(improper_keys, on=["person_id", "scheme"], how="left", maintain_order="left")
        .with_columns(pl.col("is_improper").fill_null(False))
    )
    county.shared_accounts = pl.DataFrame(
        rings,
        schema={"group_id": pl.String, "kind": pl.String, "person_id": pl.String, "scheme": pl.String,
                "bank_account": pl.String, "collector_id": pl.String, "is_improper": pl.Boolean},
    )
    county.injected = {t: int(county.improper.filter(pl.col("typology") == t).height) for t in TYPOLOGIES}
    county.notes = {
        "improper_rings": n_rings,
        "legit_agent_rings": int(county.shared_accounts.filter(pl.col("kind") == "village_agent")["group_id"].n_unique()),
        "couples_sharing_account": len(couples),
    }
    county.pensioners = {
        str(SCHEME_NAMES[s]): int(((reg.scheme == s) & (reg.entry_m < 0) & (reg.row_typ == 0)).sum()) for s in range(3)
    }
    return county


#: Retirees per employer unit, drawn from 10 to 92: 51 on average, as 10,576 institution
#: retirees in 206 units (docs/domain.md).
UNIT_RETIREES = (10, 93)


def _pay_units(
    rng: np.random.Generator, reg: _Register, plan: _Plan, move: tuple[int, int]
) -> list[dict[str, object]]:
    """Institution retirees paid through their employer unit's account until the centre
    pays them directly (社会化发放): each unit's retirees share the unit's account until
    the unit's drop within ``move``, then each is paid into their own account. Rows of an
    injected typology keep their own accounts. Returns the units for the truth."""
    rows = rng.permutation(
        np.flatnonzero(
            (reg.scheme == INSTITUTION) & (reg.entry_m < 0) & (reg.row_typ == 0) & ~reg.used
        )
    )
    units: list[dict[str, object]] = []
    start, unit_no = 0, 0
    while start < rows.size:
        size = int(rng.integers(*UNIT_RETIREES))
        members = rows[start : start + size]
        start += size
        unit_no += 1
        account = str(ident.make_bank_accounts(rng, 1)[0])
        moved_in = int(rng.integers(move[0], move[1] + 1))
        for r in members:
            r = int(r)
            plan.bank_change.setdefault(moved_in, []).append((r, reg.bank[r]))
            reg.bank[r] = account
            units.append({"group_id": f"U{unit_no:03d}", "kind": "pay_unit", "person_id": reg.pid[r],
                          "scheme": "institution", "bank_account": account,
                          "collector_id": reg.collector[r], "is_improper": False})
    return units


def _run_months(
    rng: np.random.Generator,
    reg: _Register,
    plan: _Plan,
    records: _Records,
    term_day: np.ndarray,
    start_m: np.datetime64,
    months: int,
    policy: PolicyConfig,
    places: pl.DataFrame,
    phenomena: Phenomena,
    custody: _Custody,
) -> County:
    """The monthly cycle: certifications, register snapshot, payroll, drops and truth."""
    n = len(reg)
    # Per row: custody mode (0 none) and the months it covers (see _Custody).
    c_mode = np.zeros(n, dtype=np.int64)
    c_first = np.full(n, NEVER, dtype=np.int64)
    c_last = np.full(n, -NEVER, dtype=np.int64)
    c_mode[custody.rows] = custody.mode
    c_first[custody.rows] = custody.first
    c_last[custody.rows] = custody.last
    custody_code = TYPOLOGY_CODE["custody_paid"]

    def in_custody(rows: np.ndarray, k: np.ndarray | int, mode: int) -> np.ndarray:
        return (c_mode[rows] == mode) & (k >= c_first[rows]) & (k <= c_last[rows])
    term_m = _month_of(term_day, start_m)
    scheme_s = _text(SCHEME_NAMES[reg.scheme])
    static = pl.DataFrame(
        {
            "person_id": _text(reg.pid),
            "name": _text(reg.name),
            "sex": _text(np.where(reg.male, "M", "F")),
            "birth_date": pl.Series(reg.birth).cast(pl.Int32).cast(pl.Date),
            "scheme": scheme_s,
            "region_code": _text(reg.region),
            "township": _text(reg.township),
            "village": _text(reg.village),
            "benefit_start": pl.Series(reg.benefit_start).cast(pl.Int32).cast(pl.Date),
        }
    )
    bank = _text(reg.bank)
    collector = _text(reg.collector)
    status_names = dict(enumerate(STATUS_NAMES.tolist()))

    # Resident basic pension per period index (arrears may reach back before the window).
    lo_k = -48
    basic = np.array([policy.resident_basic_pension(_period(start_m, k)) for k in range(lo_k, months + 1)])

    # Adjustments paid back in one drop: each row's increment per batch (0 off its scheme).
    batches = phenomena.backpay
    scheme_of = {str(name): code for code, name in enumerate(SCHEME_NAMES)}
    increments: list[np.ndarray] = []
    for b in batches:
        # A standard is the same for everyone; an adjustment is partly proportional, so it varies.
        inc = np.full(n, b.increment) if b.lagging_standard else np.round(b.increment * rng.uniform(0.7, 1.3, n), 2)
        increments.append(np.where(reg.scheme == scheme_of[b.scheme], inc, 0.0))
    paid_regular = np.zeros((n, months), dtype=bool)

    def amount_for(rows: np.ndarray, k: np.ndarray | int, m: int) -> np.ndarray:
        """What the payroll of drop ``m`` pays ``rows`` for period ``k``."""
        k_arr = np.broadcast_to(np.asarray(k), rows.shape)
        res = reg.scheme[rows] == RESIDENT
        amount = np.where(res, basic[np.clip(k_arr, lo_k, months) - lo_k] + reg.base[rows], reg.base[rows])
        for b, inc in zip(batches, increments, strict=True):
            applies = k_arr >= b.effective_from
            if b.lagging_standard:
                amount = amount - np.where(applies & (m < b.paid_in), inc[rows], 0.0)
            else:
                amount = amount + np.where(applies & (m >= b.paid_in), inc[rows], 0.0)
        return np.round(amount, 2)

    death_m = _month_of(reg.death_day, start_m)
    cert_events = _certification_events(rng, reg, start_m, months)
    cert_m = _month_of(cert_events["day"], start_m)
    staff = ident.make_names(rng, rng.random(40) < 0.5)
    twp_staff = pl.Series(places["township"].unique(maintain_order=True)).to_numpy()

    rec_frame = records.frame().with_columns(
        month=((pl.col("recorded_on").dt.year() - int(str(start_m)[:4])) * 12 + pl.col("recorded_on").dt.month() - int(str(start_m)[5:7]))
    )
    rec_frame = rec_frame.sort("recorded_on", "death_date", "true_person_id", nulls_last=True)
    rec_frame = rec_frame.with_columns(
        record_id=pl.col("source").replace_strict(SOURCE_PREFIX)
        + pl.col("recorded_on").dt.strftime("%Y%m")
        + (pl.int_range(pl.len()).over("source", "month") + 1).cast(pl.String).str.zfill(5)
    )

    def status_at(m: int, last_pass: np.ndarray) -> np.ndarray:
        st = np.where(m - last_pass >= CERT_LAPSE_MONTHS, SUSPENDED, ACTIVE)
        return np.where(term_m <= m, TERMINATED, st)

    last_pass = reg.l0.copy()
    # The day of each row's last pass, for a register that carries it (the passes before
    # the first month fall on a day of their month).
    last_pass_day = (
        _month_start_day(start_m, reg.l0) + rng.integers(0, 28, n)
        if phenomena.register_cert_dates
        else None
    )
    # Rows that certify through their original row (duplicate scheme) mirror it.
    mirror = np.flatnonzero(reg.method_pref == -2)
    mirror_src = np.array([np.flatnonzero((reg.pid == reg.pid[r]) & (reg.method_pref != -2))[0] for r in mirror], dtype=np.int64)
    status_prev = status_at(-1, last_pass)
    unpaid_first = np.where(status_prev == SUSPENDED, reg.l0 + CERT_LAPSE_MONTHS + 1, 0)
    unpaid_n = np.where(status_prev == SUSPENDED, np.maximum(-(reg.l0 + CERT_LAPSE_MONTHS + 1), 0), 0)
    unpaid_n = np.minimum(unpaid_n, 24)
    unpaid_first = np.where(unpaid_n > 0, np.maximum(unpaid_first, -24), unpaid_first)

    extra_row = np.asarray(plan.extra_row, dtype=np.int64)
    extra_m = np.asarray(plan.extra_m, dtype=np.int64)
    extra_period = np.asarray(plan.extra_period, dtype=np.int64)
    extra_kind = np.asarray(plan.extra_kind, dtype=object)
    extra_typ = np.asarray(plan.extra_typ, dtype=np.int64)

    drops: dict[str, dict[str, pl.DataFrame]] = {}
    overpaid: list[pl.DataFrame] = []
    month_names = [_period(start_m, m) for m in range(months)]
    for m in range(months):
        month = month_names[m]
        first_day = int(_month_start_day(start_m, m))
        for r, acc in plan.bank_change.get(m, []):
            bank = bank.scatter(r, acc)
        for r, col in plan.collector_change.get(m, []):
            collector = collector.scatter(r, col)

        # Payroll of period m (run ~10th-15th) uses the register as of the end of m-1.
        registered_prev = reg.entry_m <= m - 1
        forced = np.zeros(n, dtype=bool)
        forced[plan.force_pay.get(m, [])] = True
        # A death record that arrived before the pay run (~10th) stops this payment already.
        stopped = term_day < first_day + 9
        pay = (registered_prev & (status_prev == ACTIVE) & ~stopped) | forced
        suspended_now = registered_prev & (status_prev == SUSPENDED) & ~forced
        start_gap = suspended_now & (unpaid_n == 0)
        unpaid_first[start_gap] = m
        unpaid_n[suspended_now] += 1
        reinstated = pay & ~forced & (unpaid_n > 0)

        idx = np.flatnonzero(pay)
        factor = np.ones(n)
        for r, f in plan.factor.get(m, []):
            factor[r] = f
        correct = amount_for(idx, m, m)
        paid_regular[idx, m] = True
        amount = np.round(correct * factor[idx], 2)
        dead_after = death_m[idx] < m
        whole = np.where(forced[idx], reg.row_typ[idx], np.where(dead_after, np.where(reg.death_typ[idx] > 0, reg.death_typ[idx], REPORTING_LAG), reg.row_typ[idx]))
        whole = np.where((whole == 0) & in_custody(idx, m, 1), custody_code, whole)
        improper_amt = np.where(whole > 0, amount, amount - correct)
        typ = np.where(whole > 0, whole, np.where(factor[idx] != 1.0, TYPOLOGY_CODE["amount_anomaly"], 0))
        # Kept but frozen: what this period pays above the last amount before the custody.
        frozen = in_custody(idx, m, 2) & (typ == 0)
        if frozen.any():
            fr = idx[frozen]
            before = amount_for(fr, c_first[fr] - 1, c_first[fr] - 1)
            raise_ = np.round(np.maximum(amount[frozen] - before, 0.0), 2)
            hit = np.flatnonzero(frozen)[raise_ > 0.005]
            typ[hit] = custody_code
            improper_amt[hit] = raise_[raise_ > 0.005]
        pieces = [(idx, np.full(idx.size, m), amount, np.full(idx.size, "regular", dtype=object), improper_amt, typ)]

        # Arrears: reinstated after a lapse (all unpaid periods), entrants' first month.
        rein = np.flatnonzero(reinstated)
        for j in range(int(unpaid_n[rein].max()) if rein.size else 0):
            rr = rein[unpaid_n[rein] > j]
            k = unpaid_first[rr] + j
            a = amount_for(rr, k, m)
            pieces.append((rr, k, a, np.full(rr.size, "arrears", dtype=object), np.zeros(rr.size), np.zeros(rr.size, np.int64)))
        unpaid_n[rein] = 0
        newcomers = np.flatnonzero((reg.entry_m == m - 1) & (reg.entry_m >= 0) & pay)
        if newcomers.size:
            a = amount_for(newcomers, m - 1, m)
            t = reg.row_typ[newcomers]
            pieces.append((newcomers, np.full(newcomers.size, m - 1), a, np.full(newcomers.size, "arrears", dtype=object), np.where(t > 0, a, 0.0), t))
        # Legitimate small corrections.
        clean = idx[(reg.row_typ[idx] == 0) & ~dead_after]
        adj = clean[rng.random(clean.size) < 0.0015]
        if adj.size:
            a = np.round(rng.uniform(10, 120, adj.size) * np.where(rng.random(adj.size) < 0.7, 1, -1), 1)
            pieces.append((adj, np.full(adj.size, m), a, np.full(adj.size, "adjustment", dtype=object), np.zeros(adj.size), np.zeros(adj.size, np.int64)))
        sel = extra_m == m
        if sel.any():
            rr, k = extra_row[sel], extra_period[sel]
            a = amount_for(rr, k, m)
            pieces.append((rr, k, a, extra_kind[sel], a, extra_typ[sel]))
        # Back-pay: the increment for every period paid at the old amount, one row each.
        for b, inc in zip(batches, increments, strict=True):
            if b.paid_in != m:
                continue
            for k in range(max(b.effective_from, 0), m):
                rr = np.flatnonzero(paid_regular[:, k] & (inc > 0))
                a = inc[rr]
                dead = death_m[rr] < k
                t = np.where(
                    reg.row_typ[rr] > 0, reg.row_typ[rr],
                    np.where(dead, np.where(reg.death_typ[rr] > 0, reg.death_typ[rr], REPORTING_LAG), 0),
                )
                t = np.where((t == 0) & (in_custody(rr, k, 1) | in_custody(rr, k, 2)), custody_code, t)
                pieces.append((rr, np.full(rr.size, k), a, np.full(rr.size, "arrears", dtype=object), np.where(t > 0, a, 0.0), t))

        p_rows = np.concatenate([p[0] for p in pieces])
        p_period = np.concatenate([np.asarray(p[1], dtype=np.int64) for p in pieces])
        p_amount = np.concatenate([np.asarray(p[2], dtype=float) for p in pieces])
        p_kind = np.concatenate([p[3] for p in pieces])
        p_improper = np.concatenate([np.asarray(p[4], dtype=float) for p in pieces])
        p_typ = np.concatenate([np.asarray(p[5], dtype=np.int64) for p in pieces])
        pay_day = first_day + reg.payday[p_rows] - 1
        pay_day = np.where(p_kind == "adjustment", first_day + 21, pay_day)
        # A second regular payment for a period is a second transaction: a later payroll
        # run, days after the first (an identical line would be the same payment sent twice
        # in the export, which the ingest takes for one).
        second = (p_kind == "regular") & (p_typ == TYPOLOGY_CODE["duplicate_receipt"]) & (reg.row_typ[p_rows] == 0)
        pay_day = np.where(second, pay_day + 7, pay_day)
        period_s = pl.Series(p_period).replace_strict(
            {int(k): _period(start_m, int(k)) for k in np.unique(p_period)}, return_dtype=pl.String
        )
        payouts = pl.DataFrame(
            {
                "person_id": static["person_id"].gather(p_rows),
                "scheme": scheme_s.gather(p_rows),
                "period": period_s,
                "pay_date": pl.Series(pay_day).cast(pl.Int32).cast(pl.Date),
                "amount": p_amount,
                "bank_account": bank.gather(p_rows),
                "kind": _text(p_kind),
            }
        )
        bad = np.flatnonzero(p_typ > 0)
        if bad.size:
            overpaid.append(
                pl.DataFrame(
                    {
                        "person_id": static["person_id"].gather(p_rows[bad]),
                        "scheme": scheme_s.gather(p_rows[bad]),
                        "period": period_s.gather(bad),
                        "pay_month": _text([month] * bad.size),
                        "amount": np.round(p_improper[bad], 2),
                        "typology": _text(TYPOLOGY_NAMES[p_typ[bad]]),
                    }
                )
            )

        # Certifications done this month; then the register at month end.
        ev = np.flatnonzero(cert_m == m)
        passes = ev[cert_events["result"][ev] == "pass"]
        np.maximum.at(last_pass, cert_events["row"][passes], m)
        if mirror.size:
            last_pass[mirror] = np.maximum(last_pass[mirror], last_pass[mirror_src])
        if last_pass_day is not None:
            np.maximum.at(last_pass_day, cert_events["row"][passes], cert_events["day"][passes])
            if mirror.size:
                last_pass_day[mirror] = np.maximum(last_pass_day[mirror], last_pass_day[mirror_src])
        status = status_at(m, last_pass)
        registered = np.flatnonzero(reg.entry_m <= m)
        beneficiaries = static[registered].with_columns(
            status=pl.Series(status[registered]).replace_strict(status_names, return_dtype=pl.String),
            bank_account=bank.gather(registered),
            collector_id=collector.gather(registered),
        )
        beneficiaries = beneficiaries.select(
            "person_id", "name", "sex", "birth_date", "scheme", "region_code", "township", "village",
            "benefit_start", "status", "bank_account", "collector_id",
        )
        if last_pass_day is not None:
            beneficiaries = beneficiaries.with_columns(
                last_cert_date=pl.Series(last_pass_day[registered]).cast(pl.Int32).cast(pl.Date)
            )
        ev_rows = cert_events["row"][ev]
        method = cert_events["method"][ev]
        twp = reg.township[ev_rows]
        staff_of = staff[np.searchsorted(np.sort(twp_staff), twp) % staff.size]
        operator = np.where(np.isin(method, ["on_site", "home_visit"]), staff_of, None)
        certs = pl.DataFrame(
            {
                "person_id": static["person_id"].gather(ev_rows),
                "cert_date": pl.Series(cert_events["day"][ev]).cast(pl.Int32).cast(pl.Date),
                "method": _text(method),
                "result": _text(cert_events["result"][ev]),
                "operator": _text(operator),
            }
        ).sort("cert_date", "person_id")
        deaths = rec_frame.filter(pl.col("month") == m).select(
            "record_id", "person_id", "name", "sex", "birth_date", "death_date", "source", "recorded_on"
        )
        drops[month] = {"beneficiaries": beneficiaries, "payouts": payouts, "deaths": deaths, "certifications": certs}
        received = custody.records.filter(pl.col("month") == m)
        if received.height:
            drops[month]["custody"] = received.select(
                "record_id", "person_id", "name", "birth_date", "kind", "start_date", "end_date", "source", "received_on"
            )
        status_prev = status

    overpayments = pl.concat(overpaid) if overpaid else pl.DataFrame(
        schema={"person_id": pl.String, "scheme": pl.String, "period": pl.String, "pay_month": pl.String, "amount": pl.Float64, "typology": pl.String}
    )
    death_records = rec_frame.with_columns(is_pensioner=pl.col("row") >= 0).select(
        "record_id", "true_person_id", "id_error", "is_pensioner", "recorded_on"
    )
    return County(
        months=month_names, drops=drops, improper=pl.DataFrame(), overpayments=overpayments,
        death_records=death_records, people=pl.DataFrame(), shared_accounts=pl.DataFrame(),
        pensioners={}, injected={},
        custody_records=custody.records.select(
            "record_id", "true_person_id", "kind", "start_date", "end_date", "received_on",
            (pl.col("person_id") != pl.col("true_person_id")).fill_null(pl.col("true_person_id").is_not_null()).alias("id_mistyped"),
        ),
    )


def _certification_events(rng: np.random.Generator, reg: _Register, start_m: np.datetime64, months: int) -> dict[str, np.ndarray]:
    """Survival certifications in the window: annual passes, a few fails, reinstatements."""
    rows_l: list[np.ndarray] = []
    month_l: list[np.ndarray] = []
    for k in range(1, months // 12 + 3):
        mk = reg.l0 + 12 * k
        ok = ~reg.lapser & (mk >= 0) & (mk < months) & (reg.method_pref != -2)
        rows_l.append(np.flatnonzero(ok))
        month_l.append(mk[ok])
    back = np.flatnonzero(reg.reinstate_m < NEVER)
    rows_l.append(back)
    month_l.append(reg.reinstate_m[back])
    for k in range(1, months // 12 + 2):
        mk = reg.reinstate_m[back] + 12 * k
        ok = mk < months
        rows_l.append(back[ok])
        month_l.append(mk[ok])
    rows = np.concatenate(rows_l)
    mon = np.concatenate(month_l)
    day = _month_start_day(start_m, mon) + rng.integers(0, 28, rows.size)
    alive = (day < reg.death_day[rows]) | reg.fraud_pass[rows]
    rows, day = rows[alive], day[alive]
    age = (day - reg.birth[rows]) / 365.25
    u = rng.random(rows.size)
    old = age >= 85
    method = np.where(
        old,
        np.select([u < 0.45, u < 0.6, u < 0.92], [FACE_APP, ON_SITE, HOME_VISIT], DATA_MATCH),
        np.select([u < 0.70, u < 0.84, u < 0.92], [FACE_APP, ON_SITE, HOME_VISIT], DATA_MATCH),
    )
    pref = reg.method_pref[rows]
    method = np.where(pref >= 0, pref, method)
    after_death = day >= reg.death_day[rows]
    method = np.where(after_death, FACE_APP, method)
    method = np.where(np.isin(rows, back) & (method == FACE_APP) & ~after_death, ON_SITE, method)
    fail = (method == FACE_APP) & (rng.random(rows.size) < 0.07)
    fail_rows = rows[fail]
    fail_day = np.maximum(day[fail] - rng.integers(1, 10, fail_rows.size), day[fail] - (day[fail] - _month_start_day(start_m, _month_of(day[fail], start_m))))
    out_rows = np.concatenate([rows, fail_rows])
    out_day = np.concatenate([day, fail_day])
    out_method = np.concatenate([METHODS[method], np.full(fail_rows.size, "face_app")])
    out_result = np.concatenate([np.full(rows.size, "pass", dtype=object), np.full(fail_rows.size, "fail", dtype=object)])
    return {"row": out_rows, "day": out_day, "method": out_method.astype(object), "result": out_result}
