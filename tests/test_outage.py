"""A database that is lost or cannot be written: pages and the API answer 503 with Retry-After (the API with the
JSON error body of SPEC §3), the outage is logged once a minute without a traceback, and a pooled connection that
the server closed is replaced before use."""

import logging

import pytest
from sqlalchemy import text

from booking import errors
from booking.extensions import db

from .conftest import PG_SKIP, PG_URL, make_app
from .factories import PASSWORD
from .live import free_port
from .pages import csrf_from

BEARER = {"Authorization": "Bearer " + "0" * 40}


@pytest.fixture
def outage_log(caplog, monkeypatch):
    monkeypatch.setattr(errors, "_outage_logged_at", None, raising=False)
    caplog.set_level(logging.INFO)
    return caplog


def assert_unavailable_page(response):
    assert response.status_code == 503, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    assert int(response.headers["Retry-After"]) > 0
    assert "<h1>503</h1>" in response.get_data(as_text=True)


def assert_unavailable_api(response):
    assert response.status_code == 503, response.get_data(as_text=True)[:500]
    assert int(response.headers["Retry-After"]) > 0
    error = response.get_json()["error"]
    assert error["code"] == "service_unavailable"
    assert error["message"] and error["fields"] == {}


def assert_logged_once_without_traceback(caplog):
    outage = [r for r in caplog.records if r.name == "booking.errors"]
    assert len(outage) == 1, [r.getMessage() for r in outage]
    assert outage[0].levelno == logging.ERROR and "unavailable" in outage[0].getMessage()
    assert [r.getMessage() for r in caplog.records if r.exc_info] == [], "a traceback was logged"


@pytest.fixture(params=["sqlite", "postgresql"])
def lost_db_url(request, tmp_path):
    """A database that cannot be reached: a SQLite file in a folder that is gone, a PostgreSQL port nobody
    listens on."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/gone/booking.sqlite"
    if not PG_URL:
        pytest.skip(PG_SKIP)
    return f"postgresql://postgres@127.0.0.1:{free_port()}/test?connect_timeout=5"


def test_a_lost_database_answers_503_with_retry_after_on_pages_and_the_api(lost_db_url, outage_log):
    app = make_app(lost_db_url)
    client = app.test_client()
    assert_unavailable_page(client.get("/"))
    assert_unavailable_api(client.get("/api/v1/resources", headers=BEARER))
    assert_unavailable_api(client.post("/api/v1/auth/tokens", json={"email": "a@example.test", "password": "x"}))
    # Signed in (a real session cookie): finding the user needs the database, and the page is still answered.
    with client.session_transaction() as session:
        session["_user_id"] = "1"
        session["session_key"] = "a-session-key"
        session["session_version"] = 0
    assert_unavailable_page(client.get("/bookings"))
    assert_logged_once_without_traceback(outage_log)
    with app.app_context():
        db.engine.dispose()


def read_only_url(db_url: str) -> str:
    """The same database, opened so that every write is refused by the engine itself."""
    if db_url.startswith("sqlite:///"):
        return f"sqlite:///file:{db_url.removeprefix('sqlite:///')}?mode=ro&uri=true"
    return db_url + "%20-cdefault_transaction_read_only%3Don"


def test_a_read_only_database_answers_503_to_writes_and_still_serves_reads(db_url, factory, outage_log):
    user = factory.make_user()
    app = make_app(read_only_url(db_url))
    client = app.test_client()
    assert client.get("/").status_code == 200
    assert_unavailable_api(client.post("/api/v1/auth/tokens", json={"email": user.email, "password": PASSWORD}))
    # A failed sign-in is recorded (SPEC §3's limit), which is a write.
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": user.email, "password": "wrong-password", "csrf_token": token})
    assert_unavailable_page(response)
    assert_logged_once_without_traceback(outage_log)
    with app.app_context():
        db.engine.dispose()


def test_the_outage_is_logged_again_after_a_minute(lost_db_url, outage_log, monkeypatch):
    app = make_app(lost_db_url)
    client = app.test_client()
    clock = [1000.0]
    monkeypatch.setattr(errors.time, "monotonic", lambda: clock[0])
    for _ in range(3):
        assert_unavailable_page(client.get("/"))
    clock[0] += errors.OUTAGE_LOG_INTERVAL_SECONDS
    assert_unavailable_api(client.get("/api/v1/resources", headers=BEARER))
    assert len([r for r in outage_log.records if r.name == "booking.errors"]) == 2
    with app.app_context():
        db.engine.dispose()


def test_a_pooled_connection_the_server_closed_is_replaced_before_use(app, client, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("a server that closes a connection (pg_terminate_backend) is PostgreSQL's case")
    with app.app_context():
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        db.session.commit()
    # The connection now waits in the application's pool; the server ends it, as a restart would.
    assert db.session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    db.session.commit()
    response = client.get("/")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    with app.app_context():
        assert db.session.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid


def test_the_openapi_document_describes_the_503_of_every_operation():
    from openapi_spec_validator import validate

    from booking.api.openapi import document

    doc = document()
    validate(doc)
    unavailable = doc["components"]["responses"]["ServiceUnavailable"]
    assert unavailable["headers"]["Retry-After"]["required"] is True
    assert unavailable["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            assert op["responses"]["503"] == {"$ref": "#/components/responses/ServiceUnavailable"}, (method, path)
