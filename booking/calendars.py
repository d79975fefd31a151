"""Calendar feeds (SPEC §4): a private feed per user and a public busy feed per resource.

A feed is a pure function of the data and the local date: its window is day-aligned and every ``DTSTAMP`` is the
booking's last change, so an unchanged feed is byte-identical. The ``ETag`` is computed from a small aggregate query
(count and latest change of what the feed holds, and the date), so a conditional request answers 304 without
building the feed.
"""

import hashlib
from collections import OrderedDict
from datetime import date, datetime, timedelta
from email.utils import format_datetime
from functools import lru_cache, wraps
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, has_request_context, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from icalendar import Calendar, Event, Timezone, vCalAddress
from icalendar.parser import content_line
from sqlalchemy import func, or_, select

from .extensions import db
from .models import Blackout, Booking, Resource, User
from .models.enums import ACTIVE_STATUSES, BookingStatus
from .services.accounts import user_for_calendar_token
from .services.clock import local_date, local_midnight, now_utc, platform_tz
from .services.policy import PROVIDER_STAFF_ROLES

bp = Blueprint("calendar", __name__, url_prefix="/calendar")


def _fold_only_long_lines(fold):
    """``fold`` (the library's RFC 5545 line folding, which walks every character of every line) returning a line
    shorter than its limit as it is, without the walk: that is what the walk gives, since it folds only where the
    octets so far reach the limit. Most content lines are short, and the walk was most of the time of serializing
    an event."""

    @wraps(fold)
    def folded(line: str, limit: int = 75, fold_sep: str = "\r\n ") -> str:
        if len(line) < limit and len(line.encode("utf-8")) < limit:
            return line
        return fold(line, limit, fold_sep)

    folded.original = fold
    return folded


if not hasattr(content_line._foldline, "original"):
    content_line._foldline = _fold_only_long_lines(content_line._foldline)

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
CLOSED = (BookingStatus.cancelled, BookingStatus.rejected, BookingStatus.expired)
WINDOW_BACK = timedelta(days=90)
WINDOW_AHEAD = timedelta(days=365)
CANCELLED_KEPT = timedelta(days=30)
# Feeds built recently, by ETag: a feed is a pure function of what its ETag digests, so a client polling an
# unchanged feed without a conditional request is answered without rebuilding it. Per process, bounded.
BUILT_FEEDS_KEPT = 32
_built: "OrderedDict[str, bytes]" = OrderedDict()


def uid_domain() -> str:
    """The right-hand side of every UID: the configured site's host, so UIDs do not depend on how a client
    reached the server."""
    base = current_app.config.get("BASE_URL") or ""
    return urlsplit(base).hostname or "metrology-booking"


def site_url(endpoint: str, **values) -> str:
    """An absolute URL of a page, also outside a request (an e-mail queued by the scheduler): then built on
    ``BASE_URL``, since ``url_for`` needs a request or ``SERVER_NAME`` there."""
    if has_request_context() or current_app.config.get("SERVER_NAME"):
        return url_for(endpoint, _external=True, **values)
    base = urlsplit(current_app.config.get("BASE_URL") or "http://localhost")
    adapter = current_app.url_map.bind(
        base.netloc or "localhost", script_name=base.path or "/", url_scheme=base.scheme or "http"
    )
    return adapter.build(endpoint, values, force_external=True)


def booking_uid(booking_id: int) -> str:
    return f"booking-{booking_id}@{uid_domain()}"


def _window(now: datetime) -> tuple[datetime, datetime, datetime]:
    """Day-aligned window: bookings starting from 90 days back to a year ahead; closed ones for 30 days after
    their last change."""
    today = local_date(now)
    return (
        local_midnight(today - WINDOW_BACK),
        local_midnight(today + WINDOW_AHEAD + timedelta(days=1)),
        local_midnight(today - CANCELLED_KEPT),
    )


@lru_cache(maxsize=8)
def _vtimezone(tzid: str) -> Timezone:
    """A zone's VTIMEZONE, derived once per process: deriving it walks every transition of the zone's rules
    (tens of milliseconds, more than the rest of a booking request). From 2000: the platform holds nothing older,
    and older rules (China's summer time of 1986–91) would only lengthen every invitation. The component is only
    ever read."""
    return Timezone.from_tzid(tzid, first_date=date(2000, 1, 1))


