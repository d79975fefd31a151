"""What the scheduler does to one booking, resource, organization or date, and what it tells whom (SPEC §2.1, §6).

Every rule here is a function of the thing and ``now``, never of the minute the scheduler happens to run at, so a
job that wakes late still finds everything overdue. Each notice goes through ``notify`` with a key naming the event,
so it reaches each person once however often, or however concurrently, the jobs run. ``booking.jobs`` picks the
candidates and runs each in a transaction of its own.
"""

from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import or_, select

from ..extensions import db
from ..labels import city_name
from ..models import Booking, Notification, Organization, Resource, User
from ..models.enums import BookingStatus, NotificationKind, ResourceKind, ResourceStatus, Role
from ..models.report import report_statuses
from . import bookings as booking_service
from .clock import to_local
from .notifications import notify, provider_staff
from .reports import due_date
from .rules import NO_SHOW_LIMIT, NO_SHOW_WINDOW, is_suspended, no_show_counted

S = BookingStatus

# Booking reminders -------------------------------------------------------------------------------------------------

REMINDERS = (
    (NotificationKind.reminder_1h, timedelta(hours=1)),
    (NotificationKind.reminder_24h, timedelta(hours=24)),
)
REMINDER_HORIZON = max(lead for _kind, lead in REMINDERS)


def due_reminder(booking: Booking, now: datetime) -> NotificationKind | None:
    """The reminder an approved booking is due now: the nearest of 1 h and 24 h before the start whose moment has
    passed, while the booking has not started. A reminder whose moment passed while the scheduler was down is still
    sent, once; one overtaken by the next is not (no 24 h reminder less than 1 h before the start). Nor is a
    reminder whose moment had already passed when the booking was approved: the approval notice came later and
    said the same."""
    if booking.status != S.approved or now >= booking.start:
        return None
    for kind, lead in REMINDERS:
        moment = booking.start - lead
        if now >= moment:
            approved_late = booking.decided_at is not None and booking.decided_at > moment
            return None if approved_late else kind
    return None


def send_booking_reminder(booking: Booking, kind: NotificationKind, now: datetime) -> int:
    resource = booking.resource
    start = to_local(booking.start)

    def render():
        if kind == NotificationKind.reminder_1h:
            title = _("Starting soon: your booking at %(time)s", time=f"{start:%H:%M}")
        else:
            title = _("Reminder: your booking on %(day)s", day=f"{start:%Y-%m-%d %H:%M}")
        where = f" · {resource.location}" if resource.location else ""
        return title, f"{resource.name} · {booking_service._when(booking)}{where}"

    return notify(
        [booking.requester],
        kind,
        f"{kind.value}:b{booking.id}",
        render,
        now,
        booking_id=booking.id,
        resource_id=booking.resource_id,
    )


# Transitions after the decision deadline and after the end ---------------------------------------------------------


def undecided_condition(now: datetime):
    """Requests whose decision deadline (48 h after the request or the start, whichever is first) has passed."""
    return (Booking.status == S.pending) & or_(
        Booking.start <= now, Booking.created_at <= now - booking_service.DECISION_WINDOW
    )


def finished_condition(now: datetime):
    """Approved and in-use bookings whose end has passed: a superset of those ``overdue_transition`` closes."""
    return Booking.status.in_((S.approved, S.in_use)) & (Booking.end <= now)


def overdue_transition(booking: Booking, now: datetime):
    """The scheduler's transition due for ``booking`` now (SPEC §2.1), or ``None``: expire a request past its
    decision deadline; complete an approved booking after its end when check-in is not required; mark a no-show
    30 min after the end when check-in is required and none happened; complete an in-use booking 2 h after its
    end."""
    if booking.status == S.pending and now >= booking_service.decision_deadline(booking):
        return booking_service.expire_booking
    if booking.status == S.approved:
        if not booking.resource.check_in_required and now >= booking.end:
            return booking_service.complete_booking
        if booking.resource.check_in_required and now >= booking.end + booking_service.NO_SHOW_GRACE:
            return booking_service.mark_no_show
    if booking.status == S.in_use and now >= booking.end + booking_service.AUTO_CHECKOUT_AFTER:
        return booking_service.complete_booking
    return None


# Calibration -------------------------------------------------------------------------------------------------------

CALIBRATION_WARNING_DAYS = (1, 7, 30)


def calibration_candidates_condition(today: date):
    return (
        Resource.kind.in_((ResourceKind.instrument, ResourceKind.standard)),
        Resource.status != ResourceStatus.retired,
        Resource.certificate_valid_until.is_not(None),
        Resource.certificate_valid_until >= today,
        Resource.certificate_valid_until <= today + timedelta(days=max(CALIBRATION_WARNING_DAYS)),
    )


def calibration_warning_due(valid_until: date | None, today: date) -> int | None:
    """The warning due for a certificate valid until ``valid_until``: 30, 7 or 1 days ahead — the nearest whose
    day has come while the certificate is still valid. One missed during downtime is sent late; one overtaken by
    a nearer is not."""
    if valid_until is None:
        return None
    days_left = (valid_until - today).days
    if days_left < 0:
        return None
    return next((days for days in CALIBRATION_WARNING_DAYS if days_left <= days), None)


