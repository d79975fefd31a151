"""What a calendar event and a feed show, read from the database in one statement: the content that a feed is
built from and whose digest is its ``ETag`` (see :mod:`booking.calendars`)."""

import hashlib
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import aliased

from .extensions import db
from .links import SiteRoot
from .models import Booking, Organization, Resource
from .models.enums import BookingStatus
from .services.clock import local_midnight


class EventFacts(NamedTuple):
    """Everything a booking's event shows, and nothing that it does not: what the feeds read and digest."""

    id: int
    created_at: datetime
    updated_at: datetime
    sequence: int
    start: datetime
    end: datetime
    status: BookingStatus
    purpose: str
    decision_note: str
    resource_id: int
    resource_name: str
    location: str
    resource_updated_at: datetime
    organization_name: str
    provider_name: str

    @classmethod
    def of(cls, b: Booking) -> "EventFacts":
        """The facts of a booking already loaded (an e-mailed invitation); the same as :func:`event_facts` reads."""
        resource = b.resource
        return cls(
            b.id,
            b.created_at,
            b.updated_at,
            b.sequence,
            b.start,
            b.end,
            b.status,
            b.purpose,
            b.decision_note,
            resource.id,
            resource.name,
            resource.location,
            resource.updated_at,
            b.organization.name,
            resource.organization.name,
        )


_Requester = aliased(Organization)
_Provider = aliased(Organization)
_EVENT_COLUMNS = (
    Booking.id,
    Booking.created_at,
    Booking.updated_at,
    Booking.sequence,
    Booking.start,
    Booking.end,
    Booking.status,
    Booking.purpose,
    Booking.decision_note,
    Resource.id,
    Resource.name,
    Resource.location,
    Resource.updated_at,
    _Requester.name,
    _Provider.name,
)
assert len(_EVENT_COLUMNS) == len(EventFacts._fields)


def event_facts(*conditions) -> list[EventFacts]:
    """The facts of the bookings matching ``conditions``, in the feed's order, in one statement."""
    stmt = (
        select(*_EVENT_COLUMNS)
        .join(Resource, Resource.id == Booking.resource_id)
        .join(_Requester, _Requester.id == Booking.organization_id)
        .join(_Provider, _Provider.id == Resource.organization_id)
        .where(*conditions)
        .order_by(Booking.start, Booking.id)
    )
    return [EventFacts._make(row) for row in db.session.execute(stmt)]


class BlackoutFacts(NamedTuple):
    id: int
    created_at: datetime
    start: datetime
    end: datetime


class FeedResource(NamedTuple):
    """The resource of a public feed: its name titles the feed, its place locates the blackouts."""

    id: int
    name: str
    location: str
    updated_at: datetime


class FeedContent(NamedTuple):
    """All a feed is built from. Its digest is the ``ETag``; the body is :func:`render` of it and nothing else. The
    settings (address, UID domain, time zone) are digested too: built bodies are kept per process, across apps."""

    title: str
    locale: str
    root: SiteRoot
    uid_domain: str
    timezone: str
    resource: FeedResource | None  # None for a private feed, whose events show their details
    events: list[EventFacts]
    blackouts: list[BlackoutFacts]

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(repr(self).encode()).hexdigest()[:32] + '"'

    def last_modified(self, today: date) -> datetime:
        """The latest change among the rows, and at least the day's start, since the window moves each day. Names of
        organizations carry no time of change: a client that validates by date alone (``If-Modified-Since``, no
        ``If-None-Match``) sees a rename the next day."""
        stamps = [local_midnight(today)] + [e.updated_at for e in self.events]
        stamps += [e.resource_updated_at for e in self.events] + [b.created_at for b in self.blackouts]
        if self.resource is not None:
            stamps.append(self.resource.updated_at)
        return max(stamps).replace(microsecond=0)
