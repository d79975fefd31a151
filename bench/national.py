"""``make bench``: the platform's figures at national scale, on SQLite and on PostgreSQL.

    .venv/bin/python bench/national.py [--database-url URL] [--resources 50000] [--bookings 5000000]

Without ``--database-url`` the data set lives in ``instance/bench/`` on SQLite; with a PostgreSQL URL, in a schema
``bench_national`` of that database. A data set of the same size and day is reused (it takes minutes to build);
anything else is rebuilt by ``national_data.py`` with a progress bar. Then it prints, each measured through the
application as a client meets it:

- catalog search (text and filters of SPEC §3), p50/p95, and the free-on-a-day search inside one 市州;
- availability of one resource for a month, p50/p95;
- a private calendar feed of 1,000 events: built, unchanged, and answered 304;
- usage statistics (SPEC §5) for a province-year (Hunan, 14 市州) and a 市州-year through the API;
- a day's figures for every resource of the country (the work of a nightly roll-up);
- booking creation behind gunicorn with 4 workers: bookings per second, with latency;
- peak memory (VmHWM) of each gunicorn worker after the run.

The bookings made by the throughput run are deleted afterwards, so the data set stays as generated.
"""

import argparse
import os
import shutil
import statistics
import sys
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from national_data import GENERATOR, HUNAN  # noqa: E402
from national_load import generate  # noqa: E402
from throughput import booking_throughput  # noqa: E402

from booking import calendars, create_app  # noqa: E402
from booking.extensions import db  # noqa: E402
from booking.models import Booking, Resource, User  # noqa: E402
from booking.services import accounts, metrics  # noqa: E402
from booking.services.clock import local_midnight  # noqa: E402

SCHEMA = "bench_national"


def _with_schema(url: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{SCHEMA}"


def _read_meta() -> dict | None:
    try:
        return dict(db.session.execute(text("SELECT key, value FROM bench_meta")).all())
    except Exception:  # no table yet: a new or half-built data set
        return None
    finally:
        db.session.rollback()  # end the read: the migration that may follow writes through its own connection


@contextmanager
def prepared_app(database_url: str | None, resources: int, bookings: int, as_of: date):
    """An app on the data set of that size and day, built first when missing; yields ``(app, meta)``."""
    wanted = {
        "generator": GENERATOR,
        "resources": str(resources),
        "bookings": str(bookings),
        "as_of": as_of.isoformat(),
    }
    if database_url:
        url = _with_schema(database_url)
        admin = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "bench"})
        with admin.app_context():
            try:
                db.session.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
            except OperationalError as exc:
                print(f"\nPostgreSQL skipped: {database_url} is not reachable ({exc.orig}).", flush=True)
                sys.exit(0)
            db.session.commit()
    else:
        folder = ROOT / "instance" / "bench"
        folder.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{folder}/national.sqlite"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "SERVER_NAME": None})
    with app.app_context():
        meta = _read_meta()
        if meta is not None:
            _migrate()  # a data set built before the latest revision gets it, as a deployment would
        if meta is None or any(meta.get(k) != v for k, v in wanted.items()):
            db.engine.dispose()
            if database_url:
                with admin.app_context():
                    db.session.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
                    db.session.execute(text(f"CREATE SCHEMA {SCHEMA}"))
                    db.session.commit()
            else:
                shutil.rmtree(ROOT / "instance" / "bench")
                (ROOT / "instance" / "bench").mkdir()
            meta = _build(resources, bookings, as_of)
    yield app, meta


def _migrate() -> None:
    from flask_migrate import upgrade

    upgrade(directory=str(ROOT / "migrations"))


