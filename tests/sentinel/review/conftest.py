"""A small case store for the review app: the tiny county's first two months, scored and
recorded without Prefect, plus four users (two auditors of different townships, a
supervisor and an admin). Built once per session; each test gets its own copy of the
database, so logins, throttling and outcomes never leak between tests."""

from __future__ import annotations

import dataclasses
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from sentinel.casestore import CaseStore
from sentinel.config import load_config
from sentinel.review import ReviewStore, create_app, hash_password

sys.path.insert(0, str(Path(__file__).parent))  # the output folder builder
from review_output import MONTHS, PASSWORD, build_output  # noqa: E402


@dataclass(frozen=True)
class ReviewData:
    """The shared output folder and what the tests need to know about it."""

    out: Path
    database: Path
    month: str
    township_a: str
    township_b: str
    cases: pl.DataFrame  # the last month's case list (cases.parquet)


def add_users(database: Path, township_a: str, township_b: str) -> None:
    with CaseStore(database) as cases:
        users = ReviewStore(cases.engine)
        users.add_user("wang", "auditor", hash_password(PASSWORD), (township_a,))
        users.add_user("li", "auditor", hash_password(PASSWORD), (township_b,))
        users.add_user("zhao", "supervisor", hash_password(PASSWORD))
        users.add_user("qian", "reviewer", hash_password(PASSWORD))
        users.add_user("root", "admin", hash_password(PASSWORD))


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    """argon2 with test-sized parameters: the tests sign in a hundred times, and the
    production cost (64 MiB, 3 passes) is the point in production, not here."""
    from argon2 import PasswordHasher

    from sentinel.review import auth

    real = auth._hasher, auth._DUMMY_HASH
    auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    auth._DUMMY_HASH = auth._hasher.hash("not a password of anybody")
    yield
    auth._hasher, auth._DUMMY_HASH = real


@pytest.fixture(scope="session")
def review_data(
    cheap_password_hashing: None, tiny_county: Path, tmp_path_factory: pytest.TempPathFactory
) -> ReviewData:
    config = load_config()
    out = tmp_path_factory.mktemp("review") / "out"
    build_output(tiny_county / "inbox", out, config, MONTHS)
    month = MONTHS[-1]
    cases = pl.read_parquet(out / month / "cases.parquet")
    # Township A: the one with the most cases (several typologies); B: another one.
    by_town = cases.group_by("township").len().sort(["len", "township"], descending=[True, False])
    township_a, township_b = by_town["township"][0], by_town["township"][1]
    database = out / config.cases.database_file
    add_users(database, township_a, township_b)
    return ReviewData(out, database, month, township_a, township_b, cases)


@pytest.fixture
def database_copy(review_data: ReviewData, tmp_path: Path) -> Path:
    copy = tmp_path / "cases.sqlite"
    shutil.copyfile(review_data.database, copy)
    return copy


def new_client(
    review_data: ReviewData, database: Path, curated: Path | None = None, **review: object
) -> TestClient:
    config = load_config()
    settings = {"secure_cookies": False} | review
    config = config.model_copy(update={"review": config.review.model_copy(update=settings)})
    app = create_app(review_data.out, config, database=f"sqlite:///{database}", curated=curated)
    return TestClient(app, base_url="http://testserver", follow_redirects=False)


@pytest.fixture
def client(review_data: ReviewData, database_copy: Path) -> Iterator[TestClient]:
    with new_client(review_data, database_copy) as c:
        yield c


@pytest.fixture
def make_client(review_data: ReviewData, database_copy: Path):  # type: ignore[no-untyped-def]
    """``make_client(**review_settings)``: another browser on the same database copy."""
    return lambda **review: new_client(review_data, database_copy, **review)


@pytest.fixture
def client_on(review_data: ReviewData, database_copy: Path):  # type: ignore[no-untyped-def]
    """``client_on(out)``: a browser on the database copy reading the month outputs in
    ``out`` (a copy of the shared folder a test may change)."""
    return lambda out: new_client(dataclasses.replace(review_data, out=out), database_copy)


@pytest.fixture
def store(database_copy: Path) -> Iterator[CaseStore]:
    with CaseStore(database_copy) as opened:
        yield opened


_TOKEN = __import__("re").compile(r'name="csrf_token" value="([^"]+)"')


def form_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = _TOKEN.search(html)
    assert found, "no csrf_token on the page"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the login form; returns the session's CSRF token."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": form_token(page.text),
            "next": "/",
        },
    )
    assert response.status_code == 303, response.text
    landing = client.get(response.headers["location"])
    assert landing.status_code == 200
    return form_token(landing.text)


@pytest.fixture
def login():  # type: ignore[no-untyped-def]
    """``login(client, username)`` signs in and returns the session's CSRF token."""
    return sign_in


@pytest.fixture
def signed_in(client: TestClient):  # type: ignore[no-untyped-def]
    """``signed_in(username)``: the test client, signed in as that user."""

    def browser(username: str) -> TestClient:
        sign_in(client, username)
        return client

    return browser


@pytest.fixture
def token_of():  # type: ignore[no-untyped-def]
    """``token_of(html)``: the CSRF token of a page's first form."""
    return form_token
