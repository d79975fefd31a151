"""The scheduled work of SPEC §6: plain functions ``job(now) -> counts`` over the services, and ``tick(now)``,
which runs each job that is due. ``flask --app booking scheduler run`` calls ``tick`` every minute;
``flask --app booking scheduler tick --now …`` calls it once.

Catching up. No job looks for "the bookings that start in exactly 24 h": each processes everything overdue as of
``now`` (requests past their decision deadline, reminders whose moment has passed before a start still ahead,
bookings past their end, certificates inside a warning window, …; the rules are in
``booking.services.scheduled``). A scheduler that was down for six hours does all of it at its first tick.

Exactly once, with several processes (any number of web workers, an operator's manual ``tick``, a second scheduler
started by mistake), in two layers:

1. **Effects are idempotent in the database.** A transition locks its booking row (``SELECT … FOR UPDATE`` on
   PostgreSQL; on SQLite every job runs under ``BEGIN IMMEDIATE``, see ``booking.database``), re-reads its state
   and only then changes it, so two runners cannot expire or complete the same booking twice (a suspension notice
   likewise locks its organization's row, see ``scheduled.notify_suspension``). Every notification
   has a unique ``dedup_key`` naming its event and person (``reminder_24h:b42:u7``), inserted with
   ``INSERT … ON CONFLICT DO NOTHING … RETURNING``; only a row that was actually inserted queues an e-mail, in the
   same transaction, and ``outbox_mail.notification_id`` is unique too. This layer alone makes the outcome right
   however many runners race, which is what the concurrency tests check.
2. **Each job runs once per due moment.** ``job_runs(job, due_at)`` is unique; a runner claims a job for its due
   moment (the minute for minute jobs, the day's hour for daily ones) by inserting that row with ``ON CONFLICT DO
   NOTHING`` and committing, and runs the job only if its insert made the row. The others skip it, so racing
   runners do not repeat the work. A claim holds no lock while the job runs: if the claiming process dies, the
   next due moment's runner catches up, because every job processes all that is overdue. A run still unfinished
   ``RUN_TIMEOUT`` after it started is dead (its process was killed or lost its database): every tick marks such
   runs finished with an outcome beginning ``dead:``, and the next claim of a dead run's due moment takes the row
   over and runs the job again (for a daily job, the same day rather than the next). The rows are also the
   scheduler's log (who ran what, when, with what outcome) and are pruned after a week.

A lease row per job (an expiry renewed under a row lock) was the alternative; it adds a clock to tune, a lock held
for the job's length, and a stuck-lease failure mode, and still needs layer 1 for a runner whose lease expired
mid-job. Mail leaves through the outbox after the commit (``booking.services.mail``).
"""

import logging
import os
import socket
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import DBAPIError

from . import database
from .extensions import db
from .models import Booking, JobRun, Resource
from .models.base import utcnow
from .models.enums import BookingStatus
from .services import idempotency, mail, rollups, scheduled
from .services.clock import local_date, platform_tz
from .services.locks import lock_booking
from .services.rules import NO_SHOW_LIMIT, NO_SHOW_WINDOW, no_show_counted
from .sqlfunctions import insert_for

log = logging.getLogger(__name__)

RUN_HISTORY = timedelta(days=7)
# Longer than any job takes (the nightly roll-up of a national data set takes minutes).
RUN_TIMEOUT = timedelta(hours=1)
DEAD = "dead: "


# Running one item per transaction ----------------------------------------------------------------------------------


def _each(ids: Iterable[int], step: Callable[[int], str | None]) -> Counter:
    """Run ``step`` for each id in a transaction of its own, so one failure costs one item and locks are held
    briefly. ``step`` returns what it did (a counter key) or ``None``."""
    done: Counter = Counter()
    for item_id in ids:
        try:
            outcome = step(item_id)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("scheduled step failed for %s", item_id)
            outcome = "errors"
        if outcome:
            done[outcome] += 1
    return done


def _ids(stmt) -> list[int]:
    ids = list(db.session.scalars(stmt))
    db.session.commit()
    return ids


# The jobs ----------------------------------------------------------------------------------------------------------


def _apply_overdue_transition(now: datetime) -> Callable[[int], str | None]:
    def step(booking_id: int) -> str | None:
        booking = lock_booking(booking_id)
        transition = scheduled.overdue_transition(booking, now) if booking is not None else None
        if transition is None:
            return None
        transition(booking, now)
        return booking.status.value

    return step


def expire_requests(now: datetime) -> dict:
    """Expire every request whose decision deadline has passed (SPEC §2.1)."""
    stmt = select(Booking.id).where(scheduled.undecided_condition(now)).order_by(Booking.id)
    return dict(_each(_ids(stmt), _apply_overdue_transition(now)))


