"""Fixtures: an app per test on a fresh database — SQLite always, PostgreSQL too when
``BOOKING_TEST_DATABASE_URL`` is set — plus factories for the domain (``make_org``, ``make_resource``, …)."""

import os
import secrets
import shutil

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text

from booking import create_app
from booking.database import write_intent
from booking.extensions import db

from .factories import Factory

PG_URL = os.environ.get("BOOKING_TEST_DATABASE_URL")
PG_SKIP = (
    "PostgreSQL tests skipped: set BOOKING_TEST_DATABASE_URL "
    "(e.g. postgresql://postgres@127.0.0.1:5432/test) to run them; .ci/run sets it."
)
TEST_SECRET = "test-secret-key-not-for-production"


def make_app(url: str, **extra):
    config = {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": TEST_SECRET, "TESTING": True, "SERVER_NAME": "booking.test"}
    config.update(extra)
    return create_app(config)


def _dispose(app):
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture(autouse=True)
def fast_passwords(monkeypatch):
    """Tests hash many passwords; one cheap round still verifies like the real scrypt hash, in a fraction of the
    time. Production hashing is untouched."""
    from werkzeug.security import generate_password_hash

    from booking.services import accounts

    monkeypatch.setattr(
        accounts, "generate_password_hash", lambda password: generate_password_hash(password, "pbkdf2:sha256:1")
    )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """The schema built once by the real migrations; each test gets a copy of the file."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    app = make_app(f"sqlite:///{path}")
    with app.app_context():
        upgrade()
    _dispose(app)
    return path


def _with_search_path(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def pg_url():
    """A schema of its own in the PostgreSQL test database for this run, migrated once: runs that share the
    database (a developer's and CI, say) cannot wipe each other's tables. Dropped at the end."""
    schema = f"test_run_{os.getpid()}_{secrets.token_hex(3)}"
    admin = make_app(PG_URL)
    with admin.app_context():
        db.session.execute(text(f"CREATE SCHEMA {schema}"))
        db.session.commit()
    url = _with_search_path(PG_URL, schema)
    app = make_app(url)
    with app.app_context():
        upgrade()
    _dispose(app)
    yield url
    with admin.app_context():
        db.session.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        db.session.commit()
    _dispose(admin)


def truncate_postgres(url: str):
    app = make_app(url)
    with app.app_context():
        tables = [t.name for t in db.metadata.sorted_tables]
        db.session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        db.session.commit()
    _dispose(app)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, migrated database for one test, on each engine."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.sqlite"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    if not PG_URL:
        pytest.skip(PG_SKIP)
    url = request.getfixturevalue("pg_url")
    truncate_postgres(url)
    return url


class CommittingClient(FlaskClient):
    """After each request, end the test's own transaction so that its next read sees what the request wrote and
    holds no lock that a request on another connection would wait for."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        db.session.commit()
        return response


@pytest.fixture
def app(db_url):
    """The application that serves the test's requests. The test body runs in the context of a twin application on
    the same database, so every request gets its own context, session and ``g`` — as on a real server — and the
    test's own session (factories, assertions) is a separate connection."""
    app = make_app(db_url)
    app.test_client_class = CommittingClient
    twin = make_app(db_url)
    # On SQLite the test's session reads in a shared transaction (a writer's BEGIN IMMEDIATE would keep the server's
    # requests waiting) and its factories' writes take the lock when they come; on PostgreSQL it is a writer like
    # any script's, in a transaction (a read-only session there has none, and refuses writes).
    token = write_intent.set(not db_url.startswith("sqlite"))
    with twin.app_context():
        yield app
        db.session.remove()
    write_intent.reset(token)
    _dispose(twin)
    _dispose(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def factory(app):
    return Factory(app)


@pytest.fixture
def api(app, factory):
    from .factories import ApiClient

    return ApiClient(app, factory)


@pytest.fixture
def live_server(app, db_url, tmp_path):
    """gunicorn with 4 workers on this test's database; yields its base URL. Data made with ``factory`` before
    entering is visible to it (factories commit)."""
    from .live import gunicorn_server

    with gunicorn_server(db_url, workers=4, log_path=tmp_path / "gunicorn.log") as base:
        yield base
