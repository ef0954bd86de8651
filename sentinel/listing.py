"""The month's case list as published: this month's detections, the open cases carried
from earlier months, in audit order, with the month's field visits chosen.

A case stays on the list until an audit closes it. When detection no longer raises an open
case (its payments stopped, the register terminated the pension), the case is carried with
its last listing: its evidence, and the sum overpaid that is still to be recovered.
"""

from __future__ import annotations

import re
from collections.abc import Collection

import polars as pl

from features.audit_order import answer_due, rank_cases, tier_of
from features.certification import IN_PERSON_METHODS
from features.scoring import TIER_NONE, TIER_PROOF
from sentinel.casestore import CaseStore
from sentinel.config import SentinelConfig
from sentinel.contract import CASE_KEY_COLUMNS
from sentinel.evidence import (
    ACQUITTED_NOTE,
    AWAITING_CERTIFICATION_NOTE,
    CERTIFIED_REMOTELY_NOTE,
    CERTIFIED_SINCE_NOTE,
    TEMPLATES,
    Language,
    reason_sentence,
)
from sentinel.periods import month_number, period_of_index
from sentinel.reasons import REFUTED_BY_PASS
from sentinel.selection import audit_selection, takes_no_visit

__all__ = ["carried_cases", "publish_listing"]

#: Reasons an acquittal refutes: pension paid while detained before trial.
DETENTION_ONLY: tuple[str, ...] = ("CP_PAID_IN_DETENTION",)


def carried_cases(
    open_cases: pl.DataFrame,
    previous: pl.DataFrame | None,
    last_paid: pl.DataFrame,
    month: str,
    forward_months: int,
    language: Language = "zh",
) -> pl.DataFrame:
    """Rows in detection's columns for open cases detection did not raise this month.

    ``open_cases``: :meth:`sentinel.casestore.CaseStore.open_cases`; ``previous``: the case
    list last published before ``month`` (``cases.parquet``), None when there is none;
    ``last_paid``: ``person_id, last_paid_index`` (the latest period paid, month index) and
    ``pension_terminated`` of those persons (:func:`sentinel.detection.last_paid`). A case
    not on ``previous`` is carried from the store alone (its evidence then says only when
    it was last listed). Amount at stake: what was overpaid, plus ``forward_months`` of
    payments when the person is still paid. A case whose pension the register has since
    terminated keeps ``pension_terminated``: the centre knows, and settles what was
    overpaid in the termination procedure; the case stays listed, below every case that
    needs a visit, until it is closed (:func:`features.audit_order.rank_cases`).

    A person who passed a certification after the case was first listed
    (``last_pass_date`` and ``last_pass_method`` of ``last_paid``, the state the suspension
    list reads; ``first_flagged`` of ``open_cases``) gets a note saying so in the
    evidence. When the pass was in person and every reason of the case is one such a pass
    refutes (:data:`sentinel.reasons.REFUTED_BY_PASS`), the case is ``certified_since``:
    still listed until an auditor clears it, but like a terminated pension it needs no
    visit. A remote pass refutes nothing (a relative may pass a face check with a photo).
    Likewise a case of pension paid in pre-trial detention whose detention an acquittal has
    since ended (``acquitted_on`` of ``last_paid``) is ``acquitted_since``: the pension is
    paid back after an acquittal, so nothing improper remains; it stays listed for an
    auditor to clear and takes no visit.
    """
    if open_cases.height == 0:
        return pl.DataFrame()
    now = month_number(month)
    base = _last_listing(open_cases, previous, last_paid).with_columns(
        _carried_evidence(language, now).alias("evidence"),
        (_passed_since() & _in_person() & _only_reasons(REFUTED_BY_PASS)).alias("certified_since"),
        _acquitted_since().alias("acquitted_since"),
    )
    return _carried_rows(base, now, forward_months)