def close_finished_bookings(now: datetime) -> dict:
    """Complete approved bookings after their end (check-in not required), mark no-shows 30 min after the end
    (check-in required, none happened), complete in-use bookings 2 h after their end (SPEC §2.1)."""
    stmt = select(Booking.id).where(scheduled.finished_condition(now)).order_by(Booking.id)
    return dict(_each(_ids(stmt), _apply_overdue_transition(now)))


def send_reminders(now: datetime) -> dict:
    """Remind requesters 24 h and 1 h before the start of an approved booking, each once."""
    stmt = (
        select(Booking.id)
        .where(
            Booking.status == BookingStatus.approved,
            Booking.start > now,
            Booking.start <= now + scheduled.REMINDER_HORIZON,
        )
        .order_by(Booking.start)
    )

    def step(booking_id: int) -> str | None:
        booking = lock_booking(booking_id)
        kind = scheduled.due_reminder(booking, now) if booking is not None else None
        if kind is None:
            return None
        return kind.value if scheduled.send_booking_reminder(booking, kind, now) else None

    return dict(_each(_ids(stmt), step))


def notify_suspensions(now: datetime) -> dict:
    """Tell an organization's users once when it becomes suspended after no-shows (rule: ``rules.is_suspended``)."""
    stmt = (
        select(Booking.organization_id)
        .where(no_show_counted(), Booking.start >= now - NO_SHOW_WINDOW, Booking.start <= now)
        .group_by(Booking.organization_id)
        .having(func.count(Booking.id) >= NO_SHOW_LIMIT)
    )

    def step(organization_id: int) -> str | None:
        return "notified" if scheduled.notify_suspension(organization_id, now) else None

    return dict(_each(_ids(stmt), step))


def warn_calibration(now: datetime) -> dict:
    """Warn a resource's org_admins and operators 30, 7 and 1 days before its certificate expires, each once."""
    today = local_date(now)
    stmt = select(Resource.id).where(*scheduled.calibration_candidates_condition(today)).order_by(Resource.id)

    def step(resource_id: int) -> str | None:
        resource = db.session.get(Resource, resource_id)
        days = scheduled.calibration_warning_due(resource.certificate_valid_until, today)
        if days is None:
            return None
        return f"warned_{days}d" if scheduled.send_calibration_warning(resource, days, now) else None

    return dict(_each(_ids(stmt), step))


def remind_city_regulators(now: datetime) -> dict:
    """On 1 and 23 November (or at the first run after, until the report is due on 30 November) remind the city
    regulators of their 市州's annual work report."""
    day = scheduled.report_reminder_due(local_date(now))
    if day is None:
        db.session.rollback()
        return {}
    sent = scheduled.send_report_reminders(day, now)
    db.session.commit()
    return {"reminded": sent} if sent else {}


def roll_up_statistics(now: datetime) -> dict:
    """Roll up the booking sums of every closed day not yet rolled up and re-sum the rows later changes made stale
    (``booking.services.rollups``), each day and row in its own transaction."""
    return rollups.roll_up(local_date(now) - timedelta(days=1), now)


def purge_idempotency_keys(now: datetime) -> dict:
    """Delete the Idempotency-Keys of booking requests older than their 24 hours (``services.idempotency``)."""
    purged = idempotency.purge_expired(now)
    db.session.commit()
    return {"purged": purged} if purged else {}


def deliver_mail(now: datetime) -> dict:
    """Send the outbox's due mail (``booking.services.mail``)."""
    return mail.deliver_mail(now)


# When each job is due ----------------------------------------------------------------------------------------------


def every_minute(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(second=0, microsecond=0)


def daily_at(hour: int) -> Callable[[datetime], datetime]:
    """The latest local ``hour``:00 at or before ``now``: a daily job missed at its hour runs at the next tick."""

    def due(now: datetime) -> datetime:
        local = now.astimezone(platform_tz())
        moment = local.replace(hour=hour, minute=0, second=0, microsecond=0)
        if moment > local:
            moment -= timedelta(days=1)
        return moment.astimezone(UTC)

    return due


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[datetime], dict]
    due: Callable[[datetime], datetime]


# In this order: no-shows are marked before suspensions are looked at, and mail goes last so that what this tick
# queued leaves in this tick. The order holds within one process; when two processes split a minute's jobs, a job may
# run before the other process has done the work it builds on, and then sees it a minute later (every job catches up).
JOBS = (
    Job("expire_requests", expire_requests, every_minute),
    Job("close_finished_bookings", close_finished_bookings, every_minute),
    Job("notify_suspensions", notify_suspensions, every_minute),
    Job("send_reminders", send_reminders, every_minute),
    Job("warn_calibration", warn_calibration, daily_at(8)),
    Job("remind_city_regulators", remind_city_regulators, daily_at(9)),
    Job("roll_up_statistics", roll_up_statistics, daily_at(2)),
    Job("purge_idempotency_keys", purge_idempotency_keys, daily_at(3)),
    Job("deliver_mail", deliver_mail, every_minute),
)


