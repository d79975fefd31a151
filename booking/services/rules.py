"""The rules for a new booking (SPEC §2.2), one small check each, run in the contract's order.

A check takes the request and returns a ``RuleViolation`` or ``None``; ``check_new_booking`` raises the first.
A new rule is one function and one line in ``RULES``. What the rules read of the database (a blackout in the way,
the organization's no-shows, the active bookings that overlap) comes in one statement, read by the first rule that
needs it, after the checks that need nothing but the request.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from flask_babel import gettext as _
from sqlalchemy import bindparam, exists, func, or_, select, true

from ..extensions import db
from ..models import Blackout, Booking, Organization, Resource
from ..models.enums import ACTIVE_STATUSES, UNAVAILABLE_RESOURCE_STATUSES, BookingStatus, ResourceKind
from .clock import local_date
from .errors import RuleViolation, ValidationFailed
from .intervals import max_overlap
from .schedule import is_local_midnight, on_grid, opening_intervals

NO_SHOW_WINDOW = timedelta(days=90)
NO_SHOW_LIMIT = 3


@dataclass(slots=True)
class Facts:
    """What the rules read of the database for one request."""

    blackout: bool
    no_shows: int
    spans: list[tuple[datetime, datetime]]


@dataclass
class BookingRequest:
    resource: Resource
    organization: Organization
    start: datetime
    end: datetime
    now: datetime
    # A booking being moved or re-checked is left out of the capacity count.
    exclude_booking_id: int | None = None

    @cached_property
    def facts(self) -> Facts:
        """Read once, by the first rule that needs the database; the resource is locked before the rules run
        (``locks.lock_resource``), so the overlapping bookings cannot change after this read."""
        return read_facts(self)


def _violation(code: str, message: str, field: str | None = None, status: int = 422) -> RuleViolation:
    return RuleViolation(message, code=code, status=status, fields={field: message} if field else None)


def check_span(req: BookingRequest):
    if req.end <= req.start:
        return ValidationFailed(_("The end must be after the start."), fields={"end": _("must be after start")})


def _resource_status(status) -> str:
    from ..labels import label

    return label("resource_status", status)


def check_resource_available(req: BookingRequest):
    if req.resource.status in UNAVAILABLE_RESOURCE_STATUSES:
        return _violation(
            "resource_unavailable",
            _("This resource is not available for booking (%(status)s).", status=_resource_status(req.resource.status)),
            "resource_id",
        )


def check_aligned(req: BookingRequest):
    r = req.resource
    if r.kind == ResourceKind.dataset:
        if not (is_local_midnight(req.start) and is_local_midnight(req.end)):
            msg = _("Dataset access is booked in whole days: start and end at local midnight.")
            field = "start" if not is_local_midnight(req.start) else "end"
            return _violation("not_aligned", msg, field)
        return None
    for field, value in (("start", req.start), ("end", req.end)):
        if not on_grid(value, r.slot_minutes):
            return _violation(
                "not_aligned", _("Times must be on the %(minutes)d-minute grid.", minutes=r.slot_minutes), field
            )


def check_duration(req: BookingRequest):
    r = req.resource
    if r.kind == ResourceKind.dataset:
        return None
    minutes = (req.end - req.start).total_seconds() / 60
    if minutes < r.min_minutes:
        return _violation("too_short", _("A booking lasts at least %(minutes)d minutes.", minutes=r.min_minutes), "end")
    if minutes > r.max_minutes:
        return _violation("too_long", _("A booking lasts at most %(minutes)d minutes.", minutes=r.max_minutes), "end")


def check_notice(req: BookingRequest):
    r = req.resource
    if req.start < req.now + timedelta(hours=r.lead_hours):
        return _violation("too_soon", _("Book at least %(hours)d hours ahead.", hours=r.lead_hours), "start")
    horizon = req.now + timedelta(days=r.horizon_days)
    if req.start > horizon:
        return _violation("too_far", _("Book at most %(days)d days ahead.", days=r.horizon_days), "start")
    # Dataset access has no duration limit, so its end is held to the horizon too (a whole day past it, so that
    # the last bookable day can be booked in full).
    if r.kind == ResourceKind.dataset and req.end > horizon + timedelta(days=1):
        return _violation("too_far", _("Book at most %(days)d days ahead.", days=r.horizon_days), "end")


def check_opening_hours(req: BookingRequest):
    if req.resource.kind == ResourceKind.dataset:
        return None
    for o_start, o_end in opening_intervals(req.resource, req.start, req.end):
        if o_start <= req.start and req.end <= o_end:
            return None
    return _violation("outside_opening_hours", _("The booking is not inside the opening hours."), "start")


def check_blackouts(req: BookingRequest):
    if req.facts.blackout:
        return _violation("blackout", _("The resource is closed during that time."), "start")


def check_calibration(req: BookingRequest):
    r = req.resource
    if r.kind not in (ResourceKind.instrument, ResourceKind.standard) or r.certificate_valid_until is None:
        return None
    last_day = local_date(req.end - timedelta(microseconds=1))
    if r.certificate_valid_until < last_day:
        return _violation(
            "calibration_expired",
            _("The calibration certificate expires on %(day)s.", day=r.certificate_valid_until.isoformat()),
            "end",
        )


def no_show_counted():
    """The bookings that count as no-shows: a no_show booking whatever wrote it, and the requesters' cancellations
    less than 2 h ahead (flagged when cancelled)."""
    return or_(Booking.status == BookingStatus.no_show, Booking.counts_as_no_show.is_(True))


_NO_SHOWS = select(func.count(Booking.id)).where(
    Booking.organization_id == bindparam("organization_id"),
    no_show_counted(),
    Booking.start >= bindparam("since"),
    Booking.start <= bindparam("now"),
)


def no_show_count(organization_id: int, now: datetime) -> int:
    params = {"organization_id": organization_id, "since": now - NO_SHOW_WINDOW, "now": now}
    return db.session.scalar(_NO_SHOWS, params) or 0


def is_suspended(organization_id: int, now: datetime) -> bool:
    """Suspended while 3 no-shows are among the bookings that started in the last 90 days (SPEC §2.1)."""
    return no_show_count(organization_id, now) >= NO_SHOW_LIMIT


def check_suspension(req: BookingRequest):
    if req.facts.no_shows >= NO_SHOW_LIMIT:  # as ``is_suspended`` counts
        return _violation(
            "suspended",
            _("Your organization is suspended from new bookings after repeated no-shows."),
            None,
            status=403,
        )


def check_capacity(req: BookingRequest):
    """Must run with the resource row locked (``locks.lock_resource``) so that the count cannot go stale."""
    r = req.resource
    if r.kind == ResourceKind.dataset:
        return None
    if max_overlap(req.facts.spans, req.start, req.end) + 1 > r.capacity:
        return _violation("conflict", _("That time is already booked."), "start", status=409)


# The facts of a request in one statement, built once (building one and deriving its cache key cost about as much
# as running it): a one-row head with the blackout and the no-shows, joined to the overlapping active bookings (none
# gives the head alone, with empty spans).
_ACTIVE_SPANS = select(Booking.start, Booking.end).where(
    Booking.resource_id == bindparam("resource_id"),
    Booking.status.in_(ACTIVE_STATUSES),
    Booking.start < bindparam("end"),
    Booking.end > bindparam("start"),
)


def _facts_statement(spans):
    blackout = exists().where(
        Blackout.resource_id == bindparam("resource_id"),
        Blackout.start < bindparam("end"),
        Blackout.end > bindparam("start"),
    )
    head = select(blackout.label("blackout"), _NO_SHOWS.scalar_subquery().label("no_shows")).subquery()
    spans = spans.subquery()
    return select(head.c.blackout, head.c.no_shows, spans.c.start, spans.c.end).select_from(
        head.outerjoin(spans, true())
    )


_FACTS = _facts_statement(_ACTIVE_SPANS)
_FACTS_EXCLUDING = _facts_statement(_ACTIVE_SPANS.where(Booking.id != bindparam("exclude_id")))


def read_facts(req: BookingRequest) -> Facts:
    params = {
        "resource_id": req.resource.id,
        "start": req.start,
        "end": req.end,
        "organization_id": req.organization.id,
        "since": req.now - NO_SHOW_WINDOW,
        "now": req.now,
    }
    stmt = _FACTS
    if req.exclude_booking_id is not None:
        stmt, params["exclude_id"] = _FACTS_EXCLUDING, req.exclude_booking_id
    rows = db.session.execute(stmt, params).all()
    blackout, no_shows = rows[0][0], rows[0][1]
    return Facts(bool(blackout), no_shows or 0, [(start, end) for _b, _n, start, end in rows if start is not None])


RULES = [
    check_span,
    check_resource_available,
    check_aligned,
    check_duration,
    check_notice,
    check_opening_hours,
    check_blackouts,
    check_calibration,
    check_suspension,
    check_capacity,
]


def check_new_booking(req: BookingRequest) -> None:
    for rule in RULES:
        error = rule(req)
        if error is not None:
            raise error
