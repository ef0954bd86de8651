"""Rule families about being alive: paid after a recorded death, and unreported deaths.

``deceased_paid`` needs a death record linked to a register person (exact ID, or a
mistyped/missing ID matched on name, sex and birth date by :mod:`features.linkage`).
``suspected_unreported_death`` has no death record and weighs survival evidence: how long
since the last in-person proof of life, how strong each later certification was, the
person's age against a Gompertz life table, and changes of account or collector after the
last in-person check.
"""

from __future__ import annotations

import polars as pl

from features.cases import (
    date_month_index,
    fmt_prob,
    fmt_yuan,
    month_index,
    month_number,
    per_person,
    period_of_index,
    reason_rows,
)
from features.certification import certification_state
from features.ledger import rows_of
from features.linkage import LinkColumns, link_records
from sentinel.config import SentinelConfig
from sentinel.contract import SCHEMES

STRONG_METHODS = ("on_site", "home_visit")

_LINK_SCHEMA = {
    "record_id": pl.String(),
    "person_id": pl.String(),
    "confidence": pl.Float64(),
    "method": pl.String(),
}


def register_people(runs: pl.LazyFrame) -> pl.LazyFrame:
    """One row per person from the latest snapshot that lists them (any scheme).

    ``runs`` is the register history summarised per person
    (:func:`features.history.register_runs`). ``benefit_start`` is the earliest start across
    schemes (the person applied, alive, then). A person listed in two schemes in one snapshot
    takes the alphabetically last scheme's row (repeatable); ``first_status`` is the status
    of the earliest row, likewise. ``last_listed`` and ``first_listed`` are ``YYYY-MM``.
    ``last_cert_date`` and ``cert_due_date``: the latest the register carried (null when the
    source system does not deliver them).
    """
    names = runs.collect_schema().names()
    runs = runs.with_columns(
        *[
            pl.lit(None, dtype=pl.Date).alias(c)
            for c in ("last_cert_date", "cert_due_date")
            if c not in names
        ]
    )
    latest = ("name", "sex", "birth_date", "scheme", "township", "village", "status")
    columns = (
        "person_id",
        *latest[:-1],
        "benefit_start",
        "status",
        "last_listed",
        "first_listed",
        "first_status",
        "last_cert_date",
        "cert_due_date",
    )
    # Most persons have one run, which is their row: only the others need ordering.
    several = pl.col("person_id").is_duplicated()
    single = (
        runs.filter(~several)
        .with_columns(
            period_of_index(pl.col("last_index")).alias("last_listed"),
            period_of_index(pl.col("first_index")).alias("first_listed"),
            pl.col("status").alias("first_status"),
        )
        .select(columns)
    )
    # Two rows of one scheme in one month (a register error) are told apart by a hash of the
    # whole row, so that the pick does not depend on row order.
    keyed = runs.filter(several).with_columns(
        _snapshot_order(pl.col("last_index")).alias("_last"),
        _snapshot_order(pl.col("first_index")).alias("_first"),
        pl.struct(pl.all().exclude("first_index", "last_index")).hash().alias("_row"),
    )
    newest = (
        keyed.sort("_last", "_row").unique("person_id", keep="last").select("person_id", *latest)
    )
    earliest = (
        keyed.sort("_first", "_row")
        .unique("person_id", keep="first")
        .select("person_id", pl.col("status").alias("first_status"))
    )
    spans = keyed.group_by("person_id").agg(
        pl.col("benefit_start").min(),
        pl.col("last_cert_date").max(),
        pl.col("cert_due_date").max(),
        period_of_index(pl.col("last_index").max()).alias("last_listed"),
        period_of_index(pl.col("first_index").min()).alias("first_listed"),
    )
    multiple = (
        newest.join(spans, on="person_id", how="left")
        .join(earliest, on="person_id", how="left")
        .select(columns)
    )
    return pl.concat([single, multiple])


