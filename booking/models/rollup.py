"""The nightly statistics roll-up (SPEC §5, §6): the booking sums of each resource for each closed local day.

A ``usage_rollups`` row holds, for one resource and one local day, the sums of ``booking.services.booking_sums.SUMS``
over the bookings starting that day; a ``rolled_days`` row says that every resource's bookings of that day were
summed. The statistics read a rolled day's clean rows instead of its bookings and compute everything else from the
bookings (``booking.services.rollups``).

A row is **stale** when a booking of its resource and day changed after it was summed; the statistics then read
that resource-day from the bookings again, so the change shows at once, and the next roll-up sums it afresh. The
events below mark rows stale in the transaction of the change, for every ORM write of a booking that starts before
the present moment (no booking can start in a day that has not yet ended, except by starting before now), and of
the resource and organization columns the sums depend on.
"""

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Float, ForeignKey, Index, event, inspect, select, text, update
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..services.clock import local_date, local_day_span
from ..sqlfunctions import insert_for
from .base import UTCDateTime, utcnow
from .booking import Booking
from .organization import Organization
from .resource import Resource

COUNTS = ("requests", "approved", "rejected", "cancelled", "expired", "no_shows", *(f"rated_{n}" for n in range(1, 6)))
SECONDS = ("effective_seconds", "external_seconds", "sme_seconds", "partner_sme_seconds")
CENTS = ("revenue_cents", "savings_cent_seconds")


class RolledDay(db.Model):
    """A local day whose bookings have all been summed into ``usage_rollups``."""

    __tablename__ = "rolled_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    rolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UsageRollup(db.Model):
    """The sums of one resource's bookings starting on one local day."""

    __tablename__ = "usage_rollups"
    __table_args__ = (
        Index("ix_usage_rollups_day", "day", "resource_id"),
        # The few stale rows, found without reading the clean ones (each engine matches a partial index to the
        # query's condition as it renders it: ``stale`` on PostgreSQL, ``stale = 1`` on SQLite).
        Index(
            "ix_usage_rollups_stale",
            "day",
            "resource_id",
            sqlite_where=text("stale = 1"),
            postgresql_where=text("stale"),
        ),
    )

    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    # The day's bounds as instants, so that bookings can be matched to the row without time-zone arithmetic in SQL.
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stale: Mapped[bool] = mapped_column(default=False)
    rolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    requests: Mapped[int] = mapped_column(default=0)
    approved: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    cancelled: Mapped[int] = mapped_column(default=0)
    expired: Mapped[int] = mapped_column(default=0)
    no_shows: Mapped[int] = mapped_column(default=0)
    rated_1: Mapped[int] = mapped_column(default=0)
    rated_2: Mapped[int] = mapped_column(default=0)
    rated_3: Mapped[int] = mapped_column(default=0)
    rated_4: Mapped[int] = mapped_column(default=0)
    rated_5: Mapped[int] = mapped_column(default=0)
    # Seconds are fractional: check-in and check-out are recorded to the microsecond.
    effective_seconds: Mapped[float] = mapped_column(Float(precision=53), default=0)
    external_seconds: Mapped[float] = mapped_column(Float(precision=53), default=0)
    sme_seconds: Mapped[float] = mapped_column(Float(precision=53), default=0)
    partner_sme_seconds: Mapped[float] = mapped_column(Float(precision=53), default=0)
    revenue_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    savings_cent_seconds: Mapped[int] = mapped_column(BigInteger, default=0)


# Marking rows stale ------------------------------------------------------------------------------------------------


def mark_stale(connection, bookings: set[tuple[int, datetime]]) -> None:
    """Mark stale the rows of the ``(resource_id, start)`` of changed bookings that start before now, inserting a
    stale row where none is yet (a day not yet rolled up, or one whose row the roll-up is writing at this moment:
    the insert then waits for it and marks it). A stale row wins over the roll-up, which only inserts where no row
    is and re-sums a stale row under its lock (``booking.services.rollups``)."""
    now = utcnow()
    table = UsageRollup.__table__
    insert = insert_for(connection)
    days = {
        (rid, local_date(start)) for rid, start in bookings if rid is not None and start is not None and start < now
    }
    for resource_id, day in sorted(days):
        starts_at, ends_at = local_day_span(day)
        stmt = insert(table).values(
            resource_id=resource_id, day=day, starts_at=starts_at, ends_at=ends_at, stale=True, rolled_at=now
        )
        connection.execute(stmt.on_conflict_do_update(index_elements=["resource_id", "day"], set_={"stale": True}))


def _was_and_is(booking: Booking) -> set[tuple[int, datetime]]:
    state = inspect(booking).attrs
    resources = {booking.resource_id, *state.resource_id.history.deleted}
    starts = {booking.start, *state.start.history.deleted}
    return {(rid, start) for rid in resources for start in starts}


@event.listens_for(Booking, "after_insert")
@event.listens_for(Booking, "after_delete")
def _booking_added_or_removed(_mapper, connection, booking: Booking) -> None:
    mark_stale(connection, {(booking.resource_id, booking.start)})


@event.listens_for(Booking, "after_update")
def _booking_changed(_mapper, connection, booking: Booking) -> None:
    mark_stale(connection, _was_and_is(booking))


# The resource's columns the sums read: who owns it (external or not), whether it is timed, the fees of the savings.
SUMMED_RESOURCE_COLUMNS = ("organization_id", "kind", "hourly_fee", "partner_hourly_fee")


@event.listens_for(Resource, "after_update")
def _resource_changed(_mapper, connection, resource: Resource) -> None:
    state = inspect(resource).attrs
    if any(getattr(state, name).history.has_changes() for name in SUMMED_RESOURCE_COLUMNS):
        table = UsageRollup.__table__
        connection.execute(update(table).where(table.c.resource_id == resource.id).values(stale=True))


@event.listens_for(Organization, "after_update")
def _organization_changed(_mapper, connection, organization: Organization) -> None:
    """An organization that becomes or stops being an SME changes the SME hours of every resource it booked."""
    if not inspect(organization).attrs.kind.history.has_changes():
        return
    table = UsageRollup.__table__
    booked = select(Booking.resource_id).where(Booking.organization_id == organization.id).distinct()
    connection.execute(update(table).where(table.c.resource_id.in_(booked)).values(stale=True))
