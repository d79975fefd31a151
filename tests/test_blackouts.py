"""Blackouts over bookings (SPEC §2, §2.1): ``force`` cancels pending and approved bookings through the booking
service, telling their requesters; a booking in use is never cancelled, so it makes the blackout ``409 conflict``,
``force`` or not, and a check-in racing a forced blackout is never overwritten."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from booking import database
from booking.extensions import db
from booking.models import AuditEntry, Blackout, Booking
from booking.models.enums import BookingStatus, OrgKind, Role
from booking.services import bookings as booking_service

from .booking_checks import World, assert_error

S = BookingStatus


@pytest.fixture
def w(api, factory):
    org, _admin, operator = factory.make_provider()
    member = factory.make_user(factory.make_org(kind=OrgKind.sme), Role.member)
    return World(
        api,
        {"staff": operator, "requester": member},
        org=org,
        operator=operator,
        member=member,
        resource=factory.make_resource(org),
    )


def _booking(factory, w, status, starts_in: timedelta, hours: int = 1) -> Booking:
    start = datetime.now(UTC).replace(second=0, microsecond=0) + starts_in
    return factory.make_booking(w.resource, w.member, start, start + timedelta(hours=hours), status=status)


def _closure(start: datetime, end: datetime, force: bool) -> dict:
    return {"start": start.isoformat(), "end": end.isoformat(), "reason": "maintenance", "force": force}


def _status(booking_id: int) -> BookingStatus:
    db.session.expire_all()
    return db.session.get(Booking, booking_id).status


def test_a_forced_blackout_over_a_booking_in_use_is_a_conflict_listing_it_and_changes_nothing(factory, w):
    in_use = _booking(factory, w, S.in_use, timedelta(minutes=-30), hours=2)
    approved = _booking(factory, w, S.approved, timedelta(hours=2))
    period = (in_use.start, approved.end)
    for force in (True, False):
        response = w.staff.post(f"/resources/{w.resource.id}/blackouts", json=_closure(*period, force))
        error = assert_error(response, 409, "conflict", case=force)
        listed = {b["id"]: b["status"] for b in error["bookings"]}
        assert listed == {in_use.id: "in_use", approved.id: "approved"}, force
    assert (_status(in_use.id), _status(approved.id)) == (S.in_use, S.approved)
    assert db.session.scalars(select(Blackout)).all() == []
    # Checked out, it is no longer in the way: the same forced blackout now cancels only the approved booking.
    assert w.staff.post(f"/bookings/{in_use.id}/check-out").status_code == 200
    response = w.staff.post(f"/resources/{w.resource.id}/blackouts", json=_closure(*period, True))
    assert response.status_code == 201 and response.get_json()["cancelled_bookings"] == [approved.id]
    assert (_status(in_use.id), _status(approved.id)) == (S.completed, S.cancelled)


def test_a_forced_blackout_cancels_pending_and_approved_bookings_as_the_owner_and_tells_their_requesters(factory, w):
    pending = _booking(factory, w, S.pending, timedelta(days=2))
    approved = _booking(factory, w, S.approved, timedelta(days=2, hours=2))
    sequences = {pending.id: pending.sequence, approved.id: approved.sequence}
    period = (pending.start, approved.end)
    response = w.staff.post(f"/resources/{w.resource.id}/blackouts", json=_closure(*period, True))
    assert response.status_code == 201
    assert sorted(response.get_json()["cancelled_bookings"]) == sorted(sequences)
    db.session.expire_all()
    for booking_id, sequence in sequences.items():
        booking = db.session.get(Booking, booking_id)
        assert booking.status == S.cancelled and booking.cancelled_by_owner and not booking.counts_as_no_show
        assert booking.sequence == sequence + 1
        last = booking.history[-1]
        assert (last.action, last.actor_id, last.to_status) == ("blackout_cancel", w.operator.id, "cancelled")
    told = w.requester.get("/notifications").get_json()["items"]
    assert sorted(n["booking_id"] for n in told if n["kind"] == "blackout_cancelled") == sorted(sequences)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "blackout.create")).one()
    assert sorted(entry.details["cancelled_bookings"]) == sorted(sequences)


def test_a_check_in_committed_while_a_forced_blackout_waits_is_never_overwritten(app, api, factory, w):
    """The blackout's cancellation goes through the booking service, which locks the booking and checks its state:
    a check-in whose transaction holds the booking (and, on SQLite, the write lock) makes the blackout wait, and
    the blackout then sees the booking in use and is refused. A cancellation written without that lock would read
    the booking as approved and overwrite the check-in once it committed."""
    booking = _booking(factory, w, S.approved, timedelta(minutes=30))
    token = api.as_(w.operator).token
    answers = []

    def close():
        client = FlaskClient(app)
        body = _closure(booking.start - timedelta(hours=1), booking.end, True)
        headers = {"Authorization": f"Bearer {token}"}
        answers.append(client.post(f"/api/v1/resources/{w.resource.id}/blackouts", json=body, headers=headers))

    db.session.commit()
    intent = database.write_intent.set(True)  # a writer's transaction, as a real check-in's request is
    try:
        staff = db.session.get(type(w.operator), w.operator.id)
        booking_service.check_in(staff, db.session.get(Booking, booking.id), "", datetime.now(UTC))
        db.session.flush()
        racer = threading.Thread(target=close)
        racer.start()
        time.sleep(1.5)
        assert racer.is_alive(), "the blackout did not wait for the booking held by the check-in"
        db.session.commit()
    finally:
        database.write_intent.reset(intent)
    racer.join(60)
    assert len(answers) == 1
    error = assert_error(answers[0], 409, "conflict")
    assert [(b["id"], b["status"]) for b in error["bookings"]] == [(booking.id, "in_use")]
    assert _status(booking.id) == S.in_use
    assert db.session.scalars(select(Blackout)).all() == []