def _snapshot_order(index: pl.Expr) -> pl.Expr:
    """An integer ordering register rows by month index, then scheme (canonical names)."""
    schemes = sorted(set(SCHEMES.values()))
    rank = pl.col("scheme").replace_strict(
        schemes, list(range(1, len(schemes) + 1)), default=0, return_dtype=pl.Int64
    )
    return index.cast(pl.Int64) * (len(schemes) + 1) + rank


# --------------------------------------------------------------------------- death linkage


def link_deaths(deaths: pl.LazyFrame, people: pl.LazyFrame) -> pl.LazyFrame:
    """Link death records to register persons: ``record_id, person_id, confidence, method,
    disagreed``.

    :func:`features.linkage.link_records`: every record's best candidate whatever its
    probability, unless another register person is as likely (:func:`linked_deaths` decides
    what counts). A record with two equally good candidates is not linked (a wrong death
    link stops a living person's pension).
    """
    links = link_records(
        deaths,
        people,
        records_cols=LinkColumns(
            key="record_id", person_id="person_id", name="name", birth_date="birth_date", sex="sex"
        ),
        register_cols=LinkColumns(
            key="person_id", person_id="person_id", name="name", birth_date="birth_date", sex="sex"
        ),
        min_confidence=0.0,
    )
    return (
        links.select(
            pl.col("record_key").cast(pl.String).alias("record_id"),
            pl.col("register_key").cast(pl.String).alias("person_id"),
            pl.col("confidence").cast(pl.Float64),
            pl.col("method").cast(pl.String),
            pl.col("disagreed"),
        )
        .sort(["confidence", "person_id"], descending=[True, False])
        .unique("record_id", keep="first")
    )


def linked_deaths(
    deaths: pl.LazyFrame,
    people: pl.LazyFrame,
    config: SentinelConfig,
    *,
    links: pl.LazyFrame | None = None,
    leads: bool = False,
) -> pl.LazyFrame:
    """Per person, the earliest death linked at or above ``min_death_link_confidence``.

    Returns ``person_id, death_date, source, confidence, link_method, record_id,
    recorded_on``. A record with neither ID nor birth date matches a name, not a person: a
    field auditor would not accept it as proof of death (a namesake may have died), so such
    ``name_only`` links are left out unless ``detection.accept_name_only_death_links``.

    With ``leads=True`` the links that are not proof but point at one person are returned
    instead: they raise a suspected unreported death, never a stop.

    * ``name_only`` links: a name alone is never probable in a county (many people could
      have written it), so such a lead needs no confidence: only that the name singles out
      one register person (the linker's ambiguity rule) and that no field of the record
      speaks against them.
    * *probable* links: a record with an ID or birth date whose best candidate's match
      probability is at least ``min_death_lead_confidence`` (the record is more likely this
      person than not) but below proof, as when a mistyped ID meets a name typed by ear.

    ``links`` is :func:`link_deaths` of the same inputs when the caller already has it.
    """
    links = links if links is not None else link_deaths(deaths, people)
    if "disagreed" not in links.collect_schema().names():
        links = links.with_columns(pl.lit([], dtype=pl.List(pl.String)).alias("disagreed"))
    det = config.detection
    if leads:
        name_only = (pl.col("method") == "name_only") & (pl.col("disagreed").list.len() == 0)
        probable = (
            (pl.col("method") != "name_only")
            & (pl.col("confidence") >= det.min_death_lead_confidence)
            & (pl.col("confidence") < det.min_death_link_confidence)
        )
        links = links.filter(name_only | probable)
    else:
        links = links.filter(pl.col("confidence") >= det.min_death_link_confidence)
        if not det.accept_name_only_death_links:
            links = links.filter(pl.col("method") != "name_only")
    links = links.drop("disagreed")
    return (
        deaths.select("record_id", "death_date", "source", "recorded_on")
        # The linked records first: a province's death history is a million records, and
        # one region's links a few thousand.
        .join(links.select("record_id"), on="record_id", how="semi")
        .unique("record_id")
        .join(links, on="record_id", how="inner")
        .sort(["death_date", "confidence", "record_id"], descending=[False, True, False])
        .group_by("person_id")
        .agg(
            pl.col("death_date").first(),
            pl.col("source").first(),
            pl.col("confidence").first(),
            pl.col("method").first().alias("link_method"),
            pl.col("record_id").first(),
            pl.col("recorded_on").min(),
        )
    )


