"""The scheduled work of SPEC §6, driven through ``flask scheduler tick --now``: each job does its work once,
catches up after downtime, runs once however many processes race, and its notifications reach people in the
platform and by e-mail through an outbox that is written only when the transaction commits."""

import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from booking import jobs
from booking.extensions import db
from booking.models import Booking, JobRun, MailStatus, Notification, OutboxMail, RolledDay, UsageRollup
from booking.models.enums import BookingStatus, NotificationKind, OrgKind, Role
from booking.services import bookings as booking_service

from .factories import TZ, local
from .live import ROOT, free_port
from .pages import post_form, sign_in
from .smtp_sink import SMTPSink

S = BookingStatus
K = NotificationKind
DAY = date(2026, 12, 7)
T = local(DAY, 9)  # 09:00 local on a Monday


@pytest.fixture
def w(factory):
    """A provider with two resources (one requiring check-in) and an SME with two members."""
    org, admin, operator = factory.make_provider()
    sme = factory.make_org(kind=OrgKind.sme)
    return SimpleNamespace(
        org=org,
        admin=admin,
        operator=operator,
        sme=sme,
        member=factory.make_user(sme),
        colleague=factory.make_user(sme),
        resource=factory.make_resource(org, location="B1-101"),
        checked=factory.make_resource(org, check_in_required=True),
    )


def invoke(runner, *args: str):
    """Run a command in a context of the serving app, as ``flask`` would: its own session and connection."""
    with runner.app.app_context():
        return runner.invoke(args=list(args))


def tick(runner, now: datetime) -> str:
    result = invoke(runner, "scheduler", "tick", "--now", now.isoformat())
    assert result.exit_code == 0, result.output
    db.session.rollback()  # end the test's own snapshot: the next read sees what the tick committed
    return result.output


def notes(kind: NotificationKind | None = None, user=None, booking=None) -> list[Notification]:
    stmt = select(Notification).order_by(Notification.id)
    if kind is not None:
        stmt = stmt.where(Notification.kind == kind)
    if user is not None:
        stmt = stmt.where(Notification.user_id == user.id)
    if booking is not None:
        stmt = stmt.where(Notification.booking_id == booking.id)
    return list(db.session.scalars(stmt))


def outbox(**where) -> list[OutboxMail]:
    return list(db.session.scalars(select(OutboxMail).filter_by(**where).order_by(OutboxMail.id)))


def status_of(booking: Booking) -> BookingStatus:
    return db.session.get(Booking, booking.id).status


# Each job ------------------------------------------------------------------------------------------------------------


def test_an_undecided_request_expires_at_its_decision_deadline_and_is_told_once(runner, factory, w):
    far = factory.make_booking(w.resource, w.member, T + timedelta(days=5), status=S.pending, created_at=T)
    near = factory.make_booking(w.resource, w.member, T + timedelta(hours=3), status=S.pending, created_at=T)

    tick(runner, T + timedelta(hours=2, minutes=59))
    assert (status_of(near), status_of(far)) == (S.pending, S.pending)
    tick(runner, T + timedelta(hours=3))  # the start comes before 48 h after the request
    assert (status_of(near), status_of(far)) == (S.expired, S.pending)
    tick(runner, T + timedelta(hours=47, minutes=59))
    assert status_of(far) == S.pending
    output = tick(runner, T + timedelta(hours=48))
    assert status_of(far) == S.expired and "expired=1" in output
    tick(runner, T + timedelta(hours=49))

    assert [n.booking_id for n in notes(K.expired, w.member)] == [near.id, far.id]
    assert len(outbox(to=w.member.email)) == 2


def test_reminders_go_24h_and_1h_before_the_start_each_once(runner, factory, w):
    start = T + timedelta(days=2)
    booking = factory.make_booking(w.resource, w.member, start)

    for before in (
        timedelta(hours=25),
        timedelta(hours=24),
        timedelta(hours=23),
        timedelta(hours=2),
        timedelta(hours=1),
        timedelta(minutes=30),
        timedelta(minutes=1),
    ):
        tick(runner, start - before)
    tick(runner, start + timedelta(minutes=5))

    reminders = [n for n in notes(user=w.member, booking=booking) if n.kind in (K.reminder_24h, K.reminder_1h)]
    assert [(n.kind, n.created_at) for n in reminders] == [
        (K.reminder_24h, start - timedelta(hours=24)),
        (K.reminder_1h, start - timedelta(hours=1)),
    ]
    assert notes(K.reminder_24h, w.colleague) == []  # the requester is reminded, not the whole organization
    assert [m.subject for m in outbox(to=w.member.email)] == [n.title for n in reminders]


