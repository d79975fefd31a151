"""Every time column reads back as an aware UTC instant, on both engines, whatever wrote it."""

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select, text

from booking.extensions import db
from booking.models import Booking

from .factories import local, next_weekday

EAST_8 = timezone(timedelta(hours=8))


def test_an_instant_written_in_any_zone_reads_back_as_the_same_instant_in_utc(app, factory):
    resource = factory.make_resource()
    start = local(next_weekday(2), 9)
    decided = datetime(2026, 11, 30, 9, 15, 42, 123456, tzinfo=EAST_8)
    booking = factory.make_booking(resource, factory.make_user(), start, decided_at=decided)
    booking_id = booking.id
    db.session.expire_all()
    got = db.session.get(Booking, booking_id)
    assert got.start == start and got.start.tzinfo is UTC
    assert got.decided_at == decided and got.decided_at.tzinfo is UTC
    assert got.decided_at.microsecond == 123456
    assert got.checked_in_at is None
    # Columns read without the ORM object (as lists and availability read them) are the same.
    row = db.session.execute(select(Booking.start, Booking.decided_at).where(Booking.id == booking_id)).one()
    assert row == (start, decided) and row.decided_at.tzinfo is UTC


def test_sqlite_text_written_by_hand_without_a_fraction_reads_back_aware(app, factory, db_url):
    """An operator's ``UPDATE`` in the SQLite shell writes ``YYYY-MM-DD HH:MM:SS``: it is still an instant."""
    resource = factory.make_resource()
    booking = factory.make_booking(resource, factory.make_user(), local(next_weekday(2), 9))
    booking_id = booking.id
    value = "'2026-12-01 03:00:00'" if db_url.startswith("sqlite") else "TIMESTAMP '2026-12-01 03:00:00'"
    db.session.execute(text(f"UPDATE bookings SET checked_in_at = {value} WHERE id = :id"), {"id": booking_id})
    db.session.commit()
    checked_in = db.session.scalar(select(Booking.checked_in_at).where(Booking.id == booking_id))
    assert checked_in == datetime(2026, 12, 1, 3, tzinfo=UTC) and checked_in.tzinfo is UTC
