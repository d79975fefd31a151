"""``make bench``: the platform's figures at national scale, on SQLite and on PostgreSQL.

    .venv/bin/python bench/national.py [--database-url URL] [--resources 50000] [--bookings 5000000]

Without ``--database-url`` the data set lives in ``instance/bench/`` on SQLite; with a PostgreSQL URL, in a schema
``bench_national`` of that database. A data set of the same size is reused, whatever day it was built as of
(``--as-of`` asks for a given day); it takes minutes to build, and
anything else is rebuilt by ``national_data.py`` with a progress bar. Then it prints, each measured through the
application as a client meets it:

- catalog search (text and filters of SPEC §3), p50/p95, and the free-on-a-day search inside one 市州;
- availability of one resource for a month, p50/p95;
- a private calendar feed of 1,000 events: built, unchanged, and answered 304;
- usage statistics (SPEC §5) for a province-year (Hunan, 14 市州) and a 市州-year through the API;
- the nightly statistics roll-up: of the whole history at its first run, and of one day for the whole country;
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

import click
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
from booking.services import accounts, metrics, rollups  # noqa: E402
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
def prepared_app(database_url: str | None, resources: int, bookings: int, as_of: date | None):
    """An app on the data set of that size (and day, when ``as_of`` is given; else any day, and a new one is built
    as of today), built first when missing; yields ``(app, meta)``. Every day-relative figure uses the data set's
    own day, so an existing set measures the same whenever it is run."""
    wanted = {"generator": GENERATOR, "resources": str(resources), "bookings": str(bookings)}
    if as_of is not None:
        wanted["as_of"] = as_of.isoformat()
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
            meta = _build(resources, bookings, as_of or date.today())
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


def catch_up(as_of: date) -> float | None:
    """Roll up every closed day of the data set not yet rolled up (a first nightly run: the whole history), with a
    progress bar; its duration, or ``None`` when there was nothing to do."""
    days = rollups.days_to_roll(as_of - timedelta(days=1))
    db.session.rollback()
    if not days:
        return None
    started = time.perf_counter()
    with click.progressbar(days, label=f"{'roll-up':<14}", file=sys.stderr) as bar:
        for day in bar:
            rollups.roll_up_day(day)
            db.session.commit()
    db.session.execute(text("ANALYZE usage_rollups"))  # as the job does after a catch-up
    db.session.commit()
    took = time.perf_counter() - started
    line(f"the first nightly roll-up: {len(days):,} days of history", f"{took:.0f} s")
    return took


@contextmanager
def every_day_read_live():
    """The statistics as they are without a roll-up: no day counts as rolled up (for comparison only)."""
    original = rollups._rolled_runs
    rollups._rolled_runs = lambda start, end: []
    try:
        yield
    finally:
        rollups._rolled_runs = original


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
        n_bookings = db.session.scalar(
            select(func.count())
            .select_from(Booking)
            .join(Resource)
            .where(Resource.city.in_(HUNAN), Booking.start >= start, Booking.start < end)
        )
        db.session.rollback()
        results["catch_up"] = catch_up(as_of)

        def province_year() -> tuple[float, float]:
            timings = []
            for _ in range(3):
                started = time.perf_counter()
                scope = metrics.scoped_resources([Resource.city.in_(HUNAN)])
                metrics.usage_figures(scope, start, end, "city")
                timings.append(time.perf_counter() - started)
                db.session.rollback()
            return min(timings), max(timings)

        results["province_year"] = province_year()
        with every_day_read_live():
            results["province_year_live"] = province_year()
        n_resources = len(metrics.scoped_resources([Resource.city.in_(HUNAN)]).resources)
        db.session.rollback()
    subject = f"province-year ({n_resources:,} resources, {n_bookings:,} bookings)"
    line(f"usage statistics, {subject} (best / worst)", pair(results["province_year"], "s", 2))
    line("  the same with every day read from the bookings", pair(results["province_year_live"], "s", 2))
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
        rollups.forget(day, day)
        db.session.commit()
        started = time.perf_counter()
        rows = rollups.roll_up_day(day)
        db.session.commit()
        results["rollup_day"] = time.perf_counter() - started
    line(f"the nightly roll-up of one day ({rows:,} resource-days of the country)", f"{results['rollup_day']:.2f} s")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--resources", type=int, default=50_000)
    parser.add_argument("--bookings", type=int, default=5_000_000)
    parser.add_argument("--as-of", type=date.fromisoformat, help="the data set's day (default: reuse any, or today)")
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