def _build(resources: int, bookings: int, as_of: date) -> dict:
    print(f"Building {resources:,} resources and {bookings:,} bookings on {db.engine.dialect.name}…", flush=True)
    started = time.monotonic()
    _migrate()
    meta = generate(resources, bookings, as_of)
    db.session.execute(text("CREATE TABLE bench_meta (key VARCHAR(40) PRIMARY KEY, value VARCHAR(200))"))
    for key, value in meta.items():
        db.session.execute(text("INSERT INTO bench_meta VALUES (:k, :v)"), {"k": key, "v": str(value)})
    db.session.commit()
    print("Analyzing…", flush=True)
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    print(f"Built in {time.monotonic() - started:.0f} s.", flush=True)
    return {k: str(v) for k, v in meta.items()}


# Measuring ---------------------------------------------------------------------------------------------------------


def percentiles(timings: list[float]) -> tuple[float, float]:
    ordered = sorted(timings)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.95) - 1)]


def timed_requests(client, requests: list[tuple[str, dict]], status: int = 200) -> list[float]:
    timings = []
    for path, headers in requests:
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == status, (path, response.status_code, response.get_data(as_text=True)[:300])
    return timings


def pair(values: tuple[float, float], unit: str = "ms", digits: int = 1) -> str:
    return f"{values[0]:.{digits}f} / {values[1]:.{digits}f} {unit}"


def line(name: str, value: str) -> None:
    print(f"  {name:<58} {value}", flush=True)


def search_queries(rng, cities: list[str], token: str, as_of: date) -> tuple[list, list]:
    words = ["三坐标", "示波器", "试验机", "光谱", "标准装置", "实验室", "数据集", "M-12", "华测", "恒温", "热像"]
    kinds, fields = ["instrument", "standard", "lab", "dataset"], ["geometry", "thermal", "mechanics", "radio"]
    headers = {"Authorization": f"Bearer {token}"}
    plain, free = [], []
    for i in range(200):
        args = []
        if rng.random() < 0.7:
            args.append(f"q={rng.choice(words)}")
        if rng.random() < 0.4:
            args.append(f"kind={rng.choice(kinds)}")
        if rng.random() < 0.4:
            args.append(f"city={rng.choice(cities)}")
        if rng.random() < 0.3:
            args.append(f"field={rng.choice(fields)}")
        args.append(f"page={1 + i % 3}")
        plain.append(("/api/v1/resources?" + "&".join(args), headers))
        day = as_of + timedelta(days=1 + i % 14)
        free_args = [f"city={rng.choice(cities)}", f"available_from={day}T09:00:00", f"available_to={day}T17:00:00"]
        if rng.random() < 0.5:
            free_args.append(f"kind={rng.choice(kinds[:3])}")
        free.append(("/api/v1/resources?" + "&".join(free_args), headers))
    return plain, free