def test_a_reminder_missed_while_down_is_sent_late_but_not_one_overtaken_by_the_next(runner, factory, w):
    in_3h = factory.make_booking(w.resource, w.member, T + timedelta(hours=3))
    in_30min = factory.make_booking(w.resource, w.member, T + timedelta(minutes=30))
    started = factory.make_booking(w.resource, w.member, T - timedelta(minutes=10))
    pending = factory.make_booking(w.resource, w.member, T + timedelta(hours=2), status=S.pending, created_at=T)

    tick(runner, T)

    assert [n.kind for n in notes(booking=in_3h)] == [K.reminder_24h]
    assert [n.kind for n in notes(booking=in_30min)] == [K.reminder_1h]
    assert notes(booking=started) == [] and notes(booking=pending) == []


def test_no_reminder_repeats_what_a_later_approval_already_said(runner, factory, w):
    start = T + timedelta(hours=5)
    booking = factory.make_booking(w.resource, w.member, start, decided_at=start - timedelta(hours=6))

    tick(runner, start - timedelta(hours=4))
    tick(runner, start - timedelta(minutes=59))

    assert [n.kind for n in notes(booking=booking)] == [K.reminder_1h]


def test_finished_bookings_are_completed_or_marked_no_show(runner, factory, w):
    end = T + timedelta(hours=1)
    plain = factory.make_booking(w.resource, w.member, T)
    checked = factory.make_booking(w.checked, w.member, T)
    in_use = factory.make_booking(w.checked, w.colleague, T, status=S.in_use, checked_in_at=T)

    tick(runner, end - timedelta(minutes=1))
    assert [status_of(b) for b in (plain, checked, in_use)] == [S.approved, S.approved, S.in_use]
    tick(runner, end)
    assert [status_of(b) for b in (plain, checked, in_use)] == [S.completed, S.approved, S.in_use]
    tick(runner, end + timedelta(minutes=29))
    assert status_of(checked) == S.approved
    tick(runner, end + timedelta(minutes=30))
    assert status_of(checked) == S.no_show
    tick(runner, end + timedelta(hours=1, minutes=59))
    assert status_of(in_use) == S.in_use
    tick(runner, end + timedelta(hours=2))
    assert status_of(in_use) == S.completed
    assert db.session.get(Booking, in_use.id).checked_out_at == end  # its use counted to the booked end
    tick(runner, end + timedelta(hours=3))

    assert [n.booking_id for n in notes(K.no_show)] == [checked.id]
    actions = [h.action for h in db.session.get(Booking, checked.id).history]
    assert actions == ["request", "no_show"]


def test_calibration_warnings_30_7_and_1_days_ahead_each_once_to_the_owners_staff(runner, factory, w):
    expiry = date(2027, 1, 31)
    resource = factory.make_resource(w.org, kind="standard", certificate_no="CAL-1", certificate_valid_until=expiry)
    late = factory.make_resource(w.org, certificate_valid_until=date(2027, 1, 26))
    overtaken = factory.make_resource(w.org, certificate_valid_until=date(2027, 1, 2))

    for days_before in (31, 30, 29, 8, 7, 6, 2, 1, 0, -1):
        tick(runner, local(expiry - timedelta(days=days_before), 8, 30))

    def thresholds(resource, staff=w.admin):
        return [
            n.dedup_key.rsplit(":", 2)[1] for n in notes(K.calibration_warning, staff) if n.resource_id == resource.id
        ]

    assert thresholds(resource) == thresholds(resource, w.operator) == ["d30", "d7", "d1"]
    titles = {n.title for n in notes(K.calibration_warning, w.operator) if n.resource_id == resource.id}
    assert len(titles) == 1 and "2027-01-31" in titles.pop()
    # First seen 26 days ahead: the 30-day warning goes out late, once; 2 days ahead, the 7-day one only.
    assert thresholds(late) == ["d30", "d7", "d1"]
    assert thresholds(overtaken) == ["d7", "d1"]
    assert notes(K.calibration_warning, w.member) == []


