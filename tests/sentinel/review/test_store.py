"""The review store (users, sessions, failed logins, audit trail) and the queue's SQL, on
SQLite always and on PostgreSQL when SENTINEL_TEST_POSTGRES_URL is set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from sqlalchemy import create_engine, text

from sentinel.casestore import CaseStore
from sentinel.masking import mask_account, short_name
from sentinel.review import ReviewStore, hash_password
from sentinel.review.auth import Principal, check_password
from sentinel.review.case_listing import CaseListing, QueueFilter

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def case_list() -> pl.DataFrame:
    """Three generated cases in two townships."""
    return pl.DataFrame(
        {
            "case_id": ["SU-aaaaaaaaaaaa", "DR-bbbbbbbbbbbb", "AA-cccccccccccc"],
            "person_id": ["430101195001010012", "430101194505050021", "430102193803030048"],
            "township": ["城关镇", "城关镇", "梅城镇"],
            "typology": ["suspected_unreported_death", "duplicate_receipt", "amount_anomaly"],
            "priority_rank": [2, 1, 3],
            "risk_score": [0.9, 0.8, 0.7],
            "est_overpayment": [1500.0, 800.0, 300.0],
            "reasons": ["SU_NO_CERT", "DR_TWO_SCHEMES", "AA_ABOVE_STANDARD"],
        }
    )


def test_users_are_kept_with_an_argon2_hash_only(case_store: CaseStore) -> None:
    store = ReviewStore(case_store.engine)
    store.add_user(
        "wang", "auditor", hash_password("a long password"), ("城关镇", "城关镇", " "), now=NOW
    )
    user = store.user("wang")
    assert user is not None and user.townships == ("城关镇",)
    assert (
        user.password_hash.startswith("$argon2id$") and "a long password" not in user.password_hash
    )
    assert check_password(user, "a long password") and not check_password(user, "a long passwore")
    assert not check_password(None, "a long password")


@pytest.mark.parametrize(
    "name, role, townships, problem",
    [
        ("wang", "auditor", (), "needs at least one"),
        ("wang li", "auditor", ("城关镇",), "without spaces"),
        ("", "supervisor", (), "without spaces"),
        ("zhao", "boss", (), "role must be one of"),
    ],
)
def test_bad_users_are_refused(
    case_store: CaseStore, name: str, role: str, townships: tuple[str, ...], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        ReviewStore(case_store.engine).add_user(
            name, role, hash_password("a long password"), townships
        )  # type: ignore[arg-type]


@pytest.mark.parametrize("typo", ["43010219500101001", "4301011950010100121", "43010119500101001Y"])
def test_a_relative_who_is_no_resident_id_is_refused_masked(
    case_store: CaseStore, typo: str
) -> None:
    """A mistyped relative would leave the recusal without effect, and nobody would know."""
    store = ReviewStore(case_store.engine)
    store.add_user("wang", "auditor", hash_password("a long password"), ("城关镇",))
    with pytest.raises(ValueError, match="not a resident identity number") as refused:
        store.set_recusal("wang", village=None, relatives=("430101195001010012", typo))
    assert typo not in str(refused.value)
    assert store.set_recusal("wang", village=None, relatives=(" 430101195001010012 ",))
    user = store.user("wang")
    assert user is not None and user.relatives == ("430101195001010012",)


def test_a_user_name_is_taken_once(case_store: CaseStore) -> None:
    store = ReviewStore(case_store.engine)
    store.add_user("zhao", "supervisor", hash_password("a long password"))
    with pytest.raises(ValueError, match="exists already"):
        store.add_user("zhao", "admin", hash_password("a long password"))


def test_short_passwords_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 10"):
        hash_password("short")


def test_sessions_expire_end_on_logout_and_when_the_user_is_disabled(case_store: CaseStore) -> None:
    store = ReviewStore(case_store.engine)
    store.add_user("zhao", "supervisor", hash_password("a long password"))
    token = store.open_session("zhao", timedelta(hours=8), now=NOW)
    session = store.session(token, now=NOW + timedelta(hours=1))
    assert session is not None and session.username == "zhao" and len(session.csrf_token) >= 32
    assert store.session(token, now=NOW + timedelta(hours=9)) is None
    assert store.session("not-a-token", now=NOW) is None
    other = store.open_session("zhao", timedelta(hours=8), now=NOW)
    assert store.session(other, now=NOW).csrf_token != session.csrf_token  # type: ignore[union-attr]
    store.close_session(token)
    assert store.session(token, now=NOW) is None
    store.set_active("zhao", False)
    assert store.session(other, now=NOW) is None


def test_login_reservations_count_per_user_and_address_in_the_window(case_store: CaseStore) -> None:
    store = ReviewStore(case_store.engine)
    window = timedelta(seconds=60)

    def reserve(name: str, client: str, seconds: int, limit: int = 3) -> int | None:
        return store.reserve_login(
            name, client, max_failures=limit, window=window, now=NOW + timedelta(seconds=seconds)
        )

    assert all(reserve("wang", "10.0.0.1", i) is not None for i in range(3))
    assert reserve("wang", "10.0.0.2", 10) is None  # the user's fourth try
    assert reserve("li", "10.0.0.1", 10) is None  # the address's fourth try
    assert reserve("li", "10.0.0.1", 10, limit=4) is not None
    assert reserve("wang", "10.0.0.1", 90) is not None  # the window has passed


def test_failed_logins_are_counted_one_audit_row_per_user_and_minute(case_store: CaseStore) -> None:
    store = ReviewStore(case_store.engine)
    for seconds in (0, 20, 59, 61):
        store.count_event(
            "wang", "login_failed", {"client": "10.0.0.1"}, now=NOW + timedelta(seconds=seconds)
        )
    store.count_event("li", "login_failed", None, now=NOW)
    rows = [(e.username, e.count, e.at) for e in store.audit_log(action="login_failed")]
    assert rows == [
        ("wang", 1, NOW + timedelta(minutes=1)),
        ("li", 1, NOW),
        ("wang", 3, NOW),
    ]


def test_audit_trail_newest_first_by_user_and_case(case_store: CaseStore) -> None:
    store = ReviewStore(case_store.engine)
    store.log("wang", "view_case", "SU-aaaaaaaaaaaa", {"month": "2020-02"}, now=NOW)
    store.log(
        "zhao",
        "assign_case",
        "SU-aaaaaaaaaaaa",
        {"assignee": "wang"},
        now=NOW + timedelta(minutes=1),
    )
    store.log("wang", "view_case", "DR-bbbbbbbbbbbb", None, now=NOW + timedelta(minutes=2))
    assert [e.action for e in store.audit_log(case_id="SU-aaaaaaaaaaaa")] == [
        "assign_case",
        "view_case",
    ]
    assert [e.case_id for e in store.audit_log(username="wang")] == [
        "DR-bbbbbbbbbbbb",
        "SU-aaaaaaaaaaaa",
    ]
    assert store.audit_log(username="zhao")[0].detail == {"assignee": "wang"}
    assert store.audit_frame().height == 3


def test_queue_is_filtered_by_bound_parameters_and_sorted_by_priority(
    case_store: CaseStore,
) -> None:
    case_store.record_month("2020-02", case_list(), clear_months=6)
    listing = CaseListing(case_store.engine)
    assert listing.months() == ["2020-02"]
    rows, total = listing.queue(QueueFilter(month="2020-02"), limit=10)
    assert [r["case_id"] for r in rows] == [
        "DR-bbbbbbbbbbbb",
        "SU-aaaaaaaaaaaa",
        "AA-cccccccccccc",
    ] and total == 3
    mine, _ = listing.queue(QueueFilter(month="2020-02", townships=frozenset({"梅城镇"})), limit=10)
    assert [r["case_id"] for r in mine] == ["AA-cccccccccccc"]
    page, total = listing.queue(QueueFilter(month="2020-02"), limit=1, offset=1)
    assert [r["case_id"] for r in page] == ["SU-aaaaaaaaaaaa"] and total == 3
    for hostile in ("' OR '1'='1", "城关镇'; DROP TABLE cases; --"):
        assert listing.queue(QueueFilter(month="2020-02", township=hostile), limit=10) == ([], 0)
    assert case_store.cases().height == 3
    assert listing.townships(frozenset({"梅城镇", "nowhere"})) == ["梅城镇"]
    assert listing.month_frame("2020-02", None).height == 3


def test_principal_reach() -> None:
    auditor = Principal("wang", "auditor", frozenset({"城关镇"}), "t")
    supervisor = Principal("zhao", "supervisor", frozenset(), "t")
    admin = Principal("root", "admin", frozenset({"城关镇"}), "t")
    assert (
        auditor.may_work("城关镇") and not auditor.may_work("梅城镇") and not auditor.may_work(None)
    )
    assert supervisor.may_work("梅城镇") and supervisor.may_work(None)
    assert not admin.may_work("城关镇") and not admin.sees_full_ids
    assert auditor.township_scope() == frozenset({"城关镇"}) and supervisor.township_scope() is None


@pytest.mark.parametrize(
    "account, shown", [("6217997089778283137", "*3137"), ("1234", "****"), (None, None)]
)
def test_mask_account(account: str | None, shown: str | None) -> None:
    assert mask_account(account) == shown


def test_short_name() -> None:
    assert short_name("王丽华") == "王**" and short_name(None) is None


def test_an_audit_table_of_an_earlier_version_gets_the_counting_columns(tmp_path) -> None:  # type: ignore[no-untyped-def]

    engine = create_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    with engine.begin() as conn:
        conn.execute(text(
            "CREATE TABLE review_audit (id INTEGER PRIMARY KEY, at DATETIME NOT NULL, "
            "username VARCHAR(64) NOT NULL, action VARCHAR(24) NOT NULL, case_id VARCHAR(40), "
            "detail JSON)"
        ))  # fmt: skip
        conn.execute(text(
            "INSERT INTO review_audit (at, username, action) VALUES ('2026-01-05 08:00:00', 'wang', 'login_ok')"
        ))  # fmt: skip
    store = ReviewStore(engine)
    store.count_event("wang", "login_failed", None, now=NOW)
    store.count_event("wang", "login_failed", None, now=NOW)
    assert [(e.action, e.count) for e in store.audit_log()] == [
        ("login_failed", 2),
        ("login_ok", 1),
    ]
    engine.dispose()


def test_relatives_failing_check_names_those_whose_check_character_is_wrong() -> None:
    """Generated numbers: ...0011 carries the GB 11643 check character, ...0012 does not."""
    from sentinel.review.store import relatives_failing_check

    ids = ["430101195001010011", " 430101195001010012 ", "430101195001010012", "4301"]
    assert relatives_failing_check(ids) == ["430101195001010012"]
    assert relatives_failing_check(["430102193803030046"]) == []
