"""What a calendar event and a feed show, read from the database in one statement: the content that a feed is
built from and whose digest is its ``ETag`` (see :mod:`booking.calendars`)."""

import hashlib
from datetime import date, datetime
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import select, type_coerce
from sqlalchemy.orm import aliased
from sqlalchemy.types import NullType

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
    organization_updated_at: datetime
    provider_name: str
    provider_updated_at: datetime

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
            b.organization.updated_at,
            resource.organization.name,
            resource.organization.updated_at,
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
    _Requester.updated_at,
    _Provider.name,
    _Provider.updated_at,
)


# The same columns, read without conversion (``strict``: one column per field, or the module does not load).
_RAW_COLUMNS = tuple(
    type_coerce(column, NullType()).label(name) for name, column in zip(EventFacts._fields, _EVENT_COLUMNS, strict=True)
)


@lru_cache(maxsize=4)
def _converters(dialect) -> tuple:
    """Per column, what turns the driver's value into the model's (what a plain query would apply), or None."""
    return tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in _EVENT_COLUMNS)


class EventRows(tuple):
    """The rows of :class:`EventFacts`' columns as the database driver gives them, before conversion to Python
    types: digesting them is all a conditional request costs; converting them is done only to build a feed."""

    def facts(self) -> list[EventFacts]:
        convert = _converters(db.session.get_bind().dialect)
        return [EventFacts._make([c(v) if c else v for c, v in zip(convert, row, strict=True)]) for row in self]

    def latest(self, field: str) -> datetime | None:
        """The latest value of a time column (the driver's values of a column compare as the times do)."""
        i = EventFacts._fields.index(field)
        values = [row[i] for row in self if row[i] is not None]
        if not values:
            return None
        convert = _converters(db.session.get_bind().dialect)[i]
        return convert(max(values)) if convert else max(values)


def event_rows(*conditions) -> EventRows:
    """The rows of the bookings matching ``conditions``, in the feed's order, in one statement."""
    stmt = (
        select(*_RAW_COLUMNS)
        .join(Resource, Resource.id == Booking.resource_id)
        .join(_Requester, _Requester.id == Booking.organization_id)
        .join(_Provider, _Provider.id == Resource.organization_id)
        .where(*conditions)
        .order_by(Booking.start, Booking.id)
    )
    return EventRows(map(tuple, db.session.connection().execute(stmt)))


def event_facts(*conditions) -> list[EventFacts]:
    return event_rows(*conditions).facts()


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
    events: EventRows
    blackouts: list[BlackoutFacts]

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(repr(self).encode()).hexdigest()[:32] + '"'

    def last_modified(self, today: date) -> datetime:
        """The latest change among the rows shown (bookings, resources, both organizations of each event,
        blackouts), and at least the day's start, since the window moves each day."""
        stamps = [local_midnight(today)]
        stamps += [
            self.events.latest(field)
            for field in ("updated_at", "resource_updated_at", "organization_updated_at", "provider_updated_at")
        ]
        stamps += [b.created_at for b in self.blackouts]
        if self.resource is not None:
            stamps.append(self.resource.updated_at)
        return max(filter(None, stamps)).replace(microsecond=0)