def _last_listing(
    open_cases: pl.DataFrame, previous: pl.DataFrame | None, last_paid: pl.DataFrame
) -> pl.DataFrame:
    """The open cases with their persons' ``last_paid`` state and what ``previous`` listed
    of them; a column neither holds is null."""
    base = open_cases.join(last_paid, on="person_id", how="left")
    if previous is not None and previous.height:
        keep = [
            c
            for c in ("name", "scheme", "village", "evidence", "strength", "amount_at_stake")
            if c in previous.columns
        ]
        base = base.join(previous.select("case_id", *keep), on="case_id", how="left")
    for column in ("name", "scheme", "village", "evidence", "strength"):
        if column not in base.columns:
            base = base.with_columns(pl.lit(None, dtype=pl.String).alias(column))
    if "amount_at_stake" not in base.columns:
        base = base.with_columns(pl.lit(None, dtype=pl.Float64).alias("amount_at_stake"))
    for column, dtype in (
        ("first_flagged", pl.String),
        ("last_pass_date", pl.Date),
        ("last_pass_method", pl.String),
        ("acquitted_on", pl.Date),
    ):
        if column not in base.columns:
            base = base.with_columns(pl.lit(None, dtype=dtype).alias(column))
    return base


def _passed_since() -> pl.Expr:
    """The person passed a certification after the case was first listed."""
    return (
        pl.col("last_pass_date")
        >= pl.concat_str(pl.col("first_flagged"), pl.lit("-01")).str.to_date()
    ).fill_null(False)


def _in_person() -> pl.Expr:
    """The last certification pass was in person."""
    return pl.col("last_pass_method").is_in(IN_PERSON_METHODS).fill_null(False)


def _only_reasons(codes: Collection[str]) -> pl.Expr:
    """Every reason of the case is one of ``codes`` (a case without reasons: false)."""
    return (
        pl.col("reasons")
        .fill_null("")
        .str.split(",")
        .list.eval(pl.element().is_in(codes))
        .list.all()
        & pl.col("reasons").is_not_null()
    )


def _acquitted_since() -> pl.Expr:
    """Detention paid, and the detention ended by an acquittal: nothing improper remains."""
    return _only_reasons(DETENTION_ONLY) & pl.col("acquitted_on").is_not_null()


def _stopped_unseen(now: int) -> pl.Expr:
    """Nothing paid for month ``now`` or later, and every reason of the case one a pass
    refutes (:func:`features.audit_order.awaiting_certification`, as the listing will see it)."""
    return (pl.col("last_paid_index") < now).fill_null(False) & _only_reasons(REFUTED_BY_PASS)


def _carried_evidence(language: Language, now: int) -> pl.Expr:
    """The previous listing's evidence (or when the case was last listed), with a note of
    an acquittal or a certification pass since, or of payments stopped on a case a pass
    answers (month ``now``)."""
    note_facts = pl.concat_list(
        pl.col("last_pass_date").cast(pl.String), pl.col("last_pass_method")
    )
    note = (
        pl.when(_acquitted_since())
        .then(
            reason_sentence(
                pl.lit(ACQUITTED_NOTE),
                pl.concat_list(pl.col("acquitted_on").cast(pl.String)),
                language,
            )
        )
        .when(_passed_since())
        .then(
            reason_sentence(
                pl.when(_in_person())
                .then(pl.lit(CERTIFIED_SINCE_NOTE))
                .otherwise(pl.lit(CERTIFIED_REMOTELY_NOTE)),
                note_facts,
                language,
            )
        )
        .when(_stopped_unseen(now))
        .then(
            reason_sentence(
                pl.lit(AWAITING_CERTIFICATION_NOTE),
                pl.concat_list(period_of_index(pl.col("last_paid_index"))),
                language,
            )
        )
    )
    separator = "；" if language == "zh" else "; "
    # The previous listing's evidence may hold last month's note: it is replaced, not repeated.
    # A note is known by the longest fixed text of its sentence.
    marks = [
        max(re.split(r"\{\w+\}", getattr(TEMPLATES[code], language)), key=len)
        for code in (
            CERTIFIED_SINCE_NOTE,
            CERTIFIED_REMOTELY_NOTE,
            ACQUITTED_NOTE,
            AWAITING_CERTIFICATION_NOTE,
        )
    ]
    earlier = (
        pl.col("evidence")
        .str.split(separator)
        .list.eval(
            pl.element().filter(
                ~pl.any_horizontal(*[pl.element().str.contains(m, literal=True) for m in marks])
            )
        )
        .list.join(separator)
    )
    return pl.concat_str(
        earlier.fill_null(pl.format("listed until {}", pl.col("last_listed"))),
        note,
        separator=separator,
        ignore_nulls=True,
    )


