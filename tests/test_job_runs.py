"""The scheduler's claims (SPEC §6, ``booking.jobs``) survive a lost database connection and a runner that died:
a connection the server dropped between ticks costs no work, and a run left unfinished is marked dead after
``RUN_TIMEOUT`` and its job runs again."""

import secrets
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from booking import jobs
from booking.extensions import db
from booking.models import Booking, JobRun, RolledDay
from booking.models.base import utcnow
from booking.models.enums import BookingStatus
from booking.services.clock import local_date

from .conftest import make_app
from .factories import local
from .test_jobs import T, w  # noqa: F401  (the fixture)

S = BookingStatus


def status_of(booking: Booking) -> BookingStatus:
    db.session.rollback()
    return db.session.get(Booking, booking.id).status


def test_a_connection_dropped_between_ticks_costs_no_work(db_url, factory, w):  # noqa: F811
    if db_url.startswith("sqlite"):
        pytest.skip("a server that drops connections: PostgreSQL")
    name = f"scheduler-{secrets.token_hex(4)}"
    scheduler = make_app(f"{db_url}&application_name={name}")
    with scheduler.app_context():
        jobs.tick(T - timedelta(minutes=1))  # leaves its connection in the pool, as ``scheduler run`` does
    request = factory.make_booking(
        w.resource, w.member, T + timedelta(hours=5), status=S.pending, created_at=T - timedelta(days=3)
    )
    ended = factory.make_booking(w.resource, w.member, T - timedelta(hours=3))
    killed = db.session.scalars(
        text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name"), {"name": name}
    ).all()
    db.session.commit()
    assert killed == [True]

    with scheduler.app_context():
        results = jobs.tick(T)
        db.engine.dispose()

    minute_jobs = [job.name for job in jobs.JOBS if job.due is jobs.every_minute]
    assert [r.status for r in results if r.job in minute_jobs] == ["ran"] * len(minute_jobs), results
    assert (status_of(request), status_of(ended)) == (S.expired, S.completed)


def _dead_run(job: str, due_at, started_ago: timedelta) -> JobRun:
    run = JobRun(job=job, due_at=due_at, holder="lost-host:1", started_at=utcnow() - started_ago, outcome="")
    db.session.add(run)
    db.session.commit()
    return run


def test_a_run_unfinished_past_the_timeout_is_marked_dead_and_its_job_runs_again(runner, factory, w):  # noqa: F811
    now = utcnow()
    yesterday = local_date(now) - timedelta(days=1)
    factory.make_booking(w.resource, w.member, local(yesterday, 9), status=S.completed)
    roll_up = next(job for job in jobs.JOBS if job.name == "roll_up_statistics")
    # Killed during last night's roll-up more than the timeout ago, and a minute job's run of long ago.
    nightly = _dead_run("roll_up_statistics", roll_up.due(now), jobs.RUN_TIMEOUT + timedelta(minutes=5))
    minute = _dead_run(
        "deliver_mail", jobs.every_minute(now - timedelta(hours=3)), jobs.RUN_TIMEOUT + timedelta(hours=2)
    )
    recent = _dead_run(
        "deliver_mail", jobs.every_minute(now - timedelta(minutes=2)), jobs.RUN_TIMEOUT - timedelta(minutes=10)
    )

    with runner.app.app_context():
        results = jobs.tick(now)
    db.session.rollback()

    assert next(r for r in results if r.job == "roll_up_statistics").status == "ran"
    assert db.session.get(RolledDay, yesterday) is not None
    nightly = db.session.get(JobRun, nightly.id)
    assert nightly.finished_at is not None and nightly.holder == jobs.holder()
    assert nightly.outcome.startswith("after a dead run of lost-host:1: ")
    minute = db.session.get(JobRun, minute.id)
    assert minute.finished_at is not None and minute.outcome.startswith(jobs.DEAD)
    assert db.session.get(JobRun, recent.id).finished_at is None  # perhaps still running
    unfinished = select(JobRun).where(JobRun.finished_at.is_(None), JobRun.id != recent.id)
    assert db.session.scalars(unfinished).all() == []

    # A run marked dead whose due moment comes round again (a manual tick as at that time) is taken over too.
    with runner.app.app_context():
        again = jobs.tick(minute.due_at)
    db.session.rollback()
    assert next(r for r in again if r.job == "deliver_mail").status == "ran"
    assert db.session.get(JobRun, minute.id).outcome.startswith("after a dead run of lost-host:1: ")
