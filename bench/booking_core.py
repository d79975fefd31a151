"""Benchmark: a month of one instrument's availability, its bookings list and its calendar feed, with the SQL
statements each takes.

    .venv/bin/python bench/booking_core.py [--bookings 1000] [--database-url URL]

Builds a throwaway SQLite database (or uses the given PostgreSQL URL, whose tables it creates and drops), fills one
resource with a month of bookings, then times GET /api/v1/resources/{id}/availability for the month and
GET /api/v1/bookings?resource_id=…&per_page=100 through the WSGI stack, printing median and p95 in milliseconds and
the number of SQL statements per request; then the requester's private calendar feed of all the bookings, built
and answered 304 to a conditional request.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import event, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from booking import create_app  # noqa: E402
from booking.extensions import db  # noqa: E402
from booking.models import Booking, Organization  # noqa: E402
from booking.models.enums import BookingStatus, OrgKind, Role  # noqa: E402
from booking.services import accounts, organizations  # noqa: E402
from booking.services.resources import create_resource  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")


def credit(n: int) -> str:
    first = f"91430{n:03d}MA4B{n:05d}"
    return first + organizations.credit_code_check_char(first)


def build(n_bookings: int):
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
    rows, day, slot = [], 0, 0
    while len(rows) < n_bookings:
        start = datetime.combine(first + timedelta(days=day), dtime(8 + slot), tzinfo=TZ).astimezone(UTC)
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
        slot += 1
        if slot == 12:
            slot, day = 0, day + 1
    db.session.add_all(rows)
    db.session.commit()
    return resource.id, first, first + timedelta(days=30)


def measure(client, url: str, headers: dict, engine, rounds: int, before=None) -> tuple[float, float, int]:
    counter = {"n": 0}
    status = 304 if "If-None-Match" in headers else 200

    def count(*args):
        counter["n"] += 1

    event.listen(engine, "before_cursor_execute", count)
    timings = []
    try:
        for _ in range(rounds):
            if before:
                before()
            counter["n"] = 0
            t0 = time.perf_counter()
            response = client.get(url, headers=headers)
            timings.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == status, response.status_code
    finally:
        event.remove(engine, "before_cursor_execute", count)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1], counter["n"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url, schema = f"sqlite:///{tmp}/bench.sqlite", None
        if args.database_url:
            # A schema of its own, dropped at the end: the benchmark never touches the database's other tables.
            schema = f"bench_{os.getpid()}"
            admin = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "SECRET_KEY": "bench"})
            with admin.app_context():
                db.session.execute(text(f"CREATE SCHEMA {schema}"))
                db.session.commit()
            separator = "&" if "?" in args.database_url else "?"
            url = f"{args.database_url}{separator}options=-csearch_path%3D{schema}"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
        with app.app_context():
            db.create_all()
            print(f"Filling one resource with {args.bookings} bookings on {db.engine.dialect.name}…", flush=True)
            resource_id, first, last = build(args.bookings)
            engine = db.engine
        client = app.test_client()
        token = client.post(
            "/api/v1/auth/tokens", json={"email": "bench-sme@example.test", "password": "benchpass1"}
        ).get_json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        cases = [
            (
                "availability, one resource-month",
                f"/api/v1/resources/{resource_id}/availability?from={first.isoformat()}&to={last.isoformat()}",
            ),
            ("bookings list, 100 per page", f"/api/v1/bookings?resource_id={resource_id}&per_page=100"),
        ]
        feed_url = client.post("/api/v1/me/calendar-token", headers=headers).get_json()["calendar_url"]
        feed = "/" + feed_url.split("/", 3)[3]
        etag = client.get(feed).headers["ETag"]
        print(f"{'request':40} {'median ms':>10} {'p95 ms':>8} {'SQL statements':>15}")
        for name, path in cases:
            median, p95, statements = measure(client, path, headers, engine, args.rounds)
            print(f"{name:40} {median:10.2f} {p95:8.2f} {statements:15d}")
        feed_rounds = max(5, args.rounds // 10)
        from booking import calendars

        for name, extra, before in (
            (f"calendar feed, {args.bookings} events, built", {}, calendars._built.clear),
            (f"calendar feed, {args.bookings} events, unchanged", {}, None),
            ("calendar feed, conditional (304)", {"If-None-Match": etag}, None),
        ):
            rounds = feed_rounds if before else args.rounds
            median, p95, statements = measure(client, feed, extra, engine, rounds, before)
            print(f"{name:40} {median:10.2f} {p95:8.2f} {statements:15d}")
        if schema:
            with app.app_context():
                db.engine.dispose()
            with admin.app_context():
                db.session.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                db.session.commit()


if __name__ == "__main__":
    main()
