"""Calendar feeds (SPEC §4): a private feed per user and a public busy feed per resource.

A feed is a pure function of its :class:`FeedContent`: the rows it shows, read in one statement with exactly the
columns its events show (:class:`EventFacts`), the names in its header, the reader's language and the address its
links start with. The ``ETag`` is the digest of that content, so whatever an event shows — a booking's times, status
or notes, a resource's name or place, an organization's name, changed by any process — changes the ETag, and a
conditional request answers 304 without building the feed. Every ``DTSTAMP`` is the booking's last change and the
window is day-aligned, so an unchanged feed is byte-identical.
"""

from collections import OrderedDict
from datetime import date, datetime, timedelta
from email.utils import format_datetime
from functools import lru_cache, wraps
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, current_app, request
from flask_babel import force_locale
from flask_babel import gettext as _
from icalendar import Calendar, Event, Timezone, vCalAddress
from icalendar.parser import content_line
from sqlalchemy import or_, select

from .extensions import db
from .feed_content import BlackoutFacts, EventFacts, FeedContent, FeedResource, event_rows
from .links import external_url, site_root
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
# Feeds built recently, by ETag: a feed is a pure function of the content its ETag digests (read from the database
# on every request, the address of its links included), so a client polling an unchanged feed without a conditional
# request is answered without rebuilding it, and any change, by any process, is a new key. Per process, bounded.
BUILT_FEEDS_KEPT = 32
_built: "OrderedDict[str, bytes]" = OrderedDict()


def uid_domain() -> str:
    """The right-hand side of every UID: the configured site's host, so UIDs do not depend on how a client
    reached the server."""
    base = current_app.config.get("BASE_URL") or ""
    return urlsplit(base).hostname or "metrology-booking"


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


def booking_event(e: EventFacts, url: str, with_details: bool = True) -> Event:
    """One booking as a VEVENT. Without details (the public feed) it is a busy block: no requester, no purpose."""
    tz = platform_tz()
    ev = Event()
    ev.add("uid", booking_uid(e.id))
    ev.add("dtstamp", e.updated_at)
    ev.add("last-modified", e.updated_at)
    ev.add("created", e.created_at)
    ev.add("sequence", e.sequence)
    ev.add("dtstart", e.start.astimezone(tz))
    ev.add("dtend", e.end.astimezone(tz))
    ev.add("transp", "OPAQUE")
    ev.add("location", e.location or e.resource_name)
    if with_details:
        ev.add("status", ICS_STATUS[e.status])
        ev.add("summary", f"{e.resource_name} · {e.organization_name}")
        description = [
            _("Status: %(status)s", status=_status_label(e.status)),
            _("Provider: %(name)s", name=e.provider_name),
        ]
        if e.purpose:
            description.append(_("Purpose: %(text)s", text=e.purpose))
        if e.decision_note:
            description.append(_("Note: %(text)s", text=e.decision_note))
        ev.add("description", "\n".join(description))
    else:
        ev.add("status", "CONFIRMED")
        ev.add("summary", _("Busy"))
        ev.add("description", _("Booked on the metrology resource sharing platform."))
    ev.add("url", url)
    return ev


def _status_label(status: BookingStatus) -> str:
    from .labels import label

    return label("booking_status", status)


def blackout_event(b: BlackoutFacts, location: str, url: str) -> Event:
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
    ev.add("location", location)
    ev.add("url", url)
    return ev


def render(content: FeedContent) -> bytes:
    """The feed's body, from its content alone."""
    with force_locale(content.locale):
        resource = content.resource
        if resource is None:
            cal = _calendar(_("%(name)s · bookings", name=content.title))
            url = external_url("web.my_bookings", content.root)
        else:
            cal = _calendar(_("%(name)s · busy time", name=content.title))
            url = external_url("web.resource_page", content.root, resource_id=resource.id)
        for e in content.events.facts():
            cal.add_component(booking_event(e, url, with_details=resource is None))
        for b in content.blackouts:
            cal.add_component(blackout_event(b, resource.location or resource.name, url))
    add_timezones(cal)
    return cal.to_ical()


def _send(content: FeedContent, today: date, filename: str) -> Response:
    """The feed, or 304 when the client's copy is current. Bodies are kept by ETag, which digests all they show."""
    etag, modified = content.etag, content.last_modified(today)
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(modified, usegmt=True),
        "Cache-Control": "private, max-age=0, must-revalidate",
    }
    if request.if_none_match:
        fresh = request.if_none_match.contains_weak(etag.strip('"'))
    elif request.if_modified_since:
        fresh = modified <= request.if_modified_since
    else:
        fresh = False
    if fresh:
        return Response(status=304, headers=headers)
    body = _built.get(etag)
    if body is None:
        body = _built[etag] = render(content)
        while len(_built) > BUILT_FEEDS_KEPT:
            _built.popitem(last=False)
    else:
        _built.move_to_end(etag)
    response = Response(body, mimetype="text/calendar", headers=headers)
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _content(title: str, locale: str, resource: FeedResource | None, events, blackouts=()) -> FeedContent:
    return FeedContent(title, locale, site_root(), uid_domain(), str(platform_tz()), resource, events, list(blackouts))


# Public busy feed ---------------------------------------------------------------------------------------------


@bp.get("/resources/<id:resource_id>.ics")
def resource_feed(resource_id: int):
    """Active bookings as busy blocks without any requester data, and blackouts."""
    resource = db.session.get(Resource, resource_id)
    if resource is None:
        abort(404)
    now = now_utc()
    start, end, _kept = _window(now)
    events = event_rows(
        Booking.resource_id == resource.id,
        Booking.status.in_(ACTIVE_STATUSES),
        Booking.start >= start,
        Booking.start < end,
    )
    blackouts = db.session.execute(
        select(Blackout.id, Blackout.created_at, Blackout.start, Blackout.end)
        .where(Blackout.resource_id == resource.id, Blackout.end >= start, Blackout.start < end)
        .order_by(Blackout.start, Blackout.id)
    )
    content = _content(
        resource.name,
        "zh_CN",
        FeedResource(resource.id, resource.name, resource.location, resource.updated_at),
        events,
        (BlackoutFacts._make(row) for row in blackouts),
    )
    return _send(content, local_date(now), f"resource-{resource.id}.ics")


# Private feed ------------------------------------------------------------------------------------------------------


def user_feed_filter(user: User, now: datetime):
    """The bookings of the user's organization and, for provider staff, those on its resources, in the window."""
    start, end, kept = _window(now)
    scope = [Booking.organization_id == user.organization_id]
    if user.role in PROVIDER_STAFF_ROLES:
        scope.append(Resource.organization_id == user.organization_id)
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
    events = event_rows(*user_feed_filter(user, now))
    content = _content(user.organization.name, user.locale or "zh_CN", None, events)
    return _send(content, local_date(now), "bookings.ics")


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
        ev = booking_event(EventFacts.of(booking), external_url("web.my_bookings"))
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