# --------------------------------------------------------------------------- certifications


def survival_evidence(
    certifications: pl.LazyFrame, people: pl.LazyFrame, month: str, config: SentinelConfig
) -> pl.LazyFrame:
    """Per person: the proof-of-life timeline as month indexes and counts.

    ``strong_index``: month of the last in-person pass (on-site or home visit) or of the
    benefit start, whichever is later (an application is made in person).
    ``pass_index`` / ``pass_method``: last pass of any method (the register's own last
    certification date included, method unknown); ``prior_pass_index``: the pass before it
    in the history; ``data_match_index``: last data-match pass; ``fails_since_pass``;
    ``first_listed_index``; and the certification state of
    :func:`features.certification.certification_state` (``verified_index``,
    ``months_since_verified``, ``bounded``, ``recorded_since``, ``lapsed``, ...): the one
    the suspension list reads.
    """
    certs = certifications.select(
        "person_id",
        "cert_date",
        "method",
        "result",
        date_month_index(pl.col("cert_date")).alias("cert_index"),
    ).filter(pl.col("cert_index") <= month_number(month))
    passes = certs.filter(pl.col("result") == "pass").sort("cert_date")
    # (Conditions as when/then columns, not filters inside the aggregation: a filter is
    # evaluated group by group. Cached: the fails below read the passes too.)
    per_pass = (
        passes.with_columns(
            pl.when(pl.col("method").is_in(STRONG_METHODS))
            .then(pl.col("cert_index"))
            .alias("_strong"),
            pl.when(pl.col("method") == "data_match").then(pl.col("cert_index")).alias("_match"),
        )
        .group_by("person_id")
        .agg(
            pl.col("cert_index").last().alias("pass_index"),
            pl.col("method").last().alias("pass_method"),
            pl.col("_strong").max().alias("strong_cert_index"),
            pl.col("_match").max().alias("data_match_index"),
            pl.col("cert_index").shift(1).last().alias("prior_pass_index"),
        )
        .cache()
    )
    fails = (
        certs.filter(pl.col("result") == "fail")
        .join(per_pass.select("person_id", "pass_index"), on="person_id", how="left")
        .filter(pl.col("cert_index") >= pl.col("pass_index").fill_null(-1))
        .group_by("person_id")
        .agg(pl.len().alias("fails_since_pass"))
    )
    # The certification state (known or bounded by the history's start) is the one the
    # suspension list reads: the register's own last certification date counts as a pass.
    state = certification_state(people, certifications, month, config.policy.suspend_after_months)
    return (
        people.select("person_id", "birth_date", "benefit_start", "first_listed")
        .join(per_pass, on="person_id", how="left")
        .join(fails, on="person_id", how="left")
        .join(state, on="person_id", how="left")
        .with_columns(
            pl.max_horizontal(
                pl.col("strong_cert_index"), date_month_index(pl.col("benefit_start"))
            ).alias("strong_index"),
            pl.max_horizontal(
                pl.col("pass_index"), date_month_index(pl.col("last_pass_date"))
            ).alias("pass_index"),
            # A later pass the register carries has no method.
            pl.when(date_month_index(pl.col("last_pass_date")) > pl.col("pass_index").fill_null(-1))
            .then(pl.col("last_pass_method"))
            .otherwise(pl.col("pass_method"))
            .alias("pass_method"),
            month_index(pl.col("first_listed")).alias("first_listed_index"),
            pl.col("fails_since_pass").fill_null(0),
        )
        .drop("first_listed")
    )


def gompertz_death_probability(age: pl.Expr, years: pl.Expr, a: float, b: float) -> pl.Expr:
    """Probability of dying within ``years`` for someone alive at ``age``.

    Gompertz hazard ``mu(x) = a·exp(b·x)``: survival ``exp(-(a/b)·e^{b·age}·(e^{b·years}-1))``.
    """
    cum = (a / b) * (b * age).exp() * ((b * years.clip(0.0)).exp() - 1.0)
    return 1.0 - (-cum).exp()