def add_timezones(cal: Calendar) -> None:
    """The VTIMEZONE of every TZID the calendar uses, before its events (what ``add_missing_timezones`` does)."""
    for tzid in sorted(cal.get_missing_tzids()):
        try:
            cal.subcomponents.insert(len(cal.timezones), _vtimezone(tzid))
        except ValueError:  # a zone unknown to the zone database has no rules to describe
            continue


def _calendar(name: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", "-//SME Metrology Partner Program//Metrology Booking//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", str(platform_tz()))
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    return cal


def booking_event(b: Booking, with_details: bool = True) -> Event:
    """One booking as a VEVENT. Without details (the public feed) it is a busy block: no requester, no purpose."""
    tz = platform_tz()
    ev = Event()
    ev.add("uid", booking_uid(b.id))
    ev.add("dtstamp", b.updated_at)
    ev.add("last-modified", b.updated_at)
    ev.add("created", b.created_at)
    ev.add("sequence", b.sequence)
    ev.add("dtstart", b.start.astimezone(tz))
    ev.add("dtend", b.end.astimezone(tz))
    ev.add("transp", "OPAQUE")
    resource = b.resource
    ev.add("location", resource.location or resource.name)
    if with_details:
        ev.add("status", ICS_STATUS[b.status])
        ev.add("summary", f"{resource.name} · {b.organization.name}")
        description = [
            _("Status: %(status)s", status=_status_label(b.status)),
            _("Provider: %(name)s", name=resource.organization.name),
        ]
        if b.purpose:
            description.append(_("Purpose: %(text)s", text=b.purpose))
        if b.decision_note:
            description.append(_("Note: %(text)s", text=b.decision_note))
        ev.add("description", "\n".join(description))
        ev.add("url", site_url("web.my_bookings"))
    else:
        ev.add("status", "CONFIRMED")
        ev.add("summary", _("Busy"))
        ev.add("description", _("Booked on the metrology resource sharing platform."))
        ev.add("url", site_url("web.resource_page", resource_id=resource.id))
    return ev


def _status_label(status: BookingStatus) -> str:
    from .labels import label

    return label("booking_status", status)


def blackout_event(b: Blackout, resource: Resource) -> Event:
    tz = platform_tz()
    ev = Event()
    ev.add("uid", f"blackout-{b.id}@{uid_domain()}")
    ev.add("dtstamp", b.created_at)
    ev.add("last-modified", b.created_at)
    ev.add("dtstart", b.start.astimezone(tz))
    ev.add("dtend", b.end.astimezone(tz))
    ev.add("status", "CONFIRMED")
    ev.add("transp", "OPAQUE")
    ev.add("summary", _("Closed"))
    ev.add("location", resource.location or resource.name)
    ev.add("url", url_for("web.resource_page", resource_id=resource.id, _external=True))
    return ev


def _conditional(state: tuple, last_modified: datetime | None, today) -> tuple[str, datetime, bool]:
    """(ETag, Last-Modified, whether the client's copy is current)."""
    digest = hashlib.sha256(repr((state, today.isoformat())).encode()).hexdigest()[:32]
    etag = f'"{digest}"'
    modified = max(filter(None, [last_modified, local_midnight(today)])).replace(microsecond=0)
    if request.if_none_match:
        fresh = request.if_none_match.contains_weak(digest)
    elif request.if_modified_since:
        fresh = modified <= request.if_modified_since
    else:
        fresh = False
    return etag, modified, fresh


def _send(cal_builder, etag: str, modified: datetime, fresh: bool, filename: str) -> Response:
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(modified, usegmt=True),
        "Cache-Control": "private, max-age=0, must-revalidate",
    }
    if fresh:
        return Response(status=304, headers=headers)
    body = _built.get(etag)
    if body is None:
        cal = cal_builder()
        add_timezones(cal)
        body = cal.to_ical()
        _built[etag] = body
        while len(_built) > BUILT_FEEDS_KEPT:
            _built.popitem(last=False)
    else:
        _built.move_to_end(etag)
    response = Response(body, mimetype="text/calendar", headers=headers)
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


# Public busy feed ---------------------------------------------------------------------------------------------


