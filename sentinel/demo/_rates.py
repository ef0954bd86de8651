"""How often each improper typology and each confounder occurs in a demo county."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class TypologyRates:
    """Injection rates of the improper typologies, **per 100,000 pensioners**.

    A county of ``n`` pensioners gets ``max(minimum, round(rate * n / 100_000))`` cases of
    each typology, so even a tiny test county (``scale=0.01``) holds every typology and
    every variant of it (the minimum is the number of variants).

    Attributes
    ----------
    deceased_paid
        Deaths whose record arrived (mistyped, missing or correct ID) but payouts went on.
    suspected_unreported_death
        Deaths never reported; relatives keep collecting.
    duplicate_receipt
        Persons paid twice for a period (two schemes, or a second regular row).
    shared_account_rings
        Improper collection rings (3-6 unrelated people, one account or collector, at least
        one member dead). Counted in rings, not people.
    amount_anomaly
        Amounts far off the standard, jumps, repeated arrears, paid while suspended/terminated.
    identity_anomaly
        Ghost identities (bad checksum, birth date not matching the ID, impossible age).
    legit_agent_rings
        Confounder: village agents collecting for living people (not improper), in rings.
    couple_share
        Confounder: share of resident pensioners in a married couple sharing one account.
    collector_share_85plus
        Confounder: share of pensioners aged 85+ with a family collector.
    certification_lapse_share
        Confounder: share of living pensioners whose certification lapses (alive, suspended).
    fraud_pass_share
        Share of unreported deaths for which a face_app "pass" keeps coming (photo fraud).
    death_id_errors
        Mix of the deceased_paid death-record ID: (none, digit, swap, missing), sums to 1.
    non_pensioner_deaths_per_1000
        Death records of people not in the register, per 1,000 pensioners per year.
    custody_paid
        Pensioners imprisoned or detained while the centre keeps paying (De'an, Jiangxi:
        1,300 prison records gave 11 improper payments, about 6 per 100,000 of a county
        this size). As many again are on probation, parole or supervised release (paid,
        without the year's increase), and a third as many detained and acquitted.
    non_pensioner_custody_per_1000
        Custody records of people not in the register, per 1,000 pensioners per year (De'an:
        1,300 records for a county of about 190,000 pensioners).
    suspects_per_1000, suspect_true_share, suspect_batch_every
        Upstream suspect batches (:mod:`sentinel.demo._suspects`): suspects per 1,000
        pensioners in a batch, the share of them that are true, a batch every so many
        months. Published lists are far poorer (Yichang: 85 problems in 13,900 suspects,
        0.6%); a richer share keeps enough true suspects in one county to measure how the
        product ranks them, and the product's prior stays the published one.
    """

    deceased_paid: float = 60.0
    suspected_unreported_death: float = 90.0
    duplicate_receipt: float = 40.0
    shared_account_rings: float = 6.0
    amount_anomaly: float = 40.0
    identity_anomaly: float = 15.0
    legit_agent_rings: float = 10.0
    couple_share: float = 0.03
    collector_share_85plus: float = 0.10
    certification_lapse_share: float = 0.12
    fraud_pass_share: float = 0.30
    death_id_errors: tuple[float, float, float, float] = (0.20, 0.35, 0.25, 0.20)
    non_pensioner_deaths_per_1000: float = 9.0
    custody_paid: float = 6.0
    non_pensioner_custody_per_1000: float = 7.0
    suspects_per_1000: float = 2.5
    suspect_true_share: float = 0.2
    suspect_batch_every: int = 3

    @classmethod
    def alternative(cls) -> TypologyRates:
        """A second county with a clearly different mix, to check that models transfer.

        More unreported deaths and rings, fewer mistyped death records, more lapses.
        """
        return cls(
            deceased_paid=25.0,
            suspected_unreported_death=160.0,
            duplicate_receipt=80.0,
            shared_account_rings=15.0,
            amount_anomaly=20.0,
            identity_anomaly=35.0,
            legit_agent_rings=25.0,
            couple_share=0.06,
            collector_share_85plus=0.20,
            certification_lapse_share=0.18,
            fraud_pass_share=0.50,
            death_id_errors=(0.40, 0.20, 0.10, 0.30),
            non_pensioner_deaths_per_1000=14.0,
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (for ``truth.json``)."""
        d = asdict(self)
        d["death_id_errors"] = dict(zip(("none", "digit", "swap", "missing"), self.death_id_errors, strict=True))
        return d


@dataclass(frozen=True)
class BackPay:
    """A pension adjustment decided after it took effect and paid back in one drop.

    Every recipient of ``scheme`` paid a regular pension for a period from
    ``effective_from`` up to the drop before ``paid_in`` receives, in drop ``paid_in``, one
    ``arrears`` row per such period worth their increment; regular amounts include the
    increment from ``paid_in`` on. Month offsets count from the first drop (0).

    ``lagging_standard``: the increment is a standard the configuration already holds
    from ``effective_from`` (e.g. the resident basic pension 103 -> 113 from 2020-07), but
    the payroll only applies it from ``paid_in`` and pays the difference back then.
    """

    scheme: str
    effective_from: int
    paid_in: int
    increment: float
    lagging_standard: bool = False


@dataclass(frozen=True)
class Phenomena:
    """County phenomena beyond the typology rates: policy events and data habits.

    Attributes
    ----------
    backpay
        Adjustments paid back in one drop (:class:`BackPay`).
    migrant_share
        Share of pensioners whose ID was issued in another region (moved in).
    migrant_other_province
        Of those, the share from other provinces (IDs not starting with 43).
    death_record_delay_months
        Death records arrive up to this many months late on top of the routine lag,
        by source: ministry cross-checks the latest, police the soonest.
    agents_certify_on_site
        Village agents bring the people they collect for to on-site certification;
        False: those people certify like everyone else (mostly by face app).
    register_cert_dates
        The register carries each pensioner's last certification date (``last_cert_date``).
    unit_payment_move
        Institution retirees are paid through their employer unit's account (one account
        for all of a unit's retirees) until the centre pays each one directly, unit by
        unit, in drops ``first`` to ``last`` (offsets from the first drop); None: paid
        directly throughout.
    agent_clients_die
        The elderly a village agent collects for die during the year at the county's rate,
        their deaths recorded and their pensions stopped like anyone's; False: all of them
        live through the year.
    """

    backpay: tuple[BackPay, ...] = ()
    migrant_share: float = 0.035
    migrant_other_province: float = 0.0
    death_record_delay_months: int = 0
    agents_certify_on_site: bool = True
    register_cert_dates: bool = False
    unit_payment_move: tuple[int, int] | None = None
    agent_clients_die: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (for ``truth.json``)."""
        return asdict(self)