# --------------------------------------------------------------------------- rule families


def deceased_paid(
    ledger: pl.LazyFrame,
    deaths_linked: pl.LazyFrame,
    evidence: pl.LazyFrame,
    config: SentinelConfig,
    people: pl.LazyFrame | None = None,
    month: str | None = None,
) -> pl.LazyFrame:
    """Payments for periods after a linked death that the centre has not acted on
    (``DP_PAID_AFTER_DEATH``).

    Improper periods start ``policy.death_payment_lag_months`` months after the death month;
    the overpayment is everything paid for them (regular, arrears, adjustments). Whether a
    field visit is needed depends on whether the centre has acted on the death:

    * register shows the pension terminated: it has; the overpayment is recovered through
      the termination procedure, not a field visit, so the person is not a case here;
    * the record arrived after the latest payroll (``payroll_cutoff_day`` of ``month``):
      the centre has had no payroll to act on it yet (``DP_RECORD_JUST_ARRIVED``, same
      scaling; next month decides);
    * otherwise a payroll has passed since the record arrived and the pension is still
      not terminated — typically the ID in the record was mistyped and nobody matched it,
      even if the pension was meanwhile suspended for a lapsed certification (suspension
      recovers nothing): a full-probability case.
    A pass of an in-person certification *after* the death date contradicts the record: the
    case stays (someone must check the record) but its probability drops
    (``DP_ALIVE_AFTER_DEATH``).
    ``people`` gives the latest register ``status`` per person; ``month`` is the month
    being scored.
    """
    lag = config.policy.death_payment_lag_months
    det = config.detection
    after = (
        rows_of(ledger, deaths_linked)
        .join(deaths_linked, on="person_id", how="inner")
        .with_columns(date_month_index(pl.col("death_date")).alias("death_index"))
        .filter(pl.col("period_index") > pl.col("death_index") + lag)
        .group_by("person_id")
        .agg(
            pl.col("period_index").n_unique().alias("months"),
            pl.col("amount").fill_null(0.0).sum().alias("paid"),
            period_of_index(pl.col("period_index").min()).alias("first_period"),
            pl.col("death_date").first(),
            pl.col("source").first(),
            pl.col("confidence").first(),
            pl.col("link_method").first(),
            pl.col("recorded_on").min(),
        )
    ).join(evidence.select("person_id", "strong_cert_index"), on="person_id", how="left")
    now = month_number(month) if month is not None else None
    record_index = date_month_index(pl.col("recorded_on"))
    # The first payroll that could act on the record: its month if it arrived before the
    # cut-off day, else the next month.
    acting_payroll = record_index + (pl.col("recorded_on").dt.day() >= det.payroll_cutoff_day).cast(
        pl.Int32
    )
    after = after.with_columns(
        (pl.lit(now) < acting_payroll if now is not None else pl.lit(False))
        .fill_null(False)
        .alias("just_arrived")
    )
    if people is not None:
        after = after.join(
            people.select(
                "person_id",
                (pl.col("status") == "terminated").alias("terminated"),
                pl.col("last_listed"),
            ),
            on="person_id",
            how="left",
        )
    else:
        after = after.with_columns(
            pl.lit(False).alias("terminated"), pl.lit(None, dtype=pl.String).alias("last_listed")
        )
    after = after.filter(~pl.col("terminated").fill_null(False))
    pending = pl.col("just_arrived")
    contradicted = (pl.col("strong_cert_index") > date_month_index(pl.col("death_date"))).fill_null(
        False
    )
    p = pl.when(contradicted).then(det.deceased_paid_contradicted_probability).otherwise(
        det.deceased_paid_probability * pl.col("confidence")
    ) * pl.when(pending).then(det.deceased_paid_pending_factor).otherwise(1.0)
    paid = pl.col("paid")
    main = reason_rows(
        after,
        "DP_PAID_AFTER_DEATH",
        p,
        paid,
        pl.col("source"),
        pl.col("death_date"),
        pl.col("link_method"),
        fmt_prob(pl.col("confidence")),
        pl.col("months"),
        pl.col("first_period"),
        fmt_yuan(paid),
    )
    alive = reason_rows(
        after.filter(contradicted),
        "DP_ALIVE_AFTER_DEATH",
        det.deceased_paid_contradicted_probability,
        paid,
        period_of_index(pl.col("strong_cert_index")),
    )
    arrived = reason_rows(
        after.filter(pl.col("just_arrived")),
        "DP_RECORD_JUST_ARRIVED",
        p,
        paid,
        pl.col("recorded_on"),
    )
    return pl.concat([main, alive, arrived])