def test_an_organization_is_told_once_when_it_becomes_suspended(runner, factory, w):
    starts = [T - timedelta(days=d) for d in (20, 10, 5)]
    for start in starts[:2]:
        factory.make_booking(w.resource, w.member, start, status=S.no_show)
    tick(runner, T)
    assert notes(K.no_show) == []

    factory.make_booking(w.resource, w.member, starts[2], status=S.no_show)
    tick(runner, T + timedelta(minutes=1))
    tick(runner, T + timedelta(minutes=2))
    # A 4th, recorded now but started before the 3rd: the suspension began earlier than first told, still one.
    factory.make_booking(w.resource, w.member, T - timedelta(days=7), status=S.no_show)
    tick(runner, T + timedelta(minutes=3))

    told = notes(K.no_show)
    assert sorted(n.user_id for n in told) == sorted([w.member.id, w.colleague.id])
    assert all(n.dedup_key.startswith(f"suspended:o{w.sme.id}:") for n in told)
    assert notes(K.no_show, w.admin) == []

    # Lifted when the oldest no-shows leave the 90-day window; a new third no-show suspends anew.
    tick(runner, starts[1] + timedelta(days=91))
    factory.make_booking(w.resource, w.member, starts[1] + timedelta(days=92), status=S.no_show)
    factory.make_booking(w.resource, w.member, starts[1] + timedelta(days=93), status=S.no_show)
    tick(runner, starts[1] + timedelta(days=94))
    assert len(notes(K.no_show, w.member)) == 2


def test_city_regulators_are_reminded_of_the_report_on_1_and_23_november_once_each(runner, factory):
    regulators = [
        factory.make_user(factory.make_org(kind=OrgKind.regulator, city=city), Role.city_regulator)
        for city in ("430200", "431000")
    ]
    province = factory.make_user(role=Role.province_reviewer)

    for day in (
        date(2026, 10, 31),
        date(2026, 11, 1),
        date(2026, 11, 2),
        date(2026, 11, 23),
        date(2026, 11, 24),
        date(2026, 12, 1),
        date(2027, 11, 1),
    ):
        tick(runner, local(day, 10))

    for regulator in regulators:
        assert [n.created_at for n in notes(K.report_reminder, regulator)] == [
            local(date(2026, 11, 1), 10),
            local(date(2026, 11, 23), 10),
            local(date(2027, 11, 1), 10),
        ]
    assert "株洲市" in notes(K.report_reminder, regulators[0])[0].body
    assert notes(K.report_reminder, province) == []


def test_a_report_reminder_missed_while_down_is_sent_at_the_next_run_before_the_deadline(runner, factory):
    regulator = factory.make_user(role=Role.city_regulator)
    tick(runner, local(date(2026, 11, 5), 10))
    tick(runner, local(date(2026, 11, 29), 10))
    assert [n.dedup_key.split(":")[1] for n in notes(K.report_reminder, regulator)] == ["2026-11-01", "2026-11-23"]


def test_the_nightly_roll_up_sums_the_closed_days_once_a_night(runner, factory, w):
    yesterday = datetime.now(UTC).astimezone(TZ).date() - timedelta(days=1)
    factory.make_booking(w.resource, w.member, local(yesterday, 9), status=S.completed)
    factory.make_booking(w.resource, w.member, local(yesterday - timedelta(days=2), 9), status=S.completed)
    night = local(yesterday + timedelta(days=1), 2, 5)
    assert "roll_up_statistics       ran     (due" in tick(runner, night)
    assert db.session.scalars(select(RolledDay.day).order_by(RolledDay.day)).all() == [
        yesterday - timedelta(days=n) for n in (2, 1, 0)
    ]
    assert db.session.scalar(select(func.count()).select_from(UsageRollup)) == 2
    assert "roll_up_statistics       skipped" in tick(runner, night + timedelta(minutes=30))


# Catching up, and exactly once -------------------------------------------------------------------------------------


def test_a_six_hour_gap_is_caught_up_in_one_tick(runner, factory, w):
    tick(runner, T - timedelta(hours=6))
    request = factory.make_booking(
        w.resource, w.member, T - timedelta(hours=5), status=S.pending, created_at=T - timedelta(days=1)
    )
    ended = factory.make_booking(w.resource, w.member, T - timedelta(hours=5))
    unreturned = factory.make_booking(w.checked, w.member, T - timedelta(hours=4), status=S.in_use)
    absent = factory.make_booking(w.checked, w.colleague, T - timedelta(hours=3))
    soon = factory.make_booking(w.resource, w.colleague, T + timedelta(minutes=20))

    output = tick(runner, T)

    assert [status_of(b) for b in (request, ended, unreturned, absent, soon)] == [
        S.expired,
        S.completed,
        S.completed,
        S.no_show,
        S.approved,
    ]
    assert [n.kind for n in notes(booking=soon)] == [K.reminder_1h]
    assert "expired=1" in output and "completed=2, no_show=1" in output


