"""Row locks that make capacity hold under concurrency (SPEC §2.2).

PostgreSQL: ``SELECT … FOR UPDATE`` on the resource row serialises every writer of that resource's bookings and
blackouts; under READ COMMITTED each later statement of the transaction sees what the previous holder committed.
SQLite: the unit of work already began with ``BEGIN IMMEDIATE`` (``booking.database``), which holds the database's
write lock before the first read; the ``FOR UPDATE`` clause is not rendered there. There the ``lock_version`` bump
makes the lock an actual write, so a missing ``BEGIN IMMEDIATE`` could never pass silently: SQLite would refuse the
stale write rather than let two readers both insert. PostgreSQL's row lock is already one, and every booking
request takes it, so it does without the extra write.
"""

from flask_babel import gettext as _
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Resource
from .errors import NotFound

# Built once: every booking request runs it, and building it cost about as much as running it. The opening hours
# (which the rules read) come in the same statement: a second one cost more than the rest of the lock.
_LOCKED_RESOURCE = (
    select(Resource)
    .where(Resource.id == bindparam("resource_id"))
    .options(joinedload(Resource.opening_hours))
    .with_for_update(of=Resource)
    .execution_options(populate_existing=True)
)


def lock_resource(resource_id: int) -> Resource:
    resource = db.session.scalars(_LOCKED_RESOURCE, {"resource_id": resource_id}).unique().first()
    if resource is None:
        raise NotFound(_("resource not found"))
    if db.session.get_bind().dialect.name != "sqlite":
        return resource
    db.session.execute(
        update(Resource)
        .where(Resource.id == resource_id)
        .values(lock_version=Resource.lock_version + 1)
        .execution_options(synchronize_session=False)
    )
    return resource


def lock_booking(booking_id: int):
    """Re-read a booking under a row lock before a transition, so that a decision and a scheduled job acting on
    the same booking at once cannot both pass the state check (PostgreSQL; SQLite's write lock already holds)."""
    from ..models import Booking

    stmt = (
        select(Booking)
        .where(Booking.id == booking_id)
        .with_for_update(of=Booking)
        .execution_options(populate_existing=True)
    )
    return db.session.scalars(stmt).unique().first()