#: Survival signals weighed by how often the county's paid pensioners show them, with the
#: configuration field holding the share of unreported deaths that show each.
OBSERVED_SIGNALS: dict[str, str] = {
    "lapsed": "uncertified_dead_share",
    "unseen": "uncertified_dead_share",
    "weak_face": "weak_face_dead_share",
    "account_changed": "account_changed_dead_share",
    "collector_added": "collector_added_dead_share",
    "failed": "failed_certification_dead_share",
}


def survival_signals(
    ledger: pl.LazyFrame,
    people: pl.LazyFrame,
    evidence: pl.LazyFrame,
    changes: pl.LazyFrame,
    month: str,
    config: SentinelConfig,
) -> pl.LazyFrame:
    """One row per person paid within the certification cycle: their survival signals
    (:data:`OBSERVED_SIGNALS`, Booleans) and the mortality prior.

    * ``lapsed``: the certification cycle has run out, as far as the data holds it
      (:func:`features.certification.certification_state`, the suspension list's answer);
    * ``unseen``: no pass nor claim in the months recorded, fewer than a cycle so far (most
      living pensioners show it early in a history: its weight says so);
    * ``weak_face``: the last pass is by face app, at ``face_app_weak_age`` or older, after
      more than a cycle without a pass (a relative's phone at the door is the known fraud);
    * ``account_changed`` / ``collector_added``: after the last in-person proof of life;
    * ``failed``: a failed certification since the last pass.

    ``alive_index``: the last credible proof of life (an in-person check, a data match, a
    face-app pass that is not weak, the claim; for a person with none recorded, the month
    before the history began, the latest a pass can have been); ``p_died``: the Gompertz
    probability of dying since then.
    """
    det = config.detection
    cycle = config.policy.certification_cycle_months
    now = month_number(month)
    recent = ledger.filter(pl.col("period_end") >= now - cycle + 1)
    paid_recently = per_person(recent, pl.col("period_end").max().alias("last_paid_index"))
    base = (
        people.select("person_id", "birth_date", "scheme")
        .join(paid_recently, on="person_id", how="inner")
        .join(evidence.drop("birth_date"), on="person_id", how="left")
        .join(changes, on="person_id", how="left")
        .with_columns(((pl.lit(now) - date_month_index(pl.col("birth_date"))) / 12.0).alias("age"))
    )
    # Months without a pass before the last one, as far as the history shows: exact after
    # an earlier pass, at least the months since the history began otherwise.
    face_gap = pl.col("pass_index") - pl.max_horizontal(
        pl.col("prior_pass_index").fill_null(pl.col("first_listed_index") - 1),
        pl.col("strong_index"),
    )
    weak_face = (
        (pl.col("pass_method") == "face_app")
        & (pl.col("age") >= det.face_app_weak_age)
        & (face_gap > cycle).fill_null(False)
    )
    # A weak face-app pass does not reset the mortality clock.
    last_alive = pl.max_horizontal(
        pl.col("strong_index"),
        pl.col("data_match_index"),
        pl.when(~weak_face).then(pl.col("pass_index")),
        pl.when(weak_face).then(pl.col("prior_pass_index")),
        pl.col("verified_index"),
    ).fill_null(now - 120)
    base = base.with_columns(
        weak_face.alias("weak_face"), face_gap.alias("face_gap"), last_alive.alias("alive_index")
    ).with_columns(
        ((pl.lit(now) - pl.col("alive_index")) / 12.0).alias("years_since_alive"),
        (pl.lit(now) - pl.col("pass_index")).alias("months_since_pass"),
        # Months of this person's register history, this one included.
        (pl.lit(now) - pl.col("first_listed_index").fill_null(now) + 1).alias("observed_months"),
    )
    lapsed = pl.col("lapsed").fill_null(False) & ~pl.col("weak_face")
    unseen = pl.col("bounded").fill_null(False) & ~pl.col("lapsed").fill_null(False)
    account_changed = pl.col("account_change_index") > pl.col("strong_index").fill_null(-1)
    collector_added = (
        pl.col("collector_change_index") > pl.col("strong_index").fill_null(-1)
    ) & pl.col("collector_id").is_not_null()
    failed = pl.col("fails_since_pass").fill_null(0) > 0
    return base.with_columns(
        lapsed.alias("lapsed"),
        unseen.alias("unseen"),
        account_changed.fill_null(False).alias("account_changed"),
        collector_added.fill_null(False).alias("collector_added"),
        failed.fill_null(False).alias("failed"),
        gompertz_death_probability(
            pl.col("age") - pl.col("years_since_alive"),
            pl.col("years_since_alive"),
            det.gompertz_a,
            det.gompertz_b,
        ).alias("p_died"),
    )