def send_calibration_warning(resource: Resource, days: int, now: datetime) -> int:
    """To the owner's org_admins and operators, once per certificate date and threshold: a renewed certificate
    (a new date) is warned about afresh."""
    valid_until = resource.certificate_valid_until

    def render():
        title = _("Calibration certificate expires on %(day)s", day=valid_until.isoformat())
        certificate = f" ({resource.certificate_no})" if resource.certificate_no else ""
        return title, _(
            "%(resource)s%(certificate)s: bookings that end after %(day)s are refused until a new "
            "certificate is recorded.",
            resource=resource.name,
            certificate=certificate,
            day=valid_until.isoformat(),
        )

    key = f"calibration_warning:r{resource.id}:{valid_until.isoformat()}:d{days}"
    return notify(
        provider_staff(resource.organization_id),
        NotificationKind.calibration_warning,
        key,
        render,
        now,
        resource_id=resource.id,
    )


# Suspensions -------------------------------------------------------------------------------------------------------


def no_show_starts(organization_id: int, now: datetime) -> list[datetime]:
    """The starts of the bookings that count as no-shows for ``rules.is_suspended``, up to ``now``."""
    stmt = (
        select(Booking.start)
        .where(Booking.organization_id == organization_id, no_show_counted(), Booking.start <= now)
        .order_by(Booking.start)
    )
    return list(db.session.scalars(stmt))


def suspension_period(organization_id: int, now: datetime) -> tuple[datetime, datetime] | None:
    """The suspension that ``now`` falls in, as (began, lasts until), or ``None``. ``NO_SHOW_LIMIT`` no-shows
    starting within ``NO_SHOW_WINDOW`` suspend from the last one's start until the first one's start plus the
    window; overlapping spans make one suspension, and its beginning names it."""
    if not is_suspended(organization_id, now):
        return None
    starts = no_show_starts(organization_id, now)
    period = None
    for i in range(NO_SHOW_LIMIT - 1, len(starts)):
        began, until = starts[i], starts[i - NO_SHOW_LIMIT + 1] + NO_SHOW_WINDOW
        if began > until:
            continue
        if period is not None and began <= period[1]:
            period = (period[0], max(period[1], until))
        else:
            period = (began, until)
    return period if period is not None and now <= period[1] else None


def notify_suspension(organization_id: int, now: datetime) -> int:
    """Tell every active user of a suspended organization, once per suspension. The notification kinds of SPEC §6
    have none of their own for this, and a suspension is the consequence of no-shows: the kind is ``no_show``.

    A suspension's beginning can move earlier after it was first told: a no-show is recorded 30 min after its
    booking's *end*, so a long booking that started first may be recorded after a short one that started later. The
    key alone (which names the beginning) could then tell twice; so the organization's row is locked, serialising
    the runners that decide about it, and no notice goes out if one was already sent since the suspension began
    (suspensions only ever grow and merge, so such a notice belongs to this one)."""
    db.session.execute(select(Organization.id).where(Organization.id == organization_id).with_for_update())
    period = suspension_period(organization_id, now)
    if period is None:
        return 0
    began, until = period
    members = select(User.id).where(User.organization_id == organization_id)
    key_prefix = f"suspended:o{organization_id}:"
    told = select(Notification.id).where(
        Notification.user_id.in_(members),
        Notification.kind == NotificationKind.no_show,
        Notification.dedup_key.startswith(key_prefix, autoescape=True),
        Notification.created_at >= began,
    )
    if db.session.scalar(told.limit(1)) is not None:
        return 0
    users = db.session.scalars(
        select(User).where(User.organization_id == organization_id, User.is_active_user.is_(True))
    )

    def render():
        return (
            _("Your organization is suspended from new bookings"),
            _(
                "After %(count)d no-shows within %(days)d days, your organization cannot request new bookings "
                "until %(until)s.",
                count=NO_SHOW_LIMIT,
                days=NO_SHOW_WINDOW.days,
                until=f"{to_local(until):%Y-%m-%d %H:%M}",
            ),
        )

    return notify(list(users), NotificationKind.no_show, f"{key_prefix}{began:%Y%m%dT%H%M%S}", render, now)


# Annual work report ------------------------------------------------------------------------------------------------

REPORT_REMINDER_DAYS = ((11, 1), (11, 23))


def report_reminder_due(today: date) -> date | None:
    """The latest of 1 and 23 November that has come, while the year's report is not yet due (30 November)."""
    if today > due_date(today.year):
        return None
    passed = [date(today.year, *day) for day in REPORT_REMINDER_DAYS if date(today.year, *day) <= today]
    return passed[-1] if passed else None


def send_report_reminders(reminder_day: date, now: datetime) -> int:
    """Remind every active city regulator, once per reminder date, that their 市州's annual work report is due on
    30 November (SPEC §6) — except those whose 市州 has already submitted that year's report; a draft still counts
    as not submitted."""
    due = due_date(reminder_day.year)
    submitted = {city for city, status in report_statuses(due.year).items() if status == "submitted"}
    regulators = list(
        db.session.scalars(select(User).where(User.role == Role.city_regulator, User.is_active_user.is_(True)))
    )
    sent = 0
    for user in regulators:
        city = user.organization.city
        if city in submitted:
            continue

        def render(city=city):
            return (
                _("Reminder: the annual work report is due on %(day)s", day=due.isoformat()),
                _(
                    "The %(year)d annual work report of %(city)s is due on %(day)s.",
                    year=due.year,
                    city=city_name(city),
                    day=due.isoformat(),
                ),
            )

        sent += notify(
            [user], NotificationKind.report_reminder, f"report_reminder:{reminder_day.isoformat()}", render, now
        )
    return sent
