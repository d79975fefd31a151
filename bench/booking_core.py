"""Benchmark: one instrument's month — its availability and its bookings list, two pages of 100 — through gunicorn,
with the SQL statements each request takes; then the requester's private calendar feed, in process.

    .venv/bin/python bench/booking_core.py [--bookings 186] [--database-url URL]

Builds a small data set in seconds: a throwaway SQLite database (or, with a PostgreSQL URL, a schema of its own,
created and dropped), one resource with ``--bookings`` approved bookings in the month ahead, analyzed. Then serves it
with gunicorn (the project's gunicorn.conf.py, two sync workers) and times, one request after another,
GET /api/v1/resources/{id}/availability?from=&to= for the month and
GET /api/v1/bookings?resource_id=&from=&to=&per_page=100 (pages 1 and 2), printing p50 and p95 in milliseconds,
after the floor every API request stands on: GET /api/v1/me (gunicorn, the token check, a small answer).
The statements of each request are counted in process (a SQLAlchemy event on the engine, one request through the
test client, after a first one that compiles the statements). Last, the calendar feed of all the bookings: built,
unchanged, and answered 304 to a conditional request.
"""

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from booking import create_app  # noqa: E402
from booking.extensions import db  # noqa: E402
from booking.models import Booking, Organization  # noqa: E402
from booking.models.enums import BookingStatus, OrgKind, Role  # noqa: E402
from booking.services import accounts, organizations  # noqa: E402
from booking.services.resources import create_resource  # noqa: E402
from tests.live import gunicorn_server  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
PER_PAGE = 100


def credit(n: int) -> str:
    first = f"91430{n:03d}MA4B{n:05d}"
    return first + organizations.credit_code_check_char(first)


def build(n_bookings: int, per_day: int = 6):
    """One instrument (capacity 2, open 08:00–20:00 every day) with ``n_bookings`` approved hours of one SME,
    ``per_day`` a day from three days ahead: 186 fill a month."""
    provider = Organization(
        name="基准提供方", kind=OrgKind.lead_enterprise, city="430100", industry="automotive", credit_code=credit(1)
    )
    sme = Organization(
        name="基准中小企业", kind=OrgKind.sme, city="430100", industry="automotive", credit_code=credit(2)
    )
    db.session.add_all([provider, sme])
    db.session.flush()
    admin = accounts.create_user(
        None,
        dict(
            email="bench-admin@example.test",
            name="a",
            password="benchpass1",
            organization_id=provider.id,
            role=Role.org_admin,
        ),
    )
    member = accounts.create_user(
        None,
        dict(email="bench-sme@example.test", name="b", password="benchpass1", organization_id=sme.id, role=Role.member),
    )
    resource = create_resource(
        admin,
        provider,
        dict(name="三坐标测量机", kind="instrument", capacity=2, opening_hours=[(d, 480, 1200) for d in range(7)]),
        datetime.now(UTC),
    )
    first = date.today() + timedelta(days=3)
    rows = []
    for n in range(n_bookings):
        day, slot = divmod(n, per_day)
        start = datetime.combine(first + timedelta(days=day), dtime(8 + 2 * slot), tzinfo=TZ).astimezone(UTC)
        rows.append(
            Booking(
                resource_id=resource.id,
                requester_id=member.id,
                organization_id=sme.id,
                start=start,
                end=start + timedelta(hours=1),
                status=BookingStatus.approved,
                sequence=1,
            )
        )
    db.session.add_all(rows)
    db.session.commit()
    return resource.id, first, first + timedelta(days=31)


def percentiles(timings: list[float]) -> tuple[float, float]:
    timings = sorted(timings)
    return statistics.median(timings), timings[max(0, int(len(timings) * 0.95) - 1)]


def statements_of(client, url: str, headers: dict, engine, status: int = 200) -> int:
    """The SQL statements one request sends, counted once the statements are compiled."""
    counter = {"n": 0}

    def count(*args):
        counter["n"] += 1

    assert client.get(url, headers=headers).status_code == status
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(url, headers=headers).status_code == status
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return counter["n"]


def timed_in_process(client, url: str, headers: dict, rounds: int, before=None) -> tuple[float, float]:
    status = 304 if "If-None-Match" in headers else 200
    timings = []
    for _ in range(rounds):
        if before:
            before()
        t0 = time.perf_counter()
        response = client.get(url, headers=headers)
        timings.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == status, response.status_code
    return percentiles(timings)