@bp.get("/resources/<id:resource_id>.ics")
def resource_feed(resource_id: int):
    """Active bookings as busy blocks without any requester data, and blackouts."""
    resource = db.session.get(Resource, resource_id)
    if resource is None:
        abort(404)
    now = now_utc()
    start, end, _kept = _window(now)
    booking_filter = (
        Booking.resource_id == resource.id,
        Booking.status.in_(ACTIVE_STATUSES),
        Booking.start >= start,
        Booking.start < end,
    )
    blackout_filter = (Blackout.resource_id == resource.id, Blackout.end >= start, Blackout.start < end)
    b_count, b_last, b_sum = db.session.execute(
        select(func.count(Booking.id), func.max(Booking.updated_at), func.sum(Booking.sequence)).where(*booking_filter)
    ).one()
    x_count, x_last, x_ids = db.session.execute(
        select(func.count(Blackout.id), func.max(Blackout.created_at), func.sum(Blackout.id)).where(*blackout_filter)
    ).one()
    state = ("resource", resource.id, resource.updated_at, resource.name, b_count, b_last, b_sum, x_count, x_ids)
    last = max(filter(None, [resource.updated_at, b_last, x_last]))
    etag, modified, fresh = _conditional(state, last, local_date(now))

    def build() -> Calendar:
        with force_locale("zh_CN"):
            cal = _calendar(_("%(name)s · busy time", name=resource.name))
            for b in db.session.scalars(select(Booking).where(*booking_filter).order_by(Booking.start, Booking.id)):
                cal.add_component(booking_event(b, with_details=False))
            for x in db.session.scalars(select(Blackout).where(*blackout_filter).order_by(Blackout.start)):
                cal.add_component(blackout_event(x, resource))
        return cal

    return _send(build, etag, modified, fresh, f"resource-{resource.id}.ics")


# Private feed ------------------------------------------------------------------------------------------------------


def user_feed_filter(user: User, now: datetime):
    """The bookings of the user's organization and, for provider staff, those on its resources, in the window."""
    start, end, kept = _window(now)
    scope = [Booking.organization_id == user.organization_id]
    if user.role in PROVIDER_STAFF_ROLES:
        scope.append(
            Booking.resource_id.in_(select(Resource.id).where(Resource.organization_id == user.organization_id))
        )
    return (
        or_(*scope),
        Booking.start >= start,
        Booking.start < end,
        or_(Booking.status.not_in(CLOSED), Booking.updated_at >= kept),
    )


@bp.get("/<token>.ics")
def user_feed(token: str):
    user = user_for_calendar_token(token)
    if user is None:
        abort(404)
    now = now_utc()
    conditions = user_feed_filter(user, now)
    count, last, seq = db.session.execute(
        select(func.count(Booking.id), func.max(Booking.updated_at), func.sum(Booking.sequence)).where(*conditions)
    ).one()
    resources_changed = db.session.scalar(
        select(func.max(Resource.updated_at)).where(Resource.id.in_(select(Booking.resource_id).where(*conditions)))
    )
    state = ("user", user.id, user.locale, user.organization.name, count, last, seq, resources_changed)
    etag, modified, fresh = _conditional(
        state, max(filter(None, [last, resources_changed]), default=None), local_date(now)
    )

    def build() -> Calendar:
        with force_locale(user.locale or "zh_CN"):
            cal = _calendar(_("%(name)s · bookings", name=user.organization.name))
            stmt = select(Booking).where(*conditions).order_by(Booking.start, Booking.id)
            for b in db.session.scalars(stmt).unique():
                cal.add_component(booking_event(b))
        return cal

    return _send(build, etag, modified, fresh, "bookings.ics")


class Invitation:
    """The booking as a one-event iTIP message for e-mail (SPEC §4, RFC 5546): METHOD:REQUEST, or CANCEL, with the
    same UID and SEQUENCE as the feeds, so a client files it as the same event. Each recipient's copy names them as
    its ATTENDEE; everything else is the same, so the message is built and serialized once and each copy adds its
    attendee's content line to the event."""

    def __init__(self, booking: Booking, method: str, organizer: str | None = None):
        cal = Calendar()
        cal.add("prodid", "-//SME Metrology Partner Program//Metrology Booking//ZH")
        cal.add("version", "2.0")
        cal.add("method", method)
        ev = booking_event(booking)
        if method == "CANCEL":
            ev["status"] = "CANCELLED"
        if organizer:
            ev.add("organizer", vCalAddress(f"mailto:{organizer}"))
        cal.add_component(ev)
        add_timezones(cal)
        self._before, self._end, self._after = cal.to_ical().rpartition(b"END:VEVENT\r\n")

    def addressed_to(self, attendee: str | None = None) -> bytes:
        if not attendee:
            return self._before + self._end + self._after
        line = Event().content_line("attendee", vCalAddress(f"mailto:{attendee}")).to_ical()
        return self._before + line + b"\r\n" + self._end + self._after