def run_ticks_in_processes(db_url: str, *nows: datetime) -> list[str]:
    env = dict(os.environ, BOOKING_DATABASE_URL=db_url, BOOKING_SECRET_KEY="jobs-test-secret")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "booking", "scheduler", "tick", "--now", now.isoformat()],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for now in nows
    ]
    outputs = [proc.communicate(timeout=120)[0] for proc in procs]
    for proc, output in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, output
    db.session.rollback()
    return outputs


@pytest.mark.parametrize("gap", [timedelta(0), timedelta(minutes=1)], ids=["same-minute", "next-minute"])
def test_two_ticks_racing_in_separate_processes_send_each_reminder_once(db_url, runner, factory, w, gap):
    for i in range(6):
        factory.make_booking(w.resource, w.member, T + timedelta(minutes=30 + 5 * i))
        factory.make_booking(w.checked, w.colleague, T + timedelta(hours=5 + i))
    ended = [factory.make_booking(w.checked, w.member, T - timedelta(hours=3 + i)) for i in range(4)]

    outputs = run_ticks_in_processes(db_url, T + timedelta(minutes=5), T + timedelta(minutes=5) + gap)

    assert len(notes(K.reminder_1h, w.member)) == 6 and len(notes(K.reminder_24h, w.colleague)) == 6, outputs
    assert all(status_of(b) == S.no_show for b in ended)
    for b in ended:
        assert [h.action for h in db.session.get(Booking, b.id).history] == ["request", "no_show"]
    assert len([n for n in notes(K.no_show, w.member) if n.booking_id is not None]) == 4
    assert len(outbox()) == len(notes()) == len({m.notification_id for m in outbox()})
    if not gap:  # one claim per job and due moment: one process ran each job, the other skipped it
        for job in jobs.JOBS:
            ran = [line for out in outputs for line in out.splitlines() if line.split()[:2] == [job.name, "ran"]]
            assert len(ran) == 1, outputs
    minute_jobs = [job for job in jobs.JOBS if job.due is jobs.every_minute]
    assert db.session.scalar(select(func.count(JobRun.id))) == len(jobs.JOBS) + (len(minute_jobs) if gap else 0)

    # The 4 no-shows suspend the SME, which both its members are told once. (The process that claimed
    # notify_suspensions may have looked before the other one had marked the no-shows: then the next tick tells.)
    tick(runner, T + timedelta(minutes=10))
    suspended = [n for n in notes(K.no_show) if n.dedup_key.startswith(f"suspended:o{w.sme.id}:")]
    assert sorted(n.user_id for n in suspended) == sorted([w.member.id, w.colleague.id])
    assert len(outbox()) == len(notes()) == 18


def test_tick_reads_a_time_without_offset_in_the_platform_time_zone_and_refuses_nonsense(runner):
    assert "tick at 2026-12-07T09:00:00+08:00" in tick(runner, datetime(2026, 12, 7, 9))
    result = invoke(runner, "scheduler", "tick", "--now", "next tuesday")
    assert result.exit_code == 2 and "ISO 8601" in result.output


def test_scheduler_run_ticks_in_the_foreground_until_stopped(app, db_url):
    env = dict(os.environ, BOOKING_DATABASE_URL=db_url, BOOKING_SECRET_KEY="jobs-test-secret")
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "booking", "scheduler", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    finished = select(func.count(JobRun.id)).where(JobRun.finished_at.is_not(None))
    deadline = time.monotonic() + 60
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            done = db.session.scalar(finished)
            db.session.rollback()
            if done >= len(jobs.JOBS):  # the tick at start-up, which catches up at once
                break
            time.sleep(0.2)
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0]
    assert done >= len(jobs.JOBS), output
    assert "scheduler running every minute (Asia/Shanghai)" in output


# Mail ---------------------------------------------------------------------------------------------------------------


def test_mail_is_queued_only_when_the_transaction_commits(app, factory, w):
    booking = factory.make_booking(w.resource, w.member, T + timedelta(days=3), status=S.pending, created_at=T)
    booking_service.approve_booking(w.operator, booking, "", T)
    db.session.flush()
    assert len(outbox()) == 1  # inside the transaction
    db.session.rollback()
    assert outbox() == [] and notes() == []

    booking_service.approve_booking(w.operator, db.session.get(Booking, booking.id), "", T)
    db.session.commit()
    [mail] = outbox()
    assert (mail.to, mail.status, mail.attempts, mail.ics_method) == (w.member.email, MailStatus.queued, 0, "REQUEST")
    assert "BEGIN:VEVENT" in mail.ics and f"booking-{booking.id}@" in mail.ics and "SEQUENCE:2" in mail.ics


