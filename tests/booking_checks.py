"""Shared helpers of the booking API tests: local wall-clock times as the API reads them, the error body of
SPEC §3, and cheap password hashing so that the many users these tests make do not cost a second each."""

from contextlib import contextmanager
from datetime import date, timedelta
from types import SimpleNamespace

from sqlalchemy import event

from booking.extensions import db


def at(day: date, hh: int, mm: int = 0) -> str:
    """A local time without offset, which the API reads in the platform time zone (SPEC §3)."""
    if hh == 24:
        day, hh = day + timedelta(days=1), 0
    return f"{day.isoformat()}T{hh:02d}:{mm:02d}:00"


def booking_body(resource, day: date, start: tuple, end: tuple, **extra) -> dict:
    """``start``/``end`` as (hh, mm) or hh on ``day``."""
    start = start if isinstance(start, tuple) else (start, 0)
    end = end if isinstance(end, tuple) else (end, 0)
    return {"resource_id": resource.id, "start": at(day, *start), "end": at(day, *end), **extra}


def assert_error(response, status: int, code: str, field: str | None = None, case=None) -> dict:
    """The answer is the JSON error body of SPEC §3 with this status and code, naming ``field`` if given.
    ``case`` is shown on failure, for tests that loop over many inputs."""
    body = response.get_data(as_text=True)[:500]
    assert response.status_code == status, (case, response.status_code, body)
    assert response.is_json, (case, body)
    error = response.get_json()["error"]
    assert set(error) >= {"code", "message", "fields"}, (case, error)
    assert error["code"] == code, (case, error)
    assert isinstance(error["message"], str) and error["message"], (case, error)
    assert isinstance(error["fields"], dict), (case, error)
    if field is not None:
        assert field in error["fields"], (case, error)
    return error


class World(SimpleNamespace):
    """A test's data, plus API clients signed in on first use: ``World(api, {"staff": operator}, day=...)``
    gives ``world.staff``. Signing in is a request of its own, and most tests need only one or two clients. A
    user may be given as a function that makes it, for one that few tests need."""

    def __init__(self, api, clients: dict, **data):
        super().__init__(**data)
        self._api, self._client_users, self._clients = api, clients, {}

    def __getattr__(self, name):
        users = self.__dict__.get("_client_users", {})
        if name not in users:
            raise AttributeError(name)
        if name not in self._clients:
            user = users[name]() if callable(users[name]) else users[name]
            self._clients[name] = self._api.as_(user)
        return self._clients[name]


@contextmanager
def counted_statements(app):
    """The SQL statements that the serving application sends (the test's own session is another engine)."""
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