def timed_http(base: str, paths: list[str], headers: dict, rounds: int) -> list[list[float]]:
    """Each path ``rounds`` times, interleaved, one request at a time on a new connection (sync workers close it)."""
    host = urlsplit(base)
    timings: list[list[float]] = [[] for _ in paths]
    for _ in range(rounds):
        for i, path in enumerate(paths):
            connection = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
            t0 = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            timings[i].append((time.perf_counter() - t0) * 1000)
            connection.close()
            assert response.status == 200, (path, response.status)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=186)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url, schema = f"sqlite:///{tmp}/bench.sqlite", None
        if args.database_url:
            # A schema of its own, dropped at the end: the benchmark never touches the database's other tables.
            schema = f"bench_{os.getpid()}"
            admin = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "SECRET_KEY": "bench"})
            with admin.app_context():
                try:
                    db.session.execute(text(f"CREATE SCHEMA {schema}"))
                except OperationalError as exc:
                    print(f"PostgreSQL skipped: {args.database_url} is not reachable ({exc.orig}).", flush=True)
                    return
                db.session.commit()
            separator = "&" if "?" in args.database_url else "?"
            url = f"{args.database_url}{separator}options=-csearch_path%3D{schema}"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
        try:
            run(app, url, args, Path(tmp))
        finally:
            if schema:
                with app.app_context():
                    db.engine.dispose()
                with admin.app_context():
                    db.session.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                    db.session.commit()


def run(app, url: str, args, tmp: Path) -> None:
    with app.app_context():
        db.create_all()
        print(f"One instrument with {args.bookings} bookings on {db.engine.dialect.name}…", flush=True)
        resource_id, first, last = build(args.bookings)
        # With the statistics a running database has (PostgreSQL's autovacuum analyzes a table once a tenth of it has
        # changed): a table analyzed while empty would be planned as if it still were.
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        engine = db.engine
    client = app.test_client()
    token = client.post(
        "/api/v1/auth/tokens", json={"email": "bench-sme@example.test", "password": "benchpass1"}
    ).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    month = f"from={first.isoformat()}&to={last.isoformat()}"
    listing = f"/api/v1/bookings?resource_id={resource_id}&{month}&per_page={PER_PAGE}"
    cases = [
        ("the floor: GET /api/v1/me", "/api/v1/me"),
        ("availability, one resource-month", f"/api/v1/resources/{resource_id}/availability?{month}"),
        (f"bookings list, page 1 of {PER_PAGE}", listing),
        (f"bookings list, page 2 of {PER_PAGE}", f"{listing}&page=2"),
    ]
    statements = [statements_of(client, path, headers, engine) for _name, path in cases]
    with gunicorn_server(url, workers=2, log_path=tmp / "gunicorn.log") as base:
        paths = [path for _name, path in cases]
        timed_http(base, paths, headers, 20)  # each worker loads its code and compiles the statements
        timings = timed_http(base, paths, headers, args.rounds)
    print(f"{'request (through gunicorn)':40} {'p50 ms':>8} {'p95 ms':>8} {'SQL statements':>15}")
    for (name, _path), measured, count in zip(cases, timings, statements, strict=True):
        p50, p95 = percentiles(measured)
        print(f"{name:40} {p50:8.2f} {p95:8.2f} {count:15d}")
    feed_url = client.post("/api/v1/me/calendar-token", headers=headers).get_json()["calendar_url"]
    feed = "/" + feed_url.split("/", 3)[3]
    etag = client.get(feed).headers["ETag"]
    from booking import calendars

    print(f"{'calendar feed (in process)':40} {'p50 ms':>8} {'p95 ms':>8} {'SQL statements':>15}")
    feed_rounds = max(5, args.rounds // 10)
    for name, extra, before in (
        (f"calendar feed, {args.bookings} events, built", {}, calendars._built.clear),
        (f"calendar feed, {args.bookings} events, unchanged", {}, None),
        ("calendar feed, conditional (304)", {"If-None-Match": etag}, None),
    ):
        count = statements_of(client, feed, extra, engine, 304 if extra else 200)
        p50, p95 = timed_in_process(client, feed, extra, feed_rounds if before else args.rounds, before)
        print(f"{name:40} {p50:8.2f} {p95:8.2f} {count:15d}")


if __name__ == "__main__":
    main()
