"""Calendar feeds (SPEC §4): a private feed per user and a public busy feed per resource."""

from datetime import timedelta

from flask import Blueprint, Response, abort, url_for
from icalendar import Calendar, Event
from sqlalchemy import or_, select

from .extensions import db
from .models import Blackout, Booking, Resource
from .models.enums import ACTIVE_STATUSES, BookingStatus
from .services.accounts import user_for_calendar_token
from .services.clock import now_utc, platform_tz
from .services.policy import PROVIDER_STAFF_ROLES

bp = Blueprint("calendar", __name__, url_prefix="/calendar")

ICS_STATUS = {
    BookingStatus.pending: "TENTATIVE",
    BookingStatus.approved: "CONFIRMED",
    BookingStatus.in_use: "CONFIRMED",
    BookingStatus.completed: "CONFIRMED",
    BookingStatus.no_show: "CONFIRMED",
    BookingStatus.cancelled: "CANCELLED",
    BookingStatus.rejected: "CANCELLED",
    BookingStatus.expired: "CANCELLED",
}
WINDOW_BACK = timedelta(days=90)
WINDOW_AHEAD = timedelta(days=365)
CANCELLED_KEPT = timedelta(days=30)


def _calendar(name: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", "-//SME Metrology Partner Program//Booking//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", str(platform_tz()))
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    return cal


def _event(uid: str, start, end, summary: str, stamp, sequence: int = 0, status: str = "CONFIRMED") -> Event:
    tz = platform_tz()
    ev = Event()
    ev.add("uid", uid)
    ev.add("dtstamp", stamp)
    ev.add("last-modified", stamp)
    ev.add("dtstart", start.astimezone(tz))
    ev.add("dtend", end.astimezone(tz))
    ev.add("summary", summary)
    ev.add("sequence", sequence)
    ev.add("status", status)
    return ev


def _response(cal: Calendar, filename: str) -> Response:
    cal.add_missing_timezones()
    response = Response(cal.to_ical(), mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _window_filter(now):
    return (
        Booking.start >= now - WINDOW_BACK,
        Booking.start <= now + WINDOW_AHEAD,
        or_(Booking.status.not_in((BookingStatus.cancelled, BookingStatus.rejected, BookingStatus.expired)),
            Booking.updated_at >= now - CANCELLED_KEPT),
    )


@bp.get("/resources/<id:resource_id>.ics")
def resource_feed(resource_id: int):
    """Active bookings as busy blocks without any requester data, and blackouts."""
    resource = db.session.get(Resource, resource_id)
    if resource is None:
        abort(404)
    now = now_utc()
    cal = _calendar(resource.name)
    bookings = db.session.execute(
        select(Booking.id, Booking.start, Booking.end, Booking.updated_at, Booking.sequence).where(
            Booking.resource_id == resource.id, Booking.status.in_(ACTIVE_STATUSES), *_window_filter(now)[:2]
        )
    ).all()
    host = url_for("web.home", _external=True).split("//", 1)[-1].strip("/") or "booking"
    for bid, start, end, updated, seq in bookings:
        cal.add_component(_event(f"busy-{bid}@{host}", start, end, "占用 Busy", updated, seq))
    for b in db.session.scalars(select(Blackout).where(Blackout.resource_id == resource.id,
                                                        Blackout.end >= now - WINDOW_BACK)):
        cal.add_component(_event(f"blackout-{b.id}@{host}", b.start, b.end, "停用 Closed", b.created_at))
    return _response(cal, f"resource-{resource.id}.ics")


@bp.get("/<token>.ics")
def user_feed(token: str):
    user = user_for_calendar_token(token)
    if user is None:
        abort(404)
    now = now_utc()
    conditions = [Booking.organization_id == user.organization_id]
    if user.role in PROVIDER_STAFF_ROLES:
        conditions.append(
            Booking.resource_id.in_(select(Resource.id).where(Resource.organization_id == user.organization_id))
        )
    stmt = select(Booking).where(or_(*conditions), *_window_filter(now)).order_by(Booking.start)
    cal = _calendar(user.organization.name)
    host = url_for("web.home", _external=True).split("//", 1)[-1].strip("/") or "booking"
    for b in db.session.scalars(stmt).unique():
        ev = _event(f"booking-{b.id}@{host}", b.start, b.end, f"{b.resource.name} · {b.organization.name}",
                    b.updated_at, b.sequence, ICS_STATUS[b.status])
        ev.add("location", b.resource.location or b.resource.name)
        ev.add("description", b.purpose)
        cal.add_component(ev)
    return _response(cal, "bookings.ics")