def _carried_rows(base: pl.DataFrame, now: int, forward_months: int) -> pl.DataFrame:
    """``base`` in detection's columns: amount at stake is what was overpaid, plus
    ``forward_months`` of payments when the person is still paid in month ``now``."""
    still_paid = (pl.col("last_paid_index") >= now).fill_null(False)
    monthly = (
        (pl.col("amount_at_stake") - pl.col("est_overpayment")) / max(forward_months, 1)
    ).fill_null(0.0)
    return base.select(
        *CASE_KEY_COLUMNS,
        pl.lit(None, dtype=pl.Int64).alias("priority_rank"),
        pl.col("risk_score").fill_null(0.0),
        pl.col("est_overpayment").fill_null(0.0),
        "evidence",
        "reasons",
        pl.col("strength").fill_null("signal"),
        (
            pl.col("est_overpayment").fill_null(0.0)
            + pl.when(still_paid).then(monthly.clip(0.0) * forward_months).otherwise(0.0)
        )
        .round(2)
        .alias("amount_at_stake"),
        period_of_index(pl.col("last_paid_index")).alias("last_paid_period"),
        pl.col("reasons")
        .fill_null("")
        .str.split(",")
        .list.eval(pl.element().filter(pl.element() != ""))
        .alias("reason_codes"),
        tier_of(pl.col("strength").fill_null("signal")).alias("tier"),
        (
            pl.col("pension_terminated").fill_null(False)
            if "pension_terminated" in base.columns
            else pl.lit(False)
        ).alias("pension_terminated"),
        "certified_since",
        "acquitted_since",
    ).with_columns(
        (pl.col("risk_score") * pl.col("amount_at_stake")).round(2).alias("expected_recovery")
    )


def publish_listing(
    store: CaseStore,
    detected: pl.DataFrame,
    carried: pl.DataFrame,
    month: str,
    config: SentinelConfig,
    recipients: int | None = None,
) -> pl.DataFrame:
    """Record ``month``'s list in the case store and return it as published: detections and
    carried cases, less those an audit cleared (:meth:`CaseStore.record_month`), in audit
    order (:func:`features.audit_order.rank_cases`) with the month's field visits chosen
    (:func:`sentinel.selection.audit_selection`).

    New leads (nothing but the life table against them) are listed only as far as the other
    cases leave visits of the month's capacity. A new soft signal — neither proof nor more
    likely improper than not — is listed only when the month's selection visits it (the top
    of the list or an exploration draw among them): one below the cut is mostly a living
    pensioner, and once listed a case stays until an audit closes it, so listing it would
    fill the list with cases nobody is sent to. Detection raises it again next month from
    the same data, and it is listed when it ranks within the visits. So is a soft signal an
    audit cleared that is raised again; one an auditor holds stays listed. A case raised
    for the first time after the suspension stopped its payments may still take a visit: a
    visit is what finds a death the family never reports (once listed and carried, it
    awaits the certification procedure instead,
    :func:`features.audit_order.awaiting_certification`).
    With ``recipients`` (the month's recipients), new soft signals beyond
    ``detection.max_list_share`` of them are not drawn from either, the least promising
    first. Carried cases, proof and upstream suspects are never left off.
    """
    listing = pl.concat([detected, carried], how="diagonal_relaxed") if carried.height else detected
    clear_months = config.cases.clear_months
    preview = store.preview_month(month, listing, clear_months=clear_months)
    ranked = _leads_to_fill(rank_cases(preview.lazy()).collect(), config.detection.audit_capacity)
    if recipients is not None:
        ranked = _within_list_share(ranked, int(recipients * config.detection.max_list_share))
    selected = audit_selection(
        ranked,
        config.detection.audit_capacity,
        config.detection.exploration_share,
        month,
    )
    carried_ids = carried["case_id"] if carried.height else pl.Series("case_id", [], pl.String)
    listed = _visited_soft_signals(store, selected, carried_ids)
    return store.record_month(month, listed, clear_months=clear_months)


