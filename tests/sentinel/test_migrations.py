"""Schema migrations: an empty database gets the whole schema; one an earlier release made
gets what it lacks, with its cases intact (SQLite always, PostgreSQL when the test server
is set: the ``store_url`` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, inspect, text

from sentinel.casestore import CaseStore
from sentinel.casestore import schema as casestore_schema
from sentinel.casestore.chain import check_history
from sentinel.migrations import _config, current_revision, head_revision
from sentinel.review import ReviewStore
from sentinel.review import tables as review_tables

NOW = datetime(2020, 12, 20, 9, 0, tzinfo=UTC)
# A generated person (valid-looking shape, not a real one).
PERSON = "430101195001010012"


def product_metadata() -> MetaData:
    """Every table the product reads and writes, as its code declares them."""
    combined = MetaData()
    for metadata in (casestore_schema._metadata, review_tables._metadata):
        for table in metadata.tables.values():
            table.to_metadata(combined)
    return combined


def schema_differences(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            return [
                d
                for d in compare_metadata(context, product_metadata())
                if not (
                    isinstance(d, tuple)
                    and d[0] == "remove_table"
                    and d[1].name == "alembic_version"
                )
            ]
    finally:
        engine.dispose()


def month_list() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "case_id": ["SU-111111111111"],
            "person_id": [PERSON],
            "typology": ["suspected_unreported_death"],
            "township": ["城关镇"],
            "priority_rank": [1],
            "risk_score": [0.8],
            "est_overpayment": [1200.0],
            "reasons": ["SD_CERT_LAPSED,SD_MORTALITY"],
        }
    )


def test_an_empty_database_gets_the_schema_the_code_declares(store_url: str) -> None:
    with CaseStore(store_url) as store:
        ReviewStore(store.engine)
        assert current_revision(store.engine) == head_revision()
    assert schema_differences(store_url) == []


def first_release(url: str) -> None:
    """The database as the first release left it: the first revision's tables, unversioned
    (that release created them directly), with a case listed and an audit entry."""
    engine = create_engine(url)
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(
            text(
                "INSERT INTO cases (case_id, person_id, typology, township, first_flagged, state, "
                "opened_at, est_overpayment, reasons, last_listed) VALUES ('SU-111111111111', "
                f"'{PERSON}', 'suspected_unreported_death', '城关镇', '2020-11', 'new', "
                "'2020-11-20 09:00:00', 900.0, 'SD_CERT_LAPSED', '2020-11')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO case_months (case_id, month, priority_rank, risk_score, "
                "est_overpayment, reasons) VALUES ('SU-111111111111', '2020-11', 1, 0.7, 900.0, "
                "'SD_CERT_LAPSED')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO review_audit (at, username, action) "
                "VALUES ('2020-11-21 08:00:00', 'wang', 'login_ok')"
            )
        )
    engine.dispose()


def test_a_database_of_the_first_release_is_upgraded_with_its_cases_intact(store_url: str) -> None:
    first_release(store_url)
    with CaseStore(store_url) as store:
        assert current_revision(store.engine) == head_revision()
        columns = {c["name"] for c in inspect(store.engine).get_columns("case_months")}
        assert {"status", "selection", "selection_probability"} <= columns
        # The case of the first release is still there, still open, and carried on.
        open_cases = store.open_cases("2020-12", [])
        assert open_cases.select("case_id", "person_id", "first_flagged", "last_listed").rows() == [
            ("SU-111111111111", PERSON, "2020-11", "2020-11")
        ]
        store.record_month("2020-12", month_list(), clear_months=12, now=NOW)
        assert store.case("SU-111111111111")["last_listed"] == "2020-12"
        # The audit table gained its counting columns; the earlier entry is kept.
        reviews = ReviewStore(store.engine)
        reviews.count_event("wang", "login_failed", None, now=NOW)
        reviews.count_event("wang", "login_failed", None, now=NOW)
        assert [(e.action, e.count) for e in reviews.audit_log()] == [
            ("login_failed", 2),
            ("login_ok", 1),
        ]
        # The earlier audit entry was sealed into the history chain by the upgrade.
        history = check_history(store.engine)
        assert history.holds, history.broken
        assert history.heads["review_audit"]["position"] == 1
    assert schema_differences(store_url) == []


def test_a_database_made_before_versioning_with_every_column_is_taken_as_it_is(
    store_url: str,
) -> None:
    """The release before the migrations created the newest tables directly: opening it
    adds nothing twice and keeps its rows."""
    engine = create_engine(store_url)
    product_metadata().create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO case_months (case_id, month, priority_rank, status, selection, "
                "selection_probability) VALUES ('SU-1', '2020-11', 1, 'new', 'priority', 1.0)"
            )
        )
    engine.dispose()
    with CaseStore(store_url) as store:
        assert current_revision(store.engine) == head_revision()
        ReviewStore(store.engine)
        with store.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT case_id, status, selection FROM case_months")
            ).all()
        assert [tuple(r) for r in rows] == [("SU-1", "new", "priority")]
    assert schema_differences(store_url) == []


def test_opening_an_upgraded_database_again_changes_nothing(store_url: str) -> None:
    with CaseStore(store_url) as store:
        first = current_revision(store.engine)
    with CaseStore(store_url) as store:
        assert current_revision(store.engine) == first == head_revision()


@pytest.mark.parametrize("revision", ["0001", "0002", "0003", "0004", "0005"])
def test_every_revision_is_in_the_chain_to_the_head(revision: str) -> None:
    from alembic.script import ScriptDirectory

    chain = [s.revision for s in ScriptDirectory.from_config(_config()).walk_revisions()]
    assert revision in chain and chain[0] == head_revision()