def signal_shares(signals: pl.LazyFrame) -> pl.LazyFrame:
    """How many of each scheme's persons paid within the cycle show each survival signal:
    ``scheme, signal, persons, paid`` (counts, so that partitions of a county add up)."""
    counts = signals.group_by("scheme").agg(
        pl.len().alias("paid"), *[pl.col(name).sum() for name in OBSERVED_SIGNALS]
    )
    return (
        counts.unpivot(
            index=["scheme", "paid"],
            on=list(OBSERVED_SIGNALS),
            variable_name="signal",
            value_name="persons",
        )
        .select("scheme", "signal", pl.col("persons").cast(pl.Int64), pl.col("paid").cast(pl.Int64))
        .sort("scheme", "signal", nulls_last=True)
    )


def suspected_unreported_death(
    ledger: pl.LazyFrame,
    people: pl.LazyFrame,
    evidence: pl.LazyFrame,
    changes: pl.LazyFrame,
    deaths_linked: pl.LazyFrame,
    month: str,
    config: SentinelConfig,
    leads: pl.LazyFrame | None = None,
    shares: pl.LazyFrame | None = None,
    keep_top: int = 0,
) -> pl.LazyFrame:
    """Paid persons without a death record who are probably dead, with a probability.

    Prior: Gompertz probability of dying since the last credible proof of life
    (:func:`survival_signals`), times the share of deaths that go unreported
    (``unreported_death_share``), as odds. Each signal the person shows multiplies them by
    its likelihood ratio: the share of unreported deaths that show it (configuration, a
    planning assumption the audit outcomes correct) over the share of the scheme's paid
    persons that show it this month (``shares``, :func:`signal_shares` of the whole county;
    computed from these persons when None; at least one person). A signal most living
    pensioners show (an administrative wave of new accounts, a short history) is no
    evidence; no signal counts against. ``leads`` (:func:`linked_deaths` with
    ``leads=True``) set the likely death month to the record's:

    * a death record naming only this person's name, no ID or birth date, and no other
      pensioner of that name: ``lr_same_name_death_record``;
    * a probable link of confidence ``c`` (the linker's match probability): the person is
      dead if the record is theirs, else as likely as without it,
      ``c + (1 - c) * p``.

    ``est_overpayment`` is what was paid for periods after the likely death, taken as the
    midpoint between the last credible proof of life and the scored month (under a rising hazard
    the conditional death time is near it for the short gaps that matter).

    Persons below ``detection.min_suspected_death_probability`` are left out, but for the
    ``keep_top`` most probable of them: the list may need them to fill a month's visits.
    """
    det = config.detection
    policy = config.policy
    now = month_number(month)
    cycle = policy.certification_cycle_months
    signals = survival_signals(ledger, people, evidence, changes, month, config)
    if shares is None:
        shares = signal_shares(signals)
    base = signals.join(deaths_linked.select("person_id"), on="person_id", how="anti")
    if leads is not None:
        base = base.join(
            leads.select(
                "person_id",
                pl.col("death_date").alias("lead_death_date"),
                pl.col("source").alias("lead_source"),
                pl.when(pl.col("link_method") != "name_only")
                .then(pl.col("confidence"))
                .alias("lead_confidence"),
            ),
            on="person_id",
            how="left",
        )
    else:
        base = base.with_columns(
            pl.lit(None, dtype=pl.Date).alias("lead_death_date"),
            pl.lit(None, dtype=pl.String).alias("lead_source"),
            pl.lit(None, dtype=pl.Float64).alias("lead_confidence"),
        )
    has_lead = pl.col("lead_death_date").is_not_null()
    probable = pl.col("lead_confidence").is_not_null()
    name_lead = has_lead & ~probable
    share = pl.col("persons") / pl.col("paid")
    wide = shares.group_by("scheme").agg(
        (1.0 / pl.col("paid").first()).alias("one_person"),
        *[
            share.filter(pl.col("signal") == name).first().alias(f"{name}_share")
            for name in OBSERVED_SIGNALS
        ],
    )
    base = base.join(wide, on="scheme", how="left", nulls_equal=True)
    lr = pl.lit(1.0)
    for name, field in OBSERVED_SIGNALS.items():
        observed = pl.max_horizontal(pl.col(name + "_share"), pl.col("one_person")).fill_null(1.0)
        ratio = pl.max_horizontal(pl.lit(1.0), pl.lit(getattr(det, field)) / observed)
        lr = lr * pl.when(pl.col(name)).then(ratio).otherwise(1.0)
    lr = lr * pl.when(name_lead).then(det.lr_same_name_death_record).otherwise(1.0)
    prior_odds = pl.col("p_died") * det.unreported_death_share / (1.0 - pl.col("p_died")).clip(1e-6)
    odds = prior_odds * lr
    without_record = odds / (1.0 + odds)
    c = pl.col("lead_confidence")
    scored = base.with_columns(
        pl.when(probable)
        .then(c + (1.0 - c) * without_record)
        .otherwise(without_record)
        .alias("probability"),
        has_lead.alias("has_lead"),
        pl.when(has_lead)
        .then(date_month_index(pl.col("lead_death_date")))
        .otherwise(((pl.col("alive_index") + pl.lit(now)) / 2.0).floor())
        .cast(pl.Int32)
        .alias("likely_death_index"),
    )
    # The ``keep_top`` threshold: the probability of the ``keep_top``-th most probable person
    # paid after their likely death (nothing else could be overpaid).
    threshold = scored.filter(pl.col("last_paid_index") > pl.col("likely_death_index")).select(
        pl.col("probability")
        .sort(descending=True)
        .get(keep_top - 1, null_on_oob=True)
        .alias("_top")
        if keep_top > 0
        else pl.lit(None, dtype=pl.Float64).alias("_top")
    )
    scored = (
        scored.join(threshold, how="cross")
        .filter(
            (pl.col("probability") >= det.min_suspected_death_probability)
            | (pl.col("probability") >= pl.col("_top")).fill_null(False)
        )
        .drop("_top")
    )
    # (Read three times below: cached, else every read plans the persons' joins again.)
    scored = scored.cache()

    overpaid = (
        rows_of(ledger, scored)
        .join(scored.select("person_id", "likely_death_index"), on="person_id", how="inner")
        .filter(pl.col("period_index") > pl.col("likely_death_index"))
        .group_by("person_id")
        .agg(
            pl.col("amount").fill_null(0.0).sum().alias("overpaid"),
            pl.col("period_index").n_unique().alias("months_overpaid"),
        )
    )
    scored = scored.join(overpaid, on="person_id", how="inner").filter(pl.col("overpaid") > 0)

    return _suspected_death_reasons(scored, cycle)


