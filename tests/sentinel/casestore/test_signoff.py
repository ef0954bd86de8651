"""Sign-off (经办 / 复核): a result that confirms an overpayment above the threshold, or
clears a case with proof, waits for a second user; nobody approves their own result."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import polars as pl
import pytest

from sentinel.audit_result import OutcomeLimits, SignOff
from sentinel.casestore import AuditOutcome, CaseStore, CaseValidationError
from sentinel.config import load_config
from sentinel.reasons import PROOF_CODES
from tests.sentinel.test_casestore import ALICE, BOB, case_list

NOW = datetime(2020, 12, 20, 9, 0, tzinfo=UTC)
SOFT = ("SU-aaaaaaaaaaaa", ALICE, "suspected_unreported_death", 1500.0, "SU_NO_CERT")
PROOF = ("DP-bbbbbbbbbbbb", BOB, "deceased_paid", 2400.0, "DP_PAID_AFTER_DEATH")


def open_store(url: str, above: float = 0.0) -> CaseStore:
    config = load_config()
    return CaseStore(
        url,
        limits=OutcomeLimits.from_config(config),
        signoff=SignOff(above, True, PROOF_CODES),
    )


@pytest.fixture
def store(store_url: str) -> Iterator[CaseStore]:
    with open_store(store_url) as opened:
        opened.record_month("2020-01", case_list(SOFT, PROOF), clear_months=6, now=NOW)
        yield opened


def confirm(store: CaseStore, case_id: str, actor: str, **more: object) -> bool:
    return store.close(
        case_id,
        AuditOutcome(
            "confirmed_improper", date(2020, 2, 10), overpaid_amount=1200.0, recovered_amount=0.0
        ),
        actor=actor,
        now=NOW,
        **more,  # type: ignore[arg-type]
    )


def test_a_confirmed_overpayment_above_the_threshold_cannot_be_closed_by_one_user(
    store: CaseStore,
) -> None:
    assert confirm(store, SOFT[0], "auditor-li")
    case = store.case(SOFT[0])
    assert case["state"] == "pending" and case["outcome"] is None  # type: ignore[index]
    waiting = store.pending_signoffs()
    assert waiting.select("case_id", "proposed_by", "outcome").rows() == [
        (SOFT[0], "auditor-li", "confirmed_improper")
    ]
    assert "1,200" not in waiting["signoff"][0] and "more than 0.00 yuan" in waiting["signoff"][0]
    # Recording the same proposal again adds nothing.
    assert not confirm(store, SOFT[0], "auditor-li")
    assert store.events(SOFT[0]).filter(pl.col("kind") == "proposed").height == 1


def test_self_approval_is_refused_and_another_user_closes_the_case(store: CaseStore) -> None:
    confirm(store, SOFT[0], "auditor-li")
    with pytest.raises(CaseValidationError, match="approved_by: proposed this result"):
        store.approve(SOFT[0], actor="auditor-li", now=NOW)
    assert store.case(SOFT[0])["state"] == "pending"  # type: ignore[index]
    result = store.approve(SOFT[0], actor="reviewer-zhou", now=NOW)
    assert result["outcome"] == "confirmed_improper"
    case = store.case(SOFT[0])
    assert (case["state"], case["outcome"], case["overpaid_amount"]) == (  # type: ignore[index]
        "closed",
        "confirmed_improper",
        1200.0,
    )
    closed = store.events(SOFT[0]).filter(pl.col("kind") == "closed")
    assert closed["actor"].to_list() == ["reviewer-zhou"]
    assert '"proposed_by": "auditor-li"' in closed["detail"][0]
    assert store.pending_signoffs().height == 0
    with pytest.raises(CaseValidationError, match="nothing|no result waiting"):
        store.approve(SOFT[0], actor="reviewer-qian", now=NOW)


def test_a_second_name_on_the_form_signs_it_off_but_not_the_recorders_own(
    store: CaseStore,
) -> None:
    with pytest.raises(CaseValidationError, match="reviewed_by: is the person who recorded"):
        confirm(store, SOFT[0], "auditor-li", reviewed_by="auditor-li")
    assert store.case(SOFT[0])["state"] == "new"  # type: ignore[index]
    assert confirm(store, SOFT[0], "auditor-li", reviewed_by="reviewer-zhou")
    assert store.case(SOFT[0])["state"] == "closed"  # type: ignore[index]


def test_sending_back_reopens_the_case_with_the_reason(store: CaseStore) -> None:
    store.assign(SOFT[0], "auditor-li", actor="supervisor-wang", now=NOW)
    confirm(store, SOFT[0], "auditor-li")
    with pytest.raises(CaseValidationError, match="note: is empty"):
        store.reject(SOFT[0], actor="reviewer-zhou", note=" ")
    store.reject(SOFT[0], actor="reviewer-zhou", note="no repayment record attached", now=NOW)
    case = store.case(SOFT[0])
    assert (case["state"], case["assignee"], case["outcome"]) == ("assigned", "auditor-li", None)  # type: ignore[index]
    assert store.proposal(SOFT[0]) is None
    with pytest.raises(CaseValidationError, match="no result waiting"):
        store.approve(SOFT[0], actor="reviewer-zhou", now=NOW)


def test_clearing_a_case_with_proof_needs_sign_off_and_a_soft_one_does_not(
    store: CaseStore,
) -> None:
    assert store.signoff_needed(PROOF[0], "cleared", None) == (
        "clears a case with proof (DP_PAID_AFTER_DEATH)"
    )
    store.close(PROOF[0], AuditOutcome("cleared", date(2020, 2, 10)), actor="auditor-li", now=NOW)
    assert store.case(PROOF[0])["state"] == "pending"  # type: ignore[index]
    store.close(SOFT[0], AuditOutcome("cleared", date(2020, 2, 10)), actor="auditor-li", now=NOW)
    assert store.case(SOFT[0])["state"] == "closed"  # type: ignore[index]


def test_below_the_configured_amount_one_user_closes(store_url: str) -> None:
    with open_store(store_url, above=5000.0) as store:
        store.record_month("2020-01", case_list(SOFT), clear_months=6, now=NOW)
        assert store.signoff_needed(SOFT[0], "confirmed_improper", 1200.0) is None
        confirm(store, SOFT[0], "auditor-li")
        assert store.case(SOFT[0])["state"] == "closed"  # type: ignore[index]


def test_a_pending_case_stays_on_the_list(store: CaseStore) -> None:
    confirm(store, SOFT[0], "auditor-li")
    carried = store.open_cases("2020-02", listed=[])
    assert SOFT[0] in carried["case_id"].to_list()


def test_the_default_configuration_signs_off_every_confirmed_overpayment() -> None:
    rule = SignOff.from_config(load_config())
    assert rule.reason("confirmed_deceased", 0.01, set()) is not None
    assert rule.reason("confirmed_deceased", 0.0, set()) is None
    assert rule.reason("unreachable", None, set(PROOF_CODES)) is None