def measure_reads(app, meta: dict) -> dict:
    import random

    rng = random.Random(7)
    as_of = date.fromisoformat(meta["as_of"])
    client = app.test_client()
    with app.app_context():
        member = db.session.get(User, int(meta["feed_member"]))
        token, _record = accounts.issue_token(member, datetime.now().astimezone())
        calendar_token = accounts.rotate_calendar_token(member)
        regulator = db.session.scalar(select(User).where(User.email == f"city{HUNAN[0]}@bench.example"))
        regulator_token, _record = accounts.issue_token(regulator, datetime.now().astimezone())
        cities = [c for (c,) in db.session.execute(select(Resource.city).distinct())]
        timed_ids = list(db.session.scalars(select(Resource.id).where(Resource.kind != "dataset")))
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    results = {}

    plain, free = search_queries(rng, cities, token, as_of)
    # Steady state, as a running server meets them: each shape of query compiled once (SQLAlchemy's statement
    # cache) before the timed pass; the first requests of a fresh worker are slower.
    timed_requests(client, plain + free)
    results["search"] = percentiles(timed_requests(client, plain))
    line("catalog search, text and filters (p50 / p95)", pair(results["search"]))
    results["search_free"] = percentiles(timed_requests(client, free))
    line("catalog search, free on a day in one 市州 (p50 / p95)", pair(results["search_free"]))

    first = as_of.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    months = [
        (f"/api/v1/resources/{rid}/availability?from={first}T00:00:00&to={following}T00:00:00", headers)
        for rid in rng.sample(timed_ids, 200)
    ]
    results["availability"] = percentiles(timed_requests(client, months))
    line("availability, one resource-month (p50 / p95)", pair(results["availability"]))

    feed = f"/calendar/{calendar_token}.ics"
    with app.test_request_context():
        body = client.get(feed)
    events = body.get_data(as_text=True).count("BEGIN:VEVENT")
    built = []
    for _ in range(10):
        calendars._built.clear()
        built += timed_requests(client, [(feed, {})])
    results["feed_built"] = percentiles(built)
    results["feed_cached"] = percentiles(timed_requests(client, [(feed, {})] * 50))
    results["feed_304"] = percentiles(
        timed_requests(client, [(feed, {"If-None-Match": body.headers["ETag"]})] * 50, 304)
    )
    line(f"calendar feed of {events} events, built (p50 / p95)", pair(results["feed_built"]))
    line(f"calendar feed of {events} events, unchanged (p50 / p95)", pair(results["feed_cached"]))
    line("calendar feed, conditional request → 304 (p50 / p95)", pair(results["feed_304"]))

    year = as_of.year - 1
    with app.app_context():
        start, end = local_midnight(date(year, 1, 1)), local_midnight(date(year + 1, 1, 1))
        province = []
        for _ in range(3):
            started = time.perf_counter()
            scope = metrics.scoped_resources([Resource.city.in_(HUNAN)])
            _rows, totals = metrics.usage_figures(scope, start, end, "city")
            province.append(time.perf_counter() - started)
            db.session.rollback()
        n_bookings = db.session.scalar(
            select(func.count())
            .select_from(Booking)
            .join(Resource)
            .where(Resource.city.in_(HUNAN), Booking.start >= start, Booking.start < end)
        )
    results["province_year"] = min(province), max(province)
    line(
        f"usage statistics, province-year ({len(scope.resources):,} resources, {n_bookings:,} bookings) (best / worst)",
        pair(results["province_year"], "s", 2),
    )
    api = [
        (
            f"/api/v1/stats/usage?from={year}-01-01&to={year + 1}-01-01&group_by=month",
            {"Authorization": f"Bearer {regulator_token}"},
        )
    ] * 3
    results["city_year"] = percentiles(timed_requests(client, api))
    line("GET /stats/usage, 市州-year by month, as its regulator (p50 / p95)", pair(results["city_year"], digits=0))

    day = as_of - timedelta(days=1)
    with app.app_context():
        started = time.perf_counter()
        scope = metrics.scoped_resources([])
        rows, _totals = metrics.usage_figures(scope, local_midnight(day), local_midnight(as_of), "resource")
        results["rollup_day"] = time.perf_counter() - started
        db.session.rollback()
    line(
        f"a day's figures for all {len(rows):,} resources (the nightly roll-up's work)",
        f"{results['rollup_day']:.2f} s",
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--resources", type=int, default=50_000)
    parser.add_argument("--bookings", type=int, default=5_000_000)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date.today())
    parser.add_argument("--requests", type=int, default=2000, help="bookings created by the throughput run")
    args = parser.parse_args()
    with prepared_app(args.database_url, args.resources, args.bookings, args.as_of) as (app, meta):
        with app.app_context():
            engine = db.engine.dialect.name
            url = db.engine.url.render_as_string(hide_password=False)
        loaded = int(meta.get("bookings_loaded", meta["bookings"]))
        print(f"\n{engine}: {int(meta['resources']):,} resources, {loaded:,} bookings", flush=True)
        measure_reads(app, meta)
        booking_throughput(app, url, meta, args.requests, line)


if __name__ == "__main__":
    os.environ.setdefault("BOOKING_TIMEZONE", "Asia/Shanghai")
    main()