def _leads_to_fill(ranked: pl.DataFrame, capacity: int) -> pl.DataFrame:
    """``ranked`` keeping only as many new leads as the capacity the other cases leave
    (:func:`sentinel.selection.takes_no_visit`), re-ranked."""
    new_lead = (pl.col("tier") == TIER_NONE) & (pl.col("status") == "new") & ~answer_due()
    visits = ranked.filter(~new_lead & ~takes_no_visit(ranked.columns)).height
    room = max(0, capacity - visits)
    drop = ranked.filter(new_lead).sort("priority_rank").slice(room)["case_id"]
    if drop.len() == 0:
        return ranked
    kept = ranked.filter(~pl.col("case_id").is_in(drop.implode()))
    return _reranked(kept)


def _reranked(kept: pl.DataFrame) -> pl.DataFrame:
    """``kept`` (in audit order, some cases left off) with ``priority_rank`` 1, 2, ... again."""
    return kept.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("priority_rank"))


def _soft() -> pl.Expr:
    """Cases that are neither proof, nor more likely improper than not, nor owed an answer
    upstream."""
    return (pl.col("tier") < TIER_PROOF) & (pl.col("risk_score") < 0.5) & ~answer_due()


def _soft_new() -> pl.Expr:
    """New soft cases (:func:`_soft`)."""
    return (pl.col("status") == "new") & _soft()


def _within_list_share(ranked: pl.DataFrame, most: int) -> pl.DataFrame:
    """``ranked`` less its lowest new soft signals beyond ``most`` cases, re-ranked."""
    excess = ranked.height - most
    if excess <= 0:
        return ranked
    drop = ranked.filter(_soft_new()).sort("priority_rank").tail(excess)["case_id"]
    kept = ranked.filter(~pl.col("case_id").is_in(drop.implode()))
    return _reranked(kept)


def _visited_soft_signals(
    store: CaseStore, selected: pl.DataFrame, carried: pl.Series
) -> pl.DataFrame:
    """``selected`` (:func:`sentinel.selection.audit_selection`) less the soft signals
    (:func:`_soft`) the month does not visit that would enter the list afresh, re-ranked:
    new ones, and closed ones an audit cleared that are listed again. One an auditor
    already holds (the store has it ``assigned`` or ``pending``: a re-derived month forgot
    its listings) stays, and the ``carried`` case IDs stay whatever they are."""
    unvisited = (
        _soft()
        & pl.col("audit_selection").is_null()
        & pl.col("status").is_in(["new", "carried", "payments_stopped"])
        & ~pl.col("case_id").is_in(carried.implode())
    ).fill_null(False)
    candidates = selected.filter(unvisited)["case_id"]
    if candidates.len() == 0:
        return selected
    states = store.case_states(candidates.to_list())
    held = [c for c, state in states.items() if state in ("assigned", "pending")]
    closed = [c for c, state in states.items() if state == "closed"]
    afresh = (pl.col("status") == "new") & ~pl.col("case_id").is_in(held)
    cleared_again = (pl.col("status") != "new") & pl.col("case_id").is_in(closed)
    off = unvisited & (afresh | cleared_again)
    kept = selected.filter(~off).sort("priority_rank")
    if kept.height == selected.height:
        return selected
    return _reranked(kept)
