"""Who receives for whom: account and collector history, and the shared-account rule family.

The graph has persons on one side and *receivers* (bank accounts, proxy collectors) on the
other. A receiver serving several unrelated people is the pattern of a collection ring; a
married couple sharing one account, or a son collecting for his parents, is normal.
Relatedness is judged as a field auditor would from the register alone: same surname (a
family), or opposite sex, same village and a plausible spouse age gap (Chinese wives keep
their surname).
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as scipy_components

from features.cases import (
    choose_code,
    fmt_account,
    fmt_yuan,
    per_person,
    person_scheme_key,
    reason_rows,
    scheme_rank,
    surname,
)
from features.ledger import rows_of
from sentinel.config import DetectionConfig
from sentinel.masking import mask_id_expr
from sentinel.periods import month_number, period_of_index


def receiver_changes(runs: pl.LazyFrame, ledger: pl.LazyFrame) -> pl.LazyFrame:
    """Per person, the latest month the bank account changed and the latest month a collector
    was added or replaced (register runs, :func:`features.history.register_runs`, and the
    accounts paid into).

    Returns ``person_id, account_change_index, collector_change_index, collector_id`` (the
    current collector, null when none). The first value seen is no change.
    """
    has_collector = "collector_id" in runs.collect_schema().names()
    # A run's row holds from its first month: a change between two runs of a person-scheme
    # happened in the later run's first month.
    snaps = runs.select(
        "person_id",
        "scheme",
        pl.col("first_index").alias("m"),
        "last_index",
        pl.col("bank_account"),
        pl.col("collector_id")
        if has_collector
        else pl.lit(None, dtype=pl.String).alias("collector_id"),
    )
    account = _last_change(snaps, "bank_account", "account_change_index")
    paid = _last_change(_paid_accounts(ledger), "paid_account", "paid_account_change_index")
    collector = _last_change(snaps, "collector_id", "collector_change_index")
    current = per_person(
        snaps,
        pl.col("collector_id")
        .sort_by(pl.col("last_index"), scheme_rank(), pl.col("collector_id").hash())
        .last(),
    )
    return (
        current.join(account, on="person_id", how="left")
        .join(paid, on="person_id", how="left")
        .join(collector, on="person_id", how="left")
        .select(
            "person_id",
            pl.max_horizontal("account_change_index", "paid_account_change_index").alias(
                "account_change_index"
            ),
            "collector_change_index",
            "collector_id",
        )
    )


def _last_change(frame: pl.LazyFrame, value: str, out: str) -> pl.LazyFrame:
    """Per person, the latest month ``m`` the ``value`` of a person-scheme differed from
    the one before (``out``); the first value seen is no change."""
    # Only a person-scheme seen with more than one value (null counts as one) can have
    # changed; most keep one account for years, so the ordered windows run on few rows.
    # Values are counted by their 64-bit hash (cheaper than text; a collision would need
    # two accounts of one person to hash alike); the hash also orders two values of one
    # month (a register error) so that the answer does not depend on row order.
    # (The ledger carries its person-scheme key; the register runs get one here.)
    if "_key" not in frame.collect_schema().names():
        frame = frame.with_columns(person_scheme_key().alias("_key"))
    frame = frame.with_columns(pl.col(value).hash().alias("_value"))
    varying = frame.filter(pl.col("_value").n_unique().over("_key") > 1)
    prev = pl.col(value).shift(1).over("_key", order_by=["m", "_value"])
    first = pl.int_range(pl.len()).over("_key", order_by=["m", "_value"]) == 0
    changed = ((pl.col(value) != prev) | (prev.is_null() & pl.col(value).is_not_null())) & ~first
    return (
        varying.with_columns(changed.fill_null(False).alias("_changed"))
        .filter(pl.col("_changed"))
        .group_by("person_id")
        .agg(pl.col("m").max().alias(out))
    )


def _paid_accounts(ledger: pl.LazyFrame) -> pl.LazyFrame:
    """The accounts regular payments went into, month by month (``person_id, _key, m,
    paid_account``), of the payee-schemes paid into more than one."""
    paid_runs = ledger.filter(
        (pl.col("kind") == "regular")
        & pl.col("bank_account").is_not_null()
        & pl.col("scheme").is_not_null()
    )
    # Only a payee-scheme paid into more than one account can have changed it: their rows.
    paid_into_several = (
        paid_runs.group_by("payee_scheme")
        .agg(pl.col("bank_account").n_unique().alias("_accounts"))
        .filter(pl.col("_accounts") > 1)
    )
    return rows_of(paid_runs, paid_into_several, on="payee_scheme").select(
        "person_id",
        pl.col("payee_scheme").alias("_key"),
        pl.col("period_index").alias("m"),
        pl.col("bank_account").alias("paid_account"),
    )


def receiver_edges(
    runs: pl.LazyFrame, ledger: pl.LazyFrame, month: str, *, lookback_months: int
) -> pl.LazyFrame:
    """Person–receiver edges within the lookback window: ``person_id, receiver, kind, first_index``.

    The window is the last ``lookback_months`` (``detection.lookback_months``) up to ``month``.

    ``runs`` is the register history summarised per person
    (:func:`features.history.register_runs`). ``kind`` is ``account`` or ``collector``;
    ``first_index`` the first month (within the window) the person was seen with that receiver.
    """
    start = month_number(month) - lookback_months + 1
    snaps = runs.filter(pl.col("last_index") >= start).with_columns(
        pl.max_horizontal(pl.col("first_index"), pl.lit(start, dtype=pl.Int32)).alias("m")
    )
    has_collector = "collector_id" in runs.collect_schema().names()
    parts = [
        snaps.select(
            "person_id",
            pl.col("bank_account").alias("receiver"),
            pl.lit("account").alias("kind"),
            "m",
        ),
        # The ledger runs (few per payee) reaching the window, from where they enter it.
        ledger.filter(pl.col("period_end") >= start)
        .group_by("payee", "bank_account")
        .agg(
            pl.col("person_id").first(),
            pl.max_horizontal(pl.col("period_index"), pl.lit(start, dtype=pl.Int32))
            .min()
            .alias("m"),
        )
        .select(
            "person_id",
            pl.col("bank_account").alias("receiver"),
            pl.lit("account").alias("kind"),
            "m",
        ),
    ]
    if has_collector:
        parts.append(
            snaps.select(
                "person_id",
                pl.col("collector_id").alias("receiver"),
                pl.lit("collector").alias("kind"),
                "m",
            )
        )
    return (
        pl.concat(parts)
        .filter(pl.col("receiver").is_not_null() & (pl.col("receiver").str.strip_chars() != ""))
        .group_by("person_id", "receiver", "kind")
        .agg(pl.col("m").min().alias("first_index"))
    )


def connected_components(edges: pl.LazyFrame) -> pl.LazyFrame:
    """Component label (smallest person_id reachable) of each person over person–receiver
    edges: ``person_id, component``.

    A receiver is a receiver *of a kind* (an account and a collector with the same text are
    different nodes). The components are scipy's, over the bipartite graph of persons and
    receivers, so a chain of any length is one component.
    """
    edge_frame = edges.select("person_id", "receiver", "kind").collect()
    persons = edge_frame.select("person_id").unique().sort("person_id").with_row_index("p")
    receivers = (
        edge_frame.select("receiver", "kind").unique().sort("receiver", "kind").with_row_index("r")
    )
    pairs = edge_frame.join(persons, on="person_id").join(receivers, on=["receiver", "kind"])
    n_persons = persons.height
    size = n_persons + receivers.height
    graph = coo_matrix(
        (
            np.ones(pairs.height, dtype=np.int8),
            (pairs["p"].to_numpy(), pairs["r"].to_numpy() + n_persons),
        ),
        shape=(size, size),
    )
    _, label = scipy_components(graph, directed=False)
    return (
        persons.with_columns(pl.Series("_c", label[:n_persons]))
        .with_columns(pl.col("person_id").min().over("_c").alias("component"))
        .select("person_id", "component")
        .lazy()
    )


def shared_account(
    runs: pl.LazyFrame,
    ledger: pl.LazyFrame,
    people: pl.LazyFrame,
    dead_probability: pl.LazyFrame,
    month: str,
    detection: DetectionConfig,
    *,
    certification_cycle_months: int,
    edges: pl.LazyFrame | None = None,
    evidence: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """Persons whose pension goes to a receiver shared with unrelated people.

    ``dead_probability`` (``person_id, p_dead``) gives each person's probability of being
    dead and still paid (paid after a linked death the centre has not acted on, or the
    suspected-death probability; :mod:`sentinel.detection.rules` builds it). Rows:

    * ``SA_SHARED_ACCOUNT`` / ``SA_SHARED_COLLECTOR``: the receiver serves this person and at
      least one unrelated person. Base probability ``shared_account_probability`` (or
      ``shared_collector_probability``: village agents legitimately collect for several
      elderly), raised to ``shared_account_joined_probability`` when the person moved onto
      an account already serving someone unrelated.
    * ``SA_RING_WITH_DEAD``: another member of the connected ring is dead and still paid,
      or probably dead (``dead_probability``); adds ``ring_with_dead_probability`` × that
      probability (noisy-or).

    The overpayment is what was paid to the person since joining the receiver and since
    the last in-person proof of life (within the lookback window): money the person may
    not have received. ``evidence`` (``strong_cert_index`` per person, from
    :func:`features.certification.survival_evidence`) lowers the base probability by
    ``detection.shared_alive_factor`` when the person passed an on-site or home-visit
    certification within the certification cycle (``SA_PROOF_OF_LIFE``): a village agent
    collecting for people the centre sees in person is the normal case. ``edges`` is
    :func:`receiver_edges` of the same inputs when the caller already has it (detection
    computes it once for the rule and the features).

    Probabilities and the window come from the ``detection`` section;
    ``certification_cycle_months`` is ``policy.certification_cycle_months``.
    """
    det = detection
    if edges is None:
        edges = receiver_edges(runs, ledger, month, lookback_months=det.lookback_months)
    # Collected once: the ring's components are found eagerly (scipy) and the persons'
    # receivers below read the members again.
    per_member = _unrelated_sharers(edges, people, det).collect().lazy()
    ring_dead = _dead_in_ring(per_member, dead_probability)
    per_person = _shared_receivers(per_member, ring_dead, people, dead_probability, evidence)
    now = month_number(month)
    seen_alive = (
        (pl.lit(now) - pl.col("strong_cert_index")) <= certification_cycle_months
    ).fill_null(False)
    paid = _paid_since_joining(ledger, per_person, now - det.lookback_months + 1)
    base = (
        pl.when(pl.col("joined_later"))
        .then(det.shared_account_joined_probability)
        .when(pl.col("via_account"))
        .then(det.shared_account_probability)
        .otherwise(det.shared_collector_probability)
    ) * pl.when(seen_alive).then(det.shared_alive_factor).otherwise(1.0)
    ring_term = det.ring_with_dead_probability * pl.col("ring_dead").fill_null(0.0)
    scored = per_person.join(paid, on="person_id", how="left").with_columns(
        (1.0 - (1.0 - base) * (1.0 - ring_term)).alias("probability"),
        pl.col("paid").fill_null(0.0).alias("est_overpayment"),
    )
    return _shared_account_reasons(scored, seen_alive)


def _unrelated_sharers(
    edges: pl.LazyFrame, people: pl.LazyFrame, det: DetectionConfig
) -> pl.LazyFrame:
    """Per person and receiver shared with at most ``max_group_size`` persons, the unrelated
    others on it: ``n_unrelated``, ``n_others``, ``first_index``, ``joined_later`` (after an
    unrelated person was already on it) and ``others`` (up to three names)."""
    sizes = edges.group_by("receiver", "kind").agg(pl.col("person_id").n_unique().alias("size"))
    shared = edges.join(
        sizes.filter((pl.col("size") >= 2) & (pl.col("size") <= det.max_group_size)),
        on=["receiver", "kind"],
    )
    info = people.select(
        "person_id",
        surname(pl.col("name")).alias("surname"),
        "sex",
        pl.col("birth_date").dt.year().alias("birth_year"),
        "village",
        "name",
    )
    members = shared.join(info, on="person_id", how="inner")
    pairs = members.join(members, on=["receiver", "kind"], suffix="_o").filter(
        pl.col("person_id") != pl.col("person_id_o")
    )
    spouse = (
        (pl.col("sex") != pl.col("sex_o"))
        & (pl.col("village") == pl.col("village_o")).fill_null(True)
        & ((pl.col("birth_year") - pl.col("birth_year_o")).abs() <= det.couple_max_age_gap)
    ).fill_null(False)
    family = (pl.col("surname") == pl.col("surname_o")).fill_null(False)
    pairs = pairs.with_columns((~(spouse | family)).alias("unrelated"))
    return (
        pairs.group_by("person_id", "receiver", "kind")
        .agg(
            pl.col("unrelated").sum().alias("n_unrelated"),
            pl.len().alias("n_others"),
            pl.col("first_index").first(),
            # Joined later than an unrelated person already on the receiver.
            (
                pl.col("first_index").first()
                > pl.col("first_index_o").filter(pl.col("unrelated")).min()
            )
            .fill_null(False)
            .alias("joined_later"),
            pl.col("name_o")
            .filter(pl.col("unrelated"))
            .sort()
            .head(3)
            .str.join("、")
            .alias("others"),
        )
        .filter(pl.col("n_unrelated") > 0)
    )


def _dead_in_ring(per_member: pl.LazyFrame, dead_probability: pl.LazyFrame) -> pl.LazyFrame:
    """Per person, the largest death probability among the *other* members of the ring
    (the connected component of unrelated sharers): ``ring_dead``, ``dead_member``,
    ``ring_others``."""
    components = connected_components(per_member.select("person_id", "receiver", "kind"))
    deadness = components.join(dead_probability, on="person_id", how="left").with_columns(
        pl.col("p_dead").fill_null(0.0)
    )
    return (
        deadness.join(deadness, on="component", suffix="_o")
        .filter(pl.col("person_id") != pl.col("person_id_o"))
        .sort(["p_dead_o", "person_id_o"], descending=[True, False])
        .group_by("person_id")
        .agg(
            pl.col("p_dead_o").first().alias("ring_dead"),
            pl.col("person_id_o").first().alias("dead_member"),
            pl.len().alias("ring_others"),
        )
    )


def _shared_receivers(
    per_member: pl.LazyFrame,
    ring_dead: pl.LazyFrame,
    people: pl.LazyFrame,
    dead_probability: pl.LazyFrame,
    evidence: pl.LazyFrame | None,
) -> pl.LazyFrame:
    """One row per person: the receiver shared with the most unrelated others, whether any
    was joined later or is an account, the ring's dead member (``dead_name``), the person's
    own ``p_dead`` and last in-person pass (``strong_cert_index``, null without
    ``evidence``)."""
    names = people.select(
        pl.col("person_id").alias("dead_member"), pl.col("name").alias("dead_name")
    )
    per_person = (
        per_member.sort(["n_unrelated", "kind", "receiver"], descending=[True, False, False])
        .group_by("person_id")
        .agg(
            pl.col("receiver").first(),
            pl.col("kind").first(),
            (pl.col("n_unrelated").first() + 1).alias("n_people"),
            pl.col("others").first(),
            pl.col("joined_later").any(),
            pl.col("first_index").min(),
            (pl.col("kind") == "account").any().alias("via_account"),
        )
        .join(ring_dead, on="person_id", how="left")
        .join(names, on="dead_member", how="left")
        .join(dead_probability, on="person_id", how="left")
    )
    if evidence is None:
        return per_person.with_columns(pl.lit(None, dtype=pl.Int64).alias("strong_cert_index"))
    return per_person.join(
        evidence.select("person_id", "strong_cert_index"), on="person_id", how="left"
    )


def _paid_since_joining(ledger: pl.LazyFrame, per_person: pl.LazyFrame, start: int) -> pl.LazyFrame:
    """What each person was paid since joining the receiver, since the last in-person
    proof of life and since month index ``start`` (the lookback window): ``paid``."""
    return (
        rows_of(ledger, per_person)
        .join(per_person.select("person_id", "first_index", "strong_cert_index"), on="person_id")
        .filter(
            pl.col("period_index")
            >= pl.max_horizontal(
                pl.col("first_index"), pl.lit(start), pl.col("strong_cert_index").fill_null(0) + 1
            )
        )
        .group_by("person_id")
        .agg(pl.col("amount").fill_null(0.0).sum().alias("paid"))
    )


def _shared_account_reasons(scored: pl.LazyFrame, seen_alive: pl.Expr) -> pl.LazyFrame:
    """The reason rows of the persons :func:`shared_account` scored: the shared receiver,
    an in-person proof of life (``seen_alive``), and a ring member who may be dead
    (``ring_dead`` of at least 0.3)."""
    p, paid = pl.col("probability"), pl.col("est_overpayment")
    account = pl.col("kind") == "account"
    receiver_rows = reason_rows(
        scored,
        choose_code(account, "SA_SHARED_ACCOUNT", "SA_SHARED_COLLECTOR"),
        p,
        paid,
        pl.when(account)
        .then(fmt_account(pl.col("receiver")))
        .otherwise(mask_id_expr(pl.col("receiver"))),
        pl.col("n_people"),
        pl.col("others"),
        fmt_yuan(paid),
    )
    alive_rows = reason_rows(
        scored.filter(seen_alive),
        "SA_PROOF_OF_LIFE",
        p,
        paid,
        period_of_index(pl.col("strong_cert_index")),
    )
    ring_rows = reason_rows(
        scored.filter(pl.col("ring_dead").fill_null(0.0) >= 0.3),
        "SA_RING_WITH_DEAD",
        p,
        paid,
        pl.col("dead_name"),
        pl.format("{}%", (pl.col("ring_dead") * 100).round(0).cast(pl.Int64)),
    )
    return pl.concat([receiver_rows, alive_rows, ring_rows])