# Claims and the tick -----------------------------------------------------------------------------------------------


def holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def _unfinished_too_long(started_before: datetime):
    return and_(JobRun.finished_at.is_(None), JobRun.started_at < started_before)


def claim(job: str, due_at: datetime) -> int | None:
    """Claim ``job`` for ``due_at``: the id of its ``job_runs`` row — a new one, or a dead run's taken over — or
    ``None`` if another runner has it."""
    insert = insert_for(db.session.get_bind())
    started = utcnow()
    stmt = insert(JobRun).values(job=job, due_at=due_at, holder=holder(), started_at=started, outcome="")
    stmt = stmt.on_conflict_do_update(
        index_elements=["job", "due_at"],
        set_=dict(
            holder=stmt.excluded.holder,
            started_at=started,
            finished_at=None,
            outcome=func.substr("after a dead run of " + JobRun.holder + ": ", 1, 500),
        ),
        where=or_(JobRun.outcome.startswith(DEAD), _unfinished_too_long(started - RUN_TIMEOUT)),
    ).returning(JobRun.id)
    run_id = db.session.scalar(stmt)
    db.session.commit()
    return run_id


def _claim_on_a_live_connection(job: str, due_at: datetime) -> int | None:
    """``claim``, once more if the first attempt found its connection gone (the server or a proxy dropped it
    between ticks): the pool has discarded it and the second attempt connects anew."""
    try:
        return claim(job, due_at)
    except DBAPIError as exc:
        db.session.rollback()
        if not exc.connection_invalidated:
            raise
        log.warning("claim of %s lost its database connection; claiming again", job)
        return claim(job, due_at)


def _finish(run_id: int, outcome: str) -> None:
    db.session.execute(
        update(JobRun)
        .where(JobRun.id == run_id)
        .values(finished_at=utcnow(), outcome=func.substr(JobRun.outcome + outcome, 1, 2000))
    )
    db.session.commit()


def mark_dead_runs() -> int:
    """Mark every run unfinished ``RUN_TIMEOUT`` after it started as dead; returns how many."""
    now = utcnow()
    dead = db.session.execute(
        update(JobRun)
        .where(_unfinished_too_long(now - RUN_TIMEOUT))
        .values(
            finished_at=now,
            outcome=func.substr(
                DEAD + "unfinished " + str(RUN_TIMEOUT) + " after it started; " + JobRun.outcome, 1, 2000
            ),
        )
    ).rowcount
    db.session.commit()
    if dead:
        log.warning("%d scheduled job runs marked dead after %s unfinished", dead, RUN_TIMEOUT)
    return dead


def _prune(job: str, now: datetime) -> None:
    db.session.execute(delete(JobRun).where(JobRun.job == job, JobRun.due_at < now - RUN_HISTORY))
    db.session.commit()


def describe(counts: dict) -> str:
    return ", ".join(f"{key}={value}" for key, value in counts.items()) or "nothing to do"


@dataclass(frozen=True)
class JobResult:
    job: str
    due_at: datetime
    status: str  # ran | skipped | error
    outcome: str


def _failure(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


def _run(job: Job, due_at: datetime, now: datetime) -> JobResult:
    run_id = _claim_on_a_live_connection(job.name, due_at)
    if run_id is None:
        return JobResult(job.name, due_at, "skipped", "already claimed by another runner")
    try:
        outcome, status = describe(job.run(now)), "ran"
    except Exception as exc:
        db.session.rollback()
        log.exception("job %s failed", job.name)
        outcome, status = _failure(exc), "error"
    _finish(run_id, outcome)
    _prune(job.name, now)
    return JobResult(job.name, due_at, status, outcome)


def tick(now: datetime, jobs: Iterable[Job] = JOBS) -> list[JobResult]:
    """Run every job that is due as at ``now`` and that no other runner has claimed for its due moment, then mark
    the runs that died. A job whose claim or bookkeeping fails (the database went away) costs that job only."""
    token = database.write_intent.set(True)
    try:
        results = []
        for job in jobs:
            due_at = job.due(now)
            try:
                results.append(_run(job, due_at, now))
            except Exception as exc:
                db.session.rollback()
                log.exception("job %s could not be run", job.name)
                results.append(JobResult(job.name, due_at, "error", _failure(exc)))
        try:
            mark_dead_runs()
        except Exception:
            db.session.rollback()
            log.exception("marking dead job runs failed")
        return results
    finally:
        database.write_intent.reset(token)
