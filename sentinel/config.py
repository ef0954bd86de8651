"""One typed configuration: policy numbers (with their sources) and run settings.

Defaults live in ``sentinel/default_config.toml`` (committed, reviewed); a site file passed
with ``--config`` overrides any subset of it. Secrets (database URLs with passwords) come
only from the environment, never from these files.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_CONFIG_FILE = Path(__file__).with_name("default_config.toml")

Scheme = Literal["enterprise", "institution", "resident"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AmountBounds(_Section):
    """Plausible monthly amount of a *regular* payout for one scheme, in yuan."""

    low: float
    high: float


class ResidentStandard(_Section):
    """Resident (城乡居民) basic pension per month from a given month on."""

    effective_from: str = Field(pattern=r"^\d{4}-\d{2}$")
    basic_pension: float


class PolicyConfig(_Section):
    """Policy numbers. Each carries its source in ``default_config.toml``."""

    resident_standards: list[ResidentStandard]
    amount_bounds: dict[Scheme, AmountBounds]
    certification_cycle_months: int = 12
    suspend_after_months: int = 12
    death_payment_lag_months: int = 0
    max_plausible_age: int = 120
    min_pension_age: int = 45
    # Custody kinds (sentinel.contract.CUSTODY_KINDS) that suspend the pension, and that
    # keep it without increases.
    custody_suspends: tuple[str, ...] = ("imprisonment", "pretrial_detention")
    custody_freezes: tuple[str, ...] = ("probation", "parole", "supervised_release")

    def resident_basic_pension(self, period: str) -> float:
        """Resident basic pension standard in force for ``period`` (``YYYY-MM``)."""
        current = None
        for s in sorted(self.resident_standards, key=lambda s: s.effective_from):
            if s.effective_from <= period:
                current = s.basic_pension
        if current is None:
            raise ValueError(f"no resident pension standard in force for {period}")
        return current


class IngestConfig(_Section):
    """How drops are read and when a drop is untrustworthy as a whole."""

    min_row_ratio_vs_previous: float = 0.8
    row_count_datasets: list[str] = ["beneficiaries", "payouts"]
    max_unparseable_share: float = 0.5
    max_off_period_share: float = 0.01
    max_pay_date_lag_days: int = 45
    region_prefixes: list[str] = ["43"]
    validation_chunk_rows: int = Field(default=1_000_000, gt=0)
    validation_workers: int = Field(default=2, gt=0)
    check_chunk_rows: int = Field(default=2_000_000, gt=0)


class DetectionConfig(_Section):
    """Detection and ranking settings (owned by the detection modules).

    Probabilities below are the rule families' *prior* beliefs, used as they are until audit
    outcomes arrive; the model learned from outcomes (:mod:`models.outcomes`) then corrects
    them reason by reason. A reason firing for more than ``common_reason_share`` of a
    scheme's recipients counts only scaled down. Sources and reasoning are next to each
    value in ``default_config.toml``.
    """

    audit_capacity: int = Field(default=56, ge=0)
    # Share of the capacity drawn at random from the cases below the cut (selection bias).
    exploration_share: float = Field(default=0.05, ge=0, le=1)
    report_language: Literal["zh", "en"] = "zh"
    # Window of payments read by identity and network rules, months.
    lookback_months: int = 24
    # Months of ongoing payment counted as "at stake" on top of what is already overpaid.
    forward_months: int = 3
    # Death linkage.
    min_death_link_confidence: float = 0.95
    accept_name_only_death_links: bool = False
    min_death_lead_confidence: float = 0.5
    payroll_cutoff_day: int = 10
    deceased_paid_probability: float = 0.98
    deceased_paid_contradicted_probability: float = 0.3
    duplicate_receipt_probability: float = 0.97
    # Gompertz mortality hazard mu(x) = a * exp(b * x) per year (China life table 2020 fit).
    gompertz_a: float = 2.2e-5
    gompertz_b: float = 0.098
    unreported_death_share: float = 0.05
    face_app_weak_age: int = 85
    # Share of unreported deaths showing each survival signal (planning assumptions; the
    # share of living pensioners showing it is read off the county's data each month).
    uncertified_dead_share: float = 0.8
    weak_face_dead_share: float = 0.3
    account_changed_dead_share: float = 0.15
    collector_added_dead_share: float = 0.15
    failed_certification_dead_share: float = 0.2
    lr_same_name_death_record: float = 50.0
    # Custody (features.custody).
    custody_paid_probability: float = 0.97
    custody_detention_probability: float = 0.9
    custody_raise_probability: float = 0.9
    # Upstream suspect lists (features.suspects): how often a suspect alone is right.
    upstream_suspect_probability: float = Field(default=0.006, ge=0, le=1)
    min_suspected_death_probability: float = 0.05
    # Amount rules.
    jump_ratio: float = 1.5
    jump_min_yuan: float = 50.0
    amount_excess_probability: float = 0.85
    amount_below_probability: float = 0.3
    amount_jump_probability: float = 0.7
    repeat_arrears_probability: float = 0.9
    paid_terminated_probability: float = 0.97
    paid_suspended_probability: float = 0.8
    # Identity rules.
    malformed_payee_probability: float = 0.9
    unregistered_payee_probability: float = 0.95
    bad_checksum_probability: float = 0.85
    birth_mismatch_probability: float = 0.7
    impossible_age_probability: float = 0.95
    # Shared account / collector network.
    couple_max_age_gap: int = 15
    shared_account_probability: float = 0.35
    shared_account_joined_probability: float = 0.85
    shared_collector_probability: float = 0.15
    ring_with_dead_probability: float = 0.8
    shared_alive_factor: float = 0.3
    max_group_size: int = 50
    # A reason firing for more than this share of a scheme's recipients in a month is a
    # fact about the county, not the person: its prior is scaled down by the ratio.
    common_reason_share: float = Field(default=0.01, gt=0, le=1)
    # New soft signals are listed only when visited, and beyond this share of the recipients
    # the least promising are not drawn from either (sentinel.listing).
    max_list_share: float = Field(default=0.02, gt=0, le=1)


class ModelConfig(_Section):
    """The risk model that learns from audit outcomes (:mod:`models.outcomes`)."""

    # Audit outcomes (confirmed or cleared) needed before the rules' probabilities are
    # corrected by a learned model (the correction is pulled to the rules, so one is enough).
    min_training_outcomes: int = Field(default=1, ge=1)
    # Pull of the learned correction towards the rules, in audits (models.outcomes).
    prior_strength: float = Field(default=2.0, gt=0)
    # Largest inverse-propensity weight of one outcome (an exploration visit drawn with
    # probability 1/200 would otherwise outweigh a month of priority visits).
    max_outcome_weight: float = Field(default=10.0, ge=1)


class CaseConfig(_Section):
    """The case store and the audit cycle."""

    # A person cleared by a field audit is not raised again for this many months unless
    # new evidence arrives (a reason code absent when they were cleared): the visit verified
    # survival in person, which holds for a certification cycle.
    clear_months: int = 12
    # SQLite file under OUT when $SENTINEL_DATABASE_URL is not set (PostgreSQL by URL).
    database_file: str = "cases.sqlite"
    # An overpaid or recovered amount of one audit at or above this (yuan) is refused as a
    # typing error; see default_config.toml for the reckoning.
    max_outcome_amount: float = Field(default=2_000_000.0, gt=0)
    # Sign-off (经办 / 复核): a result confirming more than this many yuan overpaid, or
    # clearing a case with proof (``signoff_clearing_proof``), waits for a second user
    # with one of ``signoff_roles``; see default_config.toml for the source.
    signoff_above_yuan: float = Field(default=0.0, ge=0)
    signoff_clearing_proof: bool = True
    signoff_roles: list[Literal["reviewer", "supervisor"]] = ["reviewer", "supervisor"]


class RecoveryConfig(_Section):
    """The recovery ledger (:mod:`features.recovery`): notices and their deadlines."""

    # Days a recovery notice gives to return the sum, from its issue day (a local choice;
    # see default_config.toml). Also the deadline of a dropped notice that names none.
    notice_deadline_days: int = Field(default=30, ge=1, le=365)


#: Results of a suspect reply (``suspect_replies``), in the contract's vocabulary.
REPLY_RESULTS: tuple[str, ...] = (
    "confirmed_deceased",
    "confirmed_improper",
    "cleared",
    "verifying",
    "unreachable",
)
#: Columns of a suspect reply, in the contract's vocabulary.
REPLY_COLUMNS: tuple[str, ...] = (
    "batch_id",
    "person_id",
    "result",
    "checked_on",
    "evidence",
    "overpaid_amount",
    "recovered_amount",
)


class SuspectsConfig(_Section):
    """Answering upstream suspect lists (:mod:`features.suspects`): the reply's template.

    ``reply_columns`` renames the reply's columns and ``reply_results`` its result values
    to the upstream's template (a column or value left out keeps its contract name).
    """

    reply_columns: dict[str, str] = Field(default_factory=dict)
    reply_results: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_names(self) -> SuspectsConfig:
        for key, known, what in (
            (self.reply_columns, REPLY_COLUMNS, "reply_columns"),
            (self.reply_results, REPLY_RESULTS, "reply_results"),
        ):
            unknown = sorted(set(key) - set(known))
            if unknown:
                raise ValueError(
                    f"suspects.{what}: unknown {unknown}; expected some of {list(known)}"
                )
        return self


class RunConfig(_Section):
    """How a run treats its output folder: one run at a time, file permissions, raw copies."""

    # A second run on the same OUT waits this many seconds for the first, then exits 2.
    lock_wait_seconds: float = Field(default=1200.0, ge=0)
    # umask of a run (octal): "077" creates files 0600 and folders 0700 (owner only).
    umask: str = Field(default="077", pattern=r"^0?[0-7]{3}$")
    # Months whose raw drop copies (OUT/.work/YYYY-MM) are kept once a later month is
    # committed; 0 deletes a month's raw copies as soon as the month itself is committed.
    keep_raw_months: int = Field(default=0, ge=0)

    def umask_bits(self) -> int:
        """:attr:`umask` as a number for ``os.umask``."""
        return int(self.umask, 8)


class ReviewConfig(_Section):
    """The case review web app (``sentinel review``): language, sessions, login throttling."""

    # Language of the web app's texts: "zh" or "en".
    language: Literal["zh", "en"] = "zh"
    # A login lasts this many minutes, then the user signs in again.
    session_minutes: int = Field(default=480, ge=5)
    # Session cookies only over HTTPS; false only for plain-http localhost use.
    secure_cookies: bool = True
    # Wrong passwords allowed per user name and per client address in the window; the
    # next attempt within the window is refused (HTTP 429).
    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: int = Field(default=60, ge=1)
    # Cases per page of the queue.
    page_size: int = Field(default=100, ge=1)
    # Roles shown full identity numbers, names and accounts on the case page.
    full_id_roles: list[Literal["auditor", "reviewer", "supervisor"]] = [
        "auditor",
        "reviewer",
        "supervisor",
    ]
    # Password checks (argon2, 64 MiB each) run at most this many at once; this many more
    # may wait for one; a login beyond that is answered 503 (busy), never queued unbounded.
    hash_workers: int = Field(default=2, ge=1)
    hash_queue: int = Field(default=8, ge=0)
    # Recusal (回避): a user is not assigned, and may not record the outcome of, a case of a
    # relative listed for them or of the village they live in.
    recuse_relatives: bool = True
    recuse_own_village: bool = True


class VisitsConfig(_Section):
    """Field-visit plans (:mod:`features.visits`, ``sentinel plan visits``, the review
    app's visit plan page): how many households one auditor sees in a day trip."""

    # Stops (people to see) in one day trip at most: a planning assumption the site sets.
    max_visits_per_trip: int = Field(default=6, ge=1)
    # Small villages of one township share a day trip (first fit); false: one village a trip.
    combine_villages: bool = True


class LinkageConfig(_Section):
    """Record linkage (:mod:`features.linkage`): comparison levels, sampling, EM and the
    ambiguity rule. Reasons next to each value in ``default_config.toml``."""

    name_similarity: list[float] = [0.92, 0.80]
    birth_date_within_days: int = Field(default=51, ge=1)
    max_id_edits: int = Field(default=2, ge=1)
    u_random_pairs: int = Field(default=100_000, gt=0)
    em_max_pairs: int = Field(default=100_000, gt=0)
    em_max_iterations: int = Field(default=25, gt=0)
    em_tolerance: float = Field(default=1e-4, gt=0)
    em_prior_pairs: float = Field(default=2.0, ge=0)
    ambiguity_share: float = Field(default=0.9, gt=0.5, le=1)
    max_block_size: int = Field(default=50, gt=0)
    min_register_for_estimation: int = Field(default=2000, gt=0)
    reference_m: dict[str, list[float]] = {}
    reference_u: dict[str, list[float]] = {}
    reference_match_share: float = Field(default=0.4364, gt=0, lt=1)
    reference_register_size: int = Field(default=190_000, gt=0)


class SentinelConfig(_Section):
    """The whole configuration of a run."""

    policy: PolicyConfig
    ingest: IngestConfig = IngestConfig()
    detection: DetectionConfig = DetectionConfig()
    model: ModelConfig = ModelConfig()
    cases: CaseConfig = CaseConfig()
    review: ReviewConfig = ReviewConfig()
    run: RunConfig = RunConfig()
    linkage: LinkageConfig = LinkageConfig()
    suspects: SuspectsConfig = SuspectsConfig()
    visits: VisitsConfig = VisitsConfig()
    recovery: RecoveryConfig = RecoveryConfig()


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class ConfigError(ValueError):
    """A site configuration that cannot be used: the file, the key and what is wrong, in one
    line (``site.toml: detection.audit_capacty: unknown key``)."""


def load_config(path: Path | None = None) -> SentinelConfig:
    """Load the committed defaults, overlaid with ``path`` when given.

    Raises :class:`ConfigError` for a file that cannot be read or is not TOML, and for an
    unknown key or a value out of range, naming each."""
    data = tomllib.loads(DEFAULT_CONFIG_FILE.read_text(encoding="utf-8"))
    source = Path(path) if path is not None else DEFAULT_CONFIG_FILE
    if path is not None:
        try:
            site = tomllib.loads(source.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{source}: cannot be read ({exc.strerror or exc})") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{source}: not a TOML file ({exc})") from None
        data = _merge(data, site)
    try:
        return SentinelConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_problem(error) for error in exc.errors())
        raise ConfigError(f"{source}: {problems}") from None


def _problem(error: Any) -> str:
    """``detection.audit_capacity: Input should be greater than or equal to 0``."""
    key = ".".join(str(part) for part in error["loc"])
    what = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
    return f"{key}: {what}" if key else what