def test_a_job_step_that_fails_leaves_neither_notification_nor_mail(runner, factory, w, monkeypatch):
    booking = factory.make_booking(w.resource, w.member, T, status=S.pending, created_at=T - timedelta(days=1))
    real_expire = booking_service.expire_booking

    def expire_then_fail(b, now):
        real_expire(b, now)
        raise RuntimeError("disk full")

    monkeypatch.setattr(booking_service, "expire_booking", expire_then_fail)
    assert "errors=1" in tick(runner, T + timedelta(minutes=1))
    assert status_of(booking) == S.pending and notes() == [] and outbox() == []

    monkeypatch.setattr(booking_service, "expire_booking", real_expire)
    tick(runner, T + timedelta(minutes=2))
    assert status_of(booking) == S.expired and len(outbox()) == 1


def test_without_a_mail_server_mail_stays_queued_and_the_admin_outbox_lists_it(app, runner, factory, w):
    factory.make_booking(w.resource, w.member, T, status=S.pending, created_at=T - timedelta(days=1))
    assert "queued=1, note=no mail server configured" in tick(runner, T + timedelta(minutes=1))
    [mail] = outbox()
    assert (mail.status, mail.attempts) == (MailStatus.queued, 0)

    admin = factory.make_user(role=Role.platform_admin)
    page = sign_in(app, admin).get("/admin/outbox?status=queued")
    assert page.status_code == 200 and mail.subject in page.get_data(as_text=True)
    assert "BOOKING_MAIL_SERVER" in page.get_data(as_text=True)
    assert sign_in(app, w.admin).get("/admin/outbox").status_code == 403


def test_a_failing_mail_server_leaves_the_mail_queued_and_retries_with_backoff(app, runner, factory, w):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())  # nothing listens there
    factory.make_booking(w.resource, w.member, T, status=S.pending, created_at=T - timedelta(days=1))

    output = tick(runner, T)
    [mail] = outbox()
    assert "retrying=1" in output
    assert (mail.status, mail.attempts, mail.next_attempt_at) == (MailStatus.queued, 1, T + timedelta(minutes=1))
    assert "Connection refused" in mail.last_error or "Errno" in mail.last_error

    tick(runner, T + timedelta(minutes=1))
    assert (outbox()[0].attempts, outbox()[0].next_attempt_at) == (2, T + timedelta(minutes=3))
    tick(runner, T + timedelta(minutes=2))  # not yet due again
    assert outbox()[0].attempts == 2


def test_mail_reaches_a_real_smtp_server_with_the_booking_as_calendar_attachment(app, runner, factory, w):
    booking = factory.make_booking(w.resource, w.member, T, status=S.pending, created_at=T - timedelta(days=1))
    with SMTPSink() as sink:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port, MAIL_SENDER="booking@example.test")
        output = tick(runner, T)
        tick(runner, T + timedelta(minutes=1))

    assert "sent=1" in output
    [mail] = outbox()
    assert (mail.status, mail.sent_at, mail.attempts) == (MailStatus.sent, T, 1)
    [(recipients, message)] = sink.messages
    assert recipients == [w.member.email] and message["To"] == w.member.email
    assert message["From"] == "booking@example.test" and message["Subject"] == mail.subject
    assert w.resource.name in message.get_body(("plain",)).get_content()
    [invite] = [part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"]
    assert invite.get_param("method") == "CANCEL"  # an expired request withdraws the event
    ics = invite.get_content()
    assert "METHOD:CANCEL" in ics and f"UID:booking-{booking.id}@" in ics and "STATUS:CANCELLED" in ics


def test_a_recipient_refused_for_good_is_marked_failed_and_an_admin_can_queue_it_again(app, runner, factory, w):
    refused = factory.make_user(w.sme, email="refused@example.test")
    factory.make_booking(w.resource, refused, T, status=S.pending, created_at=T - timedelta(days=1))
    with SMTPSink() as sink:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=sink.port)
        assert "failed=1" in tick(runner, T)
    [mail] = outbox()
    assert (mail.status, mail.attempts) == (MailStatus.failed, 1) and "550" in mail.last_error
    assert sink.messages == []

    admin = sign_in(app, factory.make_user(role=Role.platform_admin))
    page = admin.get("/admin/outbox?status=failed").get_data(as_text=True)
    assert mail.subject in page and "550" in page
    response = post_form(admin, "/admin/outbox?status=failed", f"/admin/outbox/{mail.id}/retry?status=failed", {})
    assert response.status_code == 302
    db.session.rollback()
    assert (outbox()[0].status, outbox()[0].attempts) == (MailStatus.queued, 0)
