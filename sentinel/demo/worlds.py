"""Named demo worlds: the reference county under one real phenomenon each, and all at once.

Detection is judged on counties it has never seen, so it is evaluated over many worlds,
never on one. Each world below is the reference county (``docs/domain.md``: Anhua
county, 2020) with one phenomenon a real centre meets, pushed to the end of its plausible
range, and the source or reasoning for it; the last two hold all of them at once. Every
world pays the 2020 annual adjustments back as arrears, because every real year has such
batches.

``sentinel demo --world NAME`` writes one; ``sentinel evaluate --grid`` runs the monthly
job on each world and seed and tabulates the results (``docs/evaluation.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sentinel.demo._rates import BackPay, Phenomena, TypologyRates

__all__ = ["REFERENCE_BACKPAY", "WORLDS", "World", "world"]

#: The reference county's 2020 adjustments (docs/domain.md): enterprise retirees +124 yuan a
#: month and institution retirees +173, both effective 2020-01 and paid back once approved,
#: in mid-year batches: enterprise in the July drop (six arrears rows each, January to
#: June), institution in the September drop (eight rows each).
REFERENCE_BACKPAY: tuple[BackPay, ...] = (
    BackPay(scheme="enterprise", effective_from=0, paid_in=6, increment=124.0),
    BackPay(scheme="institution", effective_from=0, paid_in=8, increment=173.0),
)

_IMPROPER_FIELDS = (
    "deceased_paid",
    "suspected_unreported_death",
    "duplicate_receipt",
    "shared_account_rings",
    "amount_anomaly",
    "identity_anomaly",
)


def _improper_times(factor: float) -> TypologyRates:
    """The default rates with every improper typology multiplied by ``factor``."""
    base = TypologyRates()
    return replace(base, **{f: getattr(base, f) * factor for f in _IMPROPER_FIELDS})


@dataclass(frozen=True)
class World:
    """A named demo county: typology rates, phenomena, and why the world exists."""

    name: str
    summary: str
    source: str
    rates: TypologyRates = field(default_factory=TypologyRates)
    phenomena: Phenomena = field(default_factory=lambda: Phenomena(backpay=REFERENCE_BACKPAY))


WORLDS: dict[str, World] = {
    w.name: w
    for w in (
        World(
            "reference",
            "The reference county as its 2020 report describes it, annual adjustments paid back.",
            "docs/domain.md: pensioners per scheme, resident standard 103 -> 113 from 2020-07, "
            "enterprise +124 and institution +173 yuan effective 2020-01 paid as arrears.",
        ),
        World(
            "lagging_standard",
            "The resident standard rises in July but the payroll applies it from September and "
            "pays July and August back: two months of every resident paid below the standard.",
            "Provincial approvals often reach the county payroll after the effective date; "
            "the difference is then paid as arrears (docs/domain.md: standards effective before "
            "they are paid).",
            phenomena=Phenomena(
                backpay=(
                    *REFERENCE_BACKPAY,
                    BackPay(
                        scheme="resident",
                        effective_from=6,
                        paid_in=8,
                        increment=10.0,
                        lagging_standard=True,
                    ),
                )
            ),
        ),
        World(
            "late_certifiers",
            "One living pensioner in five lets the certification cycle lapse (elderly living "
            "with children elsewhere who certify late, then are suspended and paid back).",
            "docs/domain.md: 88% of those due certified in the reference year; the upper end of "
            "the benign-lapse range named in issue 17 (5% to 20%).",
            rates=replace(TypologyRates(), certification_lapse_share=0.20),
        ),
        World(
            "prompt_certifiers",
            "Only one living pensioner in twenty lapses: a lapse says more here.",
            "Lower end of the benign-lapse range (issue 17: 5% to 20%).",
            rates=replace(TypologyRates(), certification_lapse_share=0.05),
        ),
        World(
            "slow_death_feeds",
            "Death records arrive up to six months late on top of the routine lag, the "
            "ministry cross-check latest and the police soonest.",
            "Monthly matching against police, civil affairs, health and the ministry "
            "(docs/domain.md, 人社厅发〔2018〕107号): the cross-checks run on their own calendars.",
            phenomena=Phenomena(backpay=REFERENCE_BACKPAY, death_record_delay_months=6),
        ),
        World(
            "dirty_death_ids",
            "Most death records of unnoticed deaths carry a mistyped or missing ID, and twice "
            "as many such deaths.",
            "The brief: the death was recorded but the ID in that record was mistyped, so "
            "nobody matched it; SSA: death reports are strong, not infallible evidence.",
            rates=replace(
                TypologyRates(),
                deceased_paid=120.0,
                death_id_errors=(0.05, 0.45, 0.25, 0.25),
            ),
        ),
        World(
            "village_agents",
            "Legitimate proxy collectors are common: village agents collect for many living "
            "elderly in remote villages; those people certify by face app and die like "
            "everyone, their deaths recorded and their pensions stopped.",
            "docs/domain.md: 1,966 authorised township/village staff certify at home or by app; "
            "agents help the very old, so a shared collector alone is no evidence.",
            rates=replace(TypologyRates(), legit_agent_rings=120.0, collector_share_85plus=0.3),
            phenomena=Phenomena(
                backpay=REFERENCE_BACKPAY, agents_certify_on_site=False, agent_clients_die=True
            ),
        ),
        World(
            "rare_fraud",
            "Improper payments are rare: about 0.1% of recipients.",
            "Lower end of the range in issue 17; Yichang 2023 confirmed 85 problems among "
            "13,900 suspects (docs/domain.md).",
            rates=_improper_times(0.37),
        ),
        World(
            "common_fraud",
            "Improper payments are common: about 2% of recipients.",
            "Upper end of the range in issue 17 (Shantou Chaonan's first matching run found "
            "286 dead residents still paid, docs/domain.md).",
            rates=_improper_times(7.4),
        ),
        World(
            "certification_dates",
            "The source system exports each pensioner's last certification date with the "
            "register, so lapses before the history began are known, not bounded.",
            "Issue 23: where the system has it, the register carries the last certification "
            "or the cycle's due date (认证到期日); the lapse then counts from it.",
            phenomena=Phenomena(backpay=REFERENCE_BACKPAY, register_cert_dates=True),
        ),
        World(
            "pay_units",
            "Institution retirees are paid through their employer unit's account, one account "
            "for every retiree of a unit, until the centre pays each person directly: unit by "
            "unit, from March to June, each retiree then paid into an account of their own.",
            "The reference county's report (docs/domain.md): institution pensions moved to direct "
            "bank payment (社会化发放) from 2020-03 in 206 units with 10,576 retirees; manual "
            "payment ended in June. A wave of new accounts that is administrative.",
            phenomena=Phenomena(backpay=REFERENCE_BACKPAY, unit_payment_move=(2, 5)),
        ),
        World(
            "in_migrants",
            "One pensioner in seven holds an ID issued in another region, most of them in "
            "another province (people who worked elsewhere and retired home).",
            "Hunan is a province of out-migration; returning retirees keep the IDs issued "
            "where they worked.",
            phenomena=Phenomena(
                backpay=REFERENCE_BACKPAY, migrant_share=0.15, migrant_other_province=0.6
            ),
        ),
    )
}


def _every_confounder(name: str, summary: str, rates: TypologyRates) -> World:
    """A world holding every benign phenomenon of the single-phenomenon worlds at once, each
    at the value its own world gives it, and ``rates``' improper payments."""
    w = WORLDS
    agents, dirty, late = w["village_agents"], w["dirty_death_ids"], w["late_certifiers"]
    return World(
        name,
        summary,
        "An independent county need not hold one phenomenon at a time: late certifiers, "
        "village agents, slow death feeds with mistyped IDs, a lagging standard, unit "
        "accounts, in-migrants and exported certification dates, as in the worlds named "
        "after each (their sources). No county is likely to be this hard.",
        rates=replace(
            rates,
            certification_lapse_share=late.rates.certification_lapse_share,
            legit_agent_rings=agents.rates.legit_agent_rings,
            collector_share_85plus=agents.rates.collector_share_85plus,
            death_id_errors=dirty.rates.death_id_errors,
        ),
        phenomena=replace(
            agents.phenomena,
            backpay=w["lagging_standard"].phenomena.backpay,
            death_record_delay_months=w["slow_death_feeds"].phenomena.death_record_delay_months,
            register_cert_dates=w["certification_dates"].phenomena.register_cert_dates,
            unit_payment_move=w["pay_units"].phenomena.unit_payment_move,
            migrant_share=w["in_migrants"].phenomena.migrant_share,
            migrant_other_province=w["in_migrants"].phenomena.migrant_other_province,
        ),
    )


WORLDS.update(
    (w.name, w)
    for w in (
        _every_confounder(
            "every_confounder",
            "Every benign phenomenon of the worlds above at once, improper payments as in the "
            "reference county.",
            TypologyRates(),
        ),
        _every_confounder(
            "rare_fraud_every_confounder",
            "Every benign phenomenon at once, improper payments rare (about 0.1%): the fewest "
            "true findings among the most look-alikes.",
            WORLDS["rare_fraud"].rates,
        ),
    )
)


def world(name: str) -> World:
    """The world called ``name``; a ``ValueError`` lists the known names otherwise."""
    try:
        return WORLDS[name]
    except KeyError:
        raise ValueError(f"unknown world {name!r}; known: {', '.join(WORLDS)}") from None
