"""Booking creation behind gunicorn with 4 workers, and the workers' peak memory (part of ``make bench``).

Many SMEs request free slots on many resources at once, as the API's clients do: 16 client threads, each request a
``POST /api/v1/bookings`` for a distinct resource-day (no two collide, so every answer should be 201). Afterwards a
mix of reads goes through the same workers, and each worker's peak resident memory (VmHWM) is read from /proc.
The bookings made here are deleted at the end, with their history and notifications.
"""

import http.client
import json
import queue
import random
import statistics
import sys
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit

from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from booking.extensions import db  # noqa: E402
from booking.models import OpeningHours, Organization, Resource, User  # noqa: E402
from booking.models.enums import OrgKind, ResourceKind, Role  # noqa: E402
from booking.services import accounts, rules  # noqa: E402
from booking.services.clock import local_date, now_utc  # noqa: E402
from booking.services.schedule import local_instant  # noqa: E402
from tests.live import gunicorn_server  # noqa: E402

THREADS = 16


def _requesters(now: datetime, count: int = 32) -> list[str]:
    """Bearer tokens of SME members whose organizations may book (not suspended)."""
    tokens = []
    members = db.session.scalars(
        select(User)
        .join(Organization)
        .where(Organization.kind == OrgKind.sme, User.role == Role.member)
        .order_by(User.id)
        .limit(count * 3)
    )
    for member in members:
        if not rules.is_suspended(member.organization_id, now):
            tokens.append(accounts.issue_token(member, now)[0])
        if len(tokens) == count:
            break
    return tokens


def _slots(as_of: date, count: int, rng: random.Random) -> list[dict]:
    """``count`` distinct (resource, day) requests of an hour at the day's opening, after the generated bookings and
    inside every resource's 60-day horizon."""
    today = local_date(now_utc())
    first, last = max(as_of + timedelta(days=31), today + timedelta(days=2)), today + timedelta(days=58)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    valid = Resource.certificate_valid_until.is_(None) | (Resource.certificate_valid_until > last)
    opening = dict(
        db.session.execute(
            select(OpeningHours.resource_id, func.min(OpeningHours.start_minute))
            .join(Resource)
            .where(Resource.kind != ResourceKind.dataset, valid, OpeningHours.weekday == 0)
            .group_by(OpeningHours.resource_id)
        ).all()
    )
    ids = rng.sample(sorted(opening), min(len(opening), count))
    mondays = [d for d in days if d.weekday() == 0]
    slots = []
    for n in range(count):
        resource_id, day = ids[n % len(ids)], mondays[(n // len(ids)) % len(mondays)]
        start = local_instant(day, opening[resource_id])
        slots.append(
            {
                "resource_id": resource_id,
                "start": start.isoformat(),
                "end": (start + timedelta(hours=1)).isoformat(),
                "purpose": "基准测试送检",
            }
        )
    return slots


def _post_all(base: str, slots: list[dict], tokens: list[str]) -> tuple[dict, list[float], float]:
    host = urlsplit(base)
    jobs: queue.Queue = queue.Queue()
    for i, body in enumerate(slots):
        jobs.put((json.dumps(body), tokens[i % len(tokens)]))
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    lock = threading.Lock()

    def worker():
        while True:
            try:
                body, token = jobs.get_nowait()
            except queue.Empty:
                return
            connection = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
            started = time.perf_counter()
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
            connection.request("POST", "/api/v1/bookings", body, headers)
            response = connection.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            connection.close()
            with lock:
                statuses[response.status] = statuses.get(response.status, 0) + 1
                latencies.append(elapsed)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses, latencies, time.perf_counter() - started


def _workers_of(port: int) -> list[int]:
    """The gunicorn worker processes serving ``port`` (their environment names the bind address)."""
    marker = f"BOOKING_BIND=127.0.0.1:{port}".encode()
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                found[int(proc.name)] = int(stat[1])
        except OSError:
            continue
    return sorted(pid for pid, parent in found.items() if parent in found)


def _peak_kib(pid: int) -> int:
    for row in (Path("/proc") / str(pid) / "status").read_text().splitlines():
        if row.startswith("VmHWM:"):
            return int(row.split()[1])
    return 0


def booking_throughput(app, url: str, meta: dict, count: int, line) -> dict:
    rng = random.Random(11)
    as_of = date.fromisoformat(meta["as_of"])
    with app.app_context():
        now = now_utc()
        tokens = _requesters(now)
        slots = _slots(as_of, count, rng)
        regulator = db.session.scalar(select(User).where(User.role == Role.city_regulator).order_by(User.id))
        reader = accounts.issue_token(regulator, now)[0]
        last_booking = db.session.scalar(text("SELECT max(id) FROM bookings"))
        last_outbox = db.session.scalar(text("SELECT coalesce(max(id), 0) FROM outbox_mail"))
        db.session.commit()
    log_path = ROOT / "instance" / "bench" / "gunicorn.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with gunicorn_server(url, workers=4, log_path=log_path) as base:
        port = urlsplit(base).port
        warm = [dict(slot, resource_id=-1) for slot in slots[:40]]  # 404s: every worker loads its code first
        _post_all(base, warm, tokens)
        statuses, latencies, elapsed = _post_all(base, slots, tokens)
        created = statuses.get(201, 0)
        latencies.sort()
        p50, p95 = statistics.median(latencies), latencies[int(len(latencies) * 0.95) - 1]
        line(
            f"booking creation, gunicorn -w 4, {THREADS} clients ({created:,} of {len(slots):,} created)",
            f"{created / elapsed:.0f} bookings/s (p50 {p50:.0f} ms, p95 {p95:.0f} ms)",
        )
        if created != len(slots):
            line("answers other than 201", str({k: v for k, v in statuses.items() if k != 201}))
        year = as_of.year - 1
        reads = [f"/api/v1/resources?q={quote('三坐标')}&page={n}" for n in range(1, 5)] + [
            f"/api/v1/stats/usage?from={year}-01-01&to={year + 1}-01-01&group_by=resource"
        ] * 4
        for path in reads * 2:
            connection = http.client.HTTPConnection(urlsplit(base).hostname, port, timeout=120)
            connection.request("GET", path, headers={"Authorization": f"Bearer {reader}"})
            connection.getresponse().read()
            connection.close()
        peaks = [_peak_kib(pid) / 1024 for pid in _workers_of(port)]
        line("peak memory per worker (VmHWM)", ", ".join(f"{p:.0f}" for p in peaks) + " MiB")
    with app.app_context():
        db.session.execute(text("DELETE FROM outbox_mail WHERE id > :o"), {"o": last_outbox})
        for statement in (
            "DELETE FROM booking_history WHERE booking_id > :b",
            "DELETE FROM notifications WHERE booking_id > :b",
            "DELETE FROM bookings WHERE id > :b",
        ):
            db.session.execute(text(statement), {"b": last_booking})
        db.session.commit()
    return {"per_second": created / elapsed, "p50": p50, "p95": p95, "peaks": peaks}