def _suspected_death_reasons(scored: pl.LazyFrame, cycle: int) -> pl.LazyFrame:
    """The reason rows of the persons :func:`suspected_unreported_death` scored: one per
    signal shown, with the facts its sentence states (``cycle``: the certification cycle in
    months)."""
    p, overpaid = pl.col("probability"), pl.col("overpaid")

    def rows(
        frame: pl.LazyFrame, code: str | tuple[pl.Expr, tuple[str, ...]], *facts: pl.Expr
    ) -> pl.LazyFrame:
        return reason_rows(frame, code, p, overpaid, *facts)

    # The mortality clock of a person with no proof of life recorded starts before the
    # history: the sentence says that, not a month.
    unrecorded = pl.col("bounded") & (pl.col("alive_index") <= pl.col("verified_index"))
    mortality = rows(
        scored,
        (
            pl.when(unrecorded)
            .then(pl.lit("SD_MORTALITY_UNRECORDED"))
            .otherwise(pl.lit("SD_MORTALITY")),
            ("SD_MORTALITY_UNRECORDED", "SD_MORTALITY"),
        ),
        pl.col("age").floor().cast(pl.Int32),
        pl.when(unrecorded)
        .then(pl.col("recorded_since"))
        .otherwise(period_of_index(pl.col("alive_index"))),
        fmt_prob(pl.col("p_died")),
        pl.col("months_overpaid"),
        fmt_yuan(overpaid),
    )
    lead = rows(
        scored.filter(pl.col("has_lead") & pl.col("lead_confidence").is_null()),
        "SD_SAME_NAME_DEATH_RECORD",
        pl.col("lead_source"),
        pl.col("lead_death_date"),
    )
    probable = rows(
        scored.filter(pl.col("lead_confidence").is_not_null()),
        "SD_PROBABLE_DEATH_RECORD",
        pl.col("lead_source"),
        pl.col("lead_death_date"),
        fmt_prob(pl.col("lead_confidence")),
    )
    # What the history holds, never a count it does not: the last pass and the months since,
    # or that no pass was seen since the person's first snapshot.
    lapse = rows(
        scored.filter(pl.col("lapsed") & ~pl.col("bounded")),
        "SD_CERT_LAPSED",
        pl.col("months_since_verified"),
        period_of_index(pl.col("verified_index")),
        pl.lit(str(cycle)),
    )
    # A bounded person: the months recorded without a pass, and since when; lapsed once
    # they exceed the cycle (the suspension list suspends them then), else not yet known.
    unseen = rows(
        scored.filter(pl.col("bounded") & (pl.col("lapsed") | pl.col("unseen"))),
        (
            pl.when(pl.col("lapsed"))
            .then(pl.lit("SD_NO_PASS_IN_HISTORY"))
            .otherwise(pl.lit("SD_NO_RECENT_PASS")),
            ("SD_NO_PASS_IN_HISTORY", "SD_NO_RECENT_PASS"),
        ),
        pl.col("recorded_since"),
        pl.col("months_since_verified"),
        pl.lit(str(cycle)),
    )
    weak = rows(
        scored.filter(pl.col("weak_face") & ~pl.col("lapsed")),
        "SD_WEAK_FACE_APP",
        period_of_index(pl.col("pass_index")),
        pl.col("age").floor().cast(pl.Int32),
        pl.col("face_gap"),
    )
    account = rows(
        scored.filter(pl.col("account_changed")),
        "SD_ACCOUNT_CHANGED",
        period_of_index(pl.col("account_change_index")),
    )
    collector = rows(
        scored.filter(pl.col("collector_added")),
        "SD_COLLECTOR_ADDED",
        period_of_index(pl.col("collector_change_index")),
    )
    failed = rows(
        scored.filter(pl.col("fails_since_pass") > 0), "SD_CERT_FAILED", pl.col("fails_since_pass")
    )
    return pl.concat([lead, probable, lapse, unseen, weak, account, collector, failed, mortality])
